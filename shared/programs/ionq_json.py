"""IonQ JSON (`ionq.circuit.v1`, qis gateset): validation, canonical form and conversion to/from qiskit.

IonQ measures every qubit once, at the end, so the format has no measurement, reset or condition.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, NonNegativeInt, ValidationError
from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction, ControlFlowOp, Gate, Qubit
from qiskit.circuit.equivalence_library import SessionEquivalenceLibrary
from qiskit.circuit.library import (
    HGate,
    RXGate,
    RXXGate,
    RYGate,
    RYYGate,
    RZGate,
    RZZGate,
    SdgGate,
    SGate,
    SwapGate,
    SXdgGate,
    SXGate,
    TdgGate,
    TGate,
    XGate,
    YGate,
    ZGate,
)
from qiskit.transpiler import PassManager, TranspilerError
from qiskit.transpiler.passes import BasisTranslator, HighLevelSynthesis

from shared.domain.errors import Diagnostic, UnsupportedProgramError

from .formats import decode_text, invalid_program

IONQ_PROGRAM = "The IonQ circuit"
CODE = "InvalidIonQCircuit"
MAX_QUBITS = 64


@dataclass(frozen=True)
class _GateSpec:
    build: Callable[..., Gate]
    targets: int
    rotation: bool
    controllable: bool


_QIS: dict[str, _GateSpec] = {
    "x": _GateSpec(XGate, 1, False, True),
    "y": _GateSpec(YGate, 1, False, True),
    "z": _GateSpec(ZGate, 1, False, True),
    "h": _GateSpec(HGate, 1, False, True),
    "s": _GateSpec(SGate, 1, False, True),
    "si": _GateSpec(SdgGate, 1, False, True),
    "t": _GateSpec(TGate, 1, False, True),
    "ti": _GateSpec(TdgGate, 1, False, True),
    "v": _GateSpec(SXGate, 1, False, True),
    "vi": _GateSpec(SXdgGate, 1, False, True),
    "rx": _GateSpec(RXGate, 1, True, True),
    "ry": _GateSpec(RYGate, 1, True, True),
    "rz": _GateSpec(RZGate, 1, True, True),
    "swap": _GateSpec(SwapGate, 2, False, False),
    "xx": _GateSpec(RXXGate, 2, True, False),
    "yy": _GateSpec(RYYGate, 2, True, False),
    "zz": _GateSpec(RZZGate, 2, True, False),
}
# qiskit gate name -> qis name, for gates written as they are (qubits = targets).
_FROM_QISKIT = {
    "x": "x",
    "y": "y",
    "z": "z",
    "h": "h",
    "s": "s",
    "sdg": "si",
    "t": "t",
    "tdg": "ti",
    "sx": "v",
    "sxdg": "vi",
    "rx": "rx",
    "ry": "ry",
    "rz": "rz",
    "swap": "swap",
    "rxx": "xx",
    "ryy": "yy",
    "rzz": "zz",
}
# qiskit controlled gates (all controls closed) -> qis base gate; the last qubit is the target.
_CONTROLLED_FROM_QISKIT = {"cx": "x", "ccx": "x", "mcx": "x", "cz": "z"}
_BASIS = [*_FROM_QISKIT, *_CONTROLLED_FROM_QISKIT]
_TO_BASIS = PassManager(
    [
        HighLevelSynthesis(equivalence_library=SessionEquivalenceLibrary, basis_gates=_BASIS),
        BasisTranslator(SessionEquivalenceLibrary, _BASIS),
    ]
)
_DROPPED = frozenset({"barrier", "delay", "id"})
_ERROR_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "model_type": "must be a JSON object",
}


class IonQGate(BaseModel):
    """One operation: a qis gate on `targets`, optionally controlled and with a rotation in radians."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    gate: str
    targets: list[NonNegativeInt] = Field(min_length=1)
    controls: list[NonNegativeInt] = Field(default_factory=list)
    rotation: FiniteFloat | None = None


class IonQCircuit(BaseModel):
    """A qis-gateset IonQ program; every qubit is measured at the end."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    gateset: Literal["qis"] = "qis"
    qubits: int = Field(ge=1, le=MAX_QUBITS)
    circuit: list[IonQGate]


def parse_ionq(data: bytes) -> IonQCircuit:
    """Parse and fully validate IonQ JSON; diagnostics carry JSON paths such as `circuit[2].targets[0]`."""
    text = decode_text(data, IONQ_PROGRAM)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid_program(
            IONQ_PROGRAM,
            [Diagnostic(code="InvalidJson", message=exc.msg, line=exc.lineno, column=exc.colno)],
        ) from None
    if isinstance(document, dict) and document.get("gateset") == "native":
        raise UnsupportedProgramError(
            'IonQ "native" gateset programs (gpi, gpi2, ms) are not supported; submit the qis gateset.',
            diagnostics=[Diagnostic(code="UnsupportedGateset", message="native gateset", path="gateset")],
        )
    try:
        program = IonQCircuit.model_validate(document)
    except ValidationError as exc:
        raise invalid_program(
            IONQ_PROGRAM,
            [
                Diagnostic(
                    code=CODE,
                    message=_ERROR_MESSAGES.get(error["type"], error["msg"]),
                    path=_json_path(error["loc"]),
                )
                for error in exc.errors(include_url=False)
            ],
        ) from None
    problems = [found for index, gate in enumerate(program.circuit) for found in _check(index, gate, program)]
    if problems:
        raise invalid_program(IONQ_PROGRAM, problems)
    return program


def _json_path(loc: tuple[int | str, ...]) -> str | None:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or None


def _check(index: int, gate: IonQGate, program: IonQCircuit) -> list[Diagnostic]:
    """The rules the model cannot state: gate names, arity, rotation, qubit range and distinctness."""
    at = f"circuit[{index}]"
    problems: list[Diagnostic] = []

    def report(message: str, path: str) -> None:
        problems.append(Diagnostic(code=CODE, message=message, path=path))

    spec = _QIS.get(gate.gate)
    if spec is None:
        report(f"unknown gate {gate.gate!r}; the qis gates are {' '.join(_QIS)}", f"{at}.gate")
        return problems
    if len(gate.targets) != spec.targets:
        report(f"gate {gate.gate!r} takes {spec.targets} target(s), got {len(gate.targets)}", f"{at}.targets")
    if gate.controls and not spec.controllable:
        report(f"gate {gate.gate!r} takes no controls", f"{at}.controls")
    if spec.rotation and gate.rotation is None:
        report(f"gate {gate.gate!r} needs a rotation (radians)", at)
    if not spec.rotation and gate.rotation is not None:
        report(f"gate {gate.gate!r} takes no rotation", f"{at}.rotation")
    seen: set[int] = set()
    for field, qubits in (("targets", gate.targets), ("controls", gate.controls)):
        for position, qubit in enumerate(qubits):
            where = f"{at}.{field}[{position}]"
            if qubit >= program.qubits:
                report(f"qubit {qubit} is out of range: the program has {program.qubits} qubit(s)", where)
            elif qubit in seen:
                report(f"qubit {qubit} is used twice", where)
            seen.add(qubit)
    return problems


def dump_ionq(program: IonQCircuit) -> bytes:
    """Canonical UTF-8 JSON: fixed key order, no empty `controls`, rotations as floats."""
    gates: list[dict[str, object]] = []
    for gate in program.circuit:
        entry: dict[str, object] = {"gate": gate.gate, "targets": gate.targets}
        if gate.controls:
            entry["controls"] = gate.controls
        if gate.rotation is not None:
            entry["rotation"] = gate.rotation
        gates.append(entry)
    document = {"gateset": "qis", "qubits": program.qubits, "circuit": gates}
    return json.dumps(document, separators=(",", ":")).encode()


def ionq_to_circuit(program: IonQCircuit) -> QuantumCircuit:
    """The program's unitary part as a circuit on `qubits` qubits (no measurements)."""
    circuit = QuantumCircuit(program.qubits)
    for gate in program.circuit:
        spec = _QIS[gate.gate]
        operation = spec.build(gate.rotation) if spec.rotation else spec.build()
        if gate.controls:
            operation = operation.control(len(gate.controls))
        circuit.append(operation, [*gate.controls, *gate.targets])
    return circuit


def circuit_to_ionq(circuit: QuantumCircuit) -> IonQCircuit:
    """Express a circuit (parameters bound) in the qis gateset; UnsupportedProgramError when IonQ cannot."""
    width = int(circuit.num_qubits)
    if not 1 <= width <= MAX_QUBITS:
        _unsupported("QubitCount", f"IonQ circuits have 1 to {MAX_QUBITS} qubits; this program has {width}")
    unitary = circuit.copy_empty_like()
    measured: set[Qubit] = set()
    for instruction in circuit.data:
        operation, qubits = instruction.operation, instruction.qubits
        name = str(operation.name)
        if name in _DROPPED:
            continue
        if isinstance(operation, ControlFlowOp):
            _unsupported(
                "ClassicalControl",
                f"classical control flow ({name!r}) is not possible: IonQ has no conditions or loops",
            )
        if name == "reset":
            _unsupported("Reset", f"reset of {_label(circuit, qubits[0])} is not possible on IonQ")
        if name == "measure":
            measured.update(qubits)
            continue
        if not isinstance(operation, Gate):
            _unsupported("UnsupportedInstruction", f"instruction {name!r} has no IonQ equivalent")
        reused = [qubit for qubit in qubits if qubit in measured]
        if reused:
            _unsupported(
                "MidCircuitMeasurement",
                f"{_label(circuit, reused[0])} is measured and then used by {name!r}; IonQ measures every "
                "qubit once, at the end, so move all measurements to the end of the program",
            )
        unitary.append(instruction)
    if any(str(item.operation.name) not in _BASIS for item in unitary.data):
        try:
            unitary = _TO_BASIS.run(unitary)
        except TranspilerError as exc:
            _unsupported("NoDecomposition", f"a gate has no qis decomposition (opaque?): {exc.message}")
    return IonQCircuit(qubits=width, circuit=[_to_ionq_gate(unitary, item) for item in unitary.data])


def _to_ionq_gate(circuit: QuantumCircuit, instruction: CircuitInstruction) -> IonQGate:
    operation = instruction.operation
    qubits = [int(circuit.find_bit(qubit).index) for qubit in instruction.qubits]
    rotation = float(operation.params[0]) if operation.params else None
    name = str(operation.name)
    if name in _CONTROLLED_FROM_QISKIT:
        return IonQGate(gate=_CONTROLLED_FROM_QISKIT[name], targets=qubits[-1:], controls=qubits[:-1])
    return IonQGate(gate=_FROM_QISKIT[name], targets=qubits, rotation=rotation)


def _label(circuit: QuantumCircuit, qubit: Qubit) -> str:
    registers = circuit.find_bit(qubit).registers
    if registers:
        register, index = registers[0]
        return f"qubit {register.name}[{index}]"
    return f"qubit {circuit.find_bit(qubit).index}"


def _unsupported(code: str, message: str) -> NoReturn:
    raise UnsupportedProgramError(
        f"The program cannot be expressed as an IonQ circuit: {message}.",
        diagnostics=[Diagnostic(code=code, message=message)],
    )
