"""The unmodified SDK's own parameter paths against the local host: typed Rigetti parameters with
parametric Quil, Qiskit's default (QIR) IonQ backend, and Q# on the H2 syntax checker."""

from __future__ import annotations

import math
import uuid

import pytest
from azure.quantum import Workspace

pytestmark = pytest.mark.integration

TIMEOUT = 60


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_typed_rigetti_input_params_run_parametric_quil(workspace: Workspace) -> None:
    from azure.quantum.target.rigetti import InputParams, Result, Rigetti

    program = (
        "DECLARE ro BIT[2]\nDECLARE theta REAL[2]\nRX(theta[0]) 0\nRX(theta[1]) 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n"
    )
    params = InputParams(count=3, skip_quilc=True, substitutions={"theta": [[0.0, math.pi], [math.pi, 0.0]]})
    job = Rigetti(workspace=workspace, name="rigetti.sim.qvm").submit(
        program, name=unique("typed"), input_params=params
    )
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    assert job.details.input_params == {
        "shots": 3,
        "skipQuilc": True,
        "substitutions": {"theta": [[0.0, math.pi], [math.pi, 0.0]]},
    }
    assert Result(job)["ro"] == [[0, 1]] * 3 + [[1, 0]] * 3


def test_a_rigetti_job_without_shots_runs_the_qvms_default_and_keeps_its_params(workspace: Workspace) -> None:
    from azure.quantum.target.rigetti import Result, Rigetti

    job = Rigetti(workspace=workspace, name="rigetti.sim.qvm").submit("DECLARE ro BIT[1]\nX 0\nMEASURE 0 ro[0]\n")
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    assert job.details.input_params == {}
    assert Result(job)["ro"] == [[1]]


def test_qiskit_on_ionq_simulator_gives_a_bell_state_exactly_half_and_half(workspace: Workspace) -> None:
    from azure.quantum.qiskit import AzureQuantumProvider
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, 2, name=unique("exact-bell"))
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    job = AzureQuantumProvider(workspace).get_backend("ionq.simulator").run(circuit, shots=100)
    result = job.result()
    assert workspace.get_job(job.id()).details.input_data_format == "qir.v1"
    assert result.get_counts() == {"00": 50, "11": 50}
    assert workspace.get_job(job.id()).get_results() == {"[0, 0]": 0.5, "[1, 1]": 0.5}


def test_a_qsharp_program_runs_on_the_h2_syntax_checker_as_qir(workspace: Workspace) -> None:
    import qsharp  # type: ignore[import-untyped]

    qsharp.init(target_profile=qsharp.TargetProfile.Base)
    qsharp.eval(
        "operation Ghz() : Result[] { use qs = Qubit[3]; H(qs[0]); CNOT(qs[0], qs[1]); CNOT(qs[1], qs[2]);"
        " let r = MeasureEachZ(qs); ResetAll(qs); r }"
    )
    job = workspace.get_targets("quantinuum.sim.h2-1sc").submit(qsharp.compile("Ghz()"), name=unique("h2-1sc"))
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    assert job.details.input_data_format == "qir.v1"
    assert "shots" not in job.details.input_params, "no shots sent, none written in"
    assert job.get_results_shots() == [[0, 0, 0]], "one shot, the syntax checker's QIR default, all zeros"


def test_a_quil_program_with_an_unknown_operator_fails_as_the_qvm_says(workspace: Workspace) -> None:
    """The job is accepted and ends Failed; get_results raises with the QVM's own words, as SDK code expects."""
    from azure.quantum.target.rigetti import Rigetti

    job = Rigetti(workspace=workspace, name="rigetti.sim.qvm").submit("a\nDECLARE ro BIT[1]\nX 0\nMEASURE 0 ro[0]\n")
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Failed"
    with pytest.raises(RuntimeError, match="could not be executed because the operator a is not known"):
        job.get_results()
