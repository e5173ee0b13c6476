"""Small factories for test data."""

from __future__ import annotations

from datetime import datetime

from shared.domain.jobs import Job, JobDetails, JobStatus


def new_job(
    job_id: str,
    *,
    created: datetime,
    name: str = "bell",
    provider_id: str = "ionq",
    target: str = "ionq.simulator",
    status: JobStatus = JobStatus.WAITING,
) -> Job:
    """A job as submit would store it, with placeholder storage URIs."""
    details = JobDetails(
        id=job_id,
        name=name,
        provider_id=provider_id,
        target=target,
        container_uri="c",
        input_data_uri="c/i",
        input_data_format="ionq.circuit.v1",
        output_data_uri="c/o",
        output_data_format="ionq.quantum-results.v1",
        creation_time=created,
        last_updated_time=created,
        status=status,
    )
    return Job.new(details, "fp", "submitted")
