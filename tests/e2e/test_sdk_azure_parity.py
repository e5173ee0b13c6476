"""Where Azure Quantum's behaviour is easy to get subtly wrong, as the unmodified SDK sees it: a program that
cannot run is a Failed job (not a refused request), an open session stays Executing between its jobs, a free
target's cost lists its usage dimensions at no charge, and lists come oldest first unless asked otherwise."""

from __future__ import annotations

import re
import time

import pytest
from azure.quantum import Workspace
from azure.quantum.target import IonQ, Quantinuum

from tests.e2e.test_sdk import BELL_IONQ, BELL_QASM2, TIMEOUT, unique

pytestmark = pytest.mark.integration

# "h q[0]" has no ';': the parser meets "cx" at line 5, column 1.
BROKEN_QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n'


def test_a_program_that_cannot_run_is_accepted_and_fails_with_its_line_and_column(workspace: Workspace) -> None:
    target = IonQ(workspace=workspace, name="ionq.simulator")
    job = target.submit(
        BROKEN_QASM2, name=unique("broken"), shots=10, input_data_format="openqasm.v2", content_type="application/qasm"
    )
    assert job.details.status == "Failed", "Failed at once: it is never queued"
    job.wait_until_completed(timeout_secs=TIMEOUT)
    error = job.details.error_data
    assert error is not None and error.code == "InvalidProgram"
    assert re.search(r"line \d+, column \d+", error.message), error.message
    assert job.details.begin_execution_time is None, "it never ran"
    with pytest.raises(RuntimeError, match="InvalidProgram"):
        job.get_results()
    assert workspace.get_job(job.id).details.error_data.message == error.message


def test_too_many_qubits_fail_the_job_naming_the_declaration(workspace: Workspace) -> None:
    wide = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[40];\nh q[39];\n'
    job = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1e").submit(wide, name=unique("wide"), shots=10)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Failed"
    assert job.details.error_data.code == "UnsupportedProgram"
    assert "40 qubits" in job.details.error_data.message and "line 3" in job.details.error_data.message


def test_an_open_session_stays_executing_after_its_jobs_end_until_it_is_closed(workspace: Workspace) -> None:
    target = IonQ(workspace=workspace, name="ionq.simulator")
    with target.open_session(name=unique("between-jobs")) as session:
        assert session.details.status == "Waiting", "no job yet"
        job = target.submit(BELL_IONQ, name=unique("in-session"), shots=10)
        job.wait_until_completed(timeout_secs=TIMEOUT)
        assert job.details.status == "Succeeded"
        assert workspace.get_session(session.id).details.status == "Executing"
        later = target.submit(BELL_IONQ, name=unique("in-session"), shots=10)
        later.wait_until_completed(timeout_secs=TIMEOUT)
        assert workspace.get_session(session.id).details.status == "Executing"
    assert workspace.get_session(session.id).details.status == "Succeeded", "closed: it ends"


def test_a_free_target_lists_its_usage_dimensions_at_unit_price_zero(workspace: Workspace) -> None:
    """Two H and one CNOT, 100 shots: IonQ's 1- and 2-qubit gate-shots, as Azure's ionq.simulator jobs list them."""
    gates = [
        {"gate": "h", "targets": [0]},
        {"gate": "x", "targets": [1], "controls": [0]},
        {"gate": "h", "targets": [1]},
    ]
    circuit = {"qubits": 2, "circuit": gates}
    job = IonQ(workspace=workspace, name="ionq.simulator").submit(circuit, name=unique("free"), shots=100)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    cost = job.details.cost_estimate
    counted = {e.dimension_id: (e.amount_consumed, e.amount_billed, e.unit_price) for e in cost.events}
    assert counted == {"gs1q": (200, 200, 0), "gs2q": (100, 100, 0)}
    assert (cost.currency_code, cost.estimated_total) == ("USD", 0)
    checker = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1sc")
    checked = checker.submit(BELL_QASM2, name=unique("free-sc"), shots=10)
    checked.wait_until_completed(timeout_secs=TIMEOUT)
    (hqc,) = checked.details.cost_estimate.events
    assert (hqc.dimension_id, hqc.unit_price) == ("hqc", 0) and hqc.amount_consumed > 0
    assert checked.details.cost_estimate.estimated_total == 0


def test_jobs_are_listed_oldest_first_unless_an_order_is_asked(workspace: Workspace) -> None:
    prefix = unique("order")
    target = IonQ(workspace=workspace, name="ionq.simulator")
    submitted = []
    for n in range(3):
        submitted.append(target.submit(BELL_IONQ, name=f"{prefix}-{n}", shots=10).id)
        time.sleep(0.01)  # distinct creation times
    assert [j.id for j in workspace.list_jobs(name_match=prefix)] == submitted
    newest = workspace.list_jobs(name_match=prefix, orderby_property="CreationTime", is_asc=False)
    assert [j.id for j in newest] == submitted[::-1]
