"""Induction variables and strength reduction, `reduce_strength(fn)`.

A basic induction variable is a header phi i = phi(init, i + c) (or i - c)
with c a constant, the same on every back edge. A value in the loop that is
affine in i, v = i*K + B with K and B loop-invariant (constants, or values
defined outside the loop), built by add, sub, neg, mul and shl from i, and
involving at least one mul or shl, becomes a new phi
p = phi(init*K + B, p + c*K): the multiply leaves the loop and an add per
back edge takes its place. Wrapping int64 arithmetic is a ring, so
(i + c)*K + B = (i*K + B) + c*K holds exactly mod 2^64, whatever overflows;
a shift left by s is a multiply by 2^(s mod 64) mod 2^64, so it distributes
over the sum the same way.

A chain such as (i*N + j) + base, where each link has one user, becomes
one phi for its last link, so `A[i*N + j]`-style index arithmetic costs one
add per iteration. The start and the step are computed in the preheader,
constants folded. The new phis merge no bytecode variable: their `var` is
'iv'. Loops holding a call, a print or an unknown op are left alone.
"""
from __future__ import annotations

from .evaluate import BINARY_OPS, wrap
from .ir import PURE, Function, Inst
from .loopforest import Loop, LoopForest, find_loops

IV_VAR = 'iv'
_AFFINE = frozenset(('add', 'sub', 'mul', 'shl', 'neg'))


def reduce_strength(fn: Function) -> Function:
    loops = find_loops(fn)
    if not loops:
        return fn
    users: dict = {}                        # filled when a first loop has a multiply to reduce
    for loop in loops:                      # innermost first
        if loop.is_closed():
            _Reducer(fn, loop, loops, users).run()
    return fn


def _users(fn: Function) -> dict:
    users: dict = {}
    for ins in fn.values():
        for a in ins.args:
            users.setdefault(a, []).append(ins)
    return users


# ------------------------------------------------------------------ invariant expressions
# An expression is an int (a wrapped constant), an Inst defined outside the
# loop, or a tuple (op, a, b) / ('neg', a); `_fold` keeps ints folded.

def _fold(op, a, b=None):
    if op == 'neg':
        if isinstance(a, int):
            return wrap(-a)
        return (op, a)
    if isinstance(a, int) and isinstance(b, int):
        return BINARY_OPS[op](a, b)
    ka = a if isinstance(a, int) else None
    kb = b if isinstance(b, int) else None
    if op == 'add':
        if ka == 0:
            return b
        if kb == 0:
            return a
    elif op == 'sub':
        if kb == 0:
            return a
        if ka == 0:
            return _fold('neg', b)
    elif op == 'mul':
        if ka == 0 or kb == 0:
            return 0
        if ka == 1:
            return b
        if kb == 1:
            return a
    elif op == 'shl':
        if kb is not None:              # a << s is a * 2^(s mod 64), mod 2^64
            return _fold('mul', a, wrap(1 << (kb & 63)))
        if ka == 0:
            return 0
    return (op, a, b)


class _Reducer:
    """Strength reduction in one loop."""

    def __init__(self, fn: Function, loop: Loop, forest: LoopForest, users: dict):
        self.fn, self.loop, self.forest, self.users = fn, loop, forest, users
        self.body = loop.blocks
        self.pre = loop.preheader
        self.k_pre = loop.header.preds.index(self.pre)
        self.consts = {i.imm: i for i in self.pre.insts if i.op == 'const'}

    def run(self) -> None:
        steps = self.basic_variables()
        if not steps:
            return
        blocks = self.forest.in_order(self.body)
        affine = {phi: (phi, 1, 0, False) for phi in steps}
        chain = []
        for b in blocks:
            for ins in b.insts:
                if ins.op in _AFFINE:
                    form = self.affine_form(ins, affine)
                    if form is not None:
                        affine[ins] = form
                        if form[3]:
                            chain.append(ins)
        if chain and not self.users:
            self.users.update(_users(self.fn))
        for ins in chain:
            if not self.continues(ins, affine):
                self.replace(ins, affine[ins], steps)

    # -- recognising ------------------------------------------------------------
    def basic_variables(self) -> dict:
        """Header phi -> its constant step, for i = phi(init, i +/- c)."""
        steps = {}
        for phi in self.loop.header.phis:
            if phi.var == 'M':
                continue
            step = None
            for k, a in enumerate(phi.args):
                if k == self.k_pre:
                    continue
                c = _step(a, phi)
                if c is None or (step is not None and c != step):
                    step = None
                    break
                step = c
            if step is not None:
                steps[phi] = step
        return steps

    def invariant(self, v: Inst):
        if v.op == 'const':
            return v.imm
        if v.block not in self.body:
            return v
        return None

    def affine_form(self, ins: Inst, affine: dict):
        """(phi, K, B, has_multiply) with ins = phi*K + B, or None."""
        op, args = ins.op, ins.args
        if op == 'neg':
            f = affine.get(args[0])
            if f is None:
                return None
            return (f[0], _fold('neg', f[1]), _fold('neg', f[2]), f[3])
        left, right = affine.get(args[0]), affine.get(args[1])
        if (left is None) == (right is None):
            return None                     # neither, or both (i*i is not affine)
        f = left if left is not None else right
        other = self.invariant(args[1] if left is not None else args[0])
        if other is None:
            return None
        phi, k, b, mul = f
        if op == 'add':
            return (phi, k, _fold('add', b, other), mul)
        if op == 'sub':
            if left is not None:
                return (phi, k, _fold('sub', b, other), mul)
            return (phi, _fold('neg', k), _fold('sub', other, b), mul)
        if op == 'mul':
            return (phi, _fold('mul', k, other), _fold('mul', b, other), True)
        if left is None:                    # shl: c << i is not affine in i
            return None
        return (phi, _fold('shl', k, other), _fold('shl', b, other), True)

    def continues(self, ins: Inst, affine: dict) -> bool:
        """Whether ins's one user extends its chain (so only that user's
        value needs a phi, and ins dies with it)."""
        us = self.users.get(ins, ())
        return len(us) == 1 and us[0] in affine and us[0].block in self.body

    # -- rewriting --------------------------------------------------------------
    def replace(self, ins: Inst, form, steps: dict) -> None:
        phi, k, b, _ = form
        h = self.loop.header
        init = phi.args[self.k_pre]
        start = _fold('add', _fold('mul', init.imm if init.op == 'const' else init, k), b)
        step = _fold('mul', steps[phi], k)
        start_v = self.emit_in_preheader(start, ins.pc)
        step_v = self.emit_in_preheader(step, ins.pc)
        p = self.fn.new_inst('phi', pc=h.start, var=IV_VAR)
        p.block = h
        h.phis.append(p)
        args = []
        for k_pred, pred in enumerate(h.preds):
            if k_pred == self.k_pre:
                args.append(start_v)
                continue
            args.append(self.insert(pred, 'add', (p, step_v), None, ins.pc))
        p.args = args
        for a in args:
            self.users.setdefault(a, []).append(p)
        self.forward(ins, p)
        self.delete(ins)

    def emit_in_preheader(self, e, pc) -> Inst:
        if isinstance(e, Inst):
            return e
        if isinstance(e, int):
            c = self.consts.get(e)
            if c is None:
                c = self.consts[e] = self.insert(self.pre, 'const', (), e, pc)
            return c
        op, *operands = e
        return self.insert(self.pre, op, [self.emit_in_preheader(x, pc) for x in operands], None, pc)

    def insert(self, block, op, args, imm, pc) -> Inst:
        """A new instruction at the end of block, before its terminator."""
        ins = self.fn.new_inst(op, args, imm, pc)
        ins.block = block
        block.insts.insert(len(block.insts) - 1, ins)
        for a in args:
            self.users.setdefault(a, []).append(ins)
        return ins

    def forward(self, old: Inst, new: Inst) -> None:
        us = self.users.pop(old, [])
        for u in us:
            u.args = [new if a is old else a for a in u.args]
        self.users.setdefault(new, []).extend(us)

    def delete(self, ins: Inst) -> None:
        """Remove ins, then whatever pure value in the loop only it used."""
        work = [ins]
        while work:
            d = work.pop()
            d.block.insts.remove(d)
            for a in d.args:
                us = self.users.get(a)
                if us is None:
                    continue
                us.remove(d)
                if not us and a.op in PURE and a.op != 'param' and a.block in self.body:
                    del self.users[a]
                    work.append(a)


def _step(a: Inst, phi: Inst):
    """c when a is phi + c or phi - c with c a constant, else None."""
    if a.op not in ('add', 'sub'):
        return None
    x, y = a.args
    if a.op == 'add' and y is phi and x.op == 'const':
        return x.imm
    if x is phi and y.op == 'const':
        return y.imm if a.op == 'add' else wrap(-y.imm)
    return None
