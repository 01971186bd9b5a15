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

What the range analysis (ranges.py) and the branches know shortens this:

- a dividend proved never negative needs no sign fix-up: a plain shift, a
  mask for the remainder, and no +1 after the magic multiply;
- a dividend that a dominating branch proved a multiple of 2^j (its
  `and a, m` tested zero, m ending in j ones) divides by 2^k, k <= j, with
  a shift alone, and leaves remainder 0;
- `mod a, +-2^k` whose only uses are tests against zero (br, eq 0, ne 0)
  becomes `and a, 2^k - 1`: both are zero exactly when 2^k divides a. So
  Collatz's `n % 2` / `n / 2` become `n & 1` / `n >> 1` on its even branch.

`mulhs` is the high 64 bits of the signed 128-bit product; the rewritten
`div`/`mod` instruction keeps its identity (it becomes the last op of its
sequence), so its users need no change.
"""
from __future__ import annotations

from .ir import Function, Inst, dominates

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


class Dividend:
    """What is known of a dividend where it is divided: never negative, or
    a multiple of 2^zero_bits (a branch tested its low bits)."""
    __slots__ = ('value', 'nonnegative', 'zero_bits')

    def __init__(self, value: Inst, nonnegative: bool = False, zero_bits: int = 0):
        self.value, self.nonnegative, self.zero_bits = value, nonnegative, zero_bits


def _quotient_of_positive(e: _Emitter, n: Dividend, d: int) -> Inst:
    """trunc(a / d) for 1 <= d <= 2^63."""
    a = n.value
    if d == 1:
        return e.op('copy', a)
    k = d.bit_length() - 1
    if d == 1 << k:
        if n.nonnegative or n.zero_bits >= k:        # rounding down is truncating
            return e.op('sar', a, e.const(k))
        return e.op('sar', e.op('add', a, _power_bias(e, a, k)), e.const(k))
    m, s = magic(d)
    if m < 1 << 63:
        t = e.op('mulhs', a, e.const(m))
    else:
        t = e.op('add', e.op('mulhs', a, e.const(m - (1 << 64))), a)
    if s:
        t = e.op('sar', t, e.const(s))
    if n.nonnegative:
        return t
    return e.op('add', t, e.op('shr', a, e.const(63)))


def quotient(e: _Emitter, n: Dividend, d: int) -> Inst:
    """trunc(a / d), d != 0; INT64_MIN / -1 wraps to INT64_MIN through neg."""
    if d == -1:
        return e.op('neg', n.value)
    q = _quotient_of_positive(e, n, abs(d))
    return e.op('neg', q) if d < 0 else q


def remainder(e: _Emitter, n: Dividend, d: int) -> Inst:
    """a - trunc(a / d) * d, the sign of a; 0 when |d| = 1."""
    a, d = n.value, abs(d)
    if d == 1:
        return e.const(0)
    k = d.bit_length() - 1
    if d == 1 << k:
        if n.zero_bits >= k:
            return e.const(0)
        if n.nonnegative:
            return e.op('and', a, e.const(d - 1))
        rounded = e.op('and', e.op('add', a, _power_bias(e, a, k)), e.const(-(1 << k)))
        return e.op('sub', a, rounded)
    q = _quotient_of_positive(e, n, d)
    return e.op('sub', a, e.op('mul', q, e.const(d)))


def _power_of_two(d: int) -> int:
    """k when |d| = 2^k with k >= 1, else 0."""
    d = abs(d)
    return d.bit_length() - 1 if d > 1 and d & (d - 1) == 0 else 0


def _trailing_ones(m: int) -> int:
    return (~m & (m + 1)).bit_length() - 1


def divide_by_constants(fn: Function) -> Function:
    """Rewrite every div/mod by a nonzero constant in place (see the module
    docstring); a chkzero of a constant is left for the checks pass or dead
    code, it cannot trap."""
    sites = [(ins, d) for b in fn.blocks for ins in b.insts
             if ins.op in ('div', 'mod') and (d := constant_divisor(ins.args[1])) is not None]
    if not sites:
        return fn
    tested = _only_tested_against_zero(fn, [ins for ins, d in sites
                                            if ins.op == 'mod' and _power_of_two(d)])
    for ins, d in sites:
        if ins in tested:
            _to_and(fn, ins, d)
    sites = [(ins, d) for ins, d in sites if ins not in tested]
    known = _what_is_known(fn, [ins for ins, _ in sites])
    new = {}
    for ins, d in sites:
        new[ins] = _rewrite(fn, ins, d, known(ins))
    for b in fn.blocks:
        if any(i in new for i in b.insts):
            insts = []
            for ins in b.insts:
                insts.extend(new.get(ins, ()))
                insts.append(ins)
            b.insts = insts
    return fn


def _only_tested_against_zero(fn: Function, mods: list[Inst]) -> set:
    """The mods whose every use is `br` or `eq`/`ne` with a constant 0."""
    if not mods:
        return set()
    tested = set(mods)
    for u in fn.values():
        for a in u.args:
            if a in tested and not (u.op == 'br' or u.op in ('eq', 'ne') and any(
                    x is not a and x.op == 'const' and x.imm == 0 for x in u.args)):
                tested.discard(a)
    return tested


def _to_and(fn: Function, ins: Inst, d: int) -> None:
    """`mod a, +-2^k` tested against zero becomes `and a, 2^k - 1`: both
    are zero exactly when 2^k divides a."""
    mask = fn.new_inst('const', imm=(1 << _power_of_two(d)) - 1, pc=ins.pc)
    mask.block = ins.block
    ins.block.insts.insert(ins.block.insts.index(ins), mask)
    ins.op, ins.args = 'and', [ins.args[0], mask]


def _what_is_known(fn: Function, divisions: list[Inst]):
    """A function from a division to its Dividend: the dividend's range
    there, and the `and a, m` tests that branches proved zero."""
    from .ranges import Ranges           # ranges imports this module for ARITH_PASSES
    dividends = {ins.args[0] for ins in divisions}
    masks: dict = {}
    for v in fn.values():
        if v.op == 'and':
            x, m = v.args
            if m.op != 'const':
                x, m = m, x
            if x in dividends and m.op == 'const' and _trailing_ones(m.imm) > 0:
                masks.setdefault(x, []).append((v, _trailing_ones(m.imm)))
    ranges = Ranges(fn, list(dividends) + [v for ms in masks.values() for v, _ in ms])

    def before(v: Inst, ins: Inst) -> bool:
        if v.block is ins.block:
            insts = ins.block.insts
            return insts.index(v) < insts.index(ins)
        idom = ranges.idom
        return v.block in idom and ins.block in idom and dominates(idom, v.block, ins.block)

    def known(ins: Inst) -> Dividend:
        a, b = ins.args[0], ins.block
        r = ranges.at(a, b)
        zero_bits = max((bits for v, bits in masks.get(a, ())
                         if before(v, ins) and ranges.at(v, b) == (0, 0, False)), default=0)
        return Dividend(a, r is not None and r[0] >= 0, zero_bits)
    return known


def _rewrite(fn: Function, ins: Inst, d: int, n: Dividend) -> list[Inst]:
    """The new instructions before ins; ins itself becomes the last op."""
    e = _Emitter(fn, ins.block, ins.pc)
    (quotient if ins.op == 'div' else remainder)(e, n, d)
    last = e.out.pop()
    ins.op, ins.args, ins.imm, ins.mem = last.op, last.args, last.imm, None
    return e.out
