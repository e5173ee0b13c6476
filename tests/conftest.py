from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import API_KEY, SUBSCRIPTION, LocalHostProcess, azurite

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
    from azure.core.credentials import AzureKeyCredential
    from azure.quantum import Workspace

    return Workspace(
        subscription_id=SUBSCRIPTION,
        resource_group="local",
        name="local",
        location="eastus",
        credential=AzureKeyCredential(API_KEY),
        _quantum_endpoint=host.endpoint,
    )


@pytest.fixture
def blob_connection(azurite_port: int) -> str:
    from shared.config import Settings

    return Settings(azurite_blob_port=azurite_port, storage_connection=None).blob_connection_string


def pytest_configure(config: pytest.Config) -> None:
    Path(__file__).parent.joinpath("artifacts").mkdir(exist_ok=True)
