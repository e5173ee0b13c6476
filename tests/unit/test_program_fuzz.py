"""Fuzzing each program parser through the validation path: generated and mutated programs are accepted or
refused with a PermanentJobError, never another exception (no crash, no RecursionError, no 500).

The runs are derandomized, so CI sees the same examples every time; the seeds are the valid programs
of the other unit tests.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import PermanentJobError
from shared.programs.translate import QiskitPrograms
from shared.services.validate import check_program
from tests.unit.test_bad_program_corpus import QIR_BELL
from tests.unit.test_programs import VALID_PROGRAMS
from tests.unit.test_quil import BELL as QUIL_BELL

CATALOG = load_catalog()
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# QIR is parsed in a child process per program, so it gets fewer examples.
FUZZ_QIR = settings(FUZZ, max_examples=40)
# Characters that matter to the parsers, so that mutations reach their corners.
SYNTAX = st.sampled_from([*'()[]{};,:"/*#@$-+=<>!~^&|.\n 0123456789qxhc', "/*", "*/", "//", "gate ", "->"])


def first_target(input_format: str) -> TargetSpec:
    return next(t for p in CATALOG.providers for t in p.targets if input_format in t.input_formats)


def seeds(*formats: str) -> list[bytes]:
    return [str(case.values[1]).encode() for case in VALID_PROGRAMS if case.values[0] in formats]


@st.composite
def mutated(draw: st.DrawFn, sources: list[bytes]) -> bytes:
    """A seed program with a few insertions, deletions, duplications and replacements."""
    data = bytearray(draw(st.sampled_from(sources)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "repeat", "byte"]))
        if action == "insert":
            data[at:at] = "".join(draw(st.lists(SYNTAX, max_size=8))).encode()
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif action == "repeat":
            piece = data[at : at + draw(st.integers(1, 12))]
            data[at:at] = bytes(piece) * draw(st.integers(1, 200))
        else:
            data[at:at] = bytes([draw(st.integers(0, 255))])
    return bytes(data)


def programs(sources: list[bytes]) -> st.SearchStrategy[bytes]:
    generated = st.lists(SYNTAX, max_size=60).map(lambda parts: "".join(parts).encode())
    return st.one_of(mutated(sources), generated, st.binary(max_size=200))


def assert_only_permanent_errors(data: bytes, input_format: str) -> None:
    """Any other exception fails the test (hypothesis reports the smallest program that raises it)."""
    with contextlib.suppress(PermanentJobError):
        check_program(QiskitPrograms(), data, input_format, first_target(input_format))


@pytest.mark.parametrize("input_format", ["openqasm.v2", "honeywell.openqasm.v1"])
def test_openqasm2_fuzz(input_format: str) -> None:
    sources = seeds("openqasm.v2", "honeywell.openqasm.v1")

    @FUZZ
    @given(programs(sources))
    def check(data: bytes) -> None:
        assert_only_permanent_errors(data, input_format)

    check()


@FUZZ
@given(programs(seeds("openqasm.v3")))
def test_openqasm3_fuzz(data: bytes) -> None:
    assert_only_permanent_errors(data, "openqasm.v3")


@FUZZ
@given(programs([QUIL_BELL.encode(), b"DECLARE ro BIT[2]\nRX(pi/2) 0\nCNOT 0 1\nMEASURE 1 ro[1]\n"]))
def test_quil_fuzz(data: bytes) -> None:
    assert_only_permanent_errors(data, "rigetti.quil.v1")


@FUZZ
@given(programs(seeds("ionq.circuit.v1")))
def test_ionq_json_fuzz(data: bytes) -> None:
    assert_only_permanent_errors(data, "ionq.circuit.v1")


@FUZZ_QIR
@given(mutated([QIR_BELL]))
def test_qir_text_fuzz(data: bytes) -> None:
    assert_only_permanent_errors(data, "qir.v1")
