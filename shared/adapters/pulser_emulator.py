"""Pasqal's targets on this machine: pulser-simulation's state-vector emulator (QuTiP) evolves a pulse sequence's
atoms under its Hamiltonian and samples the final state, as `pasqal.pulser-results.v1` (bitstring counts, one
bit per atom in register order, 1 for the Rydberg state)."""

from __future__ import annotations

import json

import pulser
from pulser.backend import BitStrings
from pulser_simulation import QutipBackendV2, QutipConfig

from shared.domain.errors import Diagnostic, UnsupportedProgramError
from shared.programs.pulser_json import parse_pulser


def pulser_counts(program: bytes, shots: int, max_atoms: int) -> dict[str, int]:
    """Each measured bitstring and how many of `shots` runs gave it, bitstrings in order."""
    sequence = parse_pulser(program, max_atoms).sequence
    config = QutipConfig(observables=[BitStrings(evaluation_times=[1.0], num_shots=shots)])
    try:
        counts = QutipBackendV2(sequence, config=config).run().final_bitstrings
    except ValueError as error:  # what pulser-simulation raises for a sequence it cannot emulate
        raise UnsupportedProgramError(
            f"The emulator cannot run this sequence: {error}",
            diagnostics=[Diagnostic(code="SimulationFailed", message=str(error))],
        ) from None
    return {bits: int(count) for bits, count in sorted(counts.items())}


def warm_up_program() -> bytes:
    """A one-atom sequence with one pulse, for a worker to run once before taking work."""
    sequence = pulser.Sequence(pulser.Register({"q0": (0.0, 0.0)}), pulser.AnalogDevice)
    sequence.declare_channel("global", "rydberg_global")
    sequence.add(pulser.Pulse.ConstantPulse(100, 1.0, 0.0, 0.0), "global")
    return json.dumps({"sequence_builder": sequence.to_abstract_repr()}).encode()
