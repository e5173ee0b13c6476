"""IonQ JSON (`ionq.circuit.v1`): validation, canonical form and conversion to/from qiskit.

IonQ's dialect whole, as IonQ documents it and as cirq-ionq and qiskit-ionq write it. A program has
`qubits`, a `circuit` and optionally `gateset` (`qis`, the default, or `native`; a program uses one) and
`format` (`ionq.circuit.v0` or `ionq.circuit.v1`, which read alike).

qis: the textbook gates, rotations in radians. A gate acts on a `target` (one qubit index) or `targets` (a
list); every gate but `swap` and `pauliexp` takes a `control` (one index) or `controls` (a list). `cnot`
and `not` are `x` by other names, and a `cnot` has at least one control. `z` with a `rotation` λ is the phase
gate diag(1, e^{iλ}) (how qiskit-ionq writes p, cp and mcphase). `pauliexp` is exp(-i·time·Σ cₖPₖ) over its
targets: `terms` are Pauli strings (I X Y Z) whose last letter acts on targets[0], `coefficients` one real
number per term; the terms must commute.

native: IonQ's hardware gates, every angle in turns (1 turn = 2π): `gpi` and `gpi2` with a `target` and a
`phase`; `ms` with two `targets`, `phases` [φ0, φ1] (φ0 acts on targets[0]) and an optional `angle` (default
0.25, fully entangling); `zz` with two `targets` and an `angle` (which cirq-ionq writes as `phase`).

A key given as JSON null counts as absent. IonQ measures every qubit once, at the end, so the format has no
measurement, reset or condition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Annotated, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, NonNegativeInt, ValidationError
from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction, ControlFlowOp, Gate, Qubit
from qiskit.circuit.equivalence_library import SessionEquivalenceLibrary
from qiskit.circuit.library import (
    HGate,
    PauliEvolutionGate,
    PhaseGate,
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
    U3Gate,
    XGate,
    YGate,
    ZGate,
)
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import PassManager, TranspilerError
from qiskit.transpiler.passes import BasisTranslator, HighLevelSynthesis

from shared.domain.errors import Diagnostic, UnsupportedProgramError

from .prescan import check_json_depth
from .text import decode_text, invalid_program

IONQ_PROGRAM = "The IonQ circuit"
CODE = "InvalidIonQCircuit"
MAX_QUBITS = 64
TURN = 2 * math.pi
MS_FULL_ANGLE = 0.25
_PAULIEXP = "pauliexp"
_PAULI_LETTERS = frozenset("IXYZ")


@dataclass(frozen=True)
class _GateSpec:
    build: Callable[..., Gate]
    targets: int
    needs: frozenset[str] = frozenset()
    allows: frozenset[str] = frozenset()
    controllable: bool = True


_ROTATION = frozenset({"rotation"})
_PAULI_KEYS = frozenset({"terms", "coefficients", "time"})
_QIS: dict[str, _GateSpec] = {
    "x": _GateSpec(XGate, 1),
    "y": _GateSpec(YGate, 1),
    "z": _GateSpec(ZGate, 1, allows=_ROTATION),  # with a rotation: the phase gate (_PHASED)
    "h": _GateSpec(HGate, 1),
    "s": _GateSpec(SGate, 1),
    "si": _GateSpec(SdgGate, 1),
    "t": _GateSpec(TGate, 1),
    "ti": _GateSpec(TdgGate, 1),
    "v": _GateSpec(SXGate, 1),
    "vi": _GateSpec(SXdgGate, 1),
    "rx": _GateSpec(RXGate, 1, _ROTATION, _ROTATION),
    "ry": _GateSpec(RYGate, 1, _ROTATION, _ROTATION),
    "rz": _GateSpec(RZGate, 1, _ROTATION, _ROTATION),
    "swap": _GateSpec(SwapGate, 2, controllable=False),
    "xx": _GateSpec(RXXGate, 2, _ROTATION, _ROTATION),
    "yy": _GateSpec(RYYGate, 2, _ROTATION, _ROTATION),
    "zz": _GateSpec(RZZGate, 2, _ROTATION, _ROTATION),
}
_PHASED = {"z": PhaseGate}
# Other names IonQ documents for qis gates.
_ALIASES = {"cnot": "x", "not": "x"}
_QIS_NAMES = " ".join([*_QIS, *_ALIASES, _PAULIEXP])
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
    """One operation as written; which keys a gate takes depends on its gateset and name (checked after parsing).

    `parse_ionq` returns every gate rewritten one way: `targets` and `controls` as lists, `x` for cnot and
    not, zz's `angle` under that name.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    gate: str
    targets: Annotated[list[NonNegativeInt], Field(min_length=1)] | None = None
    target: NonNegativeInt | None = None
    controls: list[NonNegativeInt] = Field(default_factory=list)
    control: NonNegativeInt | None = None
    rotation: FiniteFloat | None = None
    phase: FiniteFloat | None = None
    phases: list[FiniteFloat] | None = None
    angle: FiniteFloat | None = None
    terms: Annotated[list[str], Field(min_length=1)] = Field(default_factory=list)
    coefficients: list[FiniteFloat] = Field(default_factory=list)
    time: FiniteFloat = 0.0

    @property
    def qubits(self) -> list[int]:
        """The gate's target qubits, however they were written (controls excluded)."""
        if self.targets is not None:
            return self.targets
        return [] if self.target is None else [self.target]

    @property
    def controlled_by(self) -> list[int]:
        """The gate's control qubits, however they were written."""
        return self.controls if self.control is None else [self.control]

    @property
    def given_keys(self) -> frozenset[str]:
        """The keys written, other than `gate`; one given as JSON null counts as absent."""
        return frozenset(key for key in self.model_fields_set - {"gate"} if getattr(self, key) is not None)


class IonQCircuit(BaseModel):
    """An IonQ program in one gateset; every qubit is measured at the end."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal["ionq.circuit.v0", "ionq.circuit.v1"] | None = None
    gateset: Literal["qis", "native"] = "qis"
    qubits: int = Field(ge=1, le=MAX_QUBITS)
    circuit: list[IonQGate]


def _gpi(circuit: QuantumCircuit, qubits: list[int], phase: float) -> None:
    # U3(π, 2πφ, π - 2πφ) = [[0, e^{-i2πφ}], [e^{i2πφ}, 0]] exactly.
    circuit.append(U3Gate(math.pi, TURN * phase, math.pi - TURN * phase), qubits)


def _gpi2(circuit: QuantumCircuit, qubits: list[int], phase: float) -> None:
    # U3(π/2, 2πφ - π/2, π/2 - 2πφ) = 1/√2 [[1, -i e^{-i2πφ}], [-i e^{i2πφ}, 1]] exactly.
    circuit.append(U3Gate(math.pi / 2, TURN * phase - math.pi / 2, math.pi / 2 - TURN * phase), qubits)


def _ms(circuit: QuantumCircuit, qubits: list[int], phi0: float, phi1: float, angle: float) -> None:
    # MS = exp(-iπθ P(φ0) ⊗ P(φ1)), P(φ) = RZ(2πφ) X RZ(-2πφ): an RXX(2πθ) between turns of the RZ frames.
    first, second = qubits
    circuit.rz(-TURN * phi0, first)
    circuit.rz(-TURN * phi1, second)
    circuit.rxx(TURN * angle, first, second)
    circuit.rz(TURN * phi0, first)
    circuit.rz(TURN * phi1, second)


def _zz(circuit: QuantumCircuit, qubits: list[int], angle: float) -> None:
    # ZZ(θ) = exp(-iπθ Z⊗Z) = RZZ(2πθ).
    circuit.rzz(TURN * angle, *qubits)


@dataclass(frozen=True)
class _NativeSpec:
    build: Callable[..., None]  # (circuit, qubits, *turns)
    targets: int
    needs: frozenset[str]
    allows: frozenset[str]


_NATIVE: dict[str, _NativeSpec] = {
    "gpi": _NativeSpec(_gpi, 1, frozenset({"phase"}), frozenset({"phase"})),
    "gpi2": _NativeSpec(_gpi2, 1, frozenset({"phase"}), frozenset({"phase"})),
    "ms": _NativeSpec(_ms, 2, frozenset({"phases"}), frozenset({"phases", "angle"})),
    "zz": _NativeSpec(_zz, 2, frozenset({"angle"}), frozenset({"angle"})),
}
_NATIVE_PARAMETERS = frozenset({"phase", "phases", "angle"})
_QIS_ONLY = frozenset({"controls", "control", "rotation", *_PAULI_KEYS})
_UNITS = {
    "phase": "a phase in turns",
    "phases": "two phases in turns",
    "angle": "an angle in turns",
    "rotation": "an angle in radians",
    "terms": "a list of Pauli strings",
    "coefficients": "one real number per term",
    "time": "a real number",
}


def parse_ionq(data: bytes) -> IonQCircuit:
    """Parse and fully validate IonQ JSON; diagnostics carry JSON paths such as `circuit[2].targets[0]`.

    The program comes back with each gate written one way (see `IonQGate`), whatever form it used.
    """
    text = decode_text(data, IONQ_PROGRAM)
    check_json_depth(text)  # json.loads recurses once per level
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid_program(
            IONQ_PROGRAM,
            [Diagnostic(code="InvalidJson", message=exc.msg, line=exc.lineno, column=exc.colno)],
        ) from None
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
    return program.model_copy(update={"circuit": [_canonical(gate) for gate in program.circuit]})


def _canonical(gate: IonQGate) -> IonQGate:
    """A valid gate written one way: `targets` and `controls` lists, `x` for its aliases, zz's `angle` by name."""
    update: dict[str, object] = {
        "gate": _ALIASES.get(gate.gate, gate.gate),
        "targets": gate.qubits,
        "target": None,
        "controls": gate.controlled_by,
        "control": None,
    }
    if gate.gate == "zz" and gate.phase is not None:  # only a native zz takes a phase (cirq-ionq's name for its angle)
        update |= {"angle": gate.phase, "phase": None}
    return gate.model_copy(update=update)


def _json_path(loc: tuple[int | str, ...]) -> str | None:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or None


def _check(index: int, gate: IonQGate, program: IonQCircuit) -> list[Diagnostic]:
    """The rules the model cannot state: gate names, keys and arity per gateset, angles, qubit range and reuse."""
    at = f"circuit[{index}]"
    problems: list[Diagnostic] = []

    def report(message: str, path: str) -> None:
        problems.append(Diagnostic(code=CODE, message=message, path=path))

    native = program.gateset == "native"
    known = _check_native(at, gate, report) if native else _check_qis(at, gate, report)
    if not known:
        return problems
    seen: set[int] = set()
    for where, qubit in _written_qubits(at, gate, controls=not native):
        if qubit >= program.qubits:
            report(f"qubit {qubit} is out of range: the program has {program.qubits} qubit(s)", where)
        elif qubit in seen:
            report(f"qubit {qubit} is used twice", where)
        seen.add(qubit)
    return problems


def _written_qubits(at: str, gate: IonQGate, *, controls: bool) -> Iterator[tuple[str, int]]:
    """The gate's target qubits, then (with `controls`) its control qubits, each with its JSON path as written."""
    if gate.targets is not None:
        yield from ((f"{at}.targets[{position}]", qubit) for position, qubit in enumerate(gate.targets))
    elif gate.target is not None:
        yield f"{at}.target", gate.target
    if not controls:
        return
    if gate.control is not None:
        yield f"{at}.control", gate.control
    else:
        yield from ((f"{at}.controls[{position}]", qubit) for position, qubit in enumerate(gate.controls))


def _check_qis(at: str, gate: IonQGate, report: Callable[[str, str], None]) -> bool:
    """Name, keys, arity and controls of a qis gate; False when the gate is not a qis gate."""
    name = _ALIASES.get(gate.gate, gate.gate)
    spec = _QIS.get(name)
    if spec is None and name != _PAULIEXP:
        if gate.gate in _NATIVE:
            report(
                f"gate {gate.gate!r} is a native gate; this program uses the qis gateset, and a program "
                'cannot mix gatesets (set "gateset": "native" for native gates)',
                f"{at}.gate",
            )
        else:
            report(f"unknown gate {gate.gate!r}; the qis gates are {_QIS_NAMES}", f"{at}.gate")
        return False
    given = gate.given_keys
    needs, allows = (_PAULI_KEYS, _PAULI_KEYS) if spec is None else (spec.needs, spec.allows)
    for key in sorted(given & _NATIVE_PARAMETERS):
        report(f"gate {gate.gate!r} takes no {key!r} (a native-gate key)", f"{at}.{key}")
    for key in sorted(given & ((_ROTATION | _PAULI_KEYS) - allows)):
        report(f"gate {gate.gate!r} takes no {key!r}", f"{at}.{key}")
    for key in sorted(needs - given):
        report(f"gate {gate.gate!r} needs {key!r} ({_UNITS[key]})", at)
    _check_qis_qubits(at, gate, spec, report)
    if spec is None and given >= _PAULI_KEYS:
        _check_pauliexp(at, gate, report)
    return True


def _check_qis_qubits(at: str, gate: IonQGate, spec: _GateSpec | None, report: Callable[[str, str], None]) -> None:
    """Targets and controls, each written once (as one index or a list), in the numbers the gate takes."""
    if gate.target is not None and gate.targets is not None:
        report(f"gate {gate.gate!r} takes one of target and targets, not both", f"{at}.target")
    elif not gate.qubits:
        report(f"gate {gate.gate!r} needs a target (a qubit index) or targets (a list of them)", at)
    elif spec is not None and len(gate.qubits) != spec.targets:
        key = "targets" if gate.targets is not None else "target"
        report(f"gate {gate.gate!r} takes {spec.targets} target(s), got {len(gate.qubits)}", f"{at}.{key}")
    key = "control" if gate.control is not None else "controls"
    if gate.control is not None and "controls" in gate.given_keys:
        report(f"gate {gate.gate!r} takes one of control and controls, not both", f"{at}.control")
    elif gate.controlled_by and (spec is None or not spec.controllable):
        report(f"gate {gate.gate!r} takes no controls", f"{at}.{key}")
    elif gate.gate == "cnot" and not gate.controlled_by:
        report(f"gate {gate.gate!r} needs a control or controls; a not without controls is 'x'", f"{at}.gate")


def _check_pauliexp(at: str, gate: IonQGate, report: Callable[[str, str], None]) -> None:
    """Terms that are Pauli strings over the targets, one coefficient per term, and terms that commute."""
    width = len(gate.qubits)
    for position, term in enumerate(gate.terms):
        if not set(term) <= _PAULI_LETTERS:
            report(f"term {term!r} is not a Pauli string (letters I X Y Z)", f"{at}.terms[{position}]")
        elif len(term) != width:
            report(f"term {term!r} has {len(term)} letters for {width} target(s)", f"{at}.terms[{position}]")
    if len(gate.coefficients) != len(gate.terms):
        report(
            f"gate {gate.gate!r} takes one coefficient per term: {len(gate.terms)} term(s), "
            f"{len(gate.coefficients)} coefficient(s)",
            f"{at}.coefficients",
        )
    well_formed = all(set(term) <= _PAULI_LETTERS and len(term) == width for term in gate.terms)
    if well_formed and not _commute(gate.terms):
        report(
            "the terms do not all commute; the service evolves commuting terms only, which it does exactly",
            f"{at}.terms",
        )


def _commute(terms: list[str]) -> bool:
    """Whether Pauli strings (of one length) commute pairwise, in time linear in their number.

    Commutation is a bilinear form over GF(2) on their bit vectors (X bits, Z bits), so it vanishes on all
    pairs exactly when it vanishes on the pairs of a basis of their span, which has at most twice the length vectors.
    """
    width = len(terms[0])
    basis: dict[int, int] = {}  # leading bit -> vector
    for term in terms:
        vector = _symplectic(term)
        while vector and vector.bit_length() - 1 in basis:
            vector ^= basis[vector.bit_length() - 1]
        if vector:
            basis[vector.bit_length() - 1] = vector
    mask = (1 << width) - 1
    return all(
        ((first & mask & (second >> width)) ^ ((first >> width) & second & mask)).bit_count() % 2 == 0
        for first, second in combinations(basis.values(), 2)
    )


def _symplectic(term: str) -> int:
    """A Pauli string as bits: letter i's X part at bit i, its Z part at bit length + i."""
    x = z = 0
    for position, letter in enumerate(term):
        if letter in "XY":
            x |= 1 << position
        if letter in "ZY":
            z |= 1 << position
    return x | z << len(term)


def _check_native(at: str, gate: IonQGate, report: Callable[[str, str], None]) -> bool:
    """Name, keys, arity and angle ranges of a native gate; False when the gate is not a native gate."""
    spec = _NATIVE.get(gate.gate)
    if spec is None:
        if gate.gate in _QIS or gate.gate in _ALIASES or gate.gate == _PAULIEXP:
            report(
                f"gate {gate.gate!r} is a qis gate; this program uses the native gateset ({' '.join(_NATIVE)}), "
                "and a program cannot mix gatesets",
                f"{at}.gate",
            )
        else:
            report(f"unknown gate {gate.gate!r}; the native gates are {' '.join(_NATIVE)}", f"{at}.gate")
        return False
    given = gate.given_keys
    if gate.gate == "zz" and "phase" in given:  # cirq-ionq writes zz's angle as `phase`
        if "angle" in given:
            report(
                "gate 'zz' takes one of angle and phase (its angle, as cirq-ionq writes it), not both", f"{at}.phase"
            )
        given = given - {"phase"} | {"angle"}
    for key in sorted(given & (_QIS_ONLY | (_NATIVE_PARAMETERS - spec.allows))):
        report(f"gate {gate.gate!r} takes no {key!r}", f"{at}.{key}")
    for key in sorted(spec.needs - given):
        report(f"gate {gate.gate!r} needs {key!r} ({_UNITS[key]})", at)
    _check_native_qubits(at, gate, spec, report)
    if "phase" in spec.allows and gate.phase is not None and not -1 <= gate.phase <= 1:
        report(f"phase {gate.phase} is outside -1 to 1 (turns)", f"{at}.phase")
    if "phases" in spec.allows and gate.phases is not None:
        if len(gate.phases) != spec.targets:
            report(f"gate {gate.gate!r} takes {spec.targets} phases, got {len(gate.phases)}", f"{at}.phases")
        for position, phase in enumerate(gate.phases):
            if not -1 <= phase <= 1:
                report(f"phase {phase} is outside -1 to 1 (turns)", f"{at}.phases[{position}]")
    if gate.gate == "ms" and gate.angle is not None and not 0 <= gate.angle <= MS_FULL_ANGLE:
        report(f"the MS angle {gate.angle} is outside 0 to {MS_FULL_ANGLE} (turns)", f"{at}.angle")
    return True


def _check_native_qubits(at: str, gate: IonQGate, spec: _NativeSpec, report: Callable[[str, str], None]) -> None:
    if spec.targets == 1:
        if gate.target is not None and gate.targets is not None:
            report(f"gate {gate.gate!r} takes one of target and targets, not both", f"{at}.targets")
        elif gate.target is None and gate.targets is None:
            report(f"gate {gate.gate!r} needs a target (a qubit index)", at)
        elif gate.targets is not None and len(gate.targets) != 1:
            report(f"gate {gate.gate!r} takes 1 target, got {len(gate.targets)}", f"{at}.targets")
        return
    if gate.target is not None:
        report(f"gate {gate.gate!r} takes two targets, as a list in targets", f"{at}.target")
    if gate.targets is None:
        report(f"gate {gate.gate!r} needs targets (two qubit indices)", at)
    elif len(gate.targets) != spec.targets:
        report(f"gate {gate.gate!r} takes {spec.targets} targets, got {len(gate.targets)}", f"{at}.targets")


def _turns(gate: IonQGate) -> list[float]:
    """A native gate's angles in turns, in order: phase or phases, then angle (MS's default filled in)."""
    values = [gate.phase] if gate.phase is not None else list(gate.phases or [])
    if gate.angle is not None:
        values.append(gate.angle)
    elif gate.gate == "ms":
        values.append(MS_FULL_ANGLE)
    return values


def dump_ionq(program: IonQCircuit) -> bytes:
    """Canonical UTF-8 JSON in the program's gateset: fixed key order, gates as `parse_ionq` returns them (lists
    of `targets` and `controls`, no empty `controls`, `x` for cnot and not), angles as floats, no `format`.

    Native `gpi` and `gpi2` are written with `target`, as IonQ documents them and the azure-quantum SDK sends them.
    """
    gates: list[dict[str, object]] = []
    for gate in program.circuit:
        entry: dict[str, object] = {"gate": gate.gate}
        if program.gateset == "native" and _NATIVE[gate.gate].targets == 1:
            entry["target"] = gate.qubits[0]
        else:
            entry["targets"] = gate.qubits
        if gate.controls:
            entry["controls"] = gate.controls
        angles = {"rotation": gate.rotation, "phase": gate.phase, "phases": gate.phases, "angle": gate.angle}
        entry.update({key: value for key, value in angles.items() if value is not None})
        if gate.gate == _PAULIEXP:
            entry.update(terms=gate.terms, coefficients=gate.coefficients, time=gate.time)
        gates.append(entry)
    document = {"gateset": program.gateset, "qubits": program.qubits, "circuit": gates}
    return json.dumps(document, separators=(",", ":")).encode()


def ionq_to_circuit(program: IonQCircuit) -> QuantumCircuit:
    """The program's unitary part as a circuit on `qubits` qubits (no measurements).

    Native gates become qelib1.inc gates with exactly their matrices (not only up to global phase): u3
    for gpi and gpi2, rxx between rz for ms, rzz for zz; one two-qubit gate per native two-qubit gate.
    A controlled qis gate is its gate's controlled version (`Gate.control`), controls first.
    """
    circuit = QuantumCircuit(program.qubits)
    for gate in program.circuit:
        if program.gateset == "native":
            _NATIVE[gate.gate].build(circuit, gate.qubits, *_turns(gate))
            continue
        operation = _qis_operation(gate)
        if gate.controls:
            operation = operation.control(len(gate.controls))
        circuit.append(operation, [*gate.controls, *gate.qubits])
    return circuit


def _qis_operation(gate: IonQGate) -> Gate:
    """A qis gate, without its controls, as a qiskit gate with exactly its matrix."""
    if gate.gate == _PAULIEXP:
        # The terms commute, so the default synthesis (one product of the terms' exponentials) is exact.
        return PauliEvolutionGate(SparsePauliOp(gate.terms, gate.coefficients), time=gate.time)
    if gate.rotation is None:
        return _QIS[gate.gate].build()
    return _PHASED.get(gate.gate, _QIS[gate.gate].build)(gate.rotation)


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
