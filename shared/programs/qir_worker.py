"""Child process that parses untrusted QIR with pyqir and prints a plain JSON description.

pyqir can crash the interpreter (SIGSEGV) on values of an unexpected kind, so the service never
parses QIR in its own process: `qir.parse_qir` runs this file as a script, sends the program on
stdin and reads one JSON object from stdout. Run as a script, this module imports only the standard
library and pyqir (not the `shared` package, which would pull in qiskit), so a parse starts quickly.

Output: {"ok": {...description...}, "seconds": s} or {"error": {"kind", "code", "message", "line",
"column"}, "seconds": s}, where kind is "invalid" (a broken program) or "unsupported" (a valid
program this service cannot run). Adaptive-profile flow is walked as nested if/else regions (see
`Walker`): conditions come out as expressions on result ids; loops, unstructured branches, integer
arithmetic and integer output are refused at the instruction. Every pointer is checked by its
printed form before pyqir reads it, so a crash here means a pyqir defect; the parent treats it as
an invalid program.
"""

from __future__ import annotations

import json
import math
import operator
import re
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, NoReturn

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
READ_RESULT = frozenset({"__quantum__qis__read_result__body", "__quantum__rt__read_result"})
VALUE_RECORDS = frozenset({"int_record_output", "bool_record_output", "double_record_output"})
MAX_BLOCKS = 100_000
MAX_DEPTH = 100  # nested branches
MAX_EXPR = 10_000  # operations in one condition
SMALL_EXPR = 64  # conditions compared for equality when folding
MAX_CASES = 256  # values one run-time integer can take
MAX_WIDTH = 64
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


def angle(value: pyqir.Value, where: str) -> float:
    if isinstance(value, pyqir.FloatConstant):
        found = float(value.value)
        if not math.isfinite(found):
            invalid(f"{where}: the angle is {found}")
        return found
    if isinstance(value, pyqir.Constant):
        invalid(f"{where}: the angle is not a double constant ({value})")
    unsupported(f"{where}: the angle is computed at run time, which is not supported", "DynamicQir")


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
    if entry.params:
        unsupported(f"the entry point {entry.name} takes parameters; only parameterless entry points run")
    text = None if data.startswith(BITCODE_MAGIC) else data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    walker = Walker(Flow(entry, {} if text is None else instruction_positions(text, entry.name)))
    body = walker.region(walker.flow.order[0], None, ())
    return {
        "entry_point": entry.name,
        "profile": attribute(entry, "qir_profiles"),
        "required_profile": "adaptive" if walker.adaptive else "base",
        "qir_major_version": pyqir.qir_major_version(module),
        "num_qubits": sized(entry, "required_num_qubits", "qubit", walker),
        "num_results": sized(entry, "required_num_results", "result", walker),
        "body": body,
        "output": walker.output,
    }


class Flow:
    """The entry point's reachable blocks in topological order, each with its immediate post-dominator.

    Only forward branches are taken: a branch back to a block on the current path (a loop) is refused.
    """

    def __init__(self, entry: pyqir.Function, positions: dict[tuple[str, int], Position]) -> None:
        blocks = entry.basic_blocks
        if not blocks:
            invalid(f"the entry point {entry.name} has no body")
        if len(blocks) > MAX_BLOCKS:
            unsupported(f"the entry point has {len(blocks)} blocks; at most {MAX_BLOCKS} are supported")
        self.positions = positions
        self.successors: dict[pyqir.BasicBlock, list[pyqir.BasicBlock]] = {}
        self.order = self._topological(blocks[0])
        index = {block: number for number, block in enumerate(self.order)}
        exit_index = len(self.order)
        parent = [exit_index] * (exit_index + 1)  # immediate post-dominators by index; the exit is its own
        for number in range(exit_index - 1, -1, -1):
            found = [index[s] for s in self.successors[self.order[number]]] or [exit_index]
            dominator = found[0]
            for other in found[1:]:
                while dominator != other:  # both climb the post-dominator tree to their meeting point
                    if dominator < other:
                        dominator = parent[dominator]
                    else:
                        other = parent[other]
            parent[number] = dominator
        self.ipdom = {
            block: (self.order[parent[number]] if parent[number] < exit_index else None)
            for number, block in enumerate(self.order)
        }

    def position(self, block: pyqir.BasicBlock, index: int) -> Position | None:
        return self.positions.get((block.name, index))

    def _topological(self, first: pyqir.BasicBlock) -> list[pyqir.BasicBlock]:
        """Reverse postorder of a depth-first walk from the first block; a back edge is a loop, refused."""
        postorder: list[pyqir.BasicBlock] = []
        on_path: set[pyqir.BasicBlock] = set()
        stack: list[tuple[pyqir.BasicBlock, list[pyqir.BasicBlock]]] = []

        def enter(block: pyqir.BasicBlock) -> None:
            terminator = block.terminator
            name = block.name or "(unnamed)"
            if terminator is None:
                invalid(f"block {name} has no terminator")
            on_path.add(block)
            with at(self.position(block, len(block.instructions) - 1)):
                if terminator.opcode not in (pyqir.Opcode.BR, pyqir.Opcode.RET):
                    unsupported(
                        f"block {name} ends in '{str(terminator).strip()}'; only br and ret are supported",
                        "UnsupportedControlFlow",
                    )
                successors = list(dict.fromkeys(terminator.successors))
                for successor in successors:
                    if successor in on_path:
                        unsupported(
                            f"block {name} branches back to block {successor.name or '(unnamed)'}: loops "
                            "(back edges) are not supported, only forward branches",
                            "LoopNotSupported",
                        )
            self.successors[block] = successors
            stack.append((block, list(reversed(successors))))

        enter(first)
        while stack:
            block, pending = stack[-1]
            if pending:
                successor = pending.pop()
                if successor not in self.successors:
                    enter(successor)
            else:
                stack.pop()
                on_path.discard(block)
                postorder.append(block)
        return postorder[::-1]


# A condition on measurement results, as the program computes it: Read(r, v) is result r as read
# while it held its v-th measurement.
@dataclass(frozen=True)
class Const:
    value: bool
    size: int = 1


@dataclass(frozen=True)
class Read:
    result: int
    version: int
    size: int = 1


@dataclass(frozen=True)
class Not:
    operand: Expr
    size: int


@dataclass(frozen=True)
class Binary:
    op: Literal["and", "or", "xor"]
    left: Expr
    right: Expr
    size: int


Expr = Const | Read | Not | Binary
TRUE, FALSE = Const(True), Const(False)


def negate(operand: Expr) -> Expr:
    if isinstance(operand, Const):
        return Const(not operand.value)
    if isinstance(operand, Not):
        return operand.operand
    return Not(operand, operand.size + 1)


def combine(op: Literal["and", "or", "xor"], left: Expr, right: Expr) -> Expr:
    """left op right, folding constants; a condition too large to follow is refused."""
    for constant, other in ((left, right), (right, left)):
        if isinstance(constant, Const):
            if op == "xor":
                return negate(other) if constant.value else other
            if constant.value == (op == "and"):
                return other
            return constant
    if left == right and left.size < SMALL_EXPR:
        return FALSE if op == "xor" else left
    size = left.size + right.size + 1
    if size > MAX_EXPR:
        unsupported(f"a condition grows beyond {MAX_EXPR} operations", "ConditionTooComplex")
    return Binary(op, left, right, size)


def conjunction(terms: Iterable[Expr]) -> Expr:
    found: Expr = TRUE
    for term in terms:
        found = combine("and", found, term)
    return found


@dataclass(frozen=True)
class Int:
    """A run-time integer wider than i1: each value it can take, with the condition under which it does."""

    width: int
    cases: tuple[tuple[int, Expr], ...]


Symbol = Expr | Int

ARITHMETIC = {"ADD", "SUB", "MUL", "SDIV", "UDIV", "SREM", "UREM", "SHL", "LSHR", "ASHR", "SEXT", "TRUNC"}
COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "EQ": operator.eq,
    "NE": operator.ne,
    "SGT": operator.gt,
    "SGE": operator.ge,
    "SLT": operator.lt,
    "SLE": operator.le,
    "UGT": operator.gt,
    "UGE": operator.ge,
    "ULT": operator.lt,
    "ULE": operator.le,
}


def name_of(member: pyqir.Opcode | pyqir.IntPredicate) -> str:
    """`ADD` for Opcode.ADD (pyqir's enums have no `name`)."""
    return str(member).rsplit(".", 1)[-1]


def signed(value: int, width: int) -> int:
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


def branch(
    condition: Expr,
    test: dict[str, object] | None,
    then_items: list[dict[str, object]],
    else_items: list[dict[str, object]],
) -> list[dict[str, object]]:
    """An if/else item; a constant condition keeps the branch taken, an empty `then` swaps the branches."""
    if isinstance(condition, Const) or test is None:
        return then_items if condition == TRUE else else_items
    if not then_items and not else_items:
        return []
    if not then_items:
        return [{"if": {"not": test}, "then": else_items, "else": []}]
    return [{"if": test, "then": then_items, "else": else_items}]


class Walker:
    """Walks the entry point's blocks as nested if/else regions, collecting gates, conditions and records.

    A conditional branch opens an if/else whose branches run to the block's immediate post-dominator,
    where they merge; flow that does not nest that way (a block reached from both branches before the
    merge) is refused. Phi nodes take the value of the edge the run came through, as a condition.
    """

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.output: list[dict[str, object]] = []
        self.qubits: list[int] = []
        self.results: list[int] = []
        self.position: Position | None = None  # of the instruction being read, in LLVM text
        self.first_use: dict[tuple[str, int], Position | None] = {}
        self.adaptive = False  # reads a result, or branches on a run-time value
        self.values: dict[pyqir.Value, Symbol] = {}
        self.guards: dict[pyqir.BasicBlock, tuple[Expr, ...]] = {}  # the branch conditions each block runs under
        self.conditions: dict[pyqir.BasicBlock, Expr] = {}  # of each block's conditional branch
        self.versions: dict[int, int] = {}  # how often each result has been measured, in walking order
        self.depth = 0

    def region(
        self, block: pyqir.BasicBlock, stop: pyqir.BasicBlock | None, guard: tuple[Expr, ...]
    ) -> list[dict[str, object]]:
        """The items of the blocks from `block` up to (not including) `stop`, None meaning the end."""
        items: list[dict[str, object]] = []
        current: pyqir.BasicBlock | None = block
        while current is not None and current != stop:
            name = current.name or "(unnamed)"
            last = len(current.instructions) - 1
            self.position = self.flow.position(current, last)
            if current in self.guards:
                with at(self.position):
                    unsupported(
                        f"block {name} is reached from both sides of a branch before they merge; only "
                        "branches that nest as if/else are supported",
                        "UnstructuredControlFlow",
                    )
            self.guards[current] = guard
            for index, instruction in enumerate(current.instructions[:-1]):
                self.position = self.flow.position(current, index)
                with at(self.position):
                    self.instruction(instruction, current, f"block {name}, instruction {index + 1}", guard, items)
            terminator = current.instructions[-1]
            self.position = self.flow.position(current, last)
            successors = self.flow.successors[current]
            if terminator.opcode == pyqir.Opcode.RET or len(terminator.operands) == 1:
                current = successors[0] if successors else None
                continue
            with at(self.position):
                condition = self.condition(terminator.operands[0], f"block {name}'s branch")
                test = None if isinstance(condition, Const) else self.serialize(condition)
            self.adaptive = True
            self.conditions[current] = condition
            merge = self.flow.ipdom[current]
            true_block, false_block = terminator.operands[2], terminator.operands[1]
            if not isinstance(true_block, pyqir.BasicBlock) or not isinstance(false_block, pyqir.BasicBlock):
                invalid(f"block {name}'s branch does not name its target blocks")
            if self.depth >= MAX_DEPTH:
                with at(self.position):
                    unsupported(f"branches nest more than {MAX_DEPTH} deep")
            self.depth += 1
            then_items = self.region(true_block, merge, (*guard, condition))
            else_items = self.region(false_block, merge, (*guard, negate(condition)))
            self.depth -= 1
            items.extend(branch(condition, test, then_items, else_items))
            current = merge
        return items

    def serialize(self, condition: Expr) -> dict[str, object]:
        """The condition as JSON on result bits; each result must still hold the measurement that was read."""
        if isinstance(condition, Read):
            if self.versions.get(condition.result, 0) != condition.version:
                unsupported(
                    f"result {condition.result} is measured again between being read and the branch that "
                    "uses the value read; that needs a copy of the result, which is not supported",
                    "ResultOverwritten",
                )
            return {"result": condition.result}
        if isinstance(condition, Not):
            return {"not": self.serialize(condition.operand)}
        if isinstance(condition, Binary):
            return {condition.op: [self.serialize(condition.left), self.serialize(condition.right)]}
        return {"value": condition.value}

    def instruction(
        self,
        instruction: pyqir.Instruction,
        block: pyqir.BasicBlock,
        where: str,
        guard: tuple[Expr, ...],
        items: list[dict[str, object]],
    ) -> None:
        if isinstance(instruction, pyqir.Call):
            self.call(instruction, where, guard, items)
            return
        opcode = name_of(instruction.opcode)
        text = str(instruction).strip()
        if opcode == "PHI" and isinstance(instruction, pyqir.Phi):
            self.values[instruction] = self.phi(instruction, block, where, guard)
        elif opcode == "ICMP" and isinstance(instruction, pyqir.ICmp):
            left, right = (self.value(operand, where) for operand in instruction.operands)
            self.values[instruction] = self.compare(name_of(instruction.predicate), left, right)
        elif opcode in ("AND", "OR", "XOR"):
            left, right = (self.value(operand, where) for operand in instruction.operands)
            self.values[instruction] = self.logic(opcode, left, right)
        elif opcode == "ZEXT":
            operand = self.value(instruction.operands[0], where)
            width = self.width(instruction, where)
            self.values[instruction] = (
                Int(width, tuple((number % (1 << operand.width), when) for number, when in operand.cases))
                if isinstance(operand, Int)
                else Int(width, ((1, operand), (0, negate(operand))))
            )
        elif opcode == "SELECT":
            choice, if_true, if_false = (self.value(operand, where) for operand in instruction.operands)
            condition = self.boolean(choice, where)
            self.values[instruction] = self.merge(
                [(condition, if_true), (negate(condition), if_false)], self.width(instruction, where)
            )
        elif opcode in ARITHMETIC:
            unsupported(
                f"{where}: '{text}' is integer arithmetic, which is not supported; only comparisons (icmp), "
                "and/or/xor, zext, select and phi of measurement results are translated",
                "UnsupportedInstruction",
            )
        else:
            unsupported(
                f"{where}: '{text}' ({opcode.lower()}) is not supported; only calls, icmp, and/or/xor, zext, "
                "select, phi, br and ret are translated",
                "UnsupportedInstruction",
            )
        self.adaptive = True

    def phi(self, instruction: pyqir.Phi, here: pyqir.BasicBlock, where: str, guard: tuple[Expr, ...]) -> Symbol:
        """The incoming value of the edge taken, as the disjunction of each edge's condition and value."""
        incoming: list[tuple[Expr, Symbol]] = []
        for value, block in instruction.incoming:
            if block not in self.flow.successors:
                continue  # an unreachable block never supplies the value
            before = self.guards.get(block)
            if before is None or before[: len(guard)] != guard:
                unsupported(
                    f"{where}: the phi takes a value from block {block.name or '(unnamed)'}, which does not lie "
                    "in the if/else that merges here",
                    "UnstructuredControlFlow",
                )
            edge = list(before[len(guard) :])
            terminator = block.instructions[-1]
            if len(terminator.operands) == 3 and terminator.operands[1] != terminator.operands[2]:
                taken = self.conditions[block]
                edge.append(taken if terminator.operands[2] == here else negate(taken))
            incoming.append((conjunction(edge), self.value(value, where)))
        return self.merge(incoming, self.width(instruction, where))

    def merge(self, choices: list[tuple[Expr, Symbol]], width: int) -> Symbol:
        """The value whose exclusive condition holds: OR(condition AND value) for i1, merged cases otherwise."""
        if width == 1:
            found: Expr = FALSE
            for condition, value in choices:
                found = combine("or", found, combine("and", condition, self.boolean(value, "a phi or select")))
            return found
        cases: dict[int, Expr] = {}
        for condition, value in choices:
            for number, when in self.integer(value, width).cases:
                cases[number] = combine("or", cases.get(number, FALSE), combine("and", condition, when))
        return self.cases(width, cases)

    def compare(self, predicate: str, left: Symbol, right: Symbol) -> Expr:
        if isinstance(left, Int) or isinstance(right, Int):
            width = left.width if isinstance(left, Int) else right.width if isinstance(right, Int) else 1
            test = COMPARISONS[predicate]
            unsigned = predicate.startswith("U")
            found: Expr = FALSE
            for a, when_a in self.integer(left, width).cases:
                for b, when_b in self.integer(right, width).cases:
                    x, y = (a % (1 << width), b % (1 << width)) if unsigned else (a, b)
                    if test(x, y):
                        found = combine("or", found, combine("and", when_a, when_b))
            return found
        if predicate in ("EQ", "NE"):
            differ = combine("xor", left, right)
            return differ if predicate == "NE" else negate(differ)
        # i1 orders: as unsigned, true is 1; as signed, true is -1
        return self.compare(predicate, self.integer(left, 1), self.integer(right, 1))

    def logic(self, opcode: str, left: Symbol, right: Symbol) -> Symbol:
        op: Literal["and", "or", "xor"] = "and" if opcode == "AND" else "or" if opcode == "OR" else "xor"
        if not isinstance(left, Int) and not isinstance(right, Int):
            return combine(op, left, right)
        width = left.width if isinstance(left, Int) else right.width if isinstance(right, Int) else 1
        apply = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}[op]
        cases: dict[int, Expr] = {}
        for a, when_a in self.integer(left, width).cases:
            for b, when_b in self.integer(right, width).cases:
                number = signed(apply(a, b), width)
                cases[number] = combine("or", cases.get(number, FALSE), combine("and", when_a, when_b))
        return self.cases(width, cases)

    @staticmethod
    def cases(width: int, cases: dict[int, Expr]) -> Int:
        kept = tuple((number, when) for number, when in sorted(cases.items()) if when != FALSE)
        if len(kept) > MAX_CASES:
            unsupported(f"an integer takes more than {MAX_CASES} different values at run time", "ConditionTooComplex")
        return Int(width, kept)

    @staticmethod
    def integer(value: Symbol, width: int) -> Int:
        if isinstance(value, Int):
            return value
        return Int(width, ((signed(1, width), value), (0, negate(value))))  # i1 true is -1 when signed

    @staticmethod
    def boolean(value: Symbol, where: str) -> Expr:
        if isinstance(value, Int):
            unsupported(f"{where}: an integer is used as a condition")
        return value

    def condition(self, value: pyqir.Value, where: str) -> Expr:
        return self.boolean(self.value(value, where), where)

    def value(self, value: pyqir.Value, where: str) -> Symbol:
        """A known symbol: an integer constant, a read result or a value computed from them."""
        if isinstance(value, pyqir.IntConstant):
            width = value.type.width
            return Const(value.value != 0) if width == 1 else Int(width, ((signed(value.value, width), TRUE),))
        found = self.values.get(value)
        if found is None:
            unsupported(
                f"{where}: uses '{str(value).strip()}', which is not a constant, a read measurement result or a "
                "value computed from them by supported instructions",
                "UnsupportedValue",
            )
        return found

    @staticmethod
    def width(instruction: pyqir.Instruction, where: str) -> int:
        kind = instruction.type
        if not isinstance(kind, pyqir.IntType) or not 1 <= kind.width <= MAX_WIDTH:
            unsupported(f"{where}: only integer values up to i{MAX_WIDTH} are supported, not {kind}")
        return int(kind.width)

    def call(
        self, instruction: pyqir.Call, where: str, guard: tuple[Expr, ...], items: list[dict[str, object]]
    ) -> None:
        callee = instruction.callee
        if not isinstance(callee, pyqir.Function):
            unsupported(f"{where}: indirect calls are not supported")
        name = callee.name
        where = f"{where} ({name})"
        if callee.basic_blocks:
            unsupported(f"{where}: calls to functions defined in the program are not supported")
        if name in READ_RESULT:
            if len(instruction.args) != 1:
                invalid(f"{where}: expected 1 argument, got {len(instruction.args)}")
            result = self.id(instruction.args[0], "result", where)
            self.values[instruction] = Read(result, self.versions.get(result, 0))
            self.adaptive = True
            return
        qis = _QIS_NAME.fullmatch(name)
        if qis:
            items.append(self.gate(qis[1] if qis[2] == "body" else f"{qis[1]}__adj", instruction.args, where))
            return
        rt = name.removeprefix("__quantum__rt__")
        if rt in IGNORED_RT:
            return
        kind = RECORDS.get(rt)
        if kind is None:
            what = "recording integer, boolean or floating-point output" if rt in VALUE_RECORDS else "the function"
            unsupported(f"{where}: {what} {name!r} is not supported", "UnsupportedCall")
        args = instruction.args
        if len(args) != 2:
            invalid(f"{where}: expected 2 arguments, got {len(args)}")
        runs = conjunction(guard)
        if runs == FALSE:
            return  # in a branch that never runs
        if runs != TRUE:
            unsupported(
                f"{where}: output is recorded inside a conditional branch; record it after the branches merge",
                "ConditionalOutput",
            )
        record: dict[str, object] = {"kind": kind, "label": label(args[1])}
        if kind == "result":
            record["index"] = self.id(args[0], "result", where)
        else:
            record["count"] = count(args[0], where)
        self.output.append(record)

    def gate(self, gate: str, args: list[pyqir.Value], where: str) -> dict[str, object]:
        if gate not in QIS:
            unsupported(f"{where}: the gate {gate!r} is not supported", "UnsupportedGate")
        angles, qubits, results = QIS[gate]
        if len(args) != angles + qubits + results:
            invalid(f"{where}: expected {angles + qubits + results} arguments, got {len(args)}")
        operands = [self.id(a, "qubit", where) for a in args[angles : angles + qubits]]
        if len(set(operands)) != len(operands):
            invalid(f"{where}: the gate is applied to the same qubit twice ({operands})")
        measured = [self.id(a, "result", where) for a in args[angles + qubits :]]
        for result in measured:
            self.versions[result] = self.versions.get(result, 0) + 1
        return {
            "name": gate,
            "params": [angle(a, where) for a in args[:angles]],
            "qubits": operands,
            "results": measured,
        }

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
    """No core files, no files written, no new processes (for a non-root user: root is exempt from
    RLIMIT_NPROC); a CPU and memory ceiling in case the parent cannot stop us."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write to a file fails (EFBIG) rather than killing us
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]  # a sandboxed parent may have set a lower one
    memory = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


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
