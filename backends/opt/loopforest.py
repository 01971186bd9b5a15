"""Natural loops of an SSA function, their nesting, and one dedicated
preheader each: what the loop passes (loops.py, induction.py) work on.

A back edge is an edge b -> h where h dominates b; the natural loop of h is
h plus every block that reaches one of its back edges' sources without
passing through h (all back edges to one header make one loop). Edges into
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

from .ir import CHECKS, PURE, READS, TERMINATORS, Block, Function, dominates, dominators, reachable

# Ops a loop pass knows the meaning of. Any other op in a loop (call, print,
# printc, frame, or an op added later) makes the loop off-limits: the code
# generator needs every value live across a call or print to be a bytecode
# variable's value, and an unknown op may have any effect.
KNOWN = PURE | READS | CHECKS | TERMINATORS | {'store', 'storei', 'phi', 'mem0'}


class Loop:
    """One natural loop. `blocks` holds the header, the body, every nested
    loop and their preheaders; `latches` are the sources of back edges."""
    __slots__ = ('header', 'blocks', 'latches', 'parent', 'children', 'preheader', 'depth')

    def __init__(self, header: Block):
        self.header = header
        self.blocks: set = {header}
        self.latches: list = []
        self.parent: Loop | None = None
        self.children: list = []
        self.preheader: Block | None = None
        self.depth = 1

    def insts(self):
        for b in self.blocks:
            yield from b.insts

    def is_closed(self) -> bool:
        """Whether a pass may touch this loop: it holds only ops the loop
        passes know (so no call, print, printc or frame)."""
        return all(ins.op in KNOWN for ins in self.insts())

    def __repr__(self):
        return f'Loop({self.header}, {len(self.blocks)} blocks, depth {self.depth})'


def find_loops(fn: Function) -> list[Loop]:
    """The natural loops of fn, innermost first (deepest nesting first),
    each with a dedicated preheader (inserted into fn where needed)."""
    order = reachable(fn)
    index = {b: i for i, b in enumerate(order)}
    # a back edge goes to a block no later in reverse postorder: without
    # such an edge there is no cycle, and no dominator tree is needed
    if not any(index.get(s, -1) <= i for i, b in enumerate(order) for s in b.succs):
        return []
    idom = dominators(fn)
    loops: dict = {}
    for b in order:
        for h in b.succs:
            if index[h] <= index[b] and dominates(idom, h, b):
                loop = loops.get(h)
                if loop is None:
                    loop = loops[h] = Loop(h)
                loop.latches.append(b)
                _collect_body(loop, b, idom)
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
    for loop in forest:
        _give_preheader(fn, loop)
    forest.sort(key=lambda lp: -lp.depth)
    return forest


def _collect_body(loop: Loop, latch: Block, idom: dict) -> None:
    """Add every block that reaches latch without passing the header."""
    body = loop.blocks
    if latch in body:
        return
    body.add(latch)
    work = [latch]
    while work:
        b = work.pop()
        for p in b.preds:
            if p not in body and p in idom:
                body.add(p)
                work.append(p)


def _give_preheader(fn: Function, loop: Loop) -> None:
    """Find or make the loop's preheader; a new block joins every loop
    around this one."""
    h, body = loop.header, loop.blocks
    outside = [k for k, p in enumerate(h.preds) if p not in body]
    if len(outside) == 1:
        p = h.preds[outside[0]]
        if p is not fn.entry and len(p.succs) == 1 and p.insts and p.terminator.op == 'jmp':
            loop.preheader = p
            return
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


def in_order(blocks, fn_order: dict) -> list[Block]:
    """blocks sorted by fn_order (block -> reverse-postorder index), so a
    definition comes before its uses."""
    return sorted(blocks, key=fn_order.__getitem__)


def block_order(fn: Function) -> dict:
    return {b: i for i, b in enumerate(reachable(fn))}
