"""Azurite, the Azure Storage emulator, started as a child process that dies with the host."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


def start_azurite(project_root: Path, location: Path, blob_port: int) -> subprocess.Popen[bytes]:
    binary = project_root / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise RuntimeError(f"Azurite is not installed at {binary}; run 'npm ci' (make run does).")
    location.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(binary),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob_port),
            "--location",
            str(location),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(location / "azurite.log").open("ab"),
        preexec_fn=_die_with_parent,
    )
    if not wait_for_port(blob_port, 30.0):
        process.terminate()
        raise RuntimeError(f"Azurite did not start on port {blob_port}; see {location / 'azurite.log'}.")
    logger.info("Azurite (blob) on 127.0.0.1:%d, data in %s", blob_port, location)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
