"""Real local servers for the tests: Azurite (blob) and the local host, each a child process."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from shared.localhost.azurite import wait_for_port as port_open

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
API_KEY = "test-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    if not port_open(port, timeout):
        raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def npm_server(command: str, *args: str, port: int) -> Iterator[int]:
    """A server installed by `npm ci`, run until the block ends; yields its port once it listens."""
    process = subprocess.Popen(
        [str(ROOT / "node_modules/.bin" / command), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def azurite(location: Path | None = None) -> contextlib.AbstractContextManager[int]:
    """Azurite's blob service, in memory or in `location`."""
    port = free_port()
    storage = ["--location", str(location)] if location else ["--inMemoryPersistence"]
    flags = ["--silent", "--disableTelemetry", "--skipApiVersionCheck", "--blobHost", "127.0.0.1"]
    return npm_server("azurite-blob", *flags, "--blobPort", str(port), *storage, port=port)


def azurite_oauth(cert: Path, key: Path) -> contextlib.AbstractContextManager[int]:
    """Azurite's blob service over HTTPS with OAuth: it takes bearer tokens and grants user delegation keys."""
    port = free_port()
    flags = [
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--blobHost",
        "127.0.0.1",
        "--inMemoryPersistence",
    ]
    tls = ["--oauth", "basic", "--cert", str(cert), "--key", str(key)]
    return npm_server("azurite-blob", *flags, *tls, "--blobPort", str(port), port=port)


def cosmosdb_server() -> contextlib.AbstractContextManager[int]:
    """The Cosmos DB server from npm (@vercel/cosmosdb-server, patched at install), over HTTPS, in memory."""
    port = free_port()
    return npm_server("cosmosdb-server", "-p", str(port), "--host", "127.0.0.1", port=port)


def _cap_memory(megabytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))


@dataclass
class LocalHostProcess:
    """The local host as a user runs it (`python -m shared.localhost`), on test ports and a temp folder."""

    state_dir: Path
    blob_port: int
    port: int = field(default_factory=free_port)
    settings: Mapping[str, str] = field(default_factory=dict)
    # An address-space cap on the host's process (RLIMIT_AS), as a container's memory limit would be.
    memory_limit_mb: int | None = None
    process: subprocess.Popen[bytes] | None = None
    own_session: bool = False  # a process group of its own, with everything it starts (see LocalStack)

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.settings.get("LOCAL_HTTPS") == "true" else "http"
        return f"{scheme}://127.0.0.1:{self.port}/api/"

    @property
    def workspace_url(self) -> str:
        return (
            f"{self.endpoint}subscriptions/{SUBSCRIPTION}/resourceGroups/local/providers/"
            "Microsoft.Quantum/workspaces/local"
        )

    def start(self) -> None:
        env = {
            **os.environ,
            "PORT": str(self.port),
            "LOCAL_STATE_DIR": str(self.state_dir),
            "LOCAL_START_AZURITE": "false",
            "AZURITE_BLOB_PORT": str(self.blob_port),
            "QUANTUM_API_KEYS": API_KEY,
            "LOCAL_BLOB_POLL_SECONDS": "0.2",
            "QDK_PYTHON_TELEMETRY": "none",
            **self.settings,
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir / "host.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.localhost"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if self.memory_limit_mb is None else partial(_cap_memory, self.memory_limit_mb),
            start_new_session=self.own_session,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local host exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise TimeoutError(f"the local host did not listen on {self.port}:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return (self.state_dir / "host.log").read_text(errors="replace")


def _alive_in_group(pgid: int) -> list[int]:
    """The processes of a process group that still run (zombies, already dead, are not counted)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(stat.parent.name))
    return alive


@dataclass
class LocalStack(LocalHostProcess):
    """The whole local stack as `make run` starts it: the host with its own Azurite (`--location` under the
    state folder) and its simulation workers, all in one process group; `kill` is one SIGKILL of the group,
    as a crash of the machine's session would be, and `start` again runs on the same state and ports."""

    blob_port: int = field(default_factory=free_port)
    own_session: bool = True

    def start(self) -> None:
        self.settings = {**self.settings, "LOCAL_START_AZURITE": "true"}
        super().start()

    def kill(self) -> None:
        """SIGKILL the whole group at once; returns when none of it runs and both ports are free."""
        assert self.process is not None
        pgid = self.process.pid  # a session leader's group id is its pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive_in_group(pgid) or port_open(self.blob_port, 0.01) or port_open(self.port, 0.01):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stack's processes {_alive_in_group(pgid)} outlived SIGKILL of their group")
            time.sleep(0.02)

    def stop(self) -> None:
        """End the stack (not a crash test's kill): a graceful stop, and the group killed if anything is left."""
        super().stop()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
