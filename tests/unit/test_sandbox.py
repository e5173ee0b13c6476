"""The worker pool that runs simulations apart from the service: limits, environment, recovery."""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.local import LocalSimulators, PooledSimulators
from shared.adapters.sandbox import MAX_PROCESSES, WORKER_NICENESS, Handler, RunLimits, WorkerPool
from shared.domain.catalog import load_catalog
from shared.domain.errors import (
    Diagnostic,
    OutputTooLargeError,
    RunMemoryLimitError,
    RunTimeLimitError,
    TransientJobError,
    UnsupportedProgramError,
)

SECRETS = ("QUANTUM_API_KEYS", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID", "MSI_SECRET")
BELL = b'{"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "controls": [0], "targets": [1]}]}'


def _sleep(seconds: str) -> bytes:
    time.sleep(float(seconds))
    return b"slept"


def _allocate(megabytes: str) -> bytes:
    block = bytearray(int(megabytes) * 2**20)
    return str(len(block)).encode()


def _reject(message: str) -> bytes:
    raise UnsupportedProgramError(message, diagnostics=[Diagnostic(code="Probe", message=message, line=3)])


def _die(name: str) -> bytes:
    os.kill(os.getpid(), signal.Signals[name])
    return b"not reached"


PROBES: dict[str, Callable[[str], bytes]] = {
    "sleep": _sleep,
    "allocate": _allocate,
    "reject": _reject,
    "die": _die,
    "environ": lambda _: json.dumps(sorted(os.environ)).encode(),
    "pid": lambda _: str(os.getpid()).encode(),
}


def probe() -> Handler:
    """A worker's set-up for these tests: commands that misbehave on purpose."""

    def handle(command: str, argument: str = "") -> bytes:
        return PROBES[command](argument)

    return handle


def marking(path: str) -> Handler:
    """A set-up that leaves a mark (before the worker limits itself), then serves the probes."""
    Path(path).write_text("set up")
    return probe()


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerPool]:
    for name in SECRETS:
        monkeypatch.setenv(name, f"sentinel-{name}")
    workers = WorkerPool(probe, workers=1, limits=RunLimits(seconds=2.0, memory_mb=256))
    yield workers
    workers.close()


def test_a_run_past_its_time_limit_is_stopped_and_the_pool_keeps_serving(pool: WorkerPool) -> None:
    first = pool.call("pid")
    with pytest.raises(RunTimeLimitError, match="time limit of 2 s") as raised:
        pool.call("sleep", "600")
    assert raised.value.code == "RunTimeLimitExceeded"
    assert pool.call("sleep", "0") == b"slept"
    assert pool.call("pid") != first, "a fresh worker replaced the one that was stopped"
    assert not Path(f"/proc/{int(first)}").exists()


def test_a_run_past_its_memory_limit_fails_cleanly(pool: WorkerPool) -> None:
    assert pool.call("allocate", "64") == str(64 * 2**20).encode()
    with pytest.raises(RunMemoryLimitError, match="at most 256 MB"):
        pool.call("allocate", "1024")
    assert pool.call("sleep", "0") == b"slept"


@pytest.mark.parametrize("name", ["SIGKILL", "SIGSEGV"])
def test_a_worker_killed_while_running_fails_the_run_as_out_of_memory(pool: WorkerPool, name: str) -> None:
    """The kernel's OOM killer sends SIGKILL; a failed allocation in native code often ends in SIGSEGV."""
    with pytest.raises(RunMemoryLimitError, match=f"died with {name}.*at most 256 MB"):
        pool.call("die", name)
    assert pool.call("sleep", "0") == b"slept"


def test_the_workers_environment_holds_no_secrets(pool: WorkerPool) -> None:
    assert os.environ["QUANTUM_API_KEYS"] == "sentinel-QUANTUM_API_KEYS"
    names = set(json.loads(pool.call("environ")))
    assert not names & set(SECRETS)
    assert not {name for name in names if name.startswith(("AZURE", "IDENTITY", "MSI"))}
    assert "PYTHONPATH" in names


def test_the_worker_limits_itself(pool: WorkerPool) -> None:
    limits = {
        line[:26].strip(): line[26:].split()[:2]
        for line in Path(f"/proc/{int(pool.call('pid'))}/limits").read_text().splitlines()[1:]
    }
    assert limits["Max file size"] == ["0", "0"]
    assert limits["Max core file size"] == ["0", "0"]
    assert limits["Max processes"] == [str(MAX_PROCESSES)] * 2
    address_space = int(limits["Max address space"][0])
    assert address_space == int(limits["Max address space"][1])
    assert 256 * 2**20 < address_space < 16 * 2**30
    assert limits["Max cpu time"][0] != "unlimited"
    niceness = int(Path(f"/proc/{int(pool.call('pid'))}/stat").read_text().rsplit(")", 1)[1].split()[16])
    assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS), "the API's threads come first"


def test_a_permanent_error_comes_back_as_itself(pool: WorkerPool) -> None:
    with pytest.raises(UnsupportedProgramError, match="no such gate") as raised:
        pool.call("reject", "no such gate")
    assert raised.value.diagnostics == (Diagnostic(code="Probe", message="no such gate", line=3),)
    assert pool.call("sleep", "0") == b"slept"


def test_wait_ready_returns_once_a_worker_has_set_up(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    workers = WorkerPool(functools.partial(marking, str(marker)), workers=1, limits=RunLimits(5.0, 256))
    try:
        workers.wait_ready()
        assert marker.read_text() == "set up"
        assert workers.call("pid") != str(os.getpid()).encode()
    finally:
        workers.close()


def test_a_closed_pool_refuses_runs_as_a_transient_failure() -> None:
    workers = WorkerPool(probe, workers=2, limits=RunLimits(seconds=5.0, memory_mb=256))
    assert workers.call("sleep", "0") == b"slept"
    workers.close()
    with pytest.raises(TransientJobError, match="shut down"):
        workers.call("sleep", "0")


def test_the_pooled_simulators_give_what_the_in_process_ones_give() -> None:
    catalog = load_catalog()
    target = catalog.target("ionq", "ionq.simulator")
    quantinuum = catalog.target("quantinuum", "quantinuum.sim.h2-1e")
    wide = b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[200];\nmeasure q[0] -> c[0];\n'
    simulators = PooledSimulators(workers=1, limits=RunLimits(seconds=60.0, memory_mb=1024))
    try:
        pooled = simulators.run(target, target.routes[0], BELL, 100, {})
        with pytest.raises(OutputTooLargeError, match="10000 shots x 200 classical bits"):
            simulators.run(quantinuum, quantinuum.routes[0], wide, 10_000, {})
    finally:
        simulators.close()
    assert pooled == LocalSimulators(AerSimulator()).run(target, target.routes[0], BELL, 100, {})
    assert pooled.data == b'{"histogram": {"0": 0.5, "3": 0.5}}'
