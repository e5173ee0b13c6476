"""Targets beyond the samplers, through the unmodified SDK: the resource estimator, and cost on a priced target."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.quantum import Workspace
from azure.quantum.target import IonQ, Target

from tests.e2e.test_sdk import BELL_IONQ, TIMEOUT, unique
from tests.unit.test_qir import QASM3_HEADER, qdk_text

pytestmark = pytest.mark.integration

T_CIRCUIT = QASM3_HEADER + "qubit[2] q;\nbit[2] c;\nh q[0];\nt q[0];\ncx q[0], q[1];\nrz(0.4) q[1];\nc = measure q;\n"


def test_the_resource_estimator_returns_physical_estimates_for_a_qir_program(workspace: Workspace) -> None:
    estimator = Target(
        workspace=workspace,
        name="microsoft.estimator",
        provider_id="microsoft-qc",
        input_data_format="qir.v1",
        output_data_format="microsoft.resource-estimates.v1",
        content_type="qir.v1",
    )
    params = {"qubitParams": {"name": "qubit_maj_ns_e6"}, "qecScheme": {"name": "floquet_code"}, "errorBudget": 0.01}
    job = estimator.submit(qdk_text(T_CIRCUIT), name=unique("estimate"), input_params=params)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    result = job.get_results()
    assert result["status"] == "success"
    assert result["logicalCounts"]["numQubits"] == 2 and result["logicalCounts"]["tCount"] == 1
    assert result["jobParams"]["qubitParams"]["name"] == "qubit_maj_ns_e6"
    assert result["physicalCounts"]["physicalQubits"] > 0


def test_the_estimator_takes_a_qsharp_program_through_the_sdks_natural_path(workspace: Workspace) -> None:
    """`workspace.get_targets("microsoft.estimator").submit(qsharp.compile(...))`: the generic Target asks for the
    QIR output format; the estimator answers in its own, and the job says which."""
    qsharp = pytest.importorskip("qsharp")
    qsharp.init(target_profile=qsharp.TargetProfile.Base)
    qsharp.eval("operation Estimate() : Result { use q = Qubit(); H(q); T(q); let r = M(q); Reset(q); r }")
    target = workspace.get_targets("microsoft.estimator")
    job = target.submit(qsharp.compile("Estimate()"), name=unique("natural-estimate"))
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    assert job.details.output_data_format == "microsoft.resource-estimates.v1"
    assert workspace.get_job(job.id).details.output_data_format == "microsoft.resource-estimates.v1"


def test_an_unknown_estimator_parameter_is_refused_at_submit(workspace: Workspace) -> None:
    estimator = Target(workspace=workspace, name="microsoft.estimator", provider_id="microsoft-qc")
    with pytest.raises(HttpResponseError, match=r"inputParams\.qubitParam is not a parameter of microsoft\.estimator"):
        estimator.submit(
            qdk_text(T_CIRCUIT),
            name=unique("bad-estimate"),
            input_params={"qubitParam": {"name": "qubit_gate_ns_e3"}},
            input_data_format="qir.v1",
            output_data_format="microsoft.resource-estimates.v1",
            content_type="qir.v1",
        )


def test_a_job_on_a_priced_target_shows_its_cost(workspace: Workspace) -> None:
    job = IonQ(workspace=workspace, name="ionq.qpu.aria-1").submit(BELL_IONQ, name=unique("priced"), shots=5000)
    estimate = workspace.get_job(job.id).details.cost_estimate
    assert estimate.currency_code == "USD"
    assert {e.dimension_id: e.amount_billed for e in estimate.events} == {"gs1q": 5000, "gs2q": 5000}
    assert estimate.estimated_total == 12.42, "5000 gate-shots each cost less than the job minimum"
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.cost_estimate.estimated_total == 12.42
