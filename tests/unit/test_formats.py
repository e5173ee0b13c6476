"""The program format registry (shared.programs.formats) and the Programs port over it."""

from __future__ import annotations

import pytest

from shared.domain.catalog import load_catalog
from shared.domain.errors import UnsupportedFormatError
from shared.ports import Sniffed
from shared.programs.formats import FORMATS, OUTPUT_FORMATS, program_format
from shared.programs.translate import QiskitPrograms, translate_program

PROGRAMS = QiskitPrograms()
ROUTES = [route for provider in load_catalog().providers for target in provider.targets for route in target.routes]


def test_an_unknown_format_is_refused_naming_every_known_one() -> None:
    with pytest.raises(UnsupportedFormatError, match=r"'acme\.pulses\.v9'") as caught:
        program_format("acme.pulses.v9")
    assert all(name in caught.value.message for name in FORMATS)


def test_every_catalog_format_is_registered_and_every_provider_format_is_an_output() -> None:
    assert {name for route in ROUTES for name in route.input_formats} <= FORMATS.keys()
    assert {route.provider_format for route in ROUTES} <= OUTPUT_FORMATS


@pytest.mark.parametrize(
    ("data_format", "content_type"),
    [
        pytest.param("ionq.circuit.v1", "application/json", id="ionq"),
        pytest.param("honeywell.openqasm.v1", "application/qasm", id="honeywell"),
        pytest.param("qir.v1", "qir.v1", id="qir"),
        pytest.param("rigetti.quil.v1", "text/plain", id="quil"),
    ],
)
def test_provider_formats_are_stored_with_their_content_type(data_format: str, content_type: str) -> None:
    assert PROGRAMS.content_type(data_format) == content_type


def test_a_format_that_is_not_an_output_is_refused_as_one() -> None:
    with pytest.raises(UnsupportedFormatError, match=r"'openqasm\.v3'"):
        translate_program(b"OPENQASM 3.0;\n", "openqasm.v3", "openqasm.v3")


@pytest.mark.parametrize(
    ("name", "data", "sniffed"),
    [
        pytest.param("bell.json", b"[]", Sniffed("json", ("ionq.circuit.v1",)), id="json-by-name"),
        pytest.param("bell", b'  {"qubits": 2}', Sniffed("json", ("ionq.circuit.v1",)), id="json-by-brace"),
        pytest.param("bell.qasm", b"OPENQASM 3.0;\n", Sniffed("qasm3", ("openqasm.v3",)), id="qasm3"),
        pytest.param(
            "bell.qasm",
            b"// Bell\nOPENQASM 2.0;\n",
            Sniffed("qasm2", ("honeywell.openqasm.v1", "openqasm.v2")),
            id="qasm2-quantinuum-name-first",
        ),
        pytest.param("bell.quil", b"H 0\nCNOT 0 1\n", None, id="quil-is-never-guessed"),
    ],
)
def test_a_dropped_program_is_recognised_by_its_name_and_first_bytes(
    name: str, data: bytes, sniffed: Sniffed | None
) -> None:
    assert PROGRAMS.sniff(name, data) == sniffed
