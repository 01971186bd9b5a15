"""Register allocation for the optimizing tier: linear scan over the SSA
in code layout order, working from a Target's register description.

Every value gets one location for its whole life: a register from
`Registers.allocatable` (minus one the code generator keeps as its
temporary) or, when they run out, a spill slot in the frame above the
operand stack. Intervals are the hull of a value's liveness in layout
order (no holes), which is conservative and cheap. Phis are hinted to
their operands' registers and values flowing into a phi to the phi's, so
a loop variable and its update usually share a register and the edge
copies vanish (the issue's `mov t, x; op t; mov x, t`).

Constants get no location (they become immediates); `chkzero`/`chkaddr`
share their operand's location (the checked value is the same value).
"""
from __future__ import annotations

from .ir import is_memory

NO_LOCATION = frozenset(('const', 'mem0', 'store', 'storei', 'print', 'printc', 'frame',
                         'chkdepth', 'jmp', 'br', 'ret', 'halt', 'enter'))
ALIASES = frozenset(('chkzero', 'chkaddr', 'copy'))


class Allocation:
    """Where each value lives: reg[v] (a register) or slot[v] (spill index)."""

    def __init__(self):
        self.reg: dict = {}
        self.slot: dict = {}
        self.nslots = 0
        self.live_out: dict = {}        # block -> set of values live at its end
        self.position: dict = {}        # inst -> its position in layout order


def root(v):
    """The value whose location v uses (through checks and copies)."""
    while v.op in ALIASES:
        v = v.args[0]
    return v


def needs_location(v) -> bool:
    return v.op not in NO_LOCATION and v.op not in ALIASES and not is_memory(v) or v.op == 'call'


def liveness(blocks) -> tuple[dict, dict]:
    """(live_in, live_out) per block, as sets of root values needing a
    location; phi operands count as used at the end of their pred."""
    uses, defs = {}, {}
    for b in blocks:
        u, d = set(), set()
        for phi in b.phis:
            d.add(phi)
        for ins in b.insts:
            for a in ins.args:
                a = root(a)
                if a not in d and needs_location(a):
                    u.add(a)
            if needs_location(ins):
                d.add(ins)
        uses[b], defs[b] = u, d
    phi_uses = {b: set() for b in blocks}
    for b in blocks:
        for phi in b.phis:
            for p, a in zip(b.preds, phi.args):
                a = root(a)
                if needs_location(a) and p in phi_uses:
                    phi_uses[p].add(a)
    live_in = {b: set() for b in blocks}
    live_out = {b: set() for b in blocks}
    order = list(reversed(blocks))
    changed = True
    while changed:
        changed = False
        for b in order:
            out = set(phi_uses[b])
            for s in b.succs:
                out |= live_in[s] - set(s.phis)
            if out != live_out[b]:
                live_out[b] = out
            new = uses[b] | (out - defs[b]) | set(b.phis)
            if new != live_in[b]:
                live_in[b] = new
                changed = True
    return live_in, live_out


def allocate(blocks, registers, depth=None) -> Allocation:
    """Linear scan over blocks (in layout order) with the given registers.
    When they run out, the value spilled is the one whose uses weigh least,
    a use counting 8^(loop depth of its block) (depth: block -> nesting,
    none given: all 0); ties go to the value that lives longest."""
    depth = depth or {}
    weight: dict = {}
    alloc = Allocation()
    live_in, live_out = liveness(blocks)
    alloc.live_out = live_out
    start: dict = {}
    end: dict = {}
    pos = 0
    hint: dict = {}
    for b in blocks:
        b_start = pos
        for v in live_in[b]:
            start[v] = min(start.get(v, b_start), b_start)
            end[v] = max(end.get(v, b_start), b_start)
        for phi in b.phis:
            start[phi] = min(start.get(phi, b_start), b_start)
            end[phi] = max(end.get(phi, b_start), b_start)
            weight[phi] = weight.get(phi, 0) + 8 ** min(depth.get(b, 0), 6)
            for p, a in zip(b.preds, phi.args):
                a = root(a)
                weight[a] = weight.get(a, 0) + 8 ** min(depth.get(p, 0), 6)
                if needs_location(a):
                    hint.setdefault(a, phi)
                    hint.setdefault(phi, a)
        pos += 2
        w = 8 ** min(depth.get(b, 0), 6)
        for ins in b.insts:
            alloc.position[ins] = pos
            for a in ins.args:
                a = root(a)
                if needs_location(a):
                    end[a] = max(end.get(a, pos), pos)
                    weight[a] = weight.get(a, 0) + w
            if needs_location(ins):
                weight[ins] = weight.get(ins, 0) + w        # a spilled result costs a store
                start[ins] = min(start.get(ins, pos), pos)
                end[ins] = max(end.get(ins, pos), pos)
                if ins.args:
                    hint.setdefault(ins, root(ins.args[0]))
            pos += 2
        b_end = pos
        for v in live_out[b]:
            end[v] = max(end.get(v, b_end), b_end)
        pos += 2
    order = sorted(start, key=lambda v: (start[v], v.id))
    free = list(registers)
    rank = {r: i for i, r in enumerate(registers)}
    active: list = []                   # values holding a register, by end
    for v in order:
        s = start[v]
        still = []
        for a in active:
            if end[a] <= s and start[a] < s:
                free.append(alloc.reg[a])
            else:
                still.append(a)
        active = still
        if not free:
            def cost(a):
                return (weight.get(a, 0), -end[a])
            victim = min(active, key=cost)
            if cost(victim) < cost(v):
                alloc.reg[v] = alloc.reg.pop(victim)
                active.remove(victim)
                active.append(v)
                alloc.slot[victim] = alloc.nslots
            else:
                alloc.slot[v] = alloc.nslots
            alloc.nslots += 1
            continue
        want = hint.get(v)
        reg = alloc.reg.get(want) if want is not None else None
        if reg is None or reg not in free:
            reg = min(free, key=rank.__getitem__)
        free.remove(reg)
        alloc.reg[v] = reg
        active.append(v)
    return alloc
