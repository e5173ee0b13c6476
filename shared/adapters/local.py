"""Small adapters for the local host: the system clock, the embedded queue as a sender, the simulators."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import JsonValue

from shared.adapters.aer_simulator import AerSimulator, check_shot_values, quantum_results
from shared.adapters.embedded_queue import EmbeddedQueue, OutgoingMessage
from shared.adapters.estimator import estimate
from shared.adapters.pulser_emulator import pulser_counts, warm_up_program
from shared.adapters.sandbox import Handler, RunLimits, WorkerPool
from shared.domain.catalog import Route, TargetSpec, load_catalog
from shared.domain.errors import UnsupportedFormatError
from shared.domain.messages import Message
from shared.ports import ProviderOutput
from shared.programs.openqasm import parse_qasm2
from shared.programs.qir import parse_qir
from shared.programs.text import decode_text


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class EmbeddedQueueSender:
    """Sends pipeline messages to the embedded queue, with the ids Service Bus would deduplicate on."""

    def __init__(self, queue: EmbeddedQueue) -> None:
        self._queue = queue

    def send(self, queue: str, message: Message) -> None:
        self._queue.send(
            queue,
            OutgoingMessage(
                message_id=message.message_id(),
                body=message.model_dump_json().encode(),
                application_properties={"jobId": message.job_id, "messageType": type(message).__name__},
            ),
        )


class LocalSimulators:
    """The providers' machines, on this one: qiskit-aer, producing each target's own output format.

    An exact target returns outcome probabilities (scaled to the shots for QIR); a noisy target runs
    with its catalog noise, and its IonQ histogram holds measured frequencies; an echo target returns its
    input. The target's output limits (shots x bits, histogram entries) are checked once the program is
    parsed, before it runs.
    This runs in the calling process: the service uses `PooledSimulators`.
    """

    def __init__(self, simulator: AerSimulator) -> None:
        self._simulator = simulator
        self._runners: dict[tuple[str, str], Callable[[TargetSpec, bytes, int, Mapping[str, JsonValue]], bytes]] = {
            ("exact", "ionq.quantum-results.v1"): self._ionq,
            ("exact", "microsoft.quantum-results.v2"): self._qir_exact,
            ("ideal", "honeywell.quantum-results.v1"): self._honeywell,
            ("ideal", "microsoft.quantum-results.v2"): self._qir,
            ("ideal", "rigetti.quil-results.v1"): self._rigetti,
            ("noisy", "ionq.quantum-results.v1"): self._ionq_measured,
            ("noisy", "honeywell.quantum-results.v1"): self._honeywell,
            ("noisy", "microsoft.quantum-results.v2"): self._qir,
            ("noisy", "rigetti.quil-results.v1"): self._rigetti,
            ("syntax-check", "honeywell.quantum-results.v1"): self._honeywell_syntax_check,
            ("syntax-check", "microsoft.quantum-results.v2"): self._qir_syntax_check,
            ("estimator", "microsoft.resource-estimates.v1"): self._estimate,
            ("analog", "pasqal.pulser-results.v1"): self._pasqal,
            ("echo", "microsoft.quantum-log.v1"): self._echo,
            ("echo", "honeywell.qir.v1"): self._echo,
        }

    def run(
        self, target: TargetSpec, route: Route, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> ProviderOutput:
        runner = self._runners.get((target.engine, route.output_format))
        if runner is None:
            raise UnsupportedFormatError(
                f"No local {target.engine} simulator produces {route.output_format} for {target.id}."
            )
        return ProviderOutput(data=runner(target, program, shots, params), usage={"shots": float(shots)})

    def _ionq(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        histogram = self._simulator.ionq_histogram(program, max_entries=target.max_histogram_entries)
        return json.dumps({"histogram": histogram}).encode()

    def _ionq_measured(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        histogram = self._simulator.ionq_frequencies(
            program, shots, noise=target.noise, max_entries=target.max_histogram_entries
        )
        return json.dumps({"histogram": histogram}).encode()

    def _honeywell(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        output = self._simulator.honeywell_shots(
            program, shots, noise=target.noise, max_values=target.max_shots_times_bits
        )
        return json.dumps(output).encode()

    def _rigetti(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        output = self._simulator.rigetti_shots(
            program,
            shots,
            max_values=target.max_shots_times_bits,
            substitutions=params.get("substitutions"),
            noise=target.noise,
        )
        return json.dumps(output).encode()

    def _qir(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        output = self._simulator.qir_results(program, shots, noise=target.noise, max_values=target.max_shots_times_bits)
        return json.dumps(output).encode()

    def _qir_exact(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        output = self._simulator.qir_exact_results(
            program, shots, max_values=target.max_shots_times_bits, max_entries=target.max_histogram_entries
        )
        return json.dumps(output).encode()

    @staticmethod
    def _honeywell_syntax_check(
        target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> bytes:
        """What a syntax checker returns: every shot of every register all zeros."""
        circuit = parse_qasm2(decode_text(program, "OpenQASM 2 program"))
        check_shot_values(shots, sum(register.size for register in circuit.cregs), target.max_shots_times_bits)
        return json.dumps({register.name: ["0" * register.size] * shots for register in circuit.cregs}).encode()

    @staticmethod
    def _qir_syntax_check(target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        """What a syntax checker returns for QIR: every result 0 in every shot."""
        parsed = parse_qir(program)
        check_shot_values(shots, parsed.num_results, target.max_shots_times_bits)
        return json.dumps(quantum_results(parsed, {0: shots}, shuffled=False)).encode()

    @staticmethod
    def _estimate(target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        return estimate(parse_qir(program), params)

    @staticmethod
    def _pasqal(target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        """Pasqal's bitstring counts from an emulation of the sequence, up to the register size it takes."""
        max_atoms = target.max_qubits if target.analog is None else target.analog.max_emulated_atoms
        return json.dumps(pulser_counts(program, shots, max_atoms)).encode()

    @staticmethod
    def _echo(target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        """Microsoft's echo test targets: the output is the (translated, so validated) input, as it is."""
        return program


class PooledSimulators:
    """The service's ProviderBackend: `LocalSimulators` in a pool of worker processes (`sandbox.WorkerPool`),
    so a run never holds this process's GIL, and each run has a wall-time and a memory limit."""

    def __init__(self, *, workers: int, limits: RunLimits) -> None:
        self._pool = WorkerPool(functools.partial(simulations, limits.memory_mb), workers=workers, limits=limits)

    def run(
        self, target: TargetSpec, route: Route, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> ProviderOutput:
        return ProviderOutput(
            data=self._pool.call(target, route, program, shots, params), usage={"shots": float(shots)}
        )

    def wait_ready(self) -> None:
        """Wait until a worker is set up: the local host starts only then (shared/localhost/__main__.py)."""
        self._pool.wait_ready()

    def close(self) -> None:
        self._pool.close()


_WARM_UP = {  # Bell programs in each format a worker reads first: imports, backends and transpiler passes load
    "ionq.circuit.v1": b'{"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, '
    b'{"gate": "x", "controls": [0], "targets": [1]}]}',
    "honeywell.openqasm.v1": b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    b"h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n",
    "pasqal.pulser.v1": warm_up_program(),  # one atom, one pulse: pulser and QuTiP load
}


def simulations(memory_mb: int) -> Handler:
    """A pool worker's set-up: `LocalSimulators` made once and warmed up on every sampling target that
    takes a warm-up format; the handler returns a run's output bytes."""
    simulators = LocalSimulators(AerSimulator(max_memory_mb=memory_mb))
    for provider in load_catalog().providers:
        for target in provider.targets:
            for route in target.routes:
                program = _WARM_UP.get(route.provider_format)
                if program is not None and target.engine != "syntax-check":
                    simulators.run(target, route, program, 10, {})

    def handle(target: TargetSpec, route: Route, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        return simulators.run(target, route, program, shots, params).data

    return handle
