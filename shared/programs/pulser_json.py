"""Pasqal's `pasqal.pulser.v1`: `{"sequence_builder": "<JSON text>"}`, the text a pulser Sequence's
`to_abstract_repr()` writes (a register of atoms, the device it is written for, laser pulses on its channels).

A program is bounded before pulser builds anything (its waveforms allocate a sample per nanosecond): the JSON's
depth, its register's atoms, its layout's traps, its operations and their durations added up. Then pulser's own
schema checks it (a finding names the field), its register is checked against the device it declares (naming
the atom), and pulser builds the Sequence, checking every pulse against that device's channels. What it runs
is summarised (`AnalogProgram`: atoms, and each pulse's peaks and duration with the operation it comes from),
so a target can check it against a device of its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import jsonschema
import numpy as np
import pulser
from pulser.devices import Device, VirtualDevice
from pulser.exceptions.serialization import AbstractReprError
from pulser.json.abstract_repr.deserializer import deserialize_device
from pulser.json.abstract_repr.validation import validate_abstract_repr
from pulser.sampler import sample

from shared.domain.analog import AnalogProgram, Atom, ChannelLimits, DeviceLimits, PulseSpan, check_register
from shared.domain.errors import Diagnostic, InvalidProgramError, UnsupportedProgramError

from .limits import MAX_LAYOUT_TRAPS, MAX_PULSE_OPERATIONS, MAX_SEQUENCE_NANOSECONDS
from .prescan import check_json_depth
from .text import decode_text, invalid_program

PULSER_PROGRAM = "pasqal.pulser.v1 program"
SEQUENCE = "sequence_builder"
REGISTER = f"{SEQUENCE}.register"
_PULSE_OPERATIONS = frozenset({"pulse", "pulse_arbitrary_phase", "add_eom_pulse"})
_BLACKMAN_MEAN = 0.42  # the mean of a Blackman window, whose peak is 1: a pulse's area is peak x duration x this
_ALTERNATIVE_MISMATCHES = frozenset({"const", "required", "additionalProperties", "type"})
_MESSAGE_CHARACTERS = 300  # of a schema finding, which can quote the whole offending object
# What pulser raises for a sequence it cannot build, once the schema has passed.
_BUILD_ERRORS = (AbstractReprError, ValueError, TypeError, KeyError, IndexError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class PulserProgram:
    sequence: pulser.Sequence[Any]
    summary: AnalogProgram


def parse_pulser(data: bytes, max_atoms: int) -> PulserProgram:
    """Validate a pasqal.pulser.v1 program fully and build its Sequence; a register of more than `max_atoms`
    atoms is refused before anything is built."""
    text = decode_text(data, PULSER_PROGRAM)
    builder = _json(text, None)
    if not isinstance(builder, dict) or not isinstance(builder.get(SEQUENCE), str):
        _invalid(SEQUENCE, "the program is a JSON object whose sequence_builder is the sequence's JSON text")
    inner = cast("str", builder[SEQUENCE])
    document = _bounded(_json(inner, SEQUENCE), max_atoms)
    _check_schema(inner)
    if document["variables"]:
        names = ", ".join(sorted(document["variables"]))
        _invalid(f"{SEQUENCE}.variables", f"the sequence declares variables ({names}); build it with their values")
    _bound_duration(document["operations"])
    atoms = tuple(
        Atom(str(atom.get("name", atom.get("qid"))), _coordinates(atom, document), f"{REGISTER}[{index}]")
        for index, atom in enumerate(document["register"])
    )
    check_register(device_limits(_declared_device(document["device"])), atoms, REGISTER, InvalidProgramError)
    try:
        sequence = pulser.Sequence.from_abstract_repr(inner)
    except _BUILD_ERRORS as error:
        _invalid(SEQUENCE, f"pulser cannot build the sequence: {error}")
    pulses = _pulses(sequence, document)
    if not pulses:
        _invalid(f"{SEQUENCE}.operations", "the sequence has no pulse; an emulation of it would measure nothing")
    return PulserProgram(sequence, AnalogProgram(atoms, pulses, REGISTER))


def device_limits(device: Device | VirtualDevice) -> DeviceLimits:
    """A pulser device's limits, its channels by id."""
    channels = {
        channel_id: ChannelLimits(
            max_amplitude=channel.max_amp,
            max_abs_detuning=channel.max_abs_detuning,
            min_duration=channel.min_duration,
            max_duration=channel.max_duration,
        )
        for channel_id, channel in device.channels.items()
    }
    return DeviceLimits(
        name=device.name,
        max_atoms=device.max_atom_num,
        min_atom_distance=device.min_atom_distance,
        max_radial_distance=device.max_radial_distance,
        channels=channels,
    )


def _json(text: str, where: str | None) -> object:
    check_json_depth(text)  # json.loads recurses once per level
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        inside = "" if where is None else f"in {where}'s text: "
        raise invalid_program(
            PULSER_PROGRAM,
            [
                Diagnostic(
                    code="InvalidJson", message=f"{inside}{exc.msg}", line=exc.lineno, column=exc.colno, path=where
                )
            ],
        ) from None


def _bounded(document: object, max_atoms: int) -> dict[str, Any]:
    """The lists pulser would build from, counted before the schema (which walks them) or pulser runs."""
    if not isinstance(document, dict):
        _invalid(SEQUENCE, "the sequence is a JSON object")
    layout = document.get("layout")
    bounds = (
        (REGISTER, document.get("register"), max_atoms, "atoms"),
        (
            f"{SEQUENCE}.layout.coordinates",
            layout.get("coordinates") if isinstance(layout, dict) else None,
            MAX_LAYOUT_TRAPS,
            "traps",
        ),
        (f"{SEQUENCE}.operations", document.get("operations"), MAX_PULSE_OPERATIONS, "operations"),
    )
    for path, items, limit, what in bounds:
        if isinstance(items, list) and len(items) > limit:
            _too_large(path, f"{len(items)} {what}; the limit is {limit}")
    return document


def _check_schema(text: str) -> None:
    try:
        validate_abstract_repr(text, "sequence")
    except jsonschema.ValidationError as error:
        found = _deepest(error)
        path = SEQUENCE + str(found.json_path).removeprefix("$")
        message = str(found.message)
        _invalid(path, message if len(message) <= _MESSAGE_CHARACTERS else message[:_MESSAGE_CHARACTERS] + "...")
    except AbstractReprError as error:
        _invalid(SEQUENCE, str(error))


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Of the schema's findings (an anyOf holds one per alternative), the deepest: the field at fault. At one depth,
    a value out of range before a mismatch that only says another alternative was meant (`op` is not `delay`)."""
    leaves, pending = [], [error]
    while pending:
        found = pending.pop()
        if found.context:
            pending.extend(found.context)
        else:
            leaves.append(found)
    return max(leaves, key=lambda leaf: (len(leaf.absolute_path), leaf.validator not in _ALTERNATIVE_MISMATCHES))


def _bound_duration(operations: list[dict[str, object]]) -> None:
    """The operations' durations added up (channels run side by side, so this is at least the sequence's)."""
    total = 0.0
    for index, operation in enumerate(operations):
        total += _operation_duration(operation, f"{SEQUENCE}.operations[{index}]")
        if total > MAX_SEQUENCE_NANOSECONDS:
            _too_large(
                f"{SEQUENCE}.operations[{index}]",
                f"the operations last {total:.0f} ns up to here; the limit is {MAX_SEQUENCE_NANOSECONDS} ns",
            )


def _operation_duration(operation: Mapping[str, object], path: str) -> float:
    kind = operation["op"]
    if kind in ("pulse", "pulse_arbitrary_phase"):
        waves = [operation[key] for key in ("amplitude", "detuning", "phase") if isinstance(operation.get(key), dict)]
        return max(_waveform_duration(cast("Mapping[str, object]", wave), path) for wave in waves)
    if kind == "add_dmm_detuning":
        return _waveform_duration(cast("Mapping[str, object]", operation["waveform"]), path)
    if kind in ("delay", "add_eom_pulse"):
        return _number(operation["time" if kind == "delay" else "duration"], path)
    return 0.0


def _waveform_duration(waveform: Mapping[str, object], path: str) -> float:
    kind = waveform["kind"]
    if kind == "composite":
        parts = cast("list[Mapping[str, object]]", waveform["waveforms"])
        return sum(_waveform_duration(part, path) for part in parts)
    if kind == "custom":
        return float(len(cast("list[object]", waveform["samples"])))
    if kind in ("blackman_max", "kaiser_max"):  # the duration follows from the area and the peak
        peak = abs(_number(waveform["max_val"], path))
        mean = _BLACKMAN_MEAN if kind == "blackman_max" else _kaiser_mean(_number(waveform.get("beta", 14.0), path))
        return math.inf if peak == 0 or mean <= 0 else abs(_number(waveform["area"], path)) / (peak * mean) * 1000
    return _number(waveform["duration"], path)


def _kaiser_mean(beta: float) -> float:
    with np.errstate(all="ignore"):
        mean = float(np.kaiser(1001, beta).mean())
    return mean if math.isfinite(mean) else 0.0


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _invalid(path, "durations are numbers here, not expressions (the sequence has no variables)")
    return float(value)


def _coordinates(atom: dict[str, Any], document: dict[str, Any]) -> tuple[float, ...]:
    """An atom's own coordinates, or those of its trap in the layout (a mappable register names traps)."""
    if "x" in atom:
        return tuple(float(atom[axis]) for axis in ("x", "y", "z") if axis in atom)
    traps: list[list[float]] = (document.get("layout") or {}).get("coordinates", [])
    trap = atom.get("qid")
    return tuple(float(value) for value in traps[trap]) if isinstance(trap, int) and 0 <= trap < len(traps) else ()


def _declared_device(device: object) -> Device | VirtualDevice:
    """The device the sequence is written for: serialized whole, or one of pulser's by name (the schema's enum)."""
    try:
        if isinstance(device, str):
            return cast("Device | VirtualDevice", getattr(pulser.devices, device))
        return deserialize_device(json.dumps(device))
    except _BUILD_ERRORS as error:
        _invalid(f"{SEQUENCE}.device", f"pulser cannot read the device: {error}")


def _pulses(sequence: pulser.Sequence[Any], document: dict[str, Any]) -> tuple[PulseSpan, ...]:
    """Each pulse as it runs, from the sequence's samples: a channel's k-th pulse is its k-th pulse operation."""
    channels = cast("dict[str, str]", document["channels"])
    operations = cast("list[dict[str, object]]", document["operations"])
    written: dict[str, list[int]] = {}
    for index, operation in enumerate(operations):
        if operation["op"] in _PULSE_OPERATIONS:
            written.setdefault(str(operation["channel"]), []).append(index)
    spans: list[PulseSpan] = []
    for name, samples in sample(sequence).channel_samples.items():
        if name not in channels:  # a detuning-map modulator (dmm_0), not a laser channel
            continue
        amplitude = samples.amp.as_array(detach=True)
        detuning = np.abs(samples.det.as_array(detach=True))
        indices = written.get(name, [])
        for position, slot in enumerate(samples.slots):
            end = min(slot.tf, len(amplitude))  # a slot can run on past the samples (the last pulse's fall time)
            duration, path = end - slot.ti, f"{SEQUENCE}.channels.{name}"
            if position < len(indices):  # the duration as written: what a channel's limits apply to
                path = f"{SEQUENCE}.operations[{indices[position]}]"
                duration = round(_operation_duration(operations[indices[position]], path))
            spans.append(
                PulseSpan(
                    channel=channels[name],
                    duration=duration,
                    max_amplitude=float(amplitude[slot.ti : end].max(initial=0.0)),
                    max_abs_detuning=float(detuning[slot.ti : end].max(initial=0.0)),
                    path=path,
                )
            )
    return tuple(spans)


def _invalid(path: str, message: str) -> NoReturn:
    raise invalid_program(PULSER_PROGRAM, [Diagnostic(code="InvalidSequence", message=message, path=path)])


def _too_large(path: str, message: str) -> NoReturn:
    raise UnsupportedProgramError(
        f"The program is larger than this service accepts: {path}: {message}.",
        diagnostics=[Diagnostic(code="SequenceTooLarge", message=message, path=path)],
    )
