"""Local simulation with qiskit-aer: exact IonQ histograms, Quantinuum-style per-shot results and QIR
(sampled, or exact: its outcomes' probabilities scaled to the shots).

Sampling takes an optional `NoiseSpec`: the program then runs on a noisy emulation of that machine
(see `shared.adapters.noise`), and an IonQ histogram holds measured frequencies instead of exact
probabilities, as from a QPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ControlFlowOp, Operation
from qiskit.circuit.library import CXGate
from qiskit.exceptions import QiskitError
from qiskit.quantum_info import Clifford
from qiskit.result import Result
from qiskit.transpiler import TranspilerError
from qiskit_aer import AerSimulator as AerBackend
from qiskit_aer.library import SaveProbabilities, SaveProbabilitiesDict

from shared.adapters.noise import noisy_backend
from shared.domain.catalog import NoiseSpec
from shared.domain.errors import Diagnostic, OutputTooLargeError, UnsupportedProgramError
from shared.programs.ionq_json import ionq_to_circuit, parse_ionq
from shared.programs.openqasm import QASM2_PROGRAM, parse_qasm2
from shared.programs.qir import Outcome, QirProgram, display_outcome, parse_qir, qir_to_circuit
from shared.programs.quil import QUIL_PROGRAM, memory_sets, parse_quil
from shared.programs.text import decode_text

PROBABILITY_FLOOR = 1e-12


@dataclass(frozen=True)
class _Machine:
    """An Aer backend and the instructions it runs without transpiling."""

    backend: AerBackend
    native: frozenset[str]

    @classmethod
    def of(cls, backend: AerBackend) -> _Machine:
        return cls(backend, frozenset(str(name) for name in backend.target.operation_names) | {"barrier"})


class AerSimulator:
    """Runs programs on qiskit-aer backends created once per instance (make one per process);
    a noisy backend is made on first use of each noise specification. With `max_memory_mb`, Aer
    refuses a program whose simulation needs more memory than that, before it starts."""

    def __init__(self, max_memory_mb: int | None = None) -> None:
        self._options: dict[str, object] = {} if max_memory_mb is None else {"max_memory_mb": max_memory_mb}
        self._ideal = _Machine.of(AerBackend(**self._options))  # automatic method: stabilizer for Clifford programs
        self._noisy: dict[NoiseSpec, _Machine] = {}

    def ionq_histogram(self, ionq_json: bytes, max_entries: int | None = None) -> dict[str, float]:
        """Exact outcome probabilities over all qubits, keyed by basis-state index (qubit 0 = bit 0); a histogram
        of more than `max_entries` outcomes is refused without being built (see `_probabilities`)."""
        circuit = ionq_to_circuit(parse_ionq(ionq_json))
        probabilities = self._probabilities(circuit, list(range(circuit.num_qubits)), max_entries)
        return {str(i): p for i, p in probabilities.items()}

    def ionq_frequencies(
        self,
        ionq_json: bytes,
        shots: int,
        seed: int | None = None,
        noise: NoiseSpec | None = None,
        max_entries: int | None = None,
    ) -> dict[str, float]:
        """Measured frequencies (count / shots) over all qubits, keyed as in `ionq_histogram`: a QPU's histogram.

        It holds at most `shots` outcomes; with `max_entries`, more are refused (OutputTooLargeError)."""
        _check_shots(shots)
        circuit = ionq_to_circuit(parse_ionq(ionq_json))
        circuit.measure_all()  # clbit i holds qubit i, so a count's key is the basis-state index
        counts = self._counts(self._sampler(noise), circuit, shots, seed)
        if max_entries is not None:
            _check_entries(len(counts), max_entries)
        return {str(index): counts[key] / shots for index, key in sorted((int(key, 16), key) for key in counts)}

    def honeywell_shots(
        self,
        qasm2: bytes,
        shots: int,
        seed: int | None = None,
        noise: NoiseSpec | None = None,
        max_values: int | None = None,
    ) -> dict[str, list[str]]:
        """One bitstring per shot for each classical register, in declaration order, c[0] rightmost.

        Aer samples counts; the shots are those outcomes in a (seeded) random order, which has the
        same distribution as Aer's per-shot memory at a fraction of its cost. With `max_values`, an
        output of more than that many bits (shots x classical bits) is refused before running.
        """
        circuit = parse_qasm2(decode_text(qasm2, QASM2_PROGRAM))
        return self._register_shots(circuit, shots, seed, noise, max_values)

    def rigetti_shots(
        self,
        quil: bytes,
        shots: int,
        seed: int | None = None,
        max_values: int | None = None,
        substitutions: object = None,
        noise: NoiseSpec | None = None,
    ) -> dict[str, list[list[int]]]:
        """`rigetti.quil-results.v1`: for each declared BIT/OCTET region, one list of values per shot, index order.

        With `substitutions` (inputParams.substitutions, checked by `quil.memory_sets`), the program runs
        `shots` times per set of memory values, the sets in order; `max_values` bounds all the runs' values,
        and `noise` applies, as for `honeywell_shots`.
        """
        text = decode_text(quil, QUIL_PROGRAM)
        runs = memory_sets(text, substitutions)
        output: dict[str, list[list[int]]] = {}
        for memory in runs:
            circuit = parse_quil(text, memory=memory)
            if max_values is not None:
                check_shot_values(shots * len(runs), sum(register.size for register in circuit.cregs), max_values)
            for region, labels in self._register_shots(circuit, shots, seed, noise).items():
                output.setdefault(region, []).extend([int(bit) for bit in reversed(label)] for label in labels)
        return output

    def _register_shots(
        self,
        circuit: QuantumCircuit,
        shots: int,
        seed: int | None,
        noise: NoiseSpec | None = None,
        max_values: int | None = None,
    ) -> dict[str, list[str]]:
        _check_shots(shots)
        if max_values is not None:
            check_shot_values(shots, sum(register.size for register in circuit.cregs), max_values)
        if not circuit.cregs:
            return {}
        counts = self._counts(self._sampler(noise), circuit, shots, seed)
        outcomes = [int(key, 16) for key in counts]
        repeated = np.repeat(np.arange(len(outcomes)), list(counts.values()))
        order: list[int] = np.random.default_rng(seed).permutation(repeated).tolist()
        per_register: dict[str, list[str]] = {}
        for register in circuit.cregs:
            positions = [int(circuit.find_bit(bit).index) for bit in reversed(register)]
            labels = ["".join("1" if value >> i & 1 else "0" for i in positions) for value in outcomes]
            per_register[str(register.name)] = [labels[i] for i in order]
        return per_register

    def qir_results(
        self,
        qir: bytes,
        shots: int,
        seed: int | None = None,
        noise: NoiseSpec | None = None,
        max_values: int | None = None,
    ) -> dict[str, object]:
        """`microsoft.quantum-results.v2` for a QIR program (base or adaptive profile): a histogram and every shot.

        Each shot's outcome follows the program's output recording (0/1 for a result, a list for an
        array, {"Item1": ...} for a tuple; every result in index order when nothing is recorded).
        Shots are Aer's counts in a (seeded) random order, as for `honeywell_shots`; `max_values` bounds
        shots x results, as there.
        """
        _check_shots(shots)
        program = parse_qir(qir)
        if max_values is not None:
            check_shot_values(shots, program.num_results, max_values)
        circuit = qir_to_circuit(program)
        counts: dict[str, int] = {"0x0": shots}  # nothing measured: every result is 0
        if _measures(circuit):
            counts = self._counts(self._sampler(noise), circuit, shots, seed)
        return quantum_results(program, {int(key, 16): count for key, count in counts.items()}, seed)

    def qir_exact_results(
        self, qir: bytes, shots: int, max_values: int | None = None, max_entries: int | None = None
    ) -> dict[str, object]:
        """`microsoft.quantum-results.v2` for a base-profile QIR program from its exact outcome probabilities:
        each outcome's count is its probability times `shots`, rounded so that the counts add up to `shots`
        (an ideal simulator's histogram, as ionq.simulator returns). `max_values` as for `qir_results`;
        `max_entries` bounds the outcomes as for `ionq_histogram`."""
        _check_shots(shots)
        program = parse_qir(qir)
        if max_values is not None:
            check_shot_values(shots, program.num_results, max_values)
        circuit, reads = _deferred_measurements(qir_to_circuit(program))
        measured = [(result, qubit) for result, qubit in enumerate(reads) if qubit is not None]
        probabilities = self._probabilities(circuit, [q for _, q in measured], max_entries) if measured else {0: 1.0}
        by_value = {
            sum((index >> bit & 1) << result for bit, (result, _) in enumerate(measured)): p
            for index, p in probabilities.items()
        }
        return quantum_results(program, _scaled(by_value, shots), shuffled=False)

    def _probabilities(
        self, circuit: QuantumCircuit, qubits: Sequence[int], max_entries: int | None
    ) -> dict[int, float]:
        """Exact probabilities of the basis states of `qubits` (qubits[i] is bit i of a state's index), those
        of at least PROBABILITY_FLOOR; `circuit` measures nothing.

        A Clifford circuit's come from the stabilizer method, so a wide GHZ state costs microseconds.
        With `max_entries`, more outcomes are refused (OutputTooLargeError) without being listed: a
        Clifford circuit's are bounded by its state's, counted from its tableau before it runs, another's
        are counted from the probability vector.
        """
        if max_entries is None or 2 ** len(qubits) <= max_entries:
            circuit.append(SaveProbabilitiesDict(len(qubits)), list(qubits))
            data = self._run(self._ideal, circuit, shots=1).data(0)
            return {int(i): float(p) for i, p in data["probabilities_dict"].items() if p >= PROBABILITY_FLOOR}
        outcomes = _clifford_outcomes(circuit)
        if outcomes is not None:
            _check_entries(outcomes, max_entries)
            return self._probabilities(circuit, qubits, None)
        circuit.append(SaveProbabilities(len(qubits)), list(qubits))
        probabilities = np.asarray(self._run(self._ideal, circuit, shots=1).data(0)["probabilities"])
        indices = np.flatnonzero(probabilities >= PROBABILITY_FLOOR)
        _check_entries(len(indices), max_entries)
        return {i: float(probabilities[i]) for i in indices.tolist()}

    def _sampler(self, noise: NoiseSpec | None) -> _Machine:
        if noise is None:
            return self._ideal
        machine = self._noisy.get(noise)
        if machine is None:
            machine = self._noisy[noise] = _Machine.of(noisy_backend(noise))
            machine.backend.set_options(**self._options)
        return machine

    def _counts(self, machine: _Machine, circuit: QuantumCircuit, shots: int, seed: int | None) -> dict[str, int]:
        """Counts keyed by the hex value of all clbits; a circuit that measures nothing reads all zeros."""
        result = self._run(machine, circuit, shots=shots, seed_simulator=seed)
        counts: dict[str, int] = result.data(0).get("counts", {"0x0": shots})
        return counts

    @staticmethod
    def _run(machine: _Machine, circuit: QuantumCircuit, **options: object) -> Result:
        """Run as is when the backend knows every instruction; otherwise translate the unknown gates to
        its own (optimization level 0: the gates stay as written, which the noise model counts on)."""
        try:
            runnable = (
                circuit
                if _runs_as_is(circuit, machine.native)
                else transpile(circuit, machine.backend, optimization_level=0)
            )
        except TranspilerError as exc:
            _cannot_run(f"a gate has no definition the simulator can use (opaque?): {exc.message}")
        result = machine.backend.run(runnable, **options).result()
        if not result.success:
            _cannot_run(str(result.status))
        return result


def quantum_results(
    program: QirProgram, counts: Mapping[int, int], seed: int | None = None, *, shuffled: bool = True
) -> dict[str, object]:
    """`microsoft.quantum-results.v2` from counts keyed by the value of the program's results (result r is bit r).

    Outcomes that print alike (results nobody records can split one) are one histogram entry. The shots are
    the outcomes in a (seeded) random order, as a sampler gives them; `shuffled=False` lists them in histogram
    order, for output that has no order of its own (exact counts, a syntax checker's zeros).
    """
    groups: dict[str, int] = {}  # display -> group
    outcomes: list[Outcome] = []
    group_counts: list[int] = []
    for value, count in counts.items():
        outcome = program.outcome([value >> i & 1 for i in range(program.num_results)])
        group = groups.setdefault(display_outcome(outcome), len(outcomes))
        if group == len(outcomes):
            outcomes.append(outcome)
            group_counts.append(0)
        group_counts[group] += int(count)
    listed = sorted(groups.items())
    if shuffled:
        repeated = np.repeat(np.arange(len(outcomes)), group_counts)
        order: list[int] = np.random.default_rng(seed).permutation(repeated).tolist()
    else:
        order = [group for _, group in listed for _ in range(group_counts[group])]
    histogram = [
        {"Outcome": outcomes[group], "Display": display, "Count": group_counts[group]} for display, group in listed
    ]
    return {
        "DataFormat": "microsoft.quantum-results.v2",
        "Results": [{"Histogram": histogram, "Shots": [outcomes[group] for group in order]}],
    }


def _scaled(probabilities: Mapping[int, float], shots: int) -> dict[int, int]:
    """Counts in proportion to `probabilities` that add up to `shots`: each outcome gets the whole part of its
    share, and the shots left over go to the largest remainders (ties to the smaller value); no zero counts."""
    total = sum(probabilities.values())
    shares = {value: p / total * shots for value, p in probabilities.items()}
    counts = {value: int(share) for value, share in shares.items()}
    left = shots - sum(counts.values())
    for value in sorted(shares, key=lambda v: (counts[v] - shares[v], v))[:left]:
        counts[value] += 1
    return {value: count for value, count in counts.items() if count}


def _deferred_measurements(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int | None]]:
    """The circuit without measurements or resets, and the qubit each result is read from at its end (None: the
    result is never measured and reads 0), by the principle of deferred measurement.

    A qubit measured for the last time is read where it ends; one used again is first copied (CX) to a fresh
    qubit, which is read instead. A reset qubit used again carries on as a fresh |0> qubit. Branches have no
    exact counterpart here: such a program is refused.
    """
    items = list(circuit.data)
    last_use: dict[int, int] = {}  # qubit -> position of the last operation that reads or changes it
    for position, item in enumerate(items):
        if item.operation.name not in ("reset", "barrier"):
            for qubit in item.qubits:
                last_use[circuit.find_bit(qubit).index] = position
    wires = list(range(circuit.num_qubits))  # each qubit's current wire in the new circuit
    width = circuit.num_qubits
    reads: list[int | None] = [None] * circuit.num_clbits
    steps: list[tuple[Operation, list[int]]] = []
    for position, item in enumerate(items):
        operation, qubits = item.operation, [circuit.find_bit(qubit).index for qubit in item.qubits]
        if isinstance(operation, ControlFlowOp):
            _cannot_run("exact probabilities are computed for base-profile programs; this one branches")
        used_again = any(last_use.get(qubit, -1) > position for qubit in qubits)
        if operation.name == "measure":
            read = wires[qubits[0]]
            if used_again:
                read, width = width, width + 1
                steps.append((CXGate(), [wires[qubits[0]], read]))
            reads[circuit.find_bit(item.clbits[0]).index] = read
        elif operation.name == "reset":
            if used_again:
                wires[qubits[0]], width = width, width + 1
        elif operation.name != "barrier":
            steps.append((operation, [wires[qubit] for qubit in qubits]))
    deferred = QuantumCircuit(max(width, 1))
    for operation, on in steps:
        deferred.append(operation, on)
    return deferred, reads


def _runs_as_is(circuit: QuantumCircuit, native: frozenset[str]) -> bool:
    """Whether the backend knows every instruction, inside conditional and loop bodies too."""
    for item in circuit.data:
        operation = item.operation
        if str(operation.name) not in native:
            return False
        if isinstance(operation, ControlFlowOp) and not all(_runs_as_is(block, native) for block in operation.blocks):
            return False
    return True


def _measures(circuit: QuantumCircuit) -> bool:
    """Whether the circuit measures anything, inside conditional blocks too."""
    return any(
        item.operation.name == "measure"
        or (isinstance(item.operation, ControlFlowOp) and any(map(_measures, item.operation.blocks)))
        for item in circuit.data
    )


def _clifford_outcomes(circuit: QuantumCircuit) -> int | None:
    """How many basis states a Clifford circuit's state spans (2 to the rank of its stabilizers' X part
    over GF(2)); None when the circuit is not Clifford."""
    try:
        tableau = Clifford(circuit)
    except QiskitError:
        return None
    rows = [value for value in (int("".join("1" if bit else "0" for bit in row), 2) for row in tableau.stab_x) if value]
    rank = 0
    while rows:  # Gaussian elimination: the largest row's top bit is cleared from every other row
        pivot = max(rows)
        top = pivot.bit_length() - 1
        rows = [reduced for row in rows if row != pivot and (reduced := row ^ pivot if row >> top & 1 else row)]
        rank += 1
    return int(2**rank)


def _check_entries(entries: int, max_entries: int) -> None:
    if entries > max_entries:
        raise OutputTooLargeError(
            f"The histogram would hold {entries} outcomes; the target returns at most {max_entries}.",
            diagnostics=[Diagnostic(code="OutputTooLarge", message=f"at most {max_entries} histogram entries")],
        )


def check_shot_values(shots: int, bits: int, max_values: int) -> None:
    """A per-shot output holds shots x classical bits values; refuse one past `max_values` before running."""
    if shots * bits > max_values:
        message = (
            f"{shots} shots x {bits} classical bits = {shots * bits} output values; the target allows {max_values}"
        )
        raise OutputTooLargeError(
            f"The output would be too large: {message}. Use fewer shots or measure fewer bits.",
            diagnostics=[Diagnostic(code="OutputTooLarge", message=message)],
        )


def _check_shots(shots: int) -> None:
    if shots < 1:
        raise ValueError(f"shots must be at least 1, got {shots}")


def _cannot_run(message: str) -> NoReturn:
    raise UnsupportedProgramError(
        f"The simulator cannot run this program: {message}",
        diagnostics=[Diagnostic(code="SimulationFailed", message=message)],
    )
