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
from .ir import MEMORY_DEFS, PURE, Function, replace_uses, resolve
from .loopforest import Loop, block_order, find_loops, in_order

__all__ = ['Loop', 'find_loops', 'hoist_invariants', 'reduce_strength', 'LOOP_PASSES']

_MOVABLE = PURE - {'param', 'div', 'mod'}


def hoist_invariants(fn: Function) -> Function:
    loops = find_loops(fn)
    if not loops:
        return fn
    order = block_order(fn)
    merged: dict = {}                       # a hoisted constant -> the equal one it joined
    for loop in loops:                      # innermost first
        if loop.is_closed():
            _hoist(fn, loop, order, merged)
    replace_uses(fn, merged)
    return fn


def _hoist(fn: Function, loop: Loop, order: dict, merged: dict) -> None:
    """One pass over the loop in reverse postorder moves every invariant:
    an operand is defined before its users, so it has moved already."""
    body = loop.blocks
    memory_changes = any(ins.op in MEMORY_DEFS for ins in loop.insts()) or any(
        phi.var == 'M' for b in body for phi in b.phis)
    ncells = fn.memory_cells
    pre = loop.preheader
    consts = {ins.imm: ins for ins in pre.insts if ins.op == 'const'}
    moved = []
    for b in in_order(body, order):
        if merged:
            for phi in b.phis:
                _forward_args(phi, merged)
        keep = []
        for ins in b.insts:
            if merged:
                _forward_args(ins, merged)
            if not _invariant(ins, body, memory_changes, ncells):
                keep.append(ins)
                continue
            ins.block = pre
            if ins.op == 'const':
                same = consts.get(ins.imm)
                if same is not None:        # one constant per value in a preheader
                    merged[ins] = same
                    continue
                consts[ins.imm] = ins
            moved.append(ins)
        if len(keep) != len(b.insts):
            b.insts = keep
    if moved:
        pre.insts[-1:-1] = moved


def _forward_args(ins, merged: dict) -> None:
    args = ins.args
    for k, a in enumerate(args):
        if a in merged:
            args[k] = resolve(merged, a)


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
