"""qiskit-aer noise models built from a target's published error rates (the catalog's `noise`).

The model is the simplest one the published figures define:

- every one-qubit gate the program applies, after larger gates are decomposed into the simulator's
  one- and two-qubit gates, is followed by a depolarizing error whose average gate infidelity is the
  published one-qubit gate error; two-qubit gates likewise with the two-qubit gate error;
- Z rotations (z, s, t, rz, p, ... and their inverses) and the identity carry no error: trapped-ion
  machines, and Rigetti's superconducting ones, apply them as frame changes, in software;
- every measured bit is flipped with the published SPAM error, whatever its value.

A depolarizing channel of strength λ on n qubits (d = 2**n) replaces the state by the maximally mixed
one with probability λ; its average gate infidelity is λ (d - 1) / d, so λ = error · d / (d - 1). All
errors are Pauli errors, so qiskit-aer simulates a Clifford program (a GHZ state, say) with the
stabilizer method; any other program costs one statevector simulation per shot, shared between shots
that meet the same errors (Aer's shot branching).

The gates are taken as the program writes them, not compiled to each machine's native gates, and every
pair of qubits is coupled: the trapped-ion machines are all-to-all, while a lattice machine (Rigetti's)
would route distant pairs through SWAPs, which the model leaves out (its catalog description says so).
"""

from __future__ import annotations

from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

from shared.domain.catalog import NoiseSpec

ONE_QUBIT_GATES = ("x", "y", "h", "sx", "sxdg", "rx", "ry", "r", "u", "u2", "u3")
ERROR_FREE_GATES = ("id", "z", "s", "sdg", "t", "tdg", "rz", "p", "u1")
TWO_QUBIT_GATES = (
    "cx",
    "cy",
    "cz",
    "csx",
    "cp",
    "cu1",
    "crx",
    "cry",
    "crz",
    "cu",
    "cu3",
    "swap",
    "ecr",
    "rxx",
    "ryy",
    "rzz",
    "rzx",
)


def depolarizing_strength(gate_error: float, num_qubits: int) -> float:
    """λ of the depolarizing channel on `num_qubits` whose average gate infidelity is `gate_error`."""
    dimension = 1 << num_qubits
    return gate_error * dimension / (dimension - 1)


def noise_model(spec: NoiseSpec) -> NoiseModel:
    """The noise model of `spec`; its basis is the gates above, so transpiling for it keeps them as written."""
    model = NoiseModel(basis_gates=[*ONE_QUBIT_GATES, *ERROR_FREE_GATES, *TWO_QUBIT_GATES])
    model.add_all_qubit_quantum_error(
        depolarizing_error(depolarizing_strength(spec.one_qubit_gate_error, 1), 1), ONE_QUBIT_GATES
    )
    model.add_all_qubit_quantum_error(
        depolarizing_error(depolarizing_strength(spec.two_qubit_gate_error, 2), 2), TWO_QUBIT_GATES
    )
    flip = spec.readout_error
    model.add_all_qubit_readout_error(ReadoutError([[1 - flip, flip], [flip, 1 - flip]]))
    return model


def noisy_backend(spec: NoiseSpec) -> AerSimulator:
    """An Aer simulator applying `spec`; shots that meet the same errors share one simulation."""
    return AerSimulator(noise_model=noise_model(spec), shot_branching_enable=True, shot_branching_sampling_enable=True)
