"""Small adapters for the local host: the system clock, the embedded queue as a sender, the simulators."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import JsonValue

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.embedded_queue import EmbeddedQueue, OutgoingMessage
from shared.adapters.estimator import estimate
from shared.domain.catalog import Route, TargetSpec
from shared.domain.errors import UnsupportedFormatError
from shared.domain.messages import Message
from shared.ports import ProviderOutput
from shared.programs.formats import decode_text
from shared.programs.openqasm import parse_qasm2
from shared.programs.qir import parse_qir


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

    A noisy target runs with its catalog noise; its IonQ histogram holds measured frequencies.
    """

    def __init__(self, simulator: AerSimulator) -> None:
        self._simulator = simulator
        self._runners: dict[tuple[str, str], Callable[[TargetSpec, bytes, int, Mapping[str, JsonValue]], bytes]] = {
            ("ideal", "ionq.quantum-results.v1"): self._ionq,
            ("ideal", "honeywell.quantum-results.v1"): self._honeywell,
            ("ideal", "microsoft.quantum-results.v2"): self._qir,
            ("ideal", "rigetti.quil-results.v1"): self._rigetti,
            ("noisy", "ionq.quantum-results.v1"): self._ionq_measured,
            ("noisy", "honeywell.quantum-results.v1"): self._honeywell,
            ("noisy", "microsoft.quantum-results.v2"): self._qir,
            ("syntax-check", "honeywell.quantum-results.v1"): self._honeywell_syntax_check,
            ("estimator", "microsoft.resource-estimates.v1"): self._estimate,
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
        return json.dumps({"histogram": self._simulator.ionq_histogram(program)}).encode()

    def _ionq_measured(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        histogram = self._simulator.ionq_frequencies(program, shots, noise=target.noise)
        return json.dumps({"histogram": histogram}).encode()

    def _honeywell(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        return json.dumps(self._simulator.honeywell_shots(program, shots, noise=target.noise)).encode()

    def _rigetti(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        return json.dumps(self._simulator.rigetti_shots(program, shots)).encode()

    def _qir(self, target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        return json.dumps(self._simulator.qir_results(program, shots, noise=target.noise)).encode()

    @staticmethod
    def _honeywell_syntax_check(
        target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> bytes:
        """What a syntax checker returns: every shot of every register all zeros."""
        circuit = parse_qasm2(decode_text(program, "OpenQASM 2 program"))
        return json.dumps({register.name: ["0" * register.size] * shots for register in circuit.cregs}).encode()

    @staticmethod
    def _estimate(target: TargetSpec, program: bytes, shots: int, params: Mapping[str, JsonValue]) -> bytes:
        return estimate(parse_qir(program), params)
