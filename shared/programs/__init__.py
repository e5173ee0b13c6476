"""Quantum programs: validation with positioned diagnostics and translation between formats."""

from .formats import INPUT_FORMATS, OUTPUT_FORMATS, ProgramInfo
from .limits import qubit_limit_diagnostic
from .translate import inspect_program, translate_program

__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "ProgramInfo",
    "inspect_program",
    "qubit_limit_diagnostic",
    "translate_program",
]
