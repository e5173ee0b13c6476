"""Who is calling: an API key holder or a Microsoft Entra ID principal, and what they may do.

Azure Quantum records who created and last changed each job (`createdBy`, `createdByType`,
`lastModifiedBy`, `lastModifiedByType`); a reader may look, a contributor may also change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

CallerKind = Literal["User", "Application", "ManagedIdentity", "Key"]


class Caller(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: CallerKind
    name: str | None = None  # a user's sign-in name, an application's id; None for an API key
    contributor: bool = True


KEY_HOLDER = Caller(kind="Key")
# The service itself, for jobs it creates from dropped blobs.
SERVICE = Caller(kind="Application", name="blob-drop")
