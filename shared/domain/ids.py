"""Identifiers, normalised once where they enter: the request models and the API's route parameters use these.

Ids are case-insensitive and stored lowercase. Job and session ids name the blob container `job-{id}`,
so they follow its rules: 1-36 letters, digits and single inner hyphens (a UUID fits), with surrounding
whitespace ignored. Services receive them normalised and never lowercase an id themselves.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# Checked before lowercasing (pydantic's order), so it takes either case.
JOB_ID_PATTERN = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$"
MAX_JOB_ID = 36

JobId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=MAX_JOB_ID, pattern=JOB_ID_PATTERN
    ),
]
SessionId = JobId  # a session's id follows the same rules
ProviderId = Annotated[str, StringConstraints(to_lower=True, min_length=1, max_length=64)]
TargetId = Annotated[str, StringConstraints(to_lower=True, min_length=1, max_length=128)]
