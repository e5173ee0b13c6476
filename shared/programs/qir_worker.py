"""Child process that parses untrusted QIR with pyqir and prints a plain JSON description.

pyqir can crash the interpreter (SIGSEGV) on values of an unexpected kind, so the service never
parses QIR in its own process: `qir.parse_qir` runs this file as a script, sends the program on
stdin and reads one JSON object from stdout. Run as a script, this module imports only the standard
library and pyqir (not the `shared` package, which would pull in qiskit), so a parse starts quickly.

Output: {"ok": {...description...}, "seconds": s} or {"error": {"kind", "code", "message", "line",
"column"}, "seconds": s}, where kind is "invalid" (a broken program) or "unsupported" (a valid
program this service cannot run). Every pointer is checked by its printed form before pyqir reads
it, so a crash here means a pyqir defect; the parent treats it as an invalid program.
"""

from __future__ import annotations

import json
import math
import re
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pyqir

BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")  # raw bitcode, bitcode wrapper
MODULE_NAME = "program"
MAX_ID = 1 << 20
MEMORY_LIMIT = 4 << 30

# QIR name -> (angles, qubits, results); arguments come in that order.
QIS: dict[str, tuple[int, int, int]] = {
    **dict.fromkeys(("h", "x", "y", "z", "s", "s__adj", "t", "t__adj", "sx", "reset"), (0, 1, 0)),
    **dict.fromkeys(("rx", "ry", "rz"), (1, 1, 0)),
    **dict.fromkeys(("cx", "cnot", "cy", "cz", "swap"), (0, 2, 0)),
    **dict.fromkeys(("rxx", "ryy", "rzz"), (1, 2, 0)),
    "ccx": (0, 3, 0),
    **dict.fromkeys(("m", "mz", "mresetz"), (0, 1, 1)),
    "barrier": (0, 0, 0),
}
IGNORED_RT = frozenset({"initialize", "begin_parallel", "end_parallel"})
RECORDS = {"result_record_output": "result", "array_record_output": "array", "tuple_record_output": "tuple"}
ADAPTIVE_CALLS = frozenset({"__quantum__qis__read_result__body", "__quantum__rt__read_result"})
_QIS_NAME = re.compile(r"__quantum__qis__(\w+?)__(body|adj)")
_STATIC_POINTER = re.compile(r"\S+ (?:null|inttoptr \(i64 (\d+) to \S+\))")
_LABEL = re.compile(r'([-\w.$]+|"[^"]*"):')

Position = tuple[int, int]


class RejectedError(Exception):
    """A verdict on the program (invalid or unsupported), not a fault of this process."""

    def __init__(self, kind: str, code: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.error = {"kind": kind, "code": code, "message": message, "line": line, "column": column}


def unsupported(message: str, code: str = "UnsupportedQir") -> NoReturn:
    raise RejectedError("unsupported", code, message)


def invalid(message: str, code: str = "InvalidQir") -> NoReturn:
    raise RejectedError("invalid", code, message)


@contextmanager
def at(position: Position | None) -> Iterator[None]:
    """A verdict raised inside is placed at position (1-based line and column in LLVM text) unless it has one."""
    try:
        yield
    except RejectedError as rejected:
        if position is not None and rejected.error["line"] is None:
            rejected.error["line"], rejected.error["column"] = position
        raise


def adaptive(what: str, profile: str | None) -> NoReturn:
    declared = f" (it declares qir_profiles={profile!r})" if profile else ""
    unsupported(
        f"{what}: that needs the adaptive profile{declared}, and adaptive profile QIR is not supported yet; "
        "only base profile QIR (straight-line gates and measurements) runs here",
        "AdaptiveProfileNotSupported",
    )


def load(data: bytes) -> pyqir.Module:
    context = pyqir.Context()
    if data.startswith(BITCODE_MAGIC):
        return pyqir.Module.from_bitcode(context, data, MODULE_NAME)
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    if not text.strip():
        invalid("the program is empty", "EmptyProgram")
    return pyqir.Module.from_ir(context, text, MODULE_NAME)


def static_id(value: pyqir.Value, role: str, where: str) -> int:
    """The id of a `null` or `inttoptr (i64 N ...)` pointer constant; anything else is refused unread."""
    printed = str(value) if isinstance(value, pyqir.Constant) else ""
    match = _STATIC_POINTER.fullmatch(printed) if not isinstance(value, pyqir.GlobalVariable | pyqir.Function) else None
    if match is None:
        unsupported(f"{where}: the {role} is not a static {role} id ({printed or 'a computed value'})", "DynamicQir")
    found = pyqir.ptr_id(value)  # safe: the value is a null or inttoptr constant
    if found is None or found != int(match[1] or 0):
        invalid(f"{where}: cannot read the {role} id of {printed}")
    if found >= MAX_ID:
        unsupported(f"{where}: {role} id {found} is too large")
    return found


def angle(value: pyqir.Value, where: str, profile: str | None) -> float:
    if isinstance(value, pyqir.FloatConstant):
        found = float(value.value)
        if not math.isfinite(found):
            invalid(f"{where}: the angle is {found}")
        return found
    if isinstance(value, pyqir.Constant):
        invalid(f"{where}: the angle is not a double constant ({value})")
    adaptive(f"{where}: the angle is computed at run time", profile)


def count(value: pyqir.Value, where: str) -> int:
    if not isinstance(value, pyqir.IntConstant) or not 0 <= value.value < MAX_ID:
        invalid(f"{where}: the element count must be a non-negative i64 constant, got {value}")
    return int(value.value)


def label(value: pyqir.Value) -> str | None:
    """The output label: only a global byte string is read (never a computed pointer)."""
    if not isinstance(value, pyqir.GlobalVariable):
        return None
    raw = pyqir.extract_byte_string(value)
    return None if raw is None else raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def attribute(function: pyqir.Function, name: str) -> str | None:
    attributes = function.attributes.func
    return attributes[name].string_value if name in attributes else None


def required(function: pyqir.Function, name: str) -> int | None:
    raw = attribute(function, name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        invalid(f"the entry point attribute {name}={raw!r} is not a count")
    return int(raw)


def instruction_positions(text: str, entry: str) -> dict[tuple[str, int], Position]:
    """Where each instruction of the entry point starts in LLVM text, by (block name, index in block).

    LLVM text has one instruction per line; an unlabelled (or numbered) block's name is "", as in pyqir.
    """
    lines = text.split("\n")
    header = re.compile(rf"\s*define\b.*@\"?{re.escape(entry)}\"?\s*\(")
    start = next((number for number, line in enumerate(lines) if header.match(line)), len(lines))
    found: dict[tuple[str, int], Position] = {}
    block, index = "", 0
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        code = line.split(";", 1)[0]
        statement = code.strip()
        label = _LABEL.fullmatch(statement)
        if statement.startswith("}"):
            break
        if label is not None:
            name = label[1].strip('"')
            block, index = ("" if name.isdigit() else name), 0
        elif statement:
            found[(block, index)] = (number, len(code) - len(code.lstrip()) + 1)
            index += 1
    return found


def describe(data: bytes) -> dict[str, object]:
    module = load(data)
    problem = module.verify()
    if problem:
        invalid(f"the module does not verify: {problem.strip()}")
    entries = [f for f in module.functions if pyqir.is_entry_point(f)]
    if not entries:
        invalid('the module has no entry point (a function with the "entry_point" attribute)', "NoEntryPoint")
    if len(entries) > 1:
        names = ", ".join(f.name for f in entries)
        unsupported(f"the module has {len(entries)} entry points ({names}); only one is supported")
    entry = entries[0]
    profile = attribute(entry, "qir_profiles")
    if entry.params:
        unsupported(f"the entry point {entry.name} takes parameters; only parameterless entry points run")
    text = None if data.startswith(BITCODE_MAGIC) else data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    positions = {} if text is None else instruction_positions(text, entry.name)
    walker = Walker(profile)
    for block in chain(entry, profile, positions):
        for index, instruction in enumerate(block.instructions[:-1]):
            where = f"block {block.name or '(unnamed)'}, instruction {index + 1}"
            walker.position = positions.get((block.name, index))
            with at(walker.position):
                if not isinstance(instruction, pyqir.Call):
                    adaptive(f"{where}: '{str(instruction).strip()}' is not a call", profile)
                walker.call(instruction, where)
    return {
        "entry_point": entry.name,
        "profile": profile,
        "qir_major_version": pyqir.qir_major_version(module),
        "num_qubits": sized(entry, "required_num_qubits", "qubit", walker),
        "num_results": sized(entry, "required_num_results", "result", walker),
        "operations": walker.operations,
        "output": walker.output,
    }


def chain(
    entry: pyqir.Function, profile: str | None, positions: dict[tuple[str, int], Position]
) -> list[pyqir.BasicBlock]:
    """The entry point's blocks from the first, following unconditional branches to the `ret`."""
    blocks = entry.basic_blocks
    if not blocks:
        invalid(f"the entry point {entry.name} has no body")
    path = [blocks[0]]
    while True:
        block = path[-1]
        terminator = block.terminator
        name = block.name or "(unnamed)"
        if terminator is None:
            invalid(f"block {name} has no terminator")
        if terminator.opcode == pyqir.Opcode.RET:
            return path
        successors = terminator.successors
        with at(positions.get((block.name, len(block.instructions) - 1))):
            if terminator.opcode != pyqir.Opcode.BR or len(successors) != 1:
                adaptive(f"block {name} ends in a conditional branch ('{str(terminator).strip()}')", profile)
            if any(successors[0] == seen for seen in path):
                adaptive(f"block {name} branches back to block {successors[0].name or '(unnamed)'} (a loop)", profile)
        path.append(successors[0])


class Walker:
    """Collects the gates and output records of the entry point's calls, in order."""

    def __init__(self, profile: str | None) -> None:
        self.profile = profile
        self.operations: list[dict[str, object]] = []
        self.output: list[dict[str, object]] = []
        self.qubits: list[int] = []
        self.results: list[int] = []
        self.position: Position | None = None  # of the instruction being read, in LLVM text
        self.first_use: dict[tuple[str, int], Position | None] = {}

    def call(self, instruction: pyqir.Call, where: str) -> None:
        callee = instruction.callee
        if not isinstance(callee, pyqir.Function):
            unsupported(f"{where}: indirect calls are not supported")
        name = callee.name
        where = f"{where} ({name})"
        if name in ADAPTIVE_CALLS:
            adaptive(f"{where}: reading a measurement result at run time", self.profile)
        if callee.basic_blocks:
            unsupported(f"{where}: calls to functions defined in the program are not supported")
        qis = _QIS_NAME.fullmatch(name)
        if qis:
            self.gate(qis[1] if qis[2] == "body" else f"{qis[1]}__adj", instruction.args, where)
            return
        rt = name.removeprefix("__quantum__rt__")
        if rt in IGNORED_RT:
            return
        kind = RECORDS.get(rt)
        if kind is None:
            unsupported(f"{where}: the function {name!r} is not supported", "UnsupportedCall")
        args = instruction.args
        if len(args) != 2:
            invalid(f"{where}: expected 2 arguments, got {len(args)}")
        record: dict[str, object] = {"kind": kind, "label": label(args[1])}
        if kind == "result":
            record["index"] = self.id(args[0], "result", where)
        else:
            record["count"] = count(args[0], where)
        self.output.append(record)

    def gate(self, gate: str, args: list[pyqir.Value], where: str) -> None:
        if gate not in QIS:
            unsupported(f"{where}: the gate {gate!r} is not supported", "UnsupportedGate")
        angles, qubits, results = QIS[gate]
        if len(args) != angles + qubits + results:
            invalid(f"{where}: expected {angles + qubits + results} arguments, got {len(args)}")
        operands = [self.id(a, "qubit", where) for a in args[angles : angles + qubits]]
        if len(set(operands)) != len(operands):
            invalid(f"{where}: the gate is applied to the same qubit twice ({operands})")
        self.operations.append(
            {
                "name": gate,
                "params": [angle(a, where, self.profile) for a in args[:angles]],
                "qubits": operands,
                "results": [self.id(a, "result", where) for a in args[angles + qubits :]],
            }
        )

    def id(self, value: pyqir.Value, role: str, where: str) -> int:
        found = static_id(value, role, where)
        (self.qubits if role == "qubit" else self.results).append(found)
        self.first_use.setdefault((role, found), self.position)
        return found


def sized(entry: pyqir.Function, attribute_name: str, role: str, walker: Walker) -> int:
    """The declared count; an id past it is refused where that id is first used."""
    declared = required(entry, attribute_name)
    needed = max(walker.qubits if role == "qubit" else walker.results, default=-1) + 1
    if declared is None:
        return needed
    if needed > declared:
        with at(walker.first_use[(role, needed - 1)]):
            invalid(f"{role} {needed - 1} is used, but the entry point declares {attribute_name}={declared}")
    return declared


def limit_resources(timeout: float) -> None:
    """No core files; a CPU and memory ceiling in case the parent cannot stop us."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def main() -> None:
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    limit_resources(timeout)
    data = sys.stdin.buffer.read()
    started = time.perf_counter()
    reply: dict[str, object]
    try:
        reply = {"ok": describe(data)}
    except RejectedError as rejected:
        reply = {"error": rejected.error}
    except UnicodeDecodeError as exc:
        reply = {"error": {"kind": "invalid", "code": "InvalidEncoding", "message": str(exc)}}
    except ValueError as exc:  # LLVM's parse and bitcode errors
        reply = {"error": {"kind": "parse", "code": "InvalidQir", "message": str(exc)}}
    reply["seconds"] = time.perf_counter() - started
    sys.stdout.write(json.dumps(reply))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
