"""Loop passes of the optimizing tier, each `Function -> Function`:

- `hoist_invariants` (loop-invariant code motion): a pure instruction whose
  operands are all defined outside a loop moves to the loop's preheader,
  innermost loops first, so an expression climbs out of every loop it does
  not depend on. Loads move too when no memory state changes in the loop.
- `reduce_strength` (induction.py): multiplies by a loop counter become
  new counters stepped by an add.

`LOOP_PASSES` names them for the pipeline registry ('licm', 'iv').

Only what cannot trap and has no effect moves: arithmetic, compares,
constants, copies; a `div`/`mod` only when its divisor is a nonzero
constant or was checked before the loop (the spec makes both total then);
a `load` of a constant cell, and a `loadi` whose address was checked before
the loop. A hoisted value is computed even when the loop body would not
have reached it, which is why nothing that may trap is hoisted. A loop that
holds a call, a print or an op these passes do not know is left as it is
(`Loop.is_closed`).
"""
from __future__ import annotations

from .induction import reduce_strength
from .ir import PURE, Function, replace_uses
from .loopforest import Loop, LoopForest, find_loops

__all__ = ['Loop', 'find_loops', 'hoist_invariants', 'reduce_strength', 'LOOP_PASSES']

_MOVABLE = PURE - {'param', 'div', 'mod'}
_CANDIDATES = _MOVABLE | {'div', 'mod', 'load', 'loadi'}


def hoist_invariants(fn: Function) -> Function:
    loops = find_loops(fn)
    if not loops:
        return fn
    targets = set()
    for loop in loops:                      # innermost first
        if loop.is_closed() and _hoist(fn, loop, loops):
            targets.add(loop.preheader)
    _merge_constants(fn, targets)
    return fn


def _hoist(fn: Function, loop: Loop, forest: LoopForest) -> bool:
    """One pass over the loop in reverse postorder moves every invariant
    (an operand is defined before its users, so it has moved already);
    whether anything moved. What stayed in an inner loop depends on that
    loop (or cannot move), so only the blocks outside the inner loops, their
    preheaders included, are looked at."""
    body = loop.blocks
    own = body.difference(*(child.blocks for child in loop.children))
    memory_changes = loop.changes_memory()
    ncells = fn.memory_cells
    pre = loop.preheader
    moved = []
    for b in forest.in_order(own):
        keep = None
        for k, ins in enumerate(b.insts):
            if ins.op in _CANDIDATES and _invariant(ins, body, memory_changes, ncells):
                if keep is None:
                    keep = b.insts[:k]
                ins.block = pre
                moved.append(ins)
            elif keep is not None:
                keep.append(ins)
        if keep is not None:
            b.insts = keep
    if moved:
        pre.insts[-1:-1] = moved
    return bool(moved)


def _merge_constants(fn: Function, blocks) -> None:
    """One constant per value in each preheader that received some:
    constants from several places in the loops end up side by side."""
    same: dict = {}
    for b in blocks:
        first: dict = {}
        keep = []
        for ins in b.insts:
            if ins.op == 'const':
                c = first.setdefault(ins.imm, ins)
                if c is not ins:
                    same[ins] = c
                    continue
            keep.append(ins)
        if len(keep) != len(b.insts):
            b.insts = keep
    replace_uses(fn, same)


def _invariant(ins, body, memory_changes: bool, ncells: int) -> bool:
    """Whether ins may move to the preheader: no effect, cannot trap, and
    every operand (memory state included) comes from outside the loop."""
    op = ins.op
    if op in _MOVABLE:
        pass
    elif op in ('div', 'mod'):
        d = ins.args[1]
        if not (d.op == 'const' and d.imm != 0 or d.op == 'chkzero'):
            return False
    elif op == 'load':
        if memory_changes:
            return False
    elif op == 'loadi':
        a = ins.args[0]
        if memory_changes or not (a.op == 'chkaddr' or a.op == 'const' and 0 <= a.imm < ncells):
            return False
    else:
        return False
    if ins.mem is not None and ins.mem.block in body:
        return False
    for a in ins.args:
        if a.block in body:
            return False
    return True


LOOP_PASSES = {'licm': hoist_invariants, 'iv': reduce_strength}
