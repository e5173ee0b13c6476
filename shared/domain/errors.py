"""Typed errors of the job service, split by whether a retry can help.

Permanent errors describe input or state that will not change on retry: the caller (or the job's
errorData) is told what to fix. Transient errors describe a dependency that may recover: queue
triggers re-raise them so the message is redelivered and, in the end, dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Diagnostic(BaseModel):
    """One finding about a program or request: where it is and what is wrong.

    `line` and `column` are 1-based positions in a text program; `path` is a JSON path
    (`circuit[2].targets[0]`) or a field name for structured input.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def location(self) -> str | None:
        if self.line is not None:
            col = f", column {self.column}" if self.column is not None else ""
            return f"line {self.line}{col}"
        return self.path

    def render(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class JobServiceError(Exception):
    """Root of every error the service raises on purpose."""

    default_message: ClassVar[str] = "The job service failed."
    code: ClassVar[str] = "InternalError"

    def __init__(
        self, message: str | None = None, *, diagnostics: Sequence[Diagnostic] = (), target: str | None = None
    ) -> None:
        self.message = message or self.default_message
        self.diagnostics = tuple(diagnostics)
        self.target = target
        super().__init__(self.message)


class PermanentJobError(JobServiceError):
    """Retrying cannot help: the input or the job's state is wrong."""

    default_message = "The request cannot be carried out."
    code = "BadRequest"


class TransientJobError(JobServiceError):
    """A dependency failed or raced; the same operation may succeed later."""

    default_message = "A dependency of the job service is unavailable; try again."
    code = "ServiceUnavailable"


class InvalidRequestError(PermanentJobError):
    default_message = "The request is not valid."
    code = "InvalidRequest"


class InvalidProgramError(InvalidRequestError):
    default_message = "The program is not valid."
    code = "InvalidProgram"


class UnsupportedProgramError(InvalidProgramError):
    default_message = "The program uses something the target cannot run."
    code = "UnsupportedProgram"


class UnknownTargetError(InvalidRequestError):
    default_message = "The target is not known in this workspace."
    code = "InvalidTarget"


class UnsupportedFormatError(InvalidRequestError):
    default_message = "The data format is not supported by the target."
    code = "InvalidDataFormat"


class InputTooLargeError(InvalidRequestError):
    default_message = "The input is larger than the service accepts."
    code = "InputTooLarge"


class InputNotFoundError(InvalidRequestError):
    default_message = "The job's input data cannot be found."
    code = "InputDataNotFound"


class InputChangedError(PermanentJobError):
    default_message = "The job's input changed after it was validated."
    code = "InputChanged"


class AuthenticationError(PermanentJobError):
    default_message = (
        "A valid API key is required in the x-ms-quantum-api-key header, or a Microsoft Entra ID bearer token."
    )
    code = "Unauthorized"


class ForbiddenError(PermanentJobError):
    default_message = "The caller may not do this in this workspace."
    code = "AuthorizationFailed"


class NotFoundError(PermanentJobError):
    default_message = "The resource does not exist."
    code = "NotFound"


class JobNotFoundError(NotFoundError):
    default_message = "The job does not exist."
    code = "JobNotFound"


class ConflictError(PermanentJobError):
    default_message = "The request conflicts with the resource's current state."
    code = "Conflict"


class JobExistsError(ConflictError):
    default_message = "A different job with this id already exists."
    code = "JobAlreadyExists"


class InvalidTransitionError(ConflictError):
    default_message = "The job cannot move to that status."
    code = "InvalidJobTransition"


class NotCancellableError(ConflictError):
    default_message = "The job cannot be cancelled."
    code = "JobNotCancellable"


class StaleWriteError(TransientJobError):
    """A conditional write lost a race: the stored document changed since it was read."""

    default_message = "The job changed while it was being updated."
    code = "ConcurrentUpdate"


class IntegrityError(JobServiceError):
    """Stored data no longer matches the digest the job recorded for it: neither the caller's fault nor passing."""

    default_message = "The stored data of the job does not match what the service recorded."
    code = "DataIntegrityFailed"


class DependencyError(TransientJobError):
    default_message = "A storage or messaging dependency failed."
    code = "DependencyUnavailable"


class SessionNotFoundError(NotFoundError):
    default_message = "The session does not exist."
    code = "SessionNotFound"


class SessionExistsError(ConflictError):
    default_message = "A different session with this id exists."
    code = "SessionExists"


class SessionClosedError(ConflictError):
    default_message = "The session accepts no more jobs."
    code = "SessionNotAcceptingJobs"


class SessionAbortedError(PermanentJobError):
    default_message = "The job's session was aborted by an earlier failed job."
    code = "SessionAborted"


class QuotaExceededError(PermanentJobError):
    default_message = "A quota of this workspace is used up."
    code = "QuotaExceeded"


class OutputTooLargeError(PermanentJobError):
    default_message = "The job's output would be larger than the target allows."
    code = "OutputTooLarge"


class CannotTranslateOutputError(PermanentJobError):
    default_message = "The provider's output cannot be translated to the job's outputDataFormat."
    code = "CannotTranslateOutputData"


class RunTimeLimitError(PermanentJobError):
    default_message = "The simulation ran longer than its time limit and was stopped."
    code = "RunTimeLimitExceeded"


class RunMemoryLimitError(PermanentJobError):
    default_message = "The simulation needed more memory than its limit and was stopped."
    code = "RunMemoryLimitExceeded"
