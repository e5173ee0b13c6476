"""The failures qjobs expects; each becomes one line on stderr and its exit code."""

from __future__ import annotations


class QJobsError(Exception):
    """A failure reported by the service or about a job (exit 1)."""

    exit_code = 1


class UsageError(QJobsError):
    """The command cannot run as configured: a bad config file, no API key, a bad endpoint (exit 2)."""

    exit_code = 2


class UnreachableError(QJobsError):
    """The service or its blob storage did not answer (exit 3)."""

    exit_code = 3


def with_code(message: str, code: object) -> str:
    """A service message on one line without its final period, then its code: `Job x does not exist (JobNotFound)`."""
    return f"{' '.join(message.split()).rstrip('.')} ({code})"
