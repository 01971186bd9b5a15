"""Division and modulus by constants (backends/opt/divide.py) against the
reference interpreter: every divisor in -300..300, the powers of two and
their neighbours (both signs), INT64_MIN, INT64_MAX and random 64-bit
divisors, each times edge and random dividends, run as programs whose
rewritten SSA is evaluated by backends/opt/evaluate.py; then hypothesis
over (dividend, divisor), and unit tests of what the rewrite leaves.
"""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.opt import divide, evaluate, ir, passes, ssa
from tests.opt.test_ssa import REFERENCE, assert_same
from vm.api import execute, load

MIN, MAX = -(1 << 63), (1 << 63) - 1
GROUP = 24                      # divisors per generated program


def _divisors() -> list[int]:
    ds = set(range(-300, 301))
    for k in range(64):
        for x in ((1 << k) - 1, 1 << k, (1 << k) + 1):
            ds.update((evaluate.wrap(x), evaluate.wrap(-x)))
    ds.update((MIN, MAX, MIN + 1, MAX - 1))
    rng = random.Random(10)
    ds.update(rng.randint(MIN, MAX) for _ in range(200))
    ds.update(rng.randint(-(1 << 20), 1 << 20) for _ in range(100))
    ds.discard(0)
    return sorted(ds)


DIVISORS = _divisors()
_rng = random.Random(11)
DIVIDENDS = sorted({0, 1, -1, 2, -2, 3, -3, 5, -5, 7, -7, 100, -100, 299, -299, 300, -300,
                    MIN, MAX, MIN + 1, MAX - 1, 1 << 62, -(1 << 62), (1 << 32) + 1, -(1 << 32) - 1}
                   | {_rng.randint(MIN, MAX) for _ in range(40)}
                   | {_rng.randint(-100000, 100000) for _ in range(20)})
GROUPS = [DIVISORS[i:i + GROUP] for i in range(0, len(DIVISORS), GROUP)]


def divisions_program(divisors, dividends) -> str:
    """Every dividend (from memory, so nothing folds it) divided by and
    taken modulo every constant divisor, each result printed."""
    lines = [f'.memory {len(dividends)}', '.data 0 ' + ' '.join(map(str, dividends)),
             '.func main 0 1', 'loop:']
    for d in divisors:
        lines += ['LLOAD 0', 'LOADI', f'PUSH {d}', 'DIV', 'PRINT',
                  'LLOAD 0', 'LOADI', f'PUSH {d}', 'MOD', 'PRINT']
    lines += ['LLOAD 0', 'PUSH 1', 'ADD', 'DUP', 'LSTORE 0', f'PUSH {len(dividends)}', 'LT',
              'JNZ loop', 'HALT', '.end']
    return '\n'.join(lines) + '\n'


def rewritten(program, before=passes.LEVELS[1]):
    """Every function after `before` and the rewrite, verified."""
    funcs = []
    for f in ssa.build_program(program):
        passes.optimize(f, before, check=True)
        divide.divide_by_constants(f)
        ir.verify(f)
        funcs.append(f)
    return funcs


def ops(funcs) -> Counter:
    return Counter(i.op for f in funcs for i in f.values())


def check(text: str, before=passes.LEVELS[1]) -> Counter:
    ref = execute(text, REFERENCE)
    program = load(text)
    funcs = rewritten(program, before)
    assert_same(ref, evaluate.run(program, funcs), f'after {before} + divide')
    return ops(funcs)


# ------------------------------------------------------------------ exhaustive-ish

def test_the_divisor_list_covers_the_edges():
    assert {MIN, MAX, 1, -1, 2, -2, 3, 1 << 62, -(1 << 62), (1 << 62) + 1} <= set(DIVISORS)
    assert len(DIVISORS) > 900 and len(DIVIDENDS) > 70


@pytest.mark.parametrize('group', range(len(GROUPS)))
def test_every_divisor_times_every_dividend(group):
    divisors = GROUPS[group]
    used = check(divisions_program(divisors, DIVIDENDS))
    assert 'div' not in used and 'mod' not in used
    if any(abs(d) > 2 and abs(d) & (abs(d) - 1) for d in divisors):
        assert used['mulhs']


def test_without_constant_folding_the_divisor_is_a_checked_constant():
    """Before SCCP the divisor is `chkzero (const)`: rewritten all the same."""
    divisors = [-7, -4, -1, 1, 3, 8, 10, MIN, MAX]
    used = check(divisions_program(divisors, DIVIDENDS), before=())
    assert 'div' not in used and 'mod' not in used


@settings(max_examples=400, deadline=None, database=None)
@given(st.integers(MIN, MAX), st.integers(MIN, MAX).filter(bool))
def test_any_dividend_by_any_divisor(a, d):
    text = (f'.memory 1\n.data 0 {a}\nLOAD 0\nPUSH {d}\nDIV\nPRINT\n'
            f'LOAD 0\nPUSH {d}\nMOD\nPRINT\nHALT\n')
    used = check(text)
    assert 'div' not in used and 'mod' not in used


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(3, MAX).filter(lambda d: d & (d - 1)))
def test_the_magic_number_bound(d):
    """m*d - 2^p <= 2^(s+1) with the smallest s, and m fits 64 bits: the
    conditions the module's proof needs."""
    m, s = divide.magic(d)
    p = 64 + s
    assert 0 < m < 1 << 64
    assert 0 < m * d - (1 << p) <= 1 << (s + 1)
    if s:
        m2 = -(-(1 << (p - 1)) // d)
        assert m2 * d - (1 << (p - 1)) > 1 << s      # one shift less would not do


def test_magic_numbers_are_the_known_ones():
    assert divide.magic(3) == (0x5555555555555556, 0)
    assert divide.magic(5) == (0x6666666666666667, 1)
    assert divide.magic(7) == (0x4924924924924925, 1)
    assert divide.magic(10) == (0x6666666666666667, 2)


# ------------------------------------------------------------------ what the rewrite leaves

def build(text):
    program = load(text)
    return program, rewritten(program)


def test_powers_of_two_need_no_multiply():
    text = '.memory 1\nLOAD 0\nPUSH 8\nDIV\nPRINT\nLOAD 0\nPUSH -8\nMOD\nPRINT\nHALT\n'
    _, funcs = build(text)
    used = ops(funcs)
    assert not {'div', 'mod', 'mulhs', 'mul'} & set(used) and used['sar']
    check(text)


def test_one_and_minus_one():
    text = ('.memory 1\n.data 0 -9223372036854775808\nLOAD 0\nPUSH -1\nDIV\nPRINT\n'
            'LOAD 0\nPUSH -1\nMOD\nPRINT\nLOAD 0\nPUSH 1\nDIV\nPRINT\nLOAD 0\nPUSH 1\nMOD\nPRINT\nHALT\n')
    _, funcs = build(text)
    used = ops(funcs)
    assert not {'div', 'mod', 'mulhs', 'sar'} & set(used) and used['neg'] == 1
    check(text)
    assert execute(text, REFERENCE).stdout == b'-9223372036854775808\n0\n' * 2


def test_a_variable_or_zero_divisor_is_left_alone():
    text = '.memory 2\nLOAD 0\nLOAD 1\nPUSH 1\nOR\nDIV\nPRINT\nPUSH 5\nPRINT\nLOAD 0\nPUSH 0\nMOD\nHALT\n'
    _, funcs = build(text)
    used = ops(funcs)
    assert used['div'] == 1 and used['chkzero'] == 2
    check(text)                   # still traps at the MOD, after printing 5


def test_the_rewritten_instruction_keeps_its_identity_and_offset():
    program = load('.memory 1\nLOAD 0\nPUSH 7\nDIV\nPRINT\nHALT\n')
    fn = passes.optimize(ssa.build_function(program, 0))
    div = next(i for i in fn.values() if i.op == 'div')
    user = next(i for i in fn.values() if i.op == 'print')
    divide.divide_by_constants(fn)
    assert user.args[0] is div and div.op == 'add'
    assert {i.pc for i in div.block.insts if i.op in ('mulhs', 'sar', 'shr', 'add')} == {div.pc}


def test_constant_folding_folds_mulhs():
    program = load('PUSH -22\nPUSH 7\nDIV\nPRINT\nHALT\n')
    fn = ssa.build_function(program, 0)
    divide.divide_by_constants(fn)
    assert ops([fn])['mulhs'] == 1
    passes.optimize(fn, check=True)
    assert not {'mulhs', 'div', 'add', 'sar'} & set(ops([fn]))
    printed = next(i for i in fn.values() if i.op == 'print').args[0]
    assert printed.op == 'const' and printed.imm == -3          # -22 / 7 truncates


# ------------------------------------------------------------------ what ranges and branches tell

def masked_program(divisors, dividends) -> str:
    """Like divisions_program, with the dividend's sign bit cleared first:
    the range analysis knows it is not negative."""
    return divisions_program(divisors, dividends).replace(
        'LOADI\n', f'LOADI\nPUSH {MAX}\nAND\n')


@pytest.mark.parametrize('group', range(0, len(GROUPS), 3))
def test_nonnegative_dividends_skip_the_sign_fixup(group):
    divisors = GROUPS[group]
    plain = check(divisions_program(divisors, DIVIDENDS))
    masked = check(masked_program(divisors, DIVIDENDS))
    assert 'div' not in masked and 'mod' not in masked
    assert sum(masked.values()) - masked['and'] < sum(plain.values())


def test_multiples_of_a_power_of_two_divide_by_a_shift():
    """x / 2^k and x % 2^k where a branch proved x & (2^j - 1) == 0, j >= k."""
    body = []
    for d in (2, 4, 8, 16, -2, -16, 32):
        body += ['LLOAD 1', f'PUSH {d}', 'DIV', 'PRINT', 'LLOAD 1', f'PUSH {d}', 'MOD', 'PRINT']
    lines = ['.memory 64', '.data 0 ' + ' '.join(str(x) for x in DIVIDENDS[:60]) + ' 0 16 -32 48',
             '.func main 0 2', 'loop:', 'LLOAD 0', 'LOADI', 'DUP', 'LSTORE 1', 'PUSH 15', 'AND',
             'JNZ skip'] + body + ['skip:', 'LLOAD 0', 'PUSH 1', 'ADD', 'DUP', 'LSTORE 0',
                                   'PUSH 64', 'LT', 'JNZ loop', 'HALT', '.end']
    text = '\n'.join(lines) + '\n'
    used = check(text)
    # 16 and its divisors are shifts; 32 is not proved and keeps its fix-up
    assert used['shr'] == 2 and 'mulhs' not in used     # one in x / 32, one in x % 32


def test_collatz_as_the_peers_write_it_needs_no_division():
    """`n % 2` tested by JZ becomes `n & 1`; `n / 2` on the even branch is
    `n >> 1`: the hand-written AND 1 / SAR 1 of bytecode/bench_collatz.asm."""
    text = ('.func main 0 1\nPUSH 1\nLSTORE 0\nnext: LLOAD 0\nCALL steps\nPRINT\nLLOAD 0\nPUSH 1\n'
            'ADD\nDUP\nLSTORE 0\nPUSH 40\nLT\nJNZ next\nHALT\n.end\n'
            '.func steps 1 1\nloop: LLOAD 0\nPUSH 1\nEQ\nJNZ done\nLLOAD 0\nPUSH 2\nMOD\nJZ even\n'
            'LLOAD 0\nPUSH 3\nMUL\nPUSH 1\nADD\nLSTORE 0\nJMP count\n'
            'even: LLOAD 0\nPUSH 2\nDIV\nLSTORE 0\ncount: LLOAD 1\nPUSH 1\nADD\nLSTORE 1\nJMP loop\n'
            'done: LLOAD 1\nRET\n.end\n')
    used = check(text)
    assert not {'div', 'mod', 'mulhs', 'shr'} & set(used)
    assert used['and'] == 1 and used['sar'] == 1


def test_a_mod_used_as_a_value_is_not_turned_into_a_mask():
    text = '.memory 1\n.data 0 -7\nLOAD 0\nPUSH 4\nMOD\nDUP\nPRINT\nJZ z\nPUSH 1\nPRINT\nz: HALT\n'
    used = check(text)
    assert used['shr'] and 'mod' not in used          # the full sequence: -7 % 4 = -3
    assert execute(text, REFERENCE).stdout == b'-3\n1\n'
