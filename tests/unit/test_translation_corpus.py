"""Every (target, input format) pair the catalog routes translates to the provider's format and keeps the program.

Each corpus circuit is a gate list; every input format is written from that list independently of the
service (qiskit's exporters for OpenQASM, hand-written IonQ JSON and Quil, qdk's qiskit interop for QIR),
translated as submit would route it, loaded back and compared with the list's unitary up to global phase.
Pairs the catalog does not route are refused at submit, naming what the target takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest
import qiskit.qasm2
import qiskit.qasm3
from qdk import TargetProfile  # tests/conftest.py has switched qdk telemetry off
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import (
    CRXGate,
    CXGate,
    HGate,
    RXGate,
    RYGate,
    RZGate,
    SdgGate,
    SGate,
    SwapGate,
    TdgGate,
    TGate,
    XGate,
)
from qiskit.quantum_info import Operator

from shared.domain.catalog import Route, TargetSpec, check_formats, load_catalog
from shared.domain.errors import UnsupportedFormatError
from shared.programs.formats import INPUT_FORMATS, PASS_THROUGH
from shared.programs.translate import load_circuit, translate_program
from shared.services.submit import submit_job
from tests.fakes import make_pipeline
from tests.unit.test_ionq_native import GateJson, native, reference
from tests.unit.test_services import sent, submission, upload

IONQ = "ionq.circuit.v1"
IONQ_NATIVE = "ionq.circuit.v1+native"


@dataclass(frozen=True)
class Forms:
    """One gate in each notation: a qiskit gate, an IonQ qis gate (leading qubits as controls), Quil."""

    qiskit: Callable[..., Gate]
    ionq: str
    controls: int
    quil: str


GATES = {
    "h": Forms(HGate, "h", 0, "H"),
    "x": Forms(XGate, "x", 0, "X"),
    "cx": Forms(CXGate, "x", 1, "CNOT"),
    "rx": Forms(RXGate, "rx", 0, "RX"),
    "ry": Forms(RYGate, "ry", 0, "RY"),
    "rz": Forms(RZGate, "rz", 0, "RZ"),
    "crx": Forms(CRXGate, "rx", 1, "CONTROLLED RX"),
    "s": Forms(SGate, "s", 0, "S"),
    "sdg": Forms(SdgGate, "si", 0, "DAGGER S"),
    "t": Forms(TGate, "t", 0, "T"),
    "tdg": Forms(TdgGate, "ti", 0, "DAGGER T"),
    "swap": Forms(SwapGate, "swap", 0, "SWAP"),
}

Step = tuple[str, tuple[float, ...], tuple[int, ...]]

# name -> (qubits, gates); every qubit is measured at the end (IonQ measures implicitly). Controlled
# rotations keep their angles in [0, 2π): qdk's QIR generation reads OpenQASM 3 gate parameters as the
# periodic `angle` type, so crx(-1.3) would become crx(2π - 1.3), which differs by a controlled phase.
CIRCUITS: dict[str, tuple[int, list[Step]]] = {
    "bell": (2, [("h", (), (0,)), ("cx", (), (0, 1))]),
    "ghz3": (3, [("h", (), (0,)), ("cx", (), (0, 1)), ("cx", (), (1, 2))]),
    "rotations": (
        3,
        [
            ("ry", (0.3,), (0,)),
            ("rz", (1.1,), (1,)),
            ("rx", (-0.7,), (2,)),
            ("crx", (0.9,), (0, 2)),
            ("ry", (2.1,), (1,)),
            ("cx", (), (2, 1)),
            ("crx", (2.6,), (1, 0)),
            ("rz", (0.4,), (0,)),
            ("ry", (-0.55,), (2,)),
        ],
    ),
    "swap-and-phases": (
        3,
        [
            ("h", (), (0,)),
            ("x", (), (1,)),
            ("ry", (0.8,), (2,)),
            ("t", (), (0,)),
            ("s", (), (1,)),
            ("swap", (), (0, 2)),
            ("sdg", (), (0,)),
            ("rz", (0.25,), (1,)),
            ("cx", (), (0, 1)),
            ("tdg", (), (2,)),
            ("swap", (), (1, 2)),
            ("h", (), (1,)),
        ],
    ),
}

# IonQ native programs are written in native gates directly; their reference comes from IonQ's formulas.
NATIVE_CIRCUITS: dict[str, tuple[int, list[GateJson]]] = {
    "bell": (2, [{"gate": "ms", "targets": [0, 1], "phases": [0, 0]}]),
    "ghz3": (
        3,
        [
            {"gate": "gpi2", "target": 0, "phase": 0.25},
            {"gate": "ms", "targets": [0, 1], "phases": [0, 0]},
            {"gate": "ms", "targets": [1, 2], "phases": [0.25, 0]},
            {"gate": "gpi", "target": 2, "phase": 0.5},
        ],
    ),
    "rotations": (
        3,
        [
            {"gate": "gpi2", "target": 0, "phase": 0.1},
            {"gate": "gpi2", "target": 1, "phase": -0.35},
            {"gate": "gpi", "target": 2, "phase": 0.2},
            {"gate": "ms", "targets": [2, 0], "phases": [0.15, 0.6], "angle": 0.1},
            {"gate": "gpi2", "target": 2, "phase": 0.9},
            {"gate": "ms", "targets": [1, 2], "phases": [-0.4, 0.05], "angle": 0.22},
        ],
    ),
    "zz-and-phases": (
        2,
        [
            {"gate": "gpi2", "target": 0, "phase": 0.0},
            {"gate": "gpi2", "target": 1, "phase": 0.75},
            {"gate": "zz", "targets": [1, 0], "angle": 0.125},
            {"gate": "gpi", "target": 0, "phase": -0.3},
        ],
    ),
}


def unitary_circuit(name: str) -> QuantumCircuit:
    width, steps = CIRCUITS[name]
    circuit = QuantumCircuit(width)
    for gate, params, qubits in steps:
        circuit.append(GATES[gate].qiskit(*params), list(qubits))
    return circuit


def measured_circuit(name: str) -> QuantumCircuit:
    circuit = unitary_circuit(name)
    results = ClassicalRegister(circuit.num_qubits, "c")
    circuit.add_register(results)
    circuit.measure(circuit.qubits, results)
    return circuit


def ionq_qis(name: str) -> bytes:
    width, steps = CIRCUITS[name]
    gates: list[GateJson] = []
    for gate, params, qubits in steps:
        forms = GATES[gate]
        entry: GateJson = {"gate": forms.ionq, "targets": list(qubits[forms.controls :])}
        if forms.controls:
            entry["controls"] = list(qubits[: forms.controls])
        if params:
            entry["rotation"] = params[0]
        gates.append(entry)
    return json.dumps({"gateset": "qis", "qubits": width, "circuit": gates}).encode()


def ionq_native(name: str) -> bytes:
    width, gates = NATIVE_CIRCUITS[name]
    return native(width, *gates)


def quil(name: str) -> bytes:
    width, steps = CIRCUITS[name]
    lines = [f"DECLARE ro BIT[{width}]"]
    for gate, params, qubits in steps:
        angles = f"({', '.join(map(repr, params))})" if params else ""
        lines.append(f"{GATES[gate].quil}{angles} {' '.join(map(str, qubits))}")
    lines += [f"MEASURE {q} ro[{q}]" for q in range(width)]
    return "\n".join([*lines, ""]).encode()


def qir(name: str) -> bytes:
    interop = pytest.importorskip("qdk.qiskit")
    backend = interop.QSharpBackend(target_profile=TargetProfile.Base, skip_transpilation=True)
    return str(backend.qir(measured_circuit(name))).encode()


WRITERS: dict[str, Callable[[str], bytes]] = {
    IONQ: ionq_qis,
    IONQ_NATIVE: ionq_native,
    "openqasm.v2": lambda name: qiskit.qasm2.dumps(measured_circuit(name)).encode(),
    "honeywell.openqasm.v1": lambda name: qiskit.qasm2.dumps(measured_circuit(name)).encode(),
    "openqasm.v3": lambda name: qiskit.qasm3.dumps(measured_circuit(name)).encode(),
    "rigetti.quil.v1": quil,
    "qir.v1": qir,
}


@cache
def written(input_format: str, name: str) -> bytes:
    return WRITERS[input_format](name)


def expected_unitary(input_format: str, name: str) -> QuantumCircuit:
    if input_format == IONQ_NATIVE:
        width, gates = NATIVE_CIRCUITS[name]
        return reference(width, *gates)
    return unitary_circuit(name)


CATALOG = load_catalog()
TARGETS = [target for provider in CATALOG.providers for target in provider.targets]
# What the echo test target returns as it is, and Pasqal's pulse sequences (tests/unit/test_pulser_programs.py): no
# circuit to keep.
NOT_PROGRAMS = {"microsoft.quantum-log.v1", "pasqal.pulser.v1"}


def routed_cases() -> list[pytest.ParameterSet]:
    cases: list[pytest.ParameterSet] = []
    for target in TARGETS:
        for route in target.routes:
            for input_format in [name for name in route.input_formats if name not in NOT_PROGRAMS]:
                # An input format the corpus cannot write still gets cases, which fail until a writer is added.
                variants = [input_format, IONQ_NATIVE] if input_format == IONQ else [input_format]
                for variant in variants:
                    names = NATIVE_CIRCUITS if variant == IONQ_NATIVE else CIRCUITS
                    cases += [
                        pytest.param(target, route, variant, name, id=f"{target.id}-{variant}-{name}") for name in names
                    ]
    return cases


@pytest.mark.parametrize(("target", "route", "input_format", "name"), routed_cases())
def test_every_routed_translation_keeps_the_program(
    target: TargetSpec, route: Route, input_format: str, name: str
) -> None:
    assert input_format in WRITERS, f"the corpus cannot write {input_format!r}, which {target.id} accepts"
    program = written(input_format, name)
    submitted_as = IONQ if input_format == IONQ_NATIVE else input_format
    translated = translate_program(program, submitted_as, route.provider_format)
    if route.provider_format in PASS_THROUGH:
        assert translated == program
    if route.provider_format == IONQ:
        assert json.loads(translated)["gateset"] == ("native" if input_format == IONQ_NATIVE else "qis")
    loaded = load_circuit(translated, route.provider_format).remove_final_measurements(inplace=False)
    assert Operator(loaded).equiv(Operator(expected_unitary(input_format, name)))


def test_the_corpus_covers_every_input_format_and_route() -> None:
    routed = {input_format for target in TARGETS for input_format in target.input_formats}
    assert routed <= INPUT_FORMATS
    assert routed - NOT_PROGRAMS <= WRITERS.keys()


UNKNOWN_FORMAT = "acme.pulses.v9"
UNROUTED = [
    pytest.param(target, input_format, id=f"{target.id}-{input_format}")
    for target in TARGETS
    for input_format in sorted(INPUT_FORMATS | {UNKNOWN_FORMAT})
    if input_format not in target.input_formats
]


@pytest.mark.parametrize(("target", "input_format"), UNROUTED)
def test_an_unrouted_input_format_is_refused_at_submit_with_what_the_target_takes(
    target: TargetSpec, input_format: str
) -> None:
    with pytest.raises(UnsupportedFormatError) as checked:
        check_formats(target, input_format, None)
    assert checked.value.target == "inputDataFormat"
    assert f"'{input_format}'" in checked.value.message
    listed = checked.value.message.split("Supported: ", 1)[1].rstrip(".").split(", ")
    assert listed == list(target.input_formats)

    p = make_pipeline()
    upload(p, "j1")
    provider = CATALOG.provider_of(target.id).id
    request = submission(providerId=provider, target=target.id, inputDataFormat=input_format, outputDataFormat=None)
    with pytest.raises(UnsupportedFormatError) as submitted:
        submit_job(p, "j1", request, cause="test")
    assert submitted.value.message == checked.value.message
    assert p.jobs.get("j1") is None
    assert sent(p).sent == []
