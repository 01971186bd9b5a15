"""The optimizing tier's representation: SSA values in basic blocks.

One `Inst` class serves every value (phis included) so that passes can
rewrite an instruction in place (a folded `add` becomes a `const` without
touching its users). Operands are the producing `Inst` objects themselves.
Memory is a value too: `mem0`, `store`, `storei`, `call` and memory phis
define a memory state, `load`/`loadi`/`store`/`storei`/`call` name the state
they read in `mem`. Prints and checks are not on that chain; nothing with
an effect is ever reordered, so block order is their order.
"""
from __future__ import annotations

BINARY = frozenset(('add', 'sub', 'mul', 'div', 'mod', 'and', 'or', 'xor', 'shl', 'shr',
                    'sar', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'))
# mulhs a, b: the high 64 bits of the signed 128-bit product (divide.py's
# division by constants); pure, folded like the others.
BINARY = BINARY | {'mulhs'}
UNARY = frozenset(('neg', 'not'))
PURE = BINARY | UNARY | {'const', 'param', 'copy'}
READS = frozenset(('load', 'loadi'))              # removable, not movable across memory defs
CHECKS = frozenset(('chkzero', 'chkaddr', 'chkdepth'))   # may trap: kept unless proved safe
EFFECTS = frozenset(('store', 'storei', 'call', 'print', 'printc', 'frame'))
# `enter` ends the entry block of a function built with OSR entries: succs[0]
# is the normal start, succs[1:] the OSR blocks (one per loop header)
TERMINATORS = frozenset(('jmp', 'br', 'ret', 'halt', 'enter'))
MEMORY_DEFS = frozenset(('mem0', 'store', 'storei', 'call'))
# `osrload` (imm: the variable, 'L3' / 'S0') is a frame slot read at an OSR
# entry: opaque like a param. `frame` (args: values, imm: their variables)
# names what a call's hand-back needs in the frame's memory.


class Inst:
    """One SSA value (or effect): op, operand values, immediate, bytecode pc.

    imm is the constant of `const`, the argument index of `param`, the cell
    of `load`/`store`, the callee of `call`. A phi's args follow its block's
    preds; `var` names the bytecode variable it merges ('L3', 'S0', 'M')."""
    __slots__ = ('id', 'op', 'args', 'imm', 'pc', 'mem', 'block', 'var')

    def __init__(self, id: int, op: str, args=(), imm=None, pc=None, mem=None, var=None):
        self.id, self.op, self.args, self.imm, self.pc = id, op, list(args), imm, pc
        self.mem, self.block, self.var = mem, None, var

    def operands(self):
        """Every value this one reads, the memory state included."""
        if self.mem is not None:
            return self.args + [self.mem]
        return self.args

    def __repr__(self):
        return f'v{self.id}'


class Block:
    """A basic block: phis, then instructions, the last a terminator.
    For `br`, succs[0] is taken when the condition is nonzero."""
    __slots__ = ('id', 'start', 'phis', 'insts', 'preds', 'succs')

    def __init__(self, id: int, start):
        self.id, self.start = id, start
        self.phis: list[Inst] = []
        self.insts: list[Inst] = []
        self.preds: list[Block] = []
        self.succs: list[Block] = []

    @property
    def terminator(self) -> Inst:
        return self.insts[-1]

    def __repr__(self):
        return f'b{self.id}'


class Function:
    """The SSA of one bytecode function; blocks[0] is the entry (no preds)."""

    def __init__(self, name: str, index: int, nargs: int, nslots: int, memory_cells: int):
        self.name, self.index, self.nargs, self.nslots = name, index, nargs, nslots
        self.memory_cells = memory_cells          # bounds of chkaddr, for folding
        self.osr: dict = {}                       # loop header pc -> its OSR entry block
        self.cells_promoted = False               # LOAD/STORE cells became SSA values
        self.blocks: list[Block] = []
        self.next_id = 0
        self._block_ids = 0

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    def new_block(self, start=None) -> Block:
        b = Block(self._block_ids, start)
        self._block_ids += 1
        self.blocks.append(b)
        return b

    def new_inst(self, op: str, args=(), imm=None, pc=None, mem=None, var=None) -> Inst:
        ins = Inst(self.next_id, op, args, imm, pc, mem, var)
        self.next_id += 1
        return ins

    def append(self, block: Block, ins: Inst) -> Inst:
        ins.block = block
        block.insts.append(ins)
        return ins

    def values(self):
        for b in self.blocks:
            yield from b.phis
            yield from b.insts

    def count(self) -> int:
        """Phis plus instructions: what the passes shrink."""
        return sum(len(b.phis) + len(b.insts) for b in self.blocks)

    def __str__(self):
        from .printer import format_function
        return format_function(self)


# ------------------------------------------------------------------ utilities

def resolve(forward: dict, v: Inst) -> Inst:
    """Follow a replacement chain to its end (with path compression)."""
    seen = []
    while v in forward:
        seen.append(v)
        v = forward[v]
    for s in seen:
        forward[s] = v
    return v


def replace_uses(fn: Function, forward: dict) -> None:
    """Rewrite every operand through `forward` (old value -> new value)."""
    if not forward:
        return
    for ins in fn.values():
        ins.args = [resolve(forward, a) if a in forward else a for a in ins.args]
        if ins.mem is not None and ins.mem in forward:
            ins.mem = resolve(forward, ins.mem)


def trivial_phi_source(phi: Inst, forward: dict):
    """The one value a phi merges besides itself, or None (Braun et al.,
    2013, tryRemoveTrivialPhi)."""
    same = None
    for a in phi.args:
        a = resolve(forward, a)
        if a is phi or a is same:
            continue
        if same is not None:
            return None
        same = a
    return same


def remove_trivial_phis(fn: Function, same_as=None) -> int:
    """Drop phis that merge one value and, with same_as(ins, forward),
    instructions that only copy another value, to a fixpoint (removing one
    can make another trivial); uses are rewritten; returns how many went."""
    forward: dict = {}
    changed = True
    while changed:
        changed = False
        for b in fn.blocks:
            keep = []
            for phi in b.phis:
                src = trivial_phi_source(phi, forward)
                if src is None:
                    keep.append(phi)
                else:
                    forward[phi] = src
                    changed = True
            b.phis = keep
            if same_as is not None:
                insts = []
                for ins in b.insts:
                    src = same_as(ins, forward)
                    if src is None:
                        insts.append(ins)
                    else:
                        forward[ins] = src
                        changed = True
                b.insts = insts
    replace_uses(fn, forward)
    return len(forward)


def remove_edge(pred: Block, succ: Block) -> None:
    """Cut the CFG edge pred -> succ and the phi operands it carried."""
    k = succ.preds.index(pred)
    del succ.preds[k]
    for phi in succ.phis:
        del phi.args[k]
    pred.succs.remove(succ)


def reachable(fn: Function) -> list[Block]:
    """Blocks reachable from the entry, in reverse postorder."""
    return reverse_postorder(fn.entry)


def reverse_postorder(entry: Block) -> list[Block]:
    """Blocks reachable from entry, in reverse postorder (no recursion:
    chains of thousands of blocks)."""
    seen, order = {entry}, []
    stack = [(entry, iter(entry.succs))]
    while stack:
        b, it = stack[-1]
        for s in it:
            if s not in seen:
                seen.add(s)
                stack.append((s, iter(s.succs)))
                break
        else:
            stack.pop()
            order.append(b)
    order.reverse()
    return order


def remove_unreachable(fn: Function) -> int:
    """Drop blocks the entry cannot reach; keeps the survivors in their order."""
    live = set(reachable(fn))
    dead = [b for b in fn.blocks if b not in live]
    for b in dead:
        for s in list(b.succs):
            if s in live:
                remove_edge(b, s)
    fn.blocks = [b for b in fn.blocks if b in live]
    return len(dead)


def dominators(fn: Function) -> dict:
    """Immediate dominators (Cooper, Harvey and Kennedy's iterative scheme)."""
    order = reachable(fn)
    index = {b: i for i, b in enumerate(order)}
    idom = {fn.entry: fn.entry}

    def meet(a, b):
        while a is not b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for b in order[1:]:
            new = None
            for p in b.preds:
                if p in idom:
                    new = p if new is None else meet(p, new)
            if idom.get(b) is not new:
                idom[b] = new
                changed = True
    return idom


def dominates(idom: dict, a: Block, b: Block) -> bool:
    while True:
        if a is b:
            return True
        up = idom[b]
        if up is b:
            return False
        b = up


def is_memory(v: Inst) -> bool:
    """Whether v is (also) a memory state; a call is both that and a value."""
    return v.op in MEMORY_DEFS or (v.op == 'phi' and v.var == 'M')


class IRError(AssertionError):
    """A broken SSA invariant: always a bug in the builder or a pass."""


def verify(fn: Function) -> None:
    """Check the SSA's invariants: CFG edges agree both ways, phis have one
    operand per pred, one terminator per block at its end, and every use is
    dominated by its definition."""
    blocks = set(fn.blocks)
    if fn.entry.preds:
        raise IRError(f'{fn.name}: the entry block has predecessors')
    for b in fn.blocks:
        for s in b.succs:
            if s not in blocks or b not in s.preds:
                raise IRError(f'{fn.name}: edge {b} -> {s} is one-sided')
        for p in b.preds:
            if p not in blocks or b not in p.succs:
                raise IRError(f'{fn.name}: edge {p} -> {b} is one-sided')
        if not b.insts or b.terminator.op not in TERMINATORS:
            raise IRError(f'{fn.name}: {b} has no terminator')
        if any(i.op in TERMINATORS for i in b.insts[:-1]):
            raise IRError(f'{fn.name}: {b} has a terminator before its end')
        want = {'jmp': 1, 'br': 2, 'ret': 0, 'halt': 0, 'enter': len(b.succs) or 1}[b.terminator.op]
        if b.terminator.op == 'enter' and b is not fn.entry:
            raise IRError(f'{fn.name}: {b} ends in enter but is not the entry block')
        if len(b.succs) != want:
            raise IRError(f'{fn.name}: {b} ends in {b.terminator.op} with {len(b.succs)} successors')
        for phi in b.phis:
            if len(phi.args) != len(b.preds) or phi.block is not b:
                raise IRError(f'{fn.name}: {phi} in {b} does not match its preds')
    idom = dominators(fn)
    where = {}
    for b in fn.blocks:
        for k, ins in enumerate(b.insts):
            if ins.block is not b:
                raise IRError(f'{fn.name}: {ins} has a stale block')
            where[ins] = (b, k)
        for phi in b.phis:
            where[phi] = (b, -1)
    for b in fn.blocks:
        for phi in b.phis:
            for p, a in zip(b.preds, phi.args):
                if a not in where or not dominates(idom, where[a][0], p):
                    raise IRError(f'{fn.name}: {phi} operand {a} does not dominate {p}')
                if is_memory(a) != (phi.var == 'M') and a.op != 'call':
                    raise IRError(f'{fn.name}: {phi} mixes memory states and values')
        for k, ins in enumerate(b.insts):
            if any(is_memory(a) and a.op != 'call' for a in ins.args):
                raise IRError(f'{fn.name}: {ins} takes a memory state as a value')
            if ins.mem is not None and not is_memory(ins.mem):
                raise IRError(f'{fn.name}: {ins} reads memory from a value')
            for a in ins.operands():
                at = where.get(a)
                if at is None:
                    raise IRError(f'{fn.name}: {ins} uses {a}, which is not defined')
                db, dk = at
                if db is b and dk >= k or db is not b and not dominates(idom, db, b):
                    raise IRError(f'{fn.name}: {ins} uses {a} before its definition')
