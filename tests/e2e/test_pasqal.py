"""Pasqal's targets through the unmodified SDK's `Pasqal` class, with sequences built by pulser.

Each target runs a small register driven by constant pulses; the measured counts are tested (Pearson's chi-square)
against the exact distribution computed here, independently of pulser-simulation: the Rydberg Hamiltonian
H = sum_i (Omega/2 X_i - delta n_i) + sum_i<j C6 / r_ij^6 n_i n_j, evolved pulse by pulse with scipy's expm.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pulser
import pytest
from azure.quantum import Workspace
from azure.quantum.target import Pasqal
from azure.quantum.target.pasqal import Result
from pulser.devices import Device, VirtualDevice
from scipy.linalg import expm  # type: ignore[import-untyped]  # scipy ships no type information

from tests.e2e.test_sdk import TIMEOUT, unique
from tests.unit.test_noise import ALPHA, chi_square_p_value

pytestmark = pytest.mark.integration

SHOTS = 500
Pulse = tuple[float, float, int]  # amplitude (rad/µs), detuning (rad/µs), duration (ns)
# Target: atom x positions (µm, on a line) and the pulses, each case different.
CASES: dict[str, tuple[tuple[float, ...], tuple[Pulse, ...]]] = {
    "pasqal.sim.emu-tn": ((0.0,), ((2 * math.pi, 2.0, 400),)),
    "pasqal.sim.emu-sv": ((0.0, 6.0), ((3 * math.pi, 0.0, 300),)),
    "pasqal.sim.emu-mps": ((-4.5, 4.5), ((2 * math.pi, 1.0, 500), (math.pi, -2.0, 200))),
    "pasqal.qpu.fresnel": ((0.0, 7.0), ((2 * math.pi, 5.0, 600),)),
}


def sequence(
    xs: tuple[float, ...], pulses: tuple[Pulse, ...], device: Device | VirtualDevice = pulser.AnalogDevice
) -> str:
    """The program as the SDK's sample sends it: {"sequence_builder": seq.to_abstract_repr()}."""
    register = pulser.Register({f"q{i}": (x, 0.0) for i, x in enumerate(xs)})
    seq = pulser.Sequence(register, device)
    seq.declare_channel("global", "rydberg_global")
    for amplitude, detuning, duration in pulses:
        seq.add(pulser.Pulse.ConstantPulse(duration, amplitude, detuning, 0.0), "global")
    seq.measure("ground-rydberg")
    return json.dumps({"sequence_builder": seq.to_abstract_repr()})


def exact_distribution(xs: tuple[float, ...], pulses: tuple[Pulse, ...]) -> dict[str, float]:
    """Bitstring probabilities (atom 0 leftmost, 1 = Rydberg) after the pulses, from the Hamiltonian itself."""
    n = len(xs)
    sigma_x = np.array([[0.0, 1.0], [1.0, 0.0]])
    rydberg = np.diag([0.0, 1.0])  # basis |g> = 0, |r> = 1

    def on(op: np.ndarray, atom: int) -> np.ndarray:
        factors = [op if k == atom else np.eye(2) for k in range(n)]
        return np.asarray(factors[0] if n == 1 else np.kron(*factors))

    c6 = pulser.AnalogDevice.interaction_coeff  # rad.µm^6/µs, for the device's Rydberg level
    pairs = itertools.combinations(range(n), 2)
    interaction = sum(
        (c6 / abs(xs[i] - xs[j]) ** 6 * on(rydberg, i) @ on(rydberg, j) for i, j in pairs), np.zeros((2**n,) * 2)
    )
    state = np.zeros(2**n, dtype=complex)
    state[0] = 1.0
    for amplitude, detuning, duration in pulses:
        drive = sum(amplitude / 2 * on(sigma_x, i) - detuning * on(rydberg, i) for i in range(n))
        state = expm(-1j * (drive + interaction) * duration / 1000) @ state
    return {format(index, f"0{n}b"): float(abs(amplitude) ** 2) for index, amplitude in enumerate(state)}


def test_the_exact_distribution_is_rabis_formula_for_one_atom() -> None:
    omega, delta, t = 2 * math.pi, 2.0, 0.4
    rabi = math.hypot(omega, delta)
    expected = omega**2 / rabi**2 * math.sin(rabi * t / 2) ** 2
    assert exact_distribution((0.0,), ((omega, delta, 400),))["1"] == pytest.approx(expected)


@pytest.mark.parametrize("target", list(CASES))
def test_each_target_measures_the_hamiltonians_distribution(workspace: Workspace, target: str) -> None:
    xs, pulses = CASES[target]
    job = Pasqal(workspace=workspace, name=target).submit(sequence(xs, pulses), name=unique("pasqal"), shots=SHOTS)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    assert job.details.output_data_format == "pasqal.pulser-results.v1"
    counts = Result(job).data
    assert sum(counts.values()) == SHOTS
    assert all(len(bits) == len(xs) for bits in counts)
    assert chi_square_p_value(Counter(counts), exact_distribution(xs, pulses)) > ALPHA


def test_fresnel_refuses_a_pulse_past_its_channel_naming_the_operation(workspace: Workspace) -> None:
    """Valid on the device it declares (pulser's MockDevice has no amplitude limit), not on Fresnel: the job is
    Failed when it is created, never queued, and says which field."""
    program = sequence((0.0,), ((1.0, 0.0, 100), (5 * math.pi, 0.0, 100)), device=pulser.MockDevice)
    job = Pasqal(workspace=workspace, name="pasqal.qpu.fresnel").submit(program, name=unique("too-bright"), shots=10)
    assert job.details.status == "Failed"
    assert job.details.error_data.code == "UnsupportedProgram"
    assert "sequence_builder.operations[1].amplitude" in job.details.error_data.message
    assert "Fresnel" in job.details.error_data.message
