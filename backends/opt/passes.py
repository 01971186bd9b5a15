"""Scalar passes over the SSA, each `Function -> Function` and switchable,
so a test can run any subset and compare with the interpreter.

- `fold_constants`: sparse conditional constant propagation (Wegman and
  Zadeck, 1991): folds arithmetic, compares and phis of constants (and
  x*0, x&0, x|-1 whatever x is), drops
  checks that cannot fail (a nonzero constant divisor, a constant address
  inside memory), turns branches on constants into jumps and removes the
  blocks no executable edge reaches. A zero divisor is never folded: its
  check stays and traps at its offset.
- `propagate_copies`: forwards the users of copies, of phis that merge one
  value, and of identities (x+0, x*1, x|0, x^0, x&-1, shifts by 0 mod 64).
- `remove_dead`: drops values nothing live uses; stores, calls, prints,
  checks (traps) and terminators are the roots, so effects and traps stay.
"""
from __future__ import annotations

from .evaluate import BINARY_OPS, UNARY_OPS
from .ir import (BINARY, CHECKS, EFFECTS, TERMINATORS, UNARY, Function, remove_edge,
                 remove_trivial_phis, remove_unreachable, replace_uses, resolve, verify)

_BOT = object()           # overdefined; a missing lattice entry is "not yet known"
_ABSORBING = {'mul': 0, 'and': 0, 'or': -1}


def fold_constants(fn: Function) -> Function:
    users: dict = {}
    for ins in fn.values():
        for a in ins.args:
            users.setdefault(a, []).append(ins)
    lat: dict = {}
    edges: set = set()
    live_blocks: set = set()
    flow = [(None, fn.entry)]
    work: list = []
    ncells = fn.memory_cells

    def set_value(ins, v):
        old = lat.get(ins)
        if old is _BOT or (old is not None and v is not _BOT and old == v):
            return
        if old is not None:
            v = _BOT                    # the lattice only goes down
        lat[ins] = v
        work.extend(users.get(ins, ()))

    def phi_value(phi):
        b, out = phi.block, None
        for p, a in zip(b.preds, phi.args):
            if (p, b) not in edges:
                continue
            v = lat.get(a)
            if v is None:
                continue
            if v is _BOT or (out is not None and out != v):
                return _BOT
            out = v
        return out

    def visit(ins):
        op = ins.op
        if op == 'phi':
            v = phi_value(ins)
            if v is not None:
                set_value(ins, v)
            return
        if op == 'const':
            set_value(ins, ins.imm)
        elif op in BINARY or op in UNARY or op in ('chkzero', 'chkaddr', 'copy'):
            vs = [lat.get(a) for a in ins.args]
            absorbing = _ABSORBING.get(op)
            if absorbing is not None and absorbing in vs:
                set_value(ins, absorbing)   # x*0, x&0, x|-1 whatever x is
                return
            if any(v is None for v in vs):
                return
            if any(v is _BOT for v in vs):
                set_value(ins, _BOT)
                return
            set_value(ins, _fold(op, vs, ncells))
        elif op == 'jmp':
            flow.append((ins.block, ins.block.succs[0]))
        elif op == 'enter':
            flow.extend((ins.block, s) for s in ins.block.succs)
        elif op == 'br':
            c = lat.get(ins.args[0])
            succs = ins.block.succs
            if c is _BOT:
                flow.extend((ins.block, s) for s in succs)
            elif c is not None:
                flow.append((ins.block, succs[0] if c else succs[1]))
        elif op not in TERMINATORS and op not in ('print', 'printc', 'chkdepth', 'frame'):
            set_value(ins, _BOT)        # param, load, loadi, call, memory states

    while flow or work:
        while flow:
            edge = flow.pop()
            if edge in edges:
                continue
            edges.add(edge)
            b = edge[1]
            for phi in b.phis:
                visit(phi)
            if b not in live_blocks:
                live_blocks.add(b)
                for ins in b.insts:
                    visit(ins)
        while work:
            ins = work.pop()
            if ins.block in live_blocks:
                visit(ins)
    _rewrite(fn, lat, live_blocks)
    return fn


def _fold(op, vs, ncells):
    """The value of a pure op (or a check) on known operands; _BOT where it
    would trap (the check stays and does)."""
    if op in ('copy',):
        return vs[0]
    if op == 'chkzero':
        return vs[0] if vs[0] else _BOT
    if op == 'chkaddr':
        return vs[0] if 0 <= vs[0] < ncells else _BOT
    if op in UNARY:
        return UNARY_OPS[op](vs[0])
    return BINARY_OPS[op](*vs)        # div/mod see a checked, nonzero divisor


def _rewrite(fn: Function, lat: dict, live_blocks: set) -> None:
    forward = {}
    for b in fn.blocks:
        if b not in live_blocks:
            continue
        consts = []
        keep = []
        for phi in b.phis:
            v = lat.get(phi)
            if v is None or v is _BOT:
                keep.append(phi)
                continue
            c = fn.new_inst('const', imm=v, pc=phi.pc)
            c.block = b
            consts.append(c)
            forward[phi] = c
        b.phis = keep
        b.insts[:0] = consts
        for ins in b.insts:
            v = lat.get(ins)
            if ins.op != 'const' and v is not None and v is not _BOT and (
                    ins.op in BINARY or ins.op in UNARY or ins.op in ('chkzero', 'chkaddr', 'copy')):
                ins.op, ins.args, ins.imm, ins.mem = 'const', [], v, None
        term = b.terminator
        if term.op == 'br':
            c = lat.get(term.args[0])
            if c is not None and c is not _BOT:
                taken = b.succs[0] if c else b.succs[1]
                for s in list(b.succs):
                    if s is not taken:
                        remove_edge(b, s)
                term.op, term.args = 'jmp', []
    replace_uses(fn, forward)
    remove_unreachable(fn)


# ------------------------------------------------------------------ copies

def _identity(ins, forward):
    """The operand an identity op equals, or None."""
    op = ins.op
    if op == 'copy':
        return resolve(forward, ins.args[0])
    if op not in ('add', 'sub', 'mul', 'or', 'xor', 'and', 'shl', 'shr', 'sar'):
        return None
    a, b = (resolve(forward, x) for x in ins.args)
    ka = a.imm if a.op == 'const' else None
    kb = b.imm if b.op == 'const' else None
    if op in ('shl', 'shr', 'sar'):
        return a if kb is not None and kb & 63 == 0 else None
    unit = {'add': 0, 'sub': 0, 'or': 0, 'xor': 0, 'mul': 1, 'and': -1}[op]
    if kb == unit:
        return a
    if ka == unit and op != 'sub':
        return b
    if a is b and op in ('and', 'or'):
        return a
    return None


def propagate_copies(fn: Function) -> Function:
    remove_trivial_phis(fn, _identity)
    return fn


# ------------------------------------------------------------------ dead code

ROOTS = EFFECTS | CHECKS | TERMINATORS


def remove_dead(fn: Function) -> Function:
    remove_unreachable(fn)
    live: set = set()
    work = [ins for ins in fn.values() if ins.op in ROOTS]
    while work:
        ins = work.pop()
        if ins in live:
            continue
        live.add(ins)
        work.extend(ins.operands())
    for b in fn.blocks:
        b.phis = [p for p in b.phis if p in live]
        b.insts = [i for i in b.insts if i in live]
    return fn


# ------------------------------------------------------------------ driver

PASSES = {'constants': fold_constants, 'copies': propagate_copies, 'dead': remove_dead}
LEVELS = {0: (), 1: ('constants', 'copies', 'dead')}


def optimize(fn: Function, passes=LEVELS[1], check: bool = False) -> Function:
    """Run the named passes in order; with check, verify the SSA after each."""
    for name in passes:
        fn = PASSES[name](fn)
        if check:
            verify(fn)
    return fn
