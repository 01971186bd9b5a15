"""Value ranges and check elimination (backends/opt/ranges.py), and both
arithmetic passes together, against the reference interpreter.

- the transfer functions and branch facts are sound: hypothesis draws
  intervals and members, and the concrete result must lie in the range;
- unit programs: checks go in bounded loops (counting up or down, tested at
  the top or the bottom), stay where the index may escape, where the
  program really traps and where a step could wrap;
- differential: the conformance corpus and random programs, with the
  passes after passes.LEVELS[1], evaluated by backends/opt/evaluate.py.
"""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backends.opt import evaluate, ir, passes, ranges, ssa
from backends.opt.divide import divide_by_constants
from backends.opt.ranges import ARITH_ORDER, remove_checks
from tests.opt.test_ssa import (CASES, REFERENCE, assert_same, check_case, optimize_checked,
                                reference, run_ssa)
from tests.support.progen import generate_from_seed, programs
from vm.api import execute, load

MIN, MAX = ranges.MIN, ranges.MAX
SEEDS = 250                     # per flavour (without and with traps)
SINGLE_PASS_SEEDS = 40
LEVEL1 = passes.LEVELS[1]
PIPELINES = {
    'checks+divide': LEVEL1 + ARITH_ORDER + LEVEL1,
    'divide+checks': LEVEL1 + ('divide', 'checks'),
}
SINGLE = {'checks': LEVEL1 + ('checks',), 'divide': LEVEL1 + ('divide',),
          'raw checks': ('checks',)}


optimize = optimize_checked
run_arith = run_ssa


def ops(text, pipeline=LEVEL1 + ('checks',)) -> Counter:
    program = load(text)
    return Counter(i.op for f in ssa.build_program(program)
                   for i in optimize(f, pipeline).values())


def same(text):
    """Every pipeline gives the interpreter's Outcome on text."""
    ref = execute(text, REFERENCE)
    program = load(text)
    for name, pipeline in {**PIPELINES, **SINGLE}.items():
        assert_same(ref, run_arith(program, pipeline), name)
    return ref


# ------------------------------------------------------------------ soundness of the domain

EDGES = [MIN, MIN + 1, -(1 << 62), -(1 << 32), -300, -64, -3, -2, -1, 0, 1, 2, 3, 63, 64, 300,
         1 << 32, 1 << 62, MAX - 1, MAX]
bound = st.one_of(st.sampled_from(EDGES), st.integers(-70, 70), st.integers(MIN, MAX))


@st.composite
def interval_and_member(draw, nonzero=False):
    lo, hi = sorted((draw(bound), draw(bound)))
    assume(not nonzero or (lo, hi) != (0, 0))
    r = ranges.make(lo, hi, nonzero)
    x = draw(st.one_of(st.sampled_from((r[0], r[1])), st.integers(r[0], r[1])))
    assume(not nonzero or x != 0)
    return r, x


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(st.sampled_from(sorted(ranges.BINARY)), interval_and_member(), st.data())
def test_binary_transfer_contains_every_concrete_result(op, ra, data):
    divides = op in ('div', 'mod')
    rb = data.draw(interval_and_member(nonzero=divides))
    (a, x), (b, y) = ra, rb
    got = ranges.BINARY[op](a, b)
    want = evaluate.BINARY_OPS[op](x, y)
    assert got is not None and got[0] <= want <= got[1], (op, a, b, x, y, want, got)
    if got[2]:
        assert want != 0


@settings(max_examples=500, deadline=None, database=None)
@given(st.sampled_from(sorted(ranges.UNARY)), interval_and_member())
def test_unary_transfer_contains_every_concrete_result(op, ra):
    a, x = ra
    got = ranges.UNARY[op](a)
    want = x if op == 'copy' else evaluate.UNARY_OPS[op](x)
    assert got[0] <= want <= got[1] and not (got[2] and want == 0)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.sampled_from(ranges.COMPARES), interval_and_member(), interval_and_member())
def test_a_branch_fact_keeps_every_value_that_satisfies_it(rel, ra, rb):
    (a, x), (b, y) = ra, rb
    holds = evaluate.BINARY_OPS[rel](x, y)
    for known, r in ((rel, a), (ranges.NEGATED[rel], a)):
        if (known == rel) == bool(holds):
            got = ranges.constrain(r, known, b)
            assert got is not None and got[0] <= x <= got[1] and not (got[2] and x == 0)


def test_overflowing_arithmetic_is_the_full_range():
    assert ranges.BINARY['add']((0, MAX, False), (1, 1, False)) == ranges.FULL
    assert ranges.BINARY['mul']((1 << 32, 1 << 32, False), (1 << 31, 1 << 31, False)) == ranges.FULL
    assert ranges.BINARY['shl']((1, 2, False), (62, 62, False)) == ranges.FULL
    assert ranges.UNARY['neg']((MIN, 0, False)) == ranges.FULL
    assert ranges.BINARY['add']((0, 10, False), (1, 1, False)) == (1, 11, False)


# ------------------------------------------------------------------ checks that go

def up_loop(bound_, cells, test_at_top=True):
    """for i in 0..: LOADI i, STOREI i, while i < bound_ (at the top or bottom)."""
    body = ['LLOAD 0', 'LOADI', 'PRINT', 'LLOAD 0', 'LLOAD 0', 'STOREI']
    step = ['LLOAD 0', 'PUSH 1', 'ADD', 'LSTORE 0']
    if test_at_top:
        lines = ['top:', 'LLOAD 0', f'PUSH {bound_}', 'LT', 'JZ done'] + body + step + ['JMP top']
    else:
        lines = ['top:'] + body + step + ['LLOAD 0', f'PUSH {bound_}', 'LT', 'JNZ top']
    return '\n'.join([f'.memory {cells}', '.data 0 5 6 7', '.func main 0 1'] + lines +
                     ['done:', 'HALT', '.end']) + '\n'


@pytest.mark.parametrize('top', [True, False], ids=['test-at-top', 'test-at-bottom'])
def test_a_loop_bounded_by_memory_loses_its_checks(top):
    text = up_loop(16, 16, top)
    assert 'chkaddr' not in ops(text)
    assert ops(text, LEVEL1)['chkaddr'] == 2
    same(text)


@pytest.mark.parametrize('top', [True, False], ids=['test-at-top', 'test-at-bottom'])
def test_a_loop_one_past_memory_keeps_its_checks_and_traps(top):
    text = up_loop(17, 16, top)
    assert ops(text)['chkaddr'] == 1          # the STOREI's repeats the LOADI's: that one goes
    ref = same(text)
    assert ref.phrase == 'memory address out of range'


@pytest.mark.parametrize('form', ['jnz', 'gt', 'ge'])
def test_counting_down_loses_its_checks(form):
    """i from 9 down: `i-1; JNZ` (the random programs' loops), `i > 0` and
    `i >= 0` tested at the top."""
    if form == 'jnz':
        loop = ['PUSH 9', 'LSTORE 0', 'top:', 'LLOAD 0', 'LOADI', 'PRINT',
                'LLOAD 0', 'PUSH 1', 'SUB', 'DUP', 'LSTORE 0', 'JNZ top']
    else:
        test = ['PUSH 0', 'GT'] if form == 'gt' else ['PUSH 0', 'GE']
        loop = ['PUSH 9', 'LSTORE 0', 'top:', 'LLOAD 0'] + test + ['JZ done',
                'LLOAD 0', 'LOADI', 'PRINT', 'LLOAD 0', 'PUSH 1', 'SUB', 'LSTORE 0', 'JMP top',
                'done:']
    text = '\n'.join(['.memory 10', '.data 0 1 2 3 4 5 6 7 8 9 10', '.func main 0 1'] + loop +
                     ['HALT', '.end']) + '\n'
    assert 'chkaddr' not in ops(text)
    same(text)


def test_masked_addresses_and_odd_divisors_lose_their_checks():
    text = ('.memory 16\n.data 0 5 -7 99\nLOAD 1\nPUSH 15\nAND\nLOADI\nLOAD 2\nPUSH 1\nOR\nDIV\n'
            'PRINT\nLOAD 1\nLOAD 0\nPUSH 3\nMOD\nPUSH 7\nADD\nLOADI\nPRINT\nHALT\n')
    used = ops(text)
    assert 'chkaddr' not in used and 'chkzero' not in used
    same(text)


def test_a_repeated_check_of_one_value_goes_the_first_stays():
    text = '.memory 8\n.data 0 3\nLOAD 0\nLOADI\nPRINT\nLOAD 0\nDUP\nLOADI\nSTOREI\nHALT\n'
    program = load(text)
    fn = optimize(ssa.build_function(program, 0), LEVEL1)
    loads = [i for i in fn.values() if i.op == 'load']
    assert len(loads) == 2 and ops(text, LEVEL1)['chkaddr'] == 3
    fn.blocks[1].insts = [i for i in fn.blocks[1].insts if i is not loads[1]]
    ir.replace_uses(fn, {loads[1]: loads[0]})          # one value checked three times
    remove_checks(fn)
    ir.verify(fn)
    assert sum(i.op == 'chkaddr' for i in fn.values()) == 1
    assert_same(execute(text, REFERENCE), evaluate.run(program, [fn]), 'repeats')


# ------------------------------------------------------------------ checks that stay

def test_an_unknown_index_or_divisor_keeps_its_check():
    text = ('.memory 8\n.data 0 3 0\nLOAD 0\nLOADI\nPRINT\nPUSH 5\nLOAD 1\nPUSH 1\nAND\nDIV\n'
            'PRINT\nHALT\n')
    used = ops(text)
    assert used['chkaddr'] == 1 and used['chkzero'] == 1
    assert same(text).phrase == 'division by zero'


def test_a_step_that_wraps_keeps_the_check_after_the_loop():
    """i = 1, 2^62 + 1, then 2^63 + 1 wraps negative and ends the loop; the
    address i >> 60 after it is -8: the check must stay, and trap."""
    text = ('.memory 16\n.func main 0 1\nPUSH 1\nLSTORE 0\ntop: LLOAD 0\nPUSH 60\nSAR\nLOADI\n'
            'PRINT\nLLOAD 0\nPUSH 4611686018427387904\nADD\nDUP\nLSTORE 0\nPUSH 0\nGT\nJNZ top\n'
            'LLOAD 0\nPUSH 60\nSAR\nLOADI\nPRINT\nHALT\n.end\n')
    assert ops(text)['chkaddr'] == 1              # the one inside the loop goes (i >> 60 in 0..7)
    assert same(text).phrase == 'memory address out of range'


def test_values_from_an_unknown_op_are_unbounded():
    """An op the pass does not know (the coming `osrload`, say) feeding the
    loop: nothing is proved from it."""
    text = up_loop(16, 16)
    program = load(text)
    fn = optimize(ssa.build_function(program, 0), LEVEL1)
    header = next(b for b in fn.blocks if b.phis)
    init = next(k for k, p in enumerate(header.preds) if p is not header and
                header.phis[0].args[k].op == 'const')
    opaque = fn.new_inst('osrload', imm=0)
    opaque.block = fn.entry
    fn.entry.insts.insert(0, opaque)
    header.phis[0].args[init] = opaque
    remove_checks(fn)
    ir.verify(fn)
    assert sum(i.op == 'chkaddr' for i in fn.values()) == 1     # the STOREI's repeats the LOADI's


def test_the_examples_lose_their_bounds_checks():
    """sieve and matmul index inside loops bounded by N <= memory; hello
    indexes by a NUL it reads from memory, which no range can prove."""
    for name, left in (('sieve', 0), ('matmul', 0), ('mandelbrot', 0), ('hello', 1)):
        with open(f'bytecode/{name}.asm') as f:
            assert ops(f.read(), LEVEL1 + ARITH_ORDER)['chkaddr'] == left, name


# ------------------------------------------------------------------ differential

@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_conformance_case(case):
    check_case(case, PIPELINES)


@pytest.mark.parametrize('traps', [False, True], ids=['plain', 'traps'])
@pytest.mark.parametrize('seed', range(SEEDS))
def test_random_program(seed, traps):
    text, ref = reference(seed, traps)
    program = load(text)
    chosen = dict(PIPELINES, **(SINGLE if seed < SINGLE_PASS_SEEDS else {}))
    for name, pipeline in chosen.items():
        assert_same(ref, run_arith(program, pipeline), f'seed {seed} traps={traps} {name}')


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(traps=True))
def test_random_program_shrinks_on_failure(text):
    ref = execute(text, REFERENCE)
    program = load(text)
    for name, pipeline in PIPELINES.items():
        assert_same(ref, run_arith(program, pipeline), f'{name}\n{text}')


def test_the_random_programs_lose_most_checks_and_constant_divisions():
    before, after = Counter(), Counter()
    for seed in range(SEEDS):
        for traps in (False, True):
            program = load(generate_from_seed(seed, traps))
            for f in ssa.build_program(program):
                optimize(f, LEVEL1)
                before.update(i.op for i in f.values())
                optimize(f, ARITH_ORDER + LEVEL1)
                after.update(i.op for i in f.values())
    assert after['chkaddr'] < before['chkaddr'] * 0.15, (before['chkaddr'], after['chkaddr'])
    assert after['chkzero'] < before['chkzero'] * 0.15, (before['chkzero'], after['chkzero'])
    divisions = before['div'] + before['mod'] - after['div'] - after['mod']
    assert divisions > 0.2 * (before['div'] + before['mod']) and after['mulhs'] > 0


def test_a_block_the_entry_cannot_reach_is_no_trouble():
    """A pass before may leave one; its checks and divisions are skipped
    or rewritten, never a crash, and the reachable part is optimized."""
    text = up_loop(16, 16)
    program = load(text)
    fn = optimize(ssa.build_function(program, 0), LEVEL1)
    lost = fn.new_block(None)
    x = fn.append(lost, fn.new_inst('param', imm=0))
    chk = fn.append(lost, fn.new_inst('chkaddr', [x]))
    seven = fn.append(lost, fn.new_inst('const', imm=7))
    fn.append(lost, fn.new_inst('div', [chk, seven]))
    fn.append(lost, fn.new_inst('halt', [chk]))
    remove_checks(fn)
    divide_by_constants(fn)
    assert sum(i.op == 'chkaddr' for b in fn.blocks if b is not lost for i in b.insts) == 0
    assert [i.op for i in lost.insts][:2] == ['param', 'chkaddr']
