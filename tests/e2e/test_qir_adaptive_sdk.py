"""The unmodified azure-quantum SDK submits an adaptive-profile Q# program (mid-circuit measurement and
classical feedback) to the noisy H2-1 emulator, which runs it; see tests/unit/test_qir_adaptive.py."""

from __future__ import annotations

import math
import uuid

import pytest
from azure.quantum import Workspace

from tests.unit.test_qir_adaptive import QSHARP

pytestmark = pytest.mark.integration

TIMEOUT = 60
# Ideally r is always 0; the emulation's gate errors and 0.15 % readout flips make r = 1 in well
# under 1 % of shots (four two-qubit-sized error chances and one readout): 3 % is a generous bound.
MAX_WRONG_RATE = 0.03


def test_an_adaptive_qsharp_program_runs_on_the_h2_emulator(workspace: Workspace) -> None:
    from qdk import qsharp  # process-global: test_sdk.py's QIR test sets the base profile itself

    qsharp.init(target_profile=qsharp.TargetProfile.Adaptive_RI)
    qsharp.eval(QSHARP)
    shots = 1000
    target = workspace.get_targets("quantinuum.sim.h2-1e")
    job = target.submit(qsharp.compile("TeleportPlus()"), name=f"adaptive-{uuid.uuid4().hex[:8]}", shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    results = job.get_results()
    expected = {f"({m1}, {m2}, 0)" for m1 in (0, 1) for m2 in (0, 1)}
    assert set(results) <= expected | {f"({m1}, {m2}, 1)" for m1 in (0, 1) for m2 in (0, 1)}
    wrong = sum(p for outcome, p in results.items() if outcome not in expected)
    assert wrong <= MAX_WRONG_RATE
    for outcome in expected:  # the two corrections are uniform: a quarter each, within five sigma
        assert abs(results.get(outcome, 0) - 1 / 4) <= 5 * math.sqrt(3 / 16 / shots) + wrong
    shots_list = job.get_results_shots()
    assert len(shots_list) == shots
