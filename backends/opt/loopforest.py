"""Natural loops of an SSA function, their nesting, and one dedicated
preheader each: what the loop passes (loops.py, induction.py) work on.

A back edge is an edge b -> h where h dominates b; the natural loop of h is
h plus every block that reaches one of its back edges' sources without
passing through h (all back edges to one header make one loop). Only an
edge to a block no later in reverse postorder can be one, and the walk
that collects the body proves the dominance: h dominates b exactly when
no block found walking back from b without passing h is the entry. Edges into
a cycle that no block dominates (irreducible flow) make no loop, so such
code is simply left alone.

The preheader is the one block outside the loop that enters the header,
ending in a plain `jmp`. When the header has several entering edges (say a
normal entry and an on-stack-replacement entry), or its one entering block
branches elsewhere too, a new block is put on those edges and the header's
phi operands for them move into phis of the new block, so the header keeps
exactly one operand from outside. Nothing here assumes what terminator a
block ends in: only `block.succs` is read.
"""
from __future__ import annotations

from .ir import CHECKS, MEMORY_DEFS, PURE, READS, TERMINATORS, Block, Function, reachable

# Ops a loop pass knows the meaning of. Any other op in a loop (call, print,
# printc, frame, or an op added later) makes the loop off-limits: the code
# generator needs every value live across a call or print to be a bytecode
# variable's value, and an unknown op may have any effect.
KNOWN = PURE | READS | CHECKS | TERMINATORS | {'store', 'storei', 'phi', 'mem0'}
_OPEN, _MEMORY = 1, 2                 # what a block holds: an unknown op, a memory definition


class Loop:
    """One natural loop. `blocks` holds the header, the body, every nested
    loop and their preheaders; `latches` are the sources of back edges."""
    __slots__ = ('header', 'blocks', 'latches', 'parent', 'children', 'preheader', 'depth',
                 'facts')

    def __init__(self, header: Block):
        self.header = header
        self.blocks: set = {header}
        self.latches: list = []
        self.parent: Loop | None = None
        self.children: list = []
        self.preheader: Block | None = None
        self.depth = 1
        self.facts = 0                    # _OPEN | _MEMORY over its blocks

    def is_closed(self) -> bool:
        """Whether a pass may touch this loop: it holds only ops the loop
        passes know (so no call, print, printc or frame)."""
        return not self.facts & _OPEN

    def changes_memory(self) -> bool:
        """Whether a store, storei, call or memory phi is in the loop."""
        return bool(self.facts & _MEMORY)

    def __repr__(self):
        return f'Loop({self.header}, {len(self.blocks)} blocks, depth {self.depth})'


def _block_facts(b: Block) -> int:
    ops = {ins.op for ins in b.insts}
    facts = 0 if ops <= KNOWN else _OPEN
    if not ops.isdisjoint(MEMORY_DEFS) or any(phi.var == 'M' for phi in b.phis):
        facts |= _MEMORY
    return facts


class LoopForest(list):
    """The loops, innermost first, and `order`: each reachable block's place
    in reverse postorder (a new preheader just before its header), so that
    a loop's blocks sorted by it have definitions before their uses.
    Valid until the CFG changes: a pass finds the loops again."""

    def __init__(self, loops=(), order=None):
        super().__init__(loops)
        self.order = order if order is not None else {}

    def in_order(self, blocks) -> list[Block]:
        return sorted(blocks, key=self.order.__getitem__)


def find_loops(fn: Function) -> LoopForest:
    """The natural loops of fn, innermost first (deepest nesting first),
    each with a dedicated preheader (inserted into fn where needed)."""
    order = reachable(fn)
    index = {b: i for i, b in enumerate(order)}
    # a back edge goes to a block no later in reverse postorder: without
    # such an edge there is no cycle, and no dominator tree is needed
    retreating = [(b, h) for b in order for h in b.succs if index[h] <= index[b]]
    if not retreating:
        return LoopForest()
    loops: dict = {}
    entry = fn.entry
    for b, h in retreating:
        body = body_reaching(b, h, index, entry)
        if body is None:
            continue                        # h does not dominate b: no natural loop
        loop = loops.get(h)
        if loop is None:
            loop = loops[h] = Loop(h)
        loop.latches.append(b)
        loop.blocks |= body
    forest = sorted(loops.values(), key=lambda lp: len(lp.blocks))
    for k, loop in enumerate(forest):          # the parent: the smallest loop around it
        for outer in forest[k + 1:]:
            if loop.header in outer.blocks and loop.blocks <= outer.blocks:
                loop.parent = outer
                outer.children.append(loop)
                break
    for loop in reversed(forest):             # outermost first: parents know their depth
        if loop.parent is not None:
            loop.depth = loop.parent.depth + 1
    facts: dict = {}
    for loop in forest:                       # inner loops first: a new preheader joins its parents
        if _give_preheader(fn, loop):
            index[loop.preheader] = index[loop.header] - 0.5
        for b in loop.blocks:
            f = facts.get(b)
            if f is None:
                f = facts[b] = _block_facts(b)
            loop.facts |= f
    forest.sort(key=lambda lp: -lp.depth)
    return LoopForest(forest, index)


def body_reaching(latch: Block, header: Block, reachable: dict, entry: Block):
    """The blocks that reach latch without passing header, or None when
    the entry is one of them: then a path from the entry to latch avoids
    header, so header does not dominate latch (no dominator tree needed)."""
    body = {header, latch}
    work = [latch] if latch is not header else []
    while work:
        b = work.pop()
        if b is entry:
            return None
        for p in b.preds:
            if p not in body and p in reachable:
                body.add(p)
                work.append(p)
    return body


def _give_preheader(fn: Function, loop: Loop) -> bool:
    """Find or make the loop's preheader (True: made one); a new block
    joins every loop around this one."""
    h, body = loop.header, loop.blocks
    outside = [k for k, p in enumerate(h.preds) if p not in body]
    if len(outside) == 1:
        p = h.preds[outside[0]]
        if p is not fn.entry and len(p.succs) == 1 and p.insts and p.terminator.op == 'jmp':
            loop.preheader = p
            return False
    pre = Block(fn._block_ids, None)
    fn._block_ids += 1
    fn.blocks.insert(fn.blocks.index(h), pre)
    for k in outside:
        p = h.preds[k]
        p.succs = [pre if s is h else s for s in p.succs]
        pre.preds.append(p)
    first = outside[0]
    inside = [k for k in range(len(h.preds)) if k not in set(outside)]
    for phi in h.phis:
        incoming = [phi.args[k] for k in outside]
        if all(a is incoming[0] for a in incoming):
            merged = incoming[0]
        else:
            merged = fn.new_inst('phi', incoming, pc=phi.pc, var=phi.var)
            merged.block = pre
            pre.phis.append(merged)
        args = [phi.args[k] for k in inside]
        args.insert(sum(1 for k in inside if k < first), merged)
        phi.args = args
    preds = [h.preds[k] for k in inside]
    preds.insert(sum(1 for k in inside if k < first), pre)
    h.preds = preds
    fn.append(pre, fn.new_inst('jmp'))
    pre.succs = [h]
    loop.preheader = pre
    outer = loop.parent
    while outer is not None:
        outer.blocks.add(pre)
        outer = outer.parent
    return True
