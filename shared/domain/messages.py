"""Messages between the pipeline's functions: commands say "do this", events say "this happened".

Each carries `attempt`, the job's redrive count when the message was made, so message ids stay stable
for duplicate detection within one attempt and change when the sweeper re-drives a stuck job. Each also
carries `job_created`, the job's creation time, so a job created again under a deleted job's id sends
messages of its own, which duplicate detection does not drop as repeats of the deleted job's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.jobs import ErrorData, Job

JOB_RESULTS_QUEUE = "job-results"
SIMULATOR_QUEUE = "simulator-runs"
DEAD_LETTER_SUBQUEUE = "/$DeadLetterQueue"
"""Appended to a queue's name, its dead-letter subqueue's, as a Functions trigger names it."""


def is_dead_letter_queue(queue: str) -> bool:
    return queue.endswith(DEAD_LETTER_SUBQUEUE)


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    schema_version: Literal[1] = 1
    job_id: str
    attempt: int = 0
    job_created: datetime | None = None  # None in a message sent before it was carried

    def message_id(self) -> str:
        """`{job}:{type}:{attempt}`, then `:{job's creation, to the microsecond}` when the message carries it."""
        stamp = "" if self.job_created is None else f":{self.job_created:%Y%m%dT%H%M%S%f}"
        return f"{self.job_id}:{type(self).__name__}:{self.attempt}{stamp}"

    def is_for(self, job: Job) -> bool:
        """False for a late message of a deleted job whose id was used again: it is not for the job now under it."""
        return self.job_created is None or self.job_created == job.details.creation_time


class TranslateJob(Message):
    """Command on `jobs-{provider}`: adapt the job's input to the provider's format.

    `program` carries the validated input when it is small, sparing a blob read; otherwise (and on
    a re-drive) the translator reads the input blob.
    """

    program: bytes | None = None


class RunJob(Message):
    """Command on the provider's run queue: execute the translated program.

    `program` carries the translated program when it is small; otherwise the runner reads
    `translatedInput`.
    """

    program: bytes | None = None


class JobOutcome(Message):
    """Event on `job-results`: the provider finished the job, one way or the other.

    A successful output travels inline in `output` when it is small, or in the blob named by
    `output_blob` (claim check) when it is not. The inline size limit keeps every message well under
    Service Bus Standard's 256 KB.
    """

    succeeded: bool
    began_at: datetime
    ended_at: datetime
    output: str | None = None
    output_blob: str | None = None
    error: ErrorData | None = None
    usage: dict[str, float] | None = None
