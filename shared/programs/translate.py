"""Inspect and translate programs by their registered formats (`formats.FORMATS`); every translation
between languages goes through a qiskit QuantumCircuit. `QiskitPrograms` is the services' `Programs` port."""

from __future__ import annotations

from qiskit import QuantumCircuit

from shared.domain.errors import Diagnostic, UnsupportedFormatError, UnsupportedProgramError
from shared.ports import ProgramInfo, Sniffed

from .formats import FORMATS, OUTPUT_FORMATS, program_format
from .limits import MAX_QUBITS

_SNIFFED_BYTES = 256


def inspect_program(data: bytes, input_format: str, max_qubits: int = MAX_QUBITS) -> ProgramInfo:
    """Validate a program fully and summarise it (`ProgramFormat.inspect`)."""
    return program_format(input_format).inspect(data, max_qubits)


def translate_program(data: bytes, input_format: str, output_format: str) -> bytes:
    """Translate to an output format; within a language, the output format validates and normalises.

    IonQ JSON to IonQ JSON keeps the program's gateset (IonQ runs native-gate programs as written);
    from other formats IonQ JSON is produced in the qis gateset. QIR and Quil are validated and
    passed through unchanged (the provider runs them natively); they are not produced from other formats.
    """
    source = program_format(input_format)
    target = program_format(output_format)
    if target.keep is None:
        raise UnsupportedFormatError(
            f"Programs are not translated to {output_format!r}; expected one of {', '.join(sorted(OUTPUT_FORMATS))}."
        )
    if source.language is target.language:
        return target.keep(data)
    if target.write is None:
        raise UnsupportedFormatError(
            f"Programs in {input_format!r} cannot be translated to {output_format!r}; "
            f"only {output_format!r} input is run as {output_format!r}."
        )
    circuit = source.load(data)
    if circuit.parameters:
        names = ", ".join(sorted(str(parameter.name) for parameter in circuit.parameters))
        raise UnsupportedProgramError(
            f"The program has unbound input parameters ({names}); give them values before submitting.",
            diagnostics=[Diagnostic(code="UnboundParameters", message=f"unbound parameters: {names}")],
        )
    return target.write(circuit)


def load_circuit(data: bytes, input_format: str) -> QuantumCircuit:
    """Parse a program; an IonQ program (either gateset) gets its implicit final measurement of every qubit into `c`."""
    return program_format(input_format).load(data)


def qubit_limit_diagnostic(data: bytes, input_format: str, used: int, limit: int) -> Diagnostic:
    """The finding for a (valid) program using `used` qubits where `limit` are available."""
    return program_format(input_format).qubits.finding(data, used, limit)


class QiskitPrograms:
    """The `Programs` port over the format registry."""

    def inspect(self, data: bytes, input_format: str, max_qubits: int) -> ProgramInfo:
        return inspect_program(data, input_format, max_qubits)

    def translate(self, data: bytes, input_format: str, output_format: str) -> bytes:
        return translate_program(data, input_format, output_format)

    def content_type(self, data_format: str) -> str:
        return program_format(data_format).content_type

    def sniff(self, name: str, data: bytes) -> Sniffed | None:
        """The first language, in registry order, that recognises the program; its formats in registry order."""
        head = data[:_SNIFFED_BYTES].lstrip().decode("utf-8", "replace")
        for entry in FORMATS.values():
            language = entry.language
            if language.recognise is not None and language.recognise(name, head):
                formats = tuple(other.name for other in FORMATS.values() if other.language is language)
                return Sniffed(kind=language.kind, formats=formats)
        return None

    def qubit_limit_diagnostic(self, data: bytes, input_format: str, used: int, limit: int) -> Diagnostic:
        return qubit_limit_diagnostic(data, input_format, used, limit)
