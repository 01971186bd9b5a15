"""Division and modulus by constants as shifts, adds and `mulhs`.

`div a, d` and `mod a, d` whose divisor is a nonzero constant (the `const`
itself after SCCP, or a `chkzero` of one before it) become a short
sequence of pure ops, with the spec's exact semantics: the quotient
truncates toward zero, the remainder has the dividend's sign, and
INT64_MIN / -1 = INT64_MIN, INT64_MIN % -1 = 0.

- d = 1 or -1: a copy or a `neg` (neg wraps INT64_MIN to itself); the
  remainder is 0.
- |d| = 2^k (INT64_MIN included, |d| = 2^63): a negative dividend gets the
  bias 2^k - 1 before the arithmetic shift, so the shift rounds toward
  zero instead of down; the bias is the sign mask shifted right
  logically, with no branch.
- other |d|: the magic-number method (Granlund and Montgomery, 1994). With
  p = 64 + s, m = ceil(2^p / |d|) and e = m*|d| - 2^p <= 2^(s+1), the
  error term a*e / (|d| 2^p) stays within 1/|d| for every int64 a, so
  floor(a*m / 2^p) is floor(a/|d|), and adding 1 for a negative a turns it
  into truncation (|d| is not a power of two, so it never divides 2^p and
  the error is never 0). The smallest such s is taken; an m of 2^63 or more
  does not fit an int64, so mulhs uses m - 2^64 and the dividend is added
  back.
- a negative d negates the quotient of |d|; the remainder a - q*d equals
  a - q'*|d| with q' the quotient of |d|, so it needs no negation.

`mulhs` is the high 64 bits of the signed 128-bit product; the rewritten
`div`/`mod` instruction keeps its identity (it becomes the last op of its
sequence), so its users need no change.
"""
from __future__ import annotations

from .ir import Function, Inst

INT64_MIN = -(1 << 63)


def constant_divisor(v: Inst):
    """The divisor's value when it is a known nonzero constant, else None."""
    if v.op == 'chkzero':
        v = v.args[0]
    if v.op == 'const' and v.imm:
        return v.imm
    return None


def magic(d: int) -> tuple[int, int]:
    """(m, s) with floor(a*m / 2^(64+s)) + (a < 0) = trunc(a / d) for every
    int64 a; d is in [3, 2^63) and not a power of two. m is in [0, 2^64)."""
    for s in range(d.bit_length()):
        p = 64 + s
        m = -(-(1 << p) // d)
        if m * d - (1 << p) <= 1 << (s + 1):
            return m, s
    raise AssertionError(f'no magic number for {d}')   # s = bit_length - 1 always fits


class _Emitter:
    """New pure instructions placed before the one being rewritten."""

    def __init__(self, fn: Function, block, pc):
        self.fn, self.block, self.pc = fn, block, pc
        self.out: list[Inst] = []

    def op(self, name: str, *args: Inst) -> Inst:
        ins = self.fn.new_inst(name, args, pc=self.pc)
        ins.block = self.block
        self.out.append(ins)
        return ins

    def const(self, value: int) -> Inst:
        ins = self.fn.new_inst('const', imm=value, pc=self.pc)
        ins.block = self.block
        self.out.append(ins)
        return ins


def _power_bias(e: _Emitter, a: Inst, k: int) -> Inst:
    """2^k - 1 when a < 0, else 0."""
    if k == 1:
        return e.op('shr', a, e.const(63))
    return e.op('shr', e.op('sar', a, e.const(63)), e.const(64 - k))


def _quotient_of_positive(e: _Emitter, a: Inst, d: int) -> Inst:
    """trunc(a / d) for 1 <= d <= 2^63."""
    if d == 1:
        return e.op('copy', a)
    k = d.bit_length() - 1
    if d == 1 << k:
        return e.op('sar', e.op('add', a, _power_bias(e, a, k)), e.const(k))
    m, s = magic(d)
    if m < 1 << 63:
        t = e.op('mulhs', a, e.const(m))
    else:
        t = e.op('add', e.op('mulhs', a, e.const(m - (1 << 64))), a)
    if s:
        t = e.op('sar', t, e.const(s))
    return e.op('add', t, e.op('shr', a, e.const(63)))


def quotient(e: _Emitter, a: Inst, d: int) -> Inst:
    """trunc(a / d), d != 0; INT64_MIN / -1 wraps to INT64_MIN through neg."""
    if d == -1:
        return e.op('neg', a)
    q = _quotient_of_positive(e, a, abs(d))
    return e.op('neg', q) if d < 0 else q


def remainder(e: _Emitter, a: Inst, d: int) -> Inst:
    """a - trunc(a / d) * d, the sign of a; 0 when |d| = 1."""
    d = abs(d)
    if d == 1:
        return e.const(0)
    k = d.bit_length() - 1
    if d == 1 << k:
        rounded = e.op('and', e.op('add', a, _power_bias(e, a, k)), e.const(-(1 << k)))
        return e.op('sub', a, rounded)
    q = _quotient_of_positive(e, a, d)
    return e.op('sub', a, e.op('mul', q, e.const(d)))


def divide_by_constants(fn: Function) -> Function:
    """Rewrite every div/mod by a nonzero constant in place (see the module
    docstring); a chkzero of a constant is left for the checks pass or dead
    code, it cannot trap."""
    for b in fn.blocks:
        if not any(i.op in ('div', 'mod') for i in b.insts):
            continue
        insts = []
        for ins in b.insts:
            if ins.op in ('div', 'mod'):
                d = constant_divisor(ins.args[1])
                if d is not None:
                    insts.extend(_rewrite(fn, ins, d))
            insts.append(ins)
        b.insts = insts
    return fn


def _rewrite(fn: Function, ins: Inst, d: int) -> list[Inst]:
    """The new instructions before ins; ins itself becomes the last op."""
    e = _Emitter(fn, ins.block, ins.pc)
    a = ins.args[0]
    (quotient if ins.op == 'div' else remainder)(e, a, d)
    last = e.out.pop()
    ins.op, ins.args, ins.imm, ins.mem = last.op, last.args, last.imm, None
    return e.out
