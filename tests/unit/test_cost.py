"""Cost: public pricing as data, an estimate at accept and the actual at the end, partial billing on cancel."""

from __future__ import annotations

import json

import pytest

from shared.domain.catalog import load_catalog
from shared.domain.errors import InvalidProgramError
from shared.domain.jobs import JobStatus, ProgramSize
from shared.domain.pricing import load_pricing
from shared.programs.translate import inspect_program
from shared.services import manage
from shared.services.execute import translate_job
from shared.services.pipeline import Pipeline
from shared.services.submit import submit_job
from tests.fakes import FakeBackend, FakeClock, make_pipeline
from tests.unit.test_services import drain, sent, submission, upload

GHZ5 = json.dumps(
    {
        "qubits": 5,
        "circuit": [
            {"gate": "h", "targets": [0]},
            *({"gate": "x", "targets": [n], "controls": [n - 1]} for n in range(1, 5)),
        ],
    }
).encode()
ARIA = {"target": "ionq.qpu.aria-1"}


def submit_ghz5(p: Pipeline, job_id: str, shots: int, **changes: object) -> None:
    upload(p, job_id, GHZ5)
    submit_job(p, job_id, submission(job_id, inputParams={"shots": shots}, **changes), cause="test")


def test_every_priced_target_is_in_the_catalog_and_simulators_are_free() -> None:
    targets = {t.id for provider in load_catalog().providers for t in provider.targets}
    pricing = load_pricing()
    assert set(pricing.targets) <= targets
    free = {"ionq.simulator", "quantinuum.sim.h2-1sc", "quantinuum.sim.h2-1e"}
    assert {t: [d.unit_price for d in pricing.targets[t].dimensions] for t in free} == {
        "ionq.simulator": [0, 0],
        "quantinuum.sim.h2-1sc": [0],
        "quantinuum.sim.h2-1e": [0],
    }
    assert {"rigetti.sim.qvm", "microsoft.estimator"}.isdisjoint(pricing.targets), "no usage dimension to list"


def test_a_priced_job_gets_its_estimate_at_accept_and_the_same_actual_when_it_succeeds() -> None:
    p = make_pipeline()
    submit_ghz5(p, "j1", 10_000, **ARIA)
    estimate = p.require("j1").details.cost_estimate
    gate_shots = {e.dimension_id: (e.amount_billed, e.unit_price) for e in estimate.events}
    assert gate_shots == {"gs1q": (10_000, 0.00022), "gs2q": (40_000, 0.000975)}
    assert estimate.estimated_total == pytest.approx(10_000 * 0.00022 + 40_000 * 0.000975)
    drain(p, FakeBackend())
    done = p.require("j1")
    assert done.status is JobStatus.SUCCEEDED and done.details.cost_estimate == estimate


def test_a_small_job_pays_the_minimum_and_a_free_target_costs_nothing() -> None:
    p = make_pipeline()
    submit_ghz5(p, "small", 100, **ARIA)
    assert p.require("small").details.cost_estimate.estimated_total == 12.42
    submit_ghz5(p, "free", 10_000)
    free = p.require("free").details.cost_estimate
    assert free.estimated_total == 0


def test_a_free_target_lists_its_providers_usage_dimensions_at_unit_price_zero() -> None:
    """As Azure's ionq.simulator jobs do: IonQ's gate-shot dimensions, counted, at no charge."""
    p = make_pipeline()
    submit_ghz5(p, "free", 10_000)
    estimate = p.require("free").details.cost_estimate
    counted = {e.dimension_id: (e.amount_consumed, e.amount_billed, e.unit_price) for e in estimate.events}
    assert counted == {"gs1q": (10_000, 10_000, 0), "gs2q": (40_000, 40_000, 0)}
    assert estimate.estimated_total == 0
    drain(p, FakeBackend())
    assert p.require("free").details.cost_estimate == estimate, "the actual at the end is the estimate"


def test_the_syntax_checker_counts_hqc_at_no_charge() -> None:
    p = make_pipeline()
    qasm = b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
    upload(p, "sc", qasm)
    body = submission(
        "sc",
        providerId="quantinuum",
        target="quantinuum.sim.h2-1sc",
        inputDataFormat="honeywell.openqasm.v1",
        outputDataFormat="honeywell.quantum-results.v1",
        inputParams={"shots": 100},
    )
    submit_job(p, "sc", body, cause="test")
    (hqc,) = p.require("sc").details.cost_estimate.events
    assert (hqc.dimension_id, hqc.measure_unit, hqc.unit_price) == ("hqc", "HQC", 0)
    assert hqc.amount_consumed == pytest.approx(5 + 100 * (1 + 10 * 1 + 5 * 2) / 5000)
    assert p.require("sc").details.cost_estimate.estimated_total == 0


def test_cancelling_a_running_job_bills_the_part_that_ran_and_says_so() -> None:
    p = make_pipeline()
    submit_ghz5(p, "j1", 10_000, **ARIA)
    backend = FakeBackend()
    translate_job(p, sent(p).take()[0][1])  # type: ignore[arg-type]
    job = p.require("j1")
    executing = p.jobs.replace(job.transition_to(JobStatus.EXECUTING, at=p.clock.now(), cause="started"))
    assert isinstance(p.clock, FakeClock)
    p.clock.advance(load_pricing().targets["ionq.qpu.aria-1"].expected_seconds(10_000) * 0.25)
    cancelled = manage.cancel_job(p, executing.id)
    full = 10_000 * 0.00022 + 40_000 * 0.000975
    assert cancelled.details.cost_estimate.estimated_total == pytest.approx(full * 0.25, abs=0.01)
    assert all("partial: 25%" in e.dimension_name for e in cancelled.details.cost_estimate.events)
    assert "after 25% of its expected run; billed" in cancelled.history[-1].cause
    drain(p, backend)  # the run's late result changes nothing
    assert p.require("j1").status is JobStatus.CANCELLED
    assert p.require("j1").details.cost_estimate == cancelled.details.cost_estimate


def test_cancelling_a_waiting_job_or_failing_bills_nothing() -> None:
    p = make_pipeline()
    submit_ghz5(p, "waiting", 1000, **ARIA)
    assert manage.cancel_job(p, "waiting").details.cost_estimate.estimated_total == 0
    submit_ghz5(p, "failing", 1000, **ARIA)
    backend = FakeBackend()
    backend.error = InvalidProgramError("rejected by the provider")
    drain(p, backend)
    failed = p.require("failing")
    assert failed.status is JobStatus.FAILED and failed.details.cost_estimate.estimated_total == 0


def test_the_emulator_counts_ehqc_at_no_charge() -> None:
    p = make_pipeline()
    qasm = (
        b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
        b"h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
    )
    upload(p, "h2", qasm)
    body = submission(
        "h2",
        providerId="quantinuum",
        target="quantinuum.sim.h2-1e",
        inputDataFormat="honeywell.openqasm.v1",
        outputDataFormat="honeywell.quantum-results.v1",
        inputParams={"shots": 1000},
    )
    submit_job(p, "h2", body, cause="test")
    (ehqc,) = p.require("h2").details.cost_estimate.events
    assert ehqc.measure_unit == "eHQC" and ehqc.unit_price == 0
    assert ehqc.amount_consumed == pytest.approx(5 + 1000 * (1 + 10 * 2 + 5 * 3) / 5000)
    assert p.require("h2").details.cost_estimate.estimated_total == 0


def test_gates_on_more_than_two_qubits_count_as_six_two_qubit_gates_per_extra_qubit() -> None:
    toffoli = (
        b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\nccx q[0],q[1],q[2];\nc3x q[0],q[1],q[2],q[3];\nh q[3];\n'
    )
    size = inspect_program(toffoli, "openqasm.v2").size
    assert (size.one_qubit_gates, size.two_qubit_gates, size.measurements) == (1, 6 + 12, 0)


@pytest.mark.parametrize(("shots", "increments"), [(1, 1), (10, 1), (11, 2), (1000, 100), (10_000, 1000)])
def test_cepheus_bills_its_execution_time_in_ten_millisecond_increments_rounded_up(shots: int, increments: int) -> None:
    """$0.02 per started 10 ms of execution, 1 ms a shot, whatever the program (Rigetti charges no gate or shot)."""
    cost = load_pricing().cost("rigetti.qpu.cepheus-1-108q", ProgramSize(two_qubit_gates=50), shots)
    (event,) = cost.events
    assert (event.dimension_id, event.amount_consumed, event.unit_price) == ("qpu-time", increments, 0.02)
    assert cost.estimated_total == pytest.approx(increments * 0.02)
