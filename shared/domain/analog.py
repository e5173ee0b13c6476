"""Neutral-atom (analog) programs against a device's limits: atoms placed in a register, driven by laser pulses.

A program is summarised as its atoms (name and coordinates, in µm) and its pulses (channel, duration in ns, peak
amplitude and peak |detuning| in rad/µs), each with the place in the program it comes from. A device is the
numbers it publishes: how many atoms, how close together and how far from the centre, and per channel the
pulse amplitude, detuning and duration it takes. `check_register` and `check_pulses` refuse a program that
breaks one, naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import NoReturn

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shared.domain.errors import Diagnostic, InvalidProgramError, UnsupportedProgramError

DISTANCE_TOLERANCE = 1e-6  # µm: coordinates are published to 6 decimals, so a lattice's spacing can read 4.9999999
VALUE_TOLERANCE = 1e-6  # rad/µs: as the device compares detunings (rounded to 6 decimals)


class _AnalogModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class ChannelLimits(_AnalogModel):
    """What one of a device's channels (by its id, e.g. rydberg_global) takes; None: no limit."""

    max_amplitude: float | None = Field(None, gt=0, description="peak Rabi frequency, rad/µs")
    max_abs_detuning: float | None = Field(None, ge=0, description="peak |detuning|, rad/µs")
    min_duration: int = Field(1, ge=1, description="shortest pulse, ns")
    max_duration: int | None = Field(None, ge=1, description="longest pulse, ns")


class DeviceLimits(_AnalogModel):
    """A neutral-atom device's published limits; None: no limit."""

    name: str
    max_atoms: int | None = Field(None, ge=1)
    min_atom_distance: float = Field(0.0, ge=0, description="µm between any two atoms")
    max_radial_distance: float | None = Field(None, gt=0, description="µm from the register's origin")
    channels: dict[str, ChannelLimits] | None = Field(
        None, description="the channels by id; None: any channel, without limits"
    )


class AnalogSpec(_AnalogModel):
    """How a neutral-atom target runs here: a local emulation, bounded in size, of a device (or of any device)."""

    source: str = Field(description="where the target's figures were published, and when")
    max_emulated_atoms: int = Field(
        ge=1,
        description="the largest register the local state-vector emulation takes (its cost doubles per atom); "
        "a larger one is refused before it runs",
    )
    device: DeviceLimits | None = Field(
        None, description="the device a program must fit, beside the one it declares; None: only its own"
    )


@dataclass(frozen=True)
class Atom:
    name: str
    coordinates: tuple[float, ...]
    path: str


@dataclass(frozen=True)
class PulseSpan:
    """One pulse as it runs: on which channel (its id), how long, and its peaks."""

    channel: str
    duration: int
    max_amplitude: float
    max_abs_detuning: float
    path: str


@dataclass(frozen=True)
class AnalogProgram:
    atoms: tuple[Atom, ...]
    pulses: tuple[PulseSpan, ...]
    register_path: str


def check_register(
    device: DeviceLimits,
    atoms: Sequence[Atom],
    register_path: str,
    error: type[InvalidProgramError] = UnsupportedProgramError,
) -> None:
    """The register fits the device: atom count, distance from the origin, distance between atoms. `error` is what
    a misfit raises: the target cannot run it (by default), or, against the device it declares, it is not valid."""
    if device.max_atoms is not None and len(atoms) > device.max_atoms:
        _refuse(
            error, register_path, f"the register has {len(atoms)} atoms; {device.name} takes at most {device.max_atoms}"
        )
    if device.max_radial_distance is not None:
        for atom in atoms:
            radius = math.hypot(*atom.coordinates)
            if radius > device.max_radial_distance + DISTANCE_TOLERANCE:
                _refuse(
                    error,
                    atom.path,
                    f"atom {atom.name} is {radius:.6g} µm from the centre; {device.name} places atoms at most "
                    f"{device.max_radial_distance:g} µm from it",
                )
    for first, second in combinations(atoms, 2):
        apart = math.dist(first.coordinates, second.coordinates)
        if apart < max(device.min_atom_distance - DISTANCE_TOLERANCE, DISTANCE_TOLERANCE):
            _refuse(
                error,
                second.path,
                f"atoms {first.name} and {second.name} are {apart:.6g} µm apart; {device.name} needs at least "
                f"{device.min_atom_distance:g} µm between atoms",
            )


def check_pulses(device: DeviceLimits, pulses: Sequence[PulseSpan]) -> None:
    """Each pulse is on a channel the device has, within that channel's duration, amplitude and detuning."""
    if device.channels is None:
        return
    for pulse in pulses:
        limits = device.channels.get(pulse.channel)
        if limits is None:
            known = ", ".join(sorted(device.channels))
            _refuse(
                UnsupportedProgramError, pulse.path, f"{device.name} has no channel {pulse.channel}; it has {known}"
            )
        _check_pulse(device.name, limits, pulse)


def _check_pulse(name: str, limits: ChannelLimits, pulse: PulseSpan) -> None:
    channel = f"{name}'s {pulse.channel} channel"
    too_long = limits.max_duration is not None and pulse.duration > limits.max_duration
    if pulse.duration < limits.min_duration or too_long:
        longest = "" if limits.max_duration is None else f" to {limits.max_duration}"
        _refuse(
            UnsupportedProgramError,
            f"{pulse.path}.duration",
            f"the pulse lasts {pulse.duration} ns; {channel} takes pulses of {limits.min_duration}{longest} ns",
        )
    if limits.max_amplitude is not None and pulse.max_amplitude > limits.max_amplitude + VALUE_TOLERANCE:
        _refuse(
            UnsupportedProgramError,
            f"{pulse.path}.amplitude",
            f"the amplitude reaches {pulse.max_amplitude:.6g} rad/µs; {channel} allows at most "
            f"{limits.max_amplitude:.6g} rad/µs",
        )
    if limits.max_abs_detuning is not None and pulse.max_abs_detuning > limits.max_abs_detuning + VALUE_TOLERANCE:
        _refuse(
            UnsupportedProgramError,
            f"{pulse.path}.detuning",
            f"the detuning reaches {pulse.max_abs_detuning:.6g} rad/µs in magnitude; {channel} allows at most "
            f"{limits.max_abs_detuning:.6g} rad/µs",
        )


def _refuse(error: type[InvalidProgramError], path: str, message: str) -> NoReturn:
    raise error(
        f"The sequence does not fit the device: {path}: {message}.",
        diagnostics=[Diagnostic(code="OutsideDeviceLimits", message=message, path=path)],
        target="inputData",
    )
