"""Overhead benchmark (not a test): the service's run time beside a direct qiskit-aer call, as a ratio.

    .venv/bin/python bench/overhead.py [--repeat 5] [--no-http]

Circuits: a 20-qubit GHZ and a random 16-qubit depth-20 circuit (qiskit.circuit.random.random_circuit,
seed 7, measured), at 1000 shots. For each circuit and target, in this one process run, the median over
--repeat rounds (after one warm-up round) of the calls below, which take turns within each round so
that other load on the machine slows them alike:

- direct: `backend.run(transpile(circuit, backend), shots=1000).result()` on a qiskit-aer AerSimulator
  made once; for a noisy target the backend carries the target's noise model (the same computation).
  `transpile(circuit)` without the backend cannot be used: Aer does not know the random circuit's
  rcccx and c3sx gates. "run" is the same call on the circuit transpiled beforehand (untimed).
- engine: the provider step of the service in process: `translate_program` from the submitted format
  to the target's format, then `LocalSimulators.run`, output bytes included.
- http: the whole local pipeline, as bench/pipeline.py drives it: sasUri, Put Blob, PUT jobs/{id} over
  HTTP to a local host process on Azurite, GET the job until Succeeded, GET its output. "exec" is the
  job's own endExecutionTime - beginExecutionTime.

Programs are submitted as OpenQASM 2 (Rigetti takes Quil, written here from the circuit). The noisy
targets run the GHZ only: a non-Clifford program on them costs one statevector simulation per shot
(trajectories): 70 s on H2-1 and 140 s on Aria-1 for the random circuit, measured once on this
machine. A Clifford program runs on Aer's stabilizer method.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from qiskit import QuantumCircuit, qasm2, transpile
from qiskit.circuit.random import random_circuit
from qiskit_aer import AerSimulator as AerBackend

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.local import LocalSimulators
from shared.adapters.noise import noisy_backend
from shared.domain.catalog import TargetSpec, load_catalog
from shared.programs.translate import translate_program
from tests.servers import API_KEY, LocalHostProcess, azurite

SHOTS = 1000
QUIL_GATES = {
    "x": "X",
    "y": "Y",
    "z": "Z",
    "h": "H",
    "s": "S",
    "t": "T",
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "p": "PHASE",
    "cx": "CNOT",
    "cz": "CZ",
    "cp": "CPHASE",
    "swap": "SWAP",
    "ccx": "CCNOT",
}


def ghz(width: int) -> QuantumCircuit:
    circuit = QuantumCircuit(width, width, name=f"GHZ-{width}")
    circuit.h(0)
    for qubit in range(width - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure(range(width), range(width))
    return circuit


def random16() -> QuantumCircuit:
    circuit = random_circuit(16, 20, measure=True, seed=7)
    circuit.name = "random 16q d20"
    return circuit


def to_quil(circuit: QuantumCircuit) -> bytes:
    """Quil for the circuit, through a transpile to gates Quil names (one register `ro`)."""
    basic = transpile(circuit, basis_gates=[*QUIL_GATES, "measure"])
    lines = [f"DECLARE ro BIT[{basic.num_clbits}]"]
    for item in basic.data:
        qubits = " ".join(str(basic.find_bit(q).index) for q in item.qubits)
        if item.operation.name == "measure":
            lines.append(f"MEASURE {qubits} ro[{basic.find_bit(item.clbits[0]).index}]")
        elif item.operation.name != "barrier":
            params = f"({', '.join(repr(float(p)) for p in item.operation.params)})" if item.operation.params else ""
            lines.append(f"{QUIL_GATES[item.operation.name]}{params} {qubits}")
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Case:
    circuit: QuantumCircuit
    target: TargetSpec
    input_format: str
    program: bytes

    @property
    def provider_id(self) -> str:
        return self.target.id.split(".")[0]


def cases() -> list[Case]:
    catalog = load_catalog()
    found = []
    for circuit, targets in [
        (ghz(20), ["ionq.simulator", "rigetti.sim.qvm", "ionq.qpu.aria-1", "quantinuum.sim.h2-1e"]),
        (random16(), ["ionq.simulator", "rigetti.sim.qvm"]),
    ]:
        for target_id in targets:
            target = catalog.target(catalog.provider_of(target_id).id, target_id)
            quil = "rigetti.quil.v1" in target.input_formats
            program = to_quil(circuit) if quil else qasm2.dumps(circuit).encode()
            found.append(Case(circuit, target, "rigetti.quil.v1" if quil else "openqasm.v2", program))
    return found


def medians_ms(calls: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median wall time of each call, taking turns so that a busy machine slows every call alike."""
    times: list[list[float]] = [[] for _ in calls]
    for call in calls:
        call()  # warm-up: backends, caches, imports
    for _ in range(repeat):
        for call, spent in zip(calls, times, strict=True):
            began = time.perf_counter()
            call()
            spent.append(time.perf_counter() - began)
    return [1000 * statistics.median(spent) for spent in times]


@dataclass(frozen=True)
class Row:
    case: Case
    direct: float
    run: float
    engine: float
    http: float = float("nan")
    execution: float = float("nan")


def measure(case: Case, simulators: LocalSimulators, submit: Callable[[Case], float] | None, repeat: int) -> Row:
    """Medians for one case: direct (transpile + run), run alone, engine and, with `submit`, http and exec.

    direct uses a plain Aer simulator or, for a noisy target, one with the target's noise model.
    """
    backend = AerBackend() if case.target.noise is None else noisy_backend(case.target.noise)
    transpiled = transpile(case.circuit, backend)
    route = case.target.route_for(case.input_format)

    def provider_step() -> bytes:
        translated = translate_program(case.program, case.input_format, route.provider_format)
        return simulators.run(case.target, route, translated, SHOTS, {}).data

    calls: list[Callable[[], object]] = [
        lambda: backend.run(transpile(case.circuit, backend), shots=SHOTS).result(),
        lambda: backend.run(transpiled, shots=SHOTS).result(),
        provider_step,
    ]
    executions: list[float] = []
    if submit is None:
        return Row(case, *medians_ms(calls, repeat))
    direct, run, engine, http = medians_ms([*calls, lambda: executions.append(submit(case))], repeat)
    return Row(case, direct, run, engine, http, 1000 * statistics.median(executions[1:]))


def http_job(base: str, session: requests.Session, case: Case) -> float:
    """Submit as the SDK does, wait for Succeeded, read the output; returns the job's execution seconds."""
    job_id = str(uuid.uuid4())
    sas = session.post(f"{base}/storage/sasUri", json={"containerName": f"job-{job_id}"}).json()["sasUri"]
    url, _, query = sas.partition("?")
    session.put(f"{url}/inputData?{query}", data=case.program, headers={"x-ms-blob-type": "BlockBlob"})
    body: dict[str, Any] = {
        "name": "overhead",
        "providerId": case.provider_id,
        "target": case.target.id,
        "inputDataUri": f"{url}/inputData",
        "inputDataFormat": case.input_format,
        "inputParams": {"shots": SHOTS},
    }
    assert session.put(f"{base}/jobs/{job_id}", json=body).status_code == 201
    while (job := session.get(f"{base}/jobs/{job_id}").json())["status"] not in {"Succeeded", "Failed", "Cancelled"}:
        time.sleep(0.005)
    assert job["status"] == "Succeeded", job["errorData"]
    assert session.get(f"{base}/jobs/{job_id}/output").ok
    began, ended = (datetime.fromisoformat(job[key]) for key in ("beginExecutionTime", "endExecutionTime"))
    return (ended - began).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-http", action="store_true", help="skip the local host (no Azurite needed)")
    args = parser.parse_args()
    simulators = LocalSimulators(AerSimulator())
    with contextlib.ExitStack() as stack:
        submit = None
        if not args.no_http:
            blob_port = stack.enter_context(azurite())
            state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            host = LocalHostProcess(state_dir=state, blob_port=blob_port)
            host.start()
            stack.callback(host.stop)
            session = requests.Session()
            session.headers["x-ms-quantum-api-key"] = API_KEY
            submit = functools.partial(http_job, host.workspace_url, session)
        rows = [measure(case, simulators, submit, args.repeat) for case in cases()]
    print(f"medians of {args.repeat} runs, {SHOTS} shots, ms; ratios are engine/direct, engine/run, http/direct")
    header = ["circuit", "target (submitted as)", "direct", "run", "engine", "eng/dir", "eng/run", "http", "exec"]
    print("{:<15} {:<44} {:>8} {:>7} {:>8} {:>7} {:>7} {:>8} {:>7} {:>8}".format(*header, "http/dir"))
    for row in rows:
        print(
            f"{row.case.circuit.name:<15} {f'{row.case.target.id} ({row.case.input_format})':<44} "
            f"{row.direct:>8.1f} {row.run:>7.1f} {row.engine:>8.1f} {row.engine / row.direct:>7.2f} "
            f"{row.engine / row.run:>7.2f} {row.http:>8.1f} {row.execution:>7.1f} {row.http / row.direct:>8.2f}"
        )


if __name__ == "__main__":
    main()
