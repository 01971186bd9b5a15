"""The load-time verifier (spec section 3), always on.

Check order, which decides the one error reported when a program breaks
several rules:
  1. the entry function takes no arguments (`bad entry function`);
  2. then function by function, in index order:
     a. decoding, from offset 0 (`invalid opcode`, `truncated instruction`);
     b. each instruction's immediate, in offset order, reachable or not
        (`bad jump target`, `memory address out of range`, `bad local index`,
        `bad function index`);
     c. the flow of stack heights from offset 0, following each straight
        run to its end, then the lowest pending jump target (`bad return
        height`, `stack underflow`, `stack overflow`, `inconsistent stack
        height`, `falls off the end`).
Unreachable code must decode and carry valid immediates, but has no height.
"""
from __future__ import annotations

import heapq
from .record import field, record

from .errors import VerifyError
from .opcodes import BRANCH, CALL, HALT, JUMP, MAX_STACK, RETURN, DecodeError, Instr, decode
from .program import Function, Program


@record
class FunctionFacts:
    """What the verifier proved about one function, for the interpreter
    and the JIT."""
    instrs: list[Instr]                      # every decoded instruction, in order
    heights: dict[int, int]                  # offset -> stack height before it (reachable only)
    max_height: int = 0
    loop_headers: set[int] = field(default_factory=set)   # targets of reachable backward jumps
    reachable: set[int] = field(default_factory=set)
    at: dict[int, Instr] = field(default_factory=dict, repr=False)   # offset -> instruction


class _FunctionCheck:
    def __init__(self, program: Program, index: int):
        self.program = program
        self.func: Function = program.functions[index]

    def fail(self, phrase: str, offset: int) -> VerifyError:
        return VerifyError(phrase, self.func.name, offset, self.func.line_at(offset),
                           self.program.source_name)

    def run(self) -> FunctionFacts:
        instrs = self.decode()
        at = {ins.offset: ins for ins in instrs}
        self.check_immediates(instrs, at)
        heights, loop_headers = self.flow(at)
        return FunctionFacts(instrs, heights, max(heights.values(), default=0),
                             loop_headers, set(heights), at)

    def decode(self) -> list[Instr]:
        try:
            return list(decode(self.func.code))
        except DecodeError as e:
            raise self.fail(e.phrase, e.offset) from None

    def check_immediates(self, instrs: list[Instr], at: dict[int, Instr]) -> None:
        memory = self.program.memory_cells
        nslots = self.func.nslots
        nfuncs = len(self.program.functions)
        for ins in instrs:
            kind = ins.op.imm.name if ins.op.imm else None
            if kind == 'rel':
                if ins.offset + ins.arg not in at:
                    raise self.fail('bad jump target', ins.offset)
            elif kind == 'addr':
                if ins.arg >= memory:
                    raise self.fail('memory address out of range', ins.offset)
            elif kind == 'local':
                if ins.arg >= nslots:
                    raise self.fail('bad local index', ins.offset)
            elif kind == 'func':
                if ins.arg >= nfuncs:
                    raise self.fail('bad function index', ins.offset)

    def flow(self, at: dict[int, Instr]) -> tuple[dict[int, int], set[int]]:
        """Stack height before every reachable instruction: each straight
        run is followed to its end, then the lowest pending jump target."""
        size = len(self.func.code)
        if size == 0:
            raise self.fail('falls off the end', 0)
        functions = self.program.functions
        heights = {0: 0}
        loop_headers: set[int] = set()
        pending = [0]
        while pending:
            offset = heapq.heappop(pending)
            height = heights[offset]
            while True:
                ins = at[offset]
                op = ins.op
                flow = op.flow
                if flow == RETURN and height != 1:
                    raise self.fail('bad return height', offset)
                pops = functions[ins.arg].nargs if flow == CALL else op.pops
                if height < pops:
                    raise self.fail('stack underflow', offset)
                height = height - pops + op.pushes
                if height > MAX_STACK:
                    raise self.fail('stack overflow', offset)
                if flow == JUMP or flow == BRANCH:
                    target = offset + ins.arg
                    if target <= offset:
                        loop_headers.add(target)
                    known = heights.get(target)
                    if known is None:
                        heights[target] = height
                        heapq.heappush(pending, target)
                    elif known != height:
                        raise self.fail('inconsistent stack height', target)
                if flow == JUMP or flow == RETURN or flow == HALT:
                    break
                offset += op.size
                if offset >= size:
                    raise self.fail('falls off the end', ins.offset)
                known = heights.get(offset)
                if known is None:
                    heights[offset] = height
                elif known != height:
                    raise self.fail('inconsistent stack height', offset)
                else:
                    break                   # joined a run already walked
        return heights, loop_headers


def verify(program: Program) -> list[FunctionFacts]:
    """Prove the rules of spec section 3, or raise VerifyError naming the
    function, offset and source line.  Stores the facts in program.facts."""
    functions = program.functions
    if not 0 <= program.entry < len(functions):
        raise VerifyError('bad entry function', '?', 0)
    entry = functions[program.entry]
    if entry.nargs != 0:
        raise VerifyError('bad entry function', entry.name, 0, entry.line_at(0), program.source_name)
    facts = [_FunctionCheck(program, i).run() for i in range(len(functions))]
    program.facts = facts
    return facts
