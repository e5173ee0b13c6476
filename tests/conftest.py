from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import sdk_workspace
from tests.servers import LocalHostProcess, azurite

os.environ.setdefault("QDK_PYTHON_TELEMETRY", "none")


@pytest.fixture(scope="session")
def azurite_port() -> Iterator[int]:
    with azurite() as port:
        yield port


@pytest.fixture(scope="session")
def host(azurite_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHostProcess]:
    """One local host for the session, as `make run` starts it but on free ports."""
    process = LocalHostProcess(state_dir=tmp_path_factory.mktemp("host"), blob_port=azurite_port)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def workspace(host: LocalHostProcess):  # type: ignore[no-untyped-def]  # azure-quantum is untyped
    """The unmodified azure-quantum SDK, pointed at the local host."""
    return sdk_workspace(host)
