"""The blob journal against a real Azurite that is SIGKILLed: what it acknowledged in its last seconds (its
metadata is saved every 5 s) comes back from the journal, at start and on a read."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.blob_journal import SETTLE_SECONDS, JournaledArtifactStore
from shared.config import Settings
from shared.domain.errors import DependencyError, InputNotFoundError
from shared.localhost.azurite import start_azurite
from tests.servers import ROOT, free_port

pytestmark = pytest.mark.integration


class Azurite:
    """Azurite keeping its data in a folder, killed and started again on the same port."""

    def __init__(self, location: Path) -> None:
        self.location, self.port = location, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BlobArtifactStore:
        self.process = start_azurite(ROOT, self.location, self.port)
        connection = Settings(azurite_blob_port=self.port, storage_connection=None).blob_connection_string
        return BlobArtifactStore.from_connection_string(connection)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def azurite(tmp_path: Path) -> Iterator[Azurite]:
    server = Azurite(tmp_path / "azurite")
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


def test_a_hard_kill_loses_acknowledged_blobs_without_the_journal(azurite: Azurite) -> None:
    """The failure the journal exists for, shown on the real emulator."""
    blobs = azurite.start()
    blobs.ensure_container("job-bare")
    assert blobs.put("job-bare", "rawOutputData", b"{}", "application/json")
    azurite.kill()
    blobs = azurite.start()
    assert not blobs.client.get_blob_client("job-bare", "rawOutputData").exists()


def test_restore_puts_back_what_a_hard_kill_lost(azurite: Azurite, tmp_path: Path) -> None:
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3")
    journal.ensure_container("job-a")
    assert journal.put("job-a", "rawOutputData", b'{"histogram": {"0": 1.0}}', "application/json")
    journal.retain("job-a", "inputData", b'{"qubits": 1, "circuit": []}', "application/json")  # a client's upload
    azurite.kill()
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3")  # a new process starts
    assert journal.restore() == 2
    assert journal.storage.get("job-a", "rawOutputData", max_bytes=100) == b'{"histogram": {"0": 1.0}}'
    assert journal.storage.get("job-a", "inputData", max_bytes=100) == b'{"qubits": 1, "circuit": []}'
    assert journal.restore() == 0, "nothing is written twice"


def test_a_read_of_a_lost_blob_is_answered_from_the_journal(azurite: Azurite, tmp_path: Path) -> None:
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3")
    journal.ensure_container("job-b")
    journal.put("job-b", "translatedInput", b"program", "text/plain")
    azurite.kill()
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3")
    assert journal.get("job-b", "translatedInput", max_bytes=100) == b"program"
    assert journal.storage.client.get_blob_client("job-b", "translatedInput").exists(), "and the blob is back"
    with pytest.raises(InputNotFoundError):
        journal.get("job-b", "never-written", max_bytes=100)


def test_a_kept_blob_is_not_replaced_by_a_later_write_and_settled_entries_go(azurite: Azurite, tmp_path: Path) -> None:
    now = [1000.0]
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3", clock=lambda: now[0])
    journal.ensure_container("job-c")
    assert journal.put("job-c", "rawOutputData", b"first", "application/json", overwrite=False)
    assert not journal.put("job-c", "rawOutputData", b"second", "application/json", overwrite=False)
    azurite.kill()
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3", clock=lambda: now[0])
    journal.restore()
    assert journal.storage.get("job-c", "rawOutputData", max_bytes=100) == b"first", "the journal holds what was kept"
    now[0] += SETTLE_SECONDS + 1  # storage has saved it since: the next write prunes the entry
    journal.put("job-c", "translatedInput", b"x", "text/plain")
    azurite.kill()
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3", clock=lambda: now[0])
    assert journal.restore() == 1, "only the unsettled entry is journaled still"


def test_a_blob_storage_lists_but_cannot_serve_is_restored(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a kill Azurite may keep a blob's entry but not its content (its two metadata stores are saved
    apart) and answer 500 on a read: restore reads each journaled blob back, and a read falls back too."""
    journal = JournaledArtifactStore(azurite.start(), tmp_path / "journal.sqlite3")
    journal.ensure_container("job-d")
    journal.put("job-d", "rawOutputData", b"{}", "application/json")
    real_get = journal.storage.get
    broken = {("job-d", "rawOutputData")}

    def half_remembered(container: str, blob: str, *, max_bytes: int) -> bytes:
        if (container, blob) in broken:
            broken.discard((container, blob))
            raise DependencyError("Blob storage failed reading: Internal Server Error")
        return real_get(container, blob, max_bytes=max_bytes)

    monkeypatch.setattr(journal.storage, "get", half_remembered)
    assert journal.restore() == 1, "unreadable counts as lost"
    broken.add(("job-d", "rawOutputData"))
    assert journal.get("job-d", "rawOutputData", max_bytes=100) == b"{}"
