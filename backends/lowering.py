"""Arch-neutral lowering of one verified function: blocks, a virtual operand
stack that keeps values in registers or as constants between block
boundaries, and the metadata the VM needs to enter and leave the code.

A target subclasses `Lowering` and supplies the emitters (`op_ADD`, ...,
`load`, `store_home`, `prologue`, ...); this module decides *when* values
move, the target decides *how*.

Virtual stack entries (tuples, for speed):
    ('s', j)    the value is in its home slot j (memory)
    ('r', reg)  the value is in a register
    ('i', n)    the value is the constant n
At every block boundary, call and exit all entries are ('s', j).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from vm.opcodes import BRANCH, BY_NAME, CALL, HALT, JUMP, OPS, RETURN

from . import abi


@dataclass
class CompiledCode:
    """One function's machine code and what the VM needs to use it."""
    func_index: int
    code: bytes
    entry: int                                   # offset of the function entry
    osr: dict[int, int] = field(default_factory=dict)      # loop header pc -> offset
    # offset just after each call -> (CALL pc, base delta in bytes, height at the CALL)
    return_sites: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    ops: int = 0                                  # bytecode instructions compiled
    compile_ns: int = 0                           # filled in by the VM


_VARIABLE = {BY_NAME[m].code: k for m, k in
             (('LLOAD', 'L'), ('LSTORE', 'L'), ('LOAD', 'M'), ('STORE', 'M'))}
_INDIRECT = {BY_NAME['LOADI'].code, BY_NAME['STOREI'].code}


def promotion_candidates(program, fidx: int, facts, limit: int) -> list[tuple[str, int]]:
    """The variables worth keeping in registers for a whole function, most
    used first: locals ('L', i) and, when the function has no LOADI/STOREI
    (which could alias them), memory cells named by LOAD/STORE ('M', addr).
    Uses inside loops weigh 8x per nesting level (loops found from the
    backward jumps, by bytecode range)."""
    heights = facts.heights
    instrs = [ins for ins in facts.instrs if ins.offset in heights]
    loops = [(ins.target, ins.offset) for ins in instrs
             if ins.op.flow in (JUMP, BRANCH) and ins.target <= ins.offset]
    indirect = any(ins.op.code in _INDIRECT for ins in instrs)
    weight: dict[tuple[str, int], int] = {}
    for ins in instrs:
        kind = _VARIABLE.get(ins.op.code)
        if kind is None or (kind == 'M' and indirect):
            continue
        var = (kind, ins.arg)
        at = ins.offset
        depth = sum(1 for head, tail in loops if head <= at <= tail) if loops else 0
        weight[var] = weight.get(var, 0) + 8 ** min(depth, 6)
    ranked = sorted(weight, key=lambda v: (-weight[v], v))
    return ranked[:limit]


class Lowering:
    """Walks one function; subclasses emit. `regs` is the allocatable pool."""

    regs: tuple = ()

    def __init__(self, program, fidx: int, facts, builder):
        self.plan(program, fidx, facts)
        self.program = program
        self.fidx = fidx
        self.func = program.functions[fidx]
        self.facts = facts
        self.b = builder
        self.nslots = self.func.nslots
        self.stack: list[tuple] = []
        self.free = list(self.regs)
        self.heights = facts.heights
        self.labels = {}
        self.trap_sites = []          # (label, trap code, pc)
        self.return_labels = []       # (label, call pc, delta, height)
        self.osr_labels = {}
        self.ops = 0

    # -- stack helpers -----------------------------------------------------
    def label_at(self, pc: int):
        lab = self.labels.get(pc)
        if lab is None:
            lab = self.labels[pc] = self.b.label(f'pc{pc}')
        return lab

    def slot_offset(self, j: int) -> int:
        """Byte offset from the frame base of operand-stack slot j."""
        return abi.WORD * (self.nslots + j)

    def alloc(self):
        """A free register, spilling the deepest register entry if needed."""
        if not self.free:
            for j, e in enumerate(self.stack):
                if e[0] == 'r':
                    self.store_home(j, e)
                    self.stack[j] = ('s', j)
                    self.free.append(e[1])
                    break
        return self.free.pop()

    def release(self, e):
        if e[0] == 'r':
            self.free.append(e[1])

    def push(self, e):
        self.stack.append(e)

    def pop(self):
        return self.stack.pop()

    def pop_reg(self):
        """Pop into a register this op may overwrite."""
        j = len(self.stack) - 1
        e = self.stack.pop()
        if e[0] == 'r':
            return e[1]
        r = self.alloc()
        self.load(r, e, j)
        return r

    def flush(self):
        """Every entry to its home slot (block boundaries, calls, exits)."""
        for j, e in enumerate(self.stack):
            if e[0] != 's' or e[1] != j:
                self.store_home(j, e)
                self.release(e)
                self.stack[j] = ('s', j)

    def reset(self, height: int):
        self.stack = [('s', j) for j in range(height)]
        self.free = list(self.regs)

    # -- the walk ----------------------------------------------------------
    def leaders(self) -> set[int]:
        starts = {0}
        for ins in self.facts.instrs:
            if ins.offset not in self.heights:
                continue
            flow = ins.op.flow
            if flow in (JUMP, BRANCH):
                starts.add(ins.target)
            if flow not in ('next', CALL):
                starts.add(ins.end)
        return starts

    def lower(self) -> CompiledCode:
        b = self.b
        leaders = self.leaders()
        headers = set(self.facts.loop_headers)
        entry = b.here('entry')
        self.prologue()
        reachable = [ins for ins in self.facts.instrs if ins.offset in self.heights]
        handlers = self.handlers()
        prev_flow = None
        for i, ins in enumerate(reachable):
            pc = ins.offset
            if pc in leaders:
                if prev_flow not in (JUMP, RETURN, HALT, None):
                    self.flush()                # falling into the next block
                self.reset(self.heights[pc])
                b.bind(self.label_at(pc))
                if pc in headers:
                    self.osr_labels[pc] = self.osr_entry(pc)
                    self.loop_check(pc)
            self.ops += 1
            nxt = reachable[i + 1] if i + 1 < len(reachable) else None
            self.next_ins = nxt if nxt is not None and nxt.offset not in leaders else None
            handlers[ins.op.code](self, ins)
            prev_flow = ins.op.flow
        self.epilogue_stubs()
        return self.finish_code(entry)

    def finish_code(self, entry) -> CompiledCode:
        osr = list(self.osr_labels.items())
        labels = [entry] + [lab for _, lab in osr] + [r[0] for r in self.return_labels]
        code, offsets = self.b.finish_with_labels(labels)
        cc = CompiledCode(self.fidx, code, offsets[0], ops=self.ops)
        n = len(osr)
        for (pc, _), off in zip(osr, offsets[1:1 + n]):
            cc.osr[pc] = off
        for (_, call_pc, delta, height), off in zip(self.return_labels, offsets[1 + n:]):
            cc.return_sites[off] = (call_pc, delta, height)
        return cc

    @classmethod
    def handlers(cls) -> dict:
        """opcode -> the subclass's op_MNEMONIC method, built once per class."""
        table = cls.__dict__.get('_handlers')
        if table is None:
            table = {op.code: getattr(cls, 'op_' + op.mnemonic) for op in OPS}
            cls._handlers = table
        return table

    # -- what a target provides ---------------------------------------------
    def plan(self, program, fidx, facts):
        """Choose register roles for this function (before anything else)."""

    def osr_entry(self, pc):
        """The label where the interpreter enters the loop at header pc."""
        return self.label_at(pc)

    def prologue(self): raise NotImplementedError
    def loop_check(self, pc): raise NotImplementedError
    def epilogue_stubs(self): raise NotImplementedError
    def load(self, reg, e, j): raise NotImplementedError
    def store_home(self, j, e): raise NotImplementedError
