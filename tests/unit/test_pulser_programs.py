"""pasqal.pulser.v1 programs: what is refused before a job is queued, and where the finding points.

Every case goes through submit's own check (`check_program`) on the catalog's Pasqal targets.
"""

from __future__ import annotations

import json
import math

import pulser
import pytest
from pulser.devices import Device, VirtualDevice

from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import InvalidProgramError, UnsupportedProgramError
from shared.programs.translate import QiskitPrograms
from shared.services.validate import check_program

FORMAT = "pasqal.pulser.v1"
CATALOG = load_catalog()
PASQAL = {target.id: target for target in CATALOG.provider("pasqal").targets}
EMULATOR = PASQAL["pasqal.sim.emu-tn"]
FRESNEL = PASQAL["pasqal.qpu.fresnel"]


def build(
    atoms: dict[str, tuple[float, float]],
    pulses: tuple[tuple[float, float, int], ...] = ((math.pi, 0.0, 100),),
    device: Device | VirtualDevice = pulser.AnalogDevice,
    channel: str = "rydberg_global",
) -> dict[str, object]:
    """The sequence's abstract representation, as a JSON object to edit."""
    seq = pulser.Sequence(pulser.Register(atoms), device)
    seq.declare_channel("ch", channel, initial_target=None if channel.endswith("global") else "q0")
    for amplitude, detuning, duration in pulses:
        seq.add(pulser.Pulse.ConstantPulse(duration, amplitude, detuning, 0.0), "ch")
    document: dict[str, object] = json.loads(seq.to_abstract_repr())
    return document


def program(document: dict[str, object]) -> bytes:
    return json.dumps({"sequence_builder": json.dumps(document)}).encode()


def line(n: int, spacing: float = 6.0) -> dict[str, tuple[float, float]]:
    return {f"q{i}": (i * spacing - (n - 1) * spacing / 2, 0.0) for i in range(n)}


def refused(data: bytes, target: TargetSpec = EMULATOR) -> InvalidProgramError:
    with pytest.raises(InvalidProgramError) as caught:
        check_program(QiskitPrograms(), data, FORMAT, target)
    return caught.value


def test_a_valid_sequence_counts_its_atoms_and_pulses() -> None:
    info = check_program(QiskitPrograms(), program(build(line(3), ((1.0, 0.0, 100), (2.0, 1.0, 200)))), FORMAT, FRESNEL)
    assert (info.num_qubits, info.num_clbits, info.gate_count) == (3, 3, 2)


@pytest.mark.parametrize(
    ("data", "path", "where"),
    [
        pytest.param(b'{"sequence_builder": ', None, (1, 22), id="outer-json"),
        pytest.param(b'{"sequence": "{}"}', "sequence_builder", None, id="no-sequence-builder"),
        pytest.param(b'{"sequence_builder": {"register": []}}', "sequence_builder", None, id="not-text"),
        pytest.param(b'{"sequence_builder": "{\\n  \\"register\\": ["}', "sequence_builder", (2, 16), id="inner-json"),
    ],
)
def test_malformed_json_names_its_position(data: bytes, path: str | None, where: tuple[int, int] | None) -> None:
    finding = refused(data).diagnostics[0]
    assert finding.path == path
    assert (finding.line, finding.column) == (where or (None, None))


def test_a_field_pulsers_schema_refuses_is_named() -> None:
    document = build(line(1))
    document["operations"][0]["protocol"] = "eventually"  # type: ignore[index]
    assert refused(program(document)).diagnostics[0].path == "sequence_builder.operations[0].protocol"


@pytest.mark.parametrize(
    ("move", "path", "words"),
    [
        pytest.param({"q1": (4.0, 0.0)}, "sequence_builder.register[1]", "4 µm apart", id="too-close"),
        pytest.param({"q1": (0.0, 40.0)}, "sequence_builder.register[1]", "40 µm from the centre", id="too-far"),
    ],
)
def test_the_register_is_checked_against_the_device_it_declares(
    move: dict[str, tuple[float, float]], path: str, words: str
) -> None:
    document = build({"q0": (0.0, 0.0), "q1": (6.0, 0.0)})
    document["register"] = [
        {"name": name, "x": x, "y": y} for name, (x, y) in ({"q0": (0.0, 0.0), "q1": (6.0, 0.0)} | move).items()
    ]
    finding = refused(program(document)).diagnostics[0]
    assert finding.path == path
    assert words in finding.message and "AnalogDevice" in finding.message


def test_a_pulse_past_the_declared_channel_is_refused_with_pulsers_reason() -> None:
    document = build(line(1))
    document["operations"][0]["amplitude"]["value"] = 100.0  # type: ignore[index]  # AnalogDevice: at most 4pi
    assert "amplitude goes over the maximum" in refused(program(document)).message


@pytest.mark.parametrize(
    ("pulse", "channel", "path", "words"),
    [
        pytest.param((5 * math.pi, 0.0, 100), "rydberg_global", "operations[0].amplitude", "15.708", id="amplitude"),
        pytest.param((1.0, 40.0, 100), "rydberg_global", "operations[0].detuning", "40", id="detuning"),
        pytest.param((1.0, 0.0, 8), "rydberg_global", "operations[0].duration", "8 ns", id="duration"),
        pytest.param((1.0, 0.0, 100), "rydberg_local", "operations[1]", "no channel rydberg_local", id="channel"),
    ],
)
def test_fresnel_checks_each_pulse_against_its_own_channels(
    pulse: tuple[float, float, int], channel: str, path: str, words: str
) -> None:
    """Valid on pulser's MockDevice, which has no limits; Fresnel's published figures refuse them."""
    data = program(build({"q0": (0.0, 0.0)}, (pulse,), device=pulser.MockDevice, channel=channel))
    check_program(QiskitPrograms(), data, FORMAT, EMULATOR)  # an emulator takes the device the sequence declares
    finding = refused(data, FRESNEL).diagnostics[0]
    assert finding.path == f"sequence_builder.{path}"
    assert words in finding.message and "Fresnel" in finding.message


def test_fresnel_takes_at_most_its_atoms() -> None:
    data = program(build(line(21, 5.0), device=pulser.MockDevice))
    finding = refused(data, FRESNEL).diagnostics[0]
    assert finding.path == "sequence_builder.register" and "at most 20" in finding.message


def test_a_register_past_the_local_emulation_is_refused_naming_its_size() -> None:
    error = refused(program(build(line(13))))
    assert isinstance(error, UnsupportedProgramError)
    assert "up to 12 atoms" in error.message and "100" in error.message
    assert error.diagnostics[0].path == "sequence_builder.register"


def test_a_register_past_the_target_is_refused_before_pulser_builds_it() -> None:
    document = build(line(1))
    document["register"] = [{"name": f"q{i}", "x": 5.0 * i, "y": 0.0} for i in range(26)]
    error = refused(program(document), PASQAL["pasqal.sim.emu-sv"])
    assert error.diagnostics[0].code == "SequenceTooLarge" and "the limit is 25" in error.message


def test_the_operations_durations_are_bounded_before_pulser_samples_them() -> None:
    document = build(line(1), ((1.0, 0.0, 10_000), (1.0, 0.0, 10_000), (1.0, 0.0, 100)), device=pulser.MockDevice)
    error = refused(program(document))
    assert error.diagnostics[0].code == "SequenceTooLarge"
    assert error.diagnostics[0].path == "sequence_builder.operations[2]"


def test_a_sequence_with_variables_asks_for_their_values() -> None:
    seq = pulser.Sequence(pulser.Register(line(1)), pulser.AnalogDevice)
    seq.declare_channel("ch", "rydberg_global")
    amplitude = seq.declare_variable("omega")
    seq.add(pulser.Pulse.ConstantPulse(100, amplitude, 0.0, 0.0), "ch")
    data = json.dumps({"sequence_builder": seq.to_abstract_repr()}).encode()
    finding = refused(data).diagnostics[0]
    assert finding.path == "sequence_builder.variables" and "omega" in finding.message


def test_a_sequence_without_pulses_is_refused() -> None:
    assert refused(program(build(line(1), ()))).diagnostics[0].path == "sequence_builder.operations"
