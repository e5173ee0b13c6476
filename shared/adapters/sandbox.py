"""A bounded pool of persistent worker processes that run untrusted work apart from the service's process.

A simulation holds the GIL for its whole run, so run in the service's process it stops the API and
every other trigger. Here each run goes to one of a few worker processes started once (imports and
set-up paid once, not per run) and reused. A worker's environment is an allow-list (no API keys, no
managed-identity endpoint), and it limits itself before taking any work: address space (what it uses
once set up, plus the memory limit), no files written (`RLIMIT_FSIZE` 0), no core files, a process
count, a lower scheduling priority than the service's, and before each run a CPU-time budget. The parent
bounds each run's wall time: past it, the worker is killed and a fresh one takes its place.

Messages to a worker are pickles (the service is the trusted side); a worker answers with plain
bytes, or JSON for an error, never a pickle, so a worker subverted by its input cannot run code here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from queue import SimpleQueue
from typing import IO, NoReturn, cast

from shared.domain.errors import (
    Diagnostic,
    JobServiceError,
    PermanentJobError,
    RunMemoryLimitError,
    RunTimeLimitError,
    TransientJobError,
)

logger = logging.getLogger(__name__)

Handler = Callable[..., bytes]
"""What a worker runs for each request: the request's arguments in, the answer's bytes out."""

# Variables a worker keeps from the service's environment; everything else (keys, identity endpoints) stays out.
INHERITED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "QDK_PYTHON_TELEMETRY")
MAX_PROCESSES = 4096  # RLIMIT_NPROC; the kernel applies it to non-root users only (root is exempt)
WORKER_NICENESS = 10  # added to the service's: a worker is scheduled after the service's own threads
START_SECONDS = 120.0  # for a worker's imports and warm-up, on a busy machine

_REQUEST = struct.Struct(">Q")
_REPLY = struct.Struct(">BQ")
_READY, _OUTPUT, _REJECTED, _OUT_OF_MEMORY, _FAILED = range(5)
_MEMORY_DEATHS = frozenset({signal.SIGKILL, signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS})


@dataclass(frozen=True)
class RunLimits:
    """Limits on each run: wall time (and a CPU-time budget from it), and memory beyond the set-up worker's."""

    seconds: float
    memory_mb: int


class WorkerPool:
    """`workers` processes, each made by calling `setup` (a picklable callable returning a `Handler`).

    `call(*args)` waits for an idle worker, runs the handler there and returns its bytes; a
    `PermanentJobError` raised by the handler is raised here again (its class, message and diagnostics).
    """

    def __init__(self, setup: Callable[[], Handler], *, workers: int, limits: RunLimits) -> None:
        self._setup = pickle.dumps((setup, limits))
        self._limits = limits
        self._idle: SimpleQueue[_Worker | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._closed = False
        for _ in range(workers):
            self._idle.put(self._start())

    def call(self, *args: object) -> bytes:
        with self._borrowed() as worker:
            return worker.call(pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL), self._limits)

    def wait_ready(self) -> None:
        """Wait until a worker has set up (its imports and warm-up), so that a first run does not wait on them."""
        try:
            with self._borrowed() as worker:
                worker.wait_ready(self._limits)
        except JobServiceError as error:  # a worker that failed is replaced; a run then waits on its successor
            logger.warning("%s", error.message)

    @contextlib.contextmanager
    def _borrowed(self) -> Iterator[_Worker]:
        """An idle worker, given back afterwards (or a fresh one in its place when it is no longer healthy)."""
        worker = self._idle.get()
        if worker is None:
            self._idle.put(None)  # wake the next waiter too
            raise TransientJobError("The simulation workers are shut down.")
        try:
            yield worker
        finally:
            self._idle.put(worker if worker.healthy else self._replace(worker))

    def close(self) -> None:
        """Stop every worker; a run under way fails with a transient error, so its message is delivered again."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.stop()
        while not self._idle.empty():  # the idle ones; a busy one is released by its caller
            idle = self._idle.get()
            if idle is not None:
                idle.release()
        self._idle.put(None)

    def _start(self) -> _Worker | None:
        with self._lock:
            if self._closed:
                return None
            worker = _Worker(self._setup)
            self._workers.add(worker)
            return worker

    def _replace(self, worker: _Worker) -> _Worker | None:
        worker.release()
        with self._lock:
            self._workers.discard(worker)
        return self._start()


class _Worker:
    def __init__(self, setup: bytes) -> None:
        environment = {name: os.environ[name] for name in INHERITED_ENVIRONMENT if name in os.environ}
        environment["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        # -P: the working folder is not put on sys.path (PYTHONPATH carries the service's).
        command = [sys.executable, "-P", "-X", "faulthandler", "-c", f"from {__name__} import serve; serve()"]
        self.process = subprocess.Popen(  # this interpreter, a fixed command
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            close_fds=True,
        )
        self._requests = cast("IO[bytes]", self.process.stdin)
        self._replies = cast("IO[bytes]", self.process.stdout).fileno()
        self.healthy = True
        self._ready = False
        self._stopped = False
        threading.Thread(
            target=_relay, args=(cast("IO[bytes]", self.process.stderr), self.process.pid), daemon=True
        ).start()
        self._send(setup)

    def wait_ready(self, limits: RunLimits) -> None:
        if not self._ready:
            kind, _ = self._receive(time.monotonic() + START_SECONDS, limits, starting=True)
            self._ready = kind == _READY
            if not self._ready:
                raise self._lost(TransientJobError("A simulation worker did not start."))

    def call(self, request: bytes, limits: RunLimits) -> bytes:
        self.wait_ready(limits)
        self._send(request)
        kind, payload = self._receive(time.monotonic() + limits.seconds, limits, starting=False)
        if kind == _OUTPUT:
            return payload
        if kind == _REJECTED:
            raise _permanent_error(payload)
        if kind == _OUT_OF_MEMORY:
            raise self._lost(_memory_error(limits, "it ran out of memory"))
        raise self._lost(TransientJobError(f"The simulator failed: {payload.decode('utf-8', 'replace')}"))

    def stop(self) -> None:
        """Kill the process (from any thread); its caller then sees it end."""
        self.healthy = False
        self._stopped = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()

    def release(self) -> None:
        """Stop it and close its pipes: by the one thread that holds it."""
        self.stop()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def _send(self, message: bytes) -> None:
        with contextlib.suppress(OSError):  # a worker that died while idle: _receive tells how
            self._requests.write(_REQUEST.pack(len(message)))
            self._requests.write(message)
            self._requests.flush()

    def _receive(self, deadline: float, limits: RunLimits, *, starting: bool) -> tuple[int, bytes]:
        header = self._read(_REPLY.size, deadline, limits, starting=starting)
        kind, length = _REPLY.unpack(header)
        return kind, self._read(length, deadline, limits, starting=starting)

    def _read(self, size: int, deadline: float, limits: RunLimits, *, starting: bool) -> bytes:
        chunks: list[bytes] = []
        poller = select.poll()
        poller.register(self._replies, select.POLLIN)
        while size > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(math.ceil(remaining * 1000)):
                if starting:
                    raise self._lost(TransientJobError(f"A simulation worker did not start in {START_SECONDS:g} s."))
                raise self._lost(_time_error(limits))
            chunk = os.read(self._replies, min(size, 1 << 20))
            if not chunk:
                self._died(limits)
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _died(self, limits: RunLimits) -> NoReturn:
        code = self.process.wait()
        if self._stopped:
            raise TransientJobError("The simulation workers were shut down during the run.")
        if code == -signal.SIGXCPU:
            raise self._lost(_time_error(limits))  # its CPU-time budget ran out
        if -code in _MEMORY_DEATHS:
            raise self._lost(_memory_error(limits, f"its process died with {signal.Signals(-code).name}"))
        raise self._lost(TransientJobError(f"A simulation worker exited unexpectedly (exit code {code})."))

    def _lost(self, error: JobServiceError) -> JobServiceError:
        """Stop this worker (the pool starts another) and give back the error to raise."""
        self.stop()
        return error


def _time_error(limits: RunLimits) -> RunTimeLimitError:
    return RunTimeLimitError(f"The simulation ran past its time limit of {limits.seconds:g} s and was stopped.")


def _memory_error(limits: RunLimits, how: str) -> RunMemoryLimitError:
    return RunMemoryLimitError(f"The simulation was stopped: {how}; a run may use at most {limits.memory_mb} MB.")


def _permanent_error(payload: bytes) -> PermanentJobError:
    """The worker's verdict as the same error class; a class this process does not know is a PermanentJobError."""
    reply = json.loads(payload)
    known = _subclasses(PermanentJobError)
    error_class = known.get(str(reply["type"]), PermanentJobError)
    diagnostics = [Diagnostic.model_validate(item) for item in reply["diagnostics"]]
    return error_class(str(reply["message"]), diagnostics=diagnostics, target=reply["target"])


def _subclasses(root: type[PermanentJobError]) -> dict[str, type[PermanentJobError]]:
    found = {root.__name__: root}
    for child in root.__subclasses__():
        found |= _subclasses(child)
    return found


def _relay(stream: IO[bytes], pid: int) -> None:
    """A worker's stderr (warnings, a crash's traceback from faulthandler) into the service's log."""
    with stream:
        for line in stream:
            logger.warning("Simulation worker %d: %s", pid, line.decode("utf-8", "replace").rstrip())


# -- the worker's side ---------------------------------------------------------------------------


def serve() -> None:
    """A worker's life: read its set-up, set up, limit itself, then answer requests until stdin closes."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)  # a library's print goes to stderr, never into the replies
    setup, limits = pickle.loads(_take(requests) or b"")  # noqa: S301 - from the service itself
    handler = setup()
    _limit_resources(limits)
    _answer(replies, _READY, b"")
    while (request := _take(requests)) is not None:
        _budget_cpu(limits)
        try:
            kind, payload = _OUTPUT, handler(*pickle.loads(request))  # noqa: S301 - from the service itself
        except PermanentJobError as error:
            kind, payload = _REJECTED, _rejection(error)
        except MemoryError:
            kind, payload = _OUT_OF_MEMORY, b""
        except Exception as error:  # the worker's outermost handler: the service decides
            kind, payload = _FAILED, f"{type(error).__name__}: {error}".encode()
        _answer(replies, kind, payload)


def _limit_resources(limits: RunLimits) -> None:
    # Below the service's priority: on cores it shares with a long simulation, the API answers first (measured with
    # bench/pipeline.py, the API's p99 during a simulation went from 1.9-2.3x idle to 0.8-1.8x).
    os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write to a file fails (EFBIG) instead of killing the worker
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    _lower(resource.RLIMIT_NPROC, MAX_PROCESSES)
    # The interpreter and its libraries reserve much address space they never touch (about 2.5 GB
    # with qiskit), so the limit is what the set-up worker holds plus the memory a run may use.
    with open("/proc/self/statm") as statm:  # noqa: PTH123 - one procfs read
        held = int(statm.read().split()[0]) * resource.getpagesize()
    _lower(resource.RLIMIT_AS, held + limits.memory_mb * 2**20)


def _lower(limit: int, value: int) -> None:
    hard = resource.getrlimit(limit)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(limit, (value, value))


def _budget_cpu(limits: RunLimits) -> None:
    """CPU time for the next run: the wall-time limit on every core. The parent's clock is the real bound;
    this one holds if the parent cannot act. A worker lives across runs, so the budget adds to what it used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    budget = math.ceil(usage.ru_utime + usage.ru_stime + limits.seconds * (os.cpu_count() or 1)) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (budget if hard == resource.RLIM_INFINITY else min(budget, hard), hard))


def _rejection(error: PermanentJobError) -> bytes:
    diagnostics = [item.model_dump(mode="json") for item in error.diagnostics]
    reply = {"type": type(error).__name__, "message": error.message, "diagnostics": diagnostics, "target": error.target}
    return json.dumps(reply).encode()


def _take(stream: IO[bytes]) -> bytes | None:
    header = stream.read(_REQUEST.size)
    if len(header) < _REQUEST.size:
        return None
    return stream.read(_REQUEST.unpack(header)[0])


def _answer(stream: IO[bytes], kind: int, payload: bytes) -> None:
    stream.write(_REPLY.pack(kind, len(payload)))
    stream.write(payload)
    stream.flush()
