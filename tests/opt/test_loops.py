"""The loop passes (backends/opt/loops.py) against the reference interpreter
and one by one.

Differential: every conformance case that loads, random programs from
progen.py and from loopgen.py (loop nests with induction variables, which
progen rarely makes), the benchmark programs at small sizes, and a
hypothesis test, each through the passes alone and after passes.LEVELS[1],
verified after every pass and evaluated; output, result, error line, phrase
and offset must be the interpreter's. Then unit tests that show each
transformation happens (and where it must not).
"""
from __future__ import annotations

import functools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from backends.opt import evaluate, ir, passes, ssa
from backends.opt.printer import format_block
from backends.opt.loops import LOOP_PASSES, find_loops, hoist_invariants, reduce_strength
from tests.opt.test_ssa import (CASES, REFERENCE, assert_same, check_case, optimize_checked,
                                run_ssa)
from tests.opt.test_ssa import reference as progen_reference
from tests.support import loopgen
from vm.api import execute, load

ROOT = Path(__file__).resolve().parents[2]
LOOPS = ('licm', 'iv')
O1 = tuple(passes.LEVELS[1])
PIPELINES = {'loops': LOOPS, 'O1+loops': O1 + LOOPS}
PROGEN_SEEDS = 200              # per flavour (plain, traps)
LOOPGEN_SEEDS = 300             # per flavour
SINGLE_PASS_SEEDS = 40


optimize = optimize_checked


# ------------------------------------------------------------------ conformance

def test_the_registry_names_both_passes():
    assert LOOP_PASSES == {'licm': hoist_invariants, 'iv': reduce_strength}


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_conformance_case(case):
    check_case(case, PIPELINES)


# ------------------------------------------------------------------ random programs

@pytest.mark.parametrize('traps', [False, True], ids=['plain', 'traps'])
@pytest.mark.parametrize('seed', range(PROGEN_SEEDS))
def test_progen_program(seed, traps):
    text, ref = progen_reference(seed, traps)
    program = load(text)
    for name, pipeline in PIPELINES.items():
        assert_same(ref, run_ssa(program, pipeline), f'progen seed {seed} traps={traps} {name}')


@functools.lru_cache(maxsize=None)
def loop_reference(seed: int, traps: bool):
    text = loopgen.generate_from_seed(seed, traps)
    return text, execute(text, REFERENCE)


@pytest.mark.parametrize('traps', [False, True], ids=['plain', 'traps'])
@pytest.mark.parametrize('seed', range(LOOPGEN_SEEDS))
def test_loop_program(seed, traps):
    text, ref = loop_reference(seed, traps)
    program = load(text)
    pipelines = dict(PIPELINES, again=O1 + LOOPS + O1 + LOOPS)
    if seed < SINGLE_PASS_SEEDS:
        pipelines.update(licm=('licm',), iv=('iv',), iv_first=('iv', 'licm'))
    for name, pipeline in pipelines.items():
        assert_same(ref, run_ssa(program, pipeline), f'loopgen seed {seed} traps={traps} {name}')


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(loopgen.programs(traps=True))
def test_loop_program_shrinks_on_failure(text):
    ref = execute(text, REFERENCE)
    program = load(text)
    for name, pipeline in PIPELINES.items():
        assert_same(ref, run_ssa(program, pipeline), f'{name}\n{text}')


def _in_loops(fn, ops_wanted):
    """How many instructions with these ops lie inside some loop."""
    blocks = set()
    for lp in find_loops(fn):
        blocks |= lp.blocks
    return sum(1 for b in blocks for i in b.insts if i.op in ops_wanted)


def test_loop_programs_exercise_both_passes_and_traps():
    """The generator must reach what the passes do: multiplies leave loops,
    invariants leave loops, and both traps happen."""
    phrases = Counter()
    muls = [0, 0]
    sizes = [0, 0]
    for seed in range(LOOPGEN_SEEDS):
        for traps in (False, True):
            text, ref = loop_reference(seed, traps)
            phrases[ref.phrase] += 1
            for f in ssa.build_program(load(text)):
                optimize(f, O1)
                muls[0] += _in_loops(f, {'mul', 'shl'})
                sizes[0] += _in_loops(f, ir.PURE)
                optimize(f, LOOPS)
                muls[1] += _in_loops(f, {'mul', 'shl'})
                sizes[1] += _in_loops(f, ir.PURE)
    assert {'division by zero', 'memory address out of range'} <= set(phrases)
    assert muls[1] < muls[0] * 0.5, muls
    assert sizes[1] < sizes[0] * 0.8, sizes


# ------------------------------------------------------------------ the benchmarks, small

sys.path.insert(0, str(ROOT / 'tools'))
import bench_peers  # noqa: E402

SMALL = {'sum': 2000, 'fib': 12, 'mandelbrot': 12, 'sieve': 2000, 'matmul': 12, 'collatz': 300}


@pytest.mark.parametrize('algo', bench_peers.ALGOS, ids=[a.name for a in bench_peers.ALGOS])
def test_benchmark_program_with_and_without_the_passes(algo):
    """bench_*.asm at a small size: the SSA with and without the loop passes
    prints what the interpreter and the Python peer program print."""
    size = SMALL[algo.name]
    text = algo.source(size)
    ref = execute(text, REFERENCE)
    peer = subprocess.run([sys.executable, str(ROOT / 'tools' / 'peers' / f'{algo.name}.py'),
                           str(size)], capture_output=True, check=True).stdout
    assert ref.stdout == peer
    program = load(text)
    for name, pipeline in {'none': (), 'O1': O1, **PIPELINES}.items():
        assert_same(ref, run_ssa(program, pipeline), f'{algo.name} with {name}')


# ------------------------------------------------------------------ unit tests

def build(text: str, fidx: int = 0):
    program = load(text)
    return program, ssa.build_function(program, fidx)


def check_against_interpreter(text: str):
    ref = execute(text, REFERENCE)
    program = load(text)
    for pipeline in [(), LOOPS, O1 + LOOPS, ('licm',), ('iv',), ('iv', 'licm')]:
        assert_same(ref, run_ssa(program, pipeline), f'passes {pipeline}')


def only_loop(fn):
    loops = find_loops(fn)
    assert len(loops) == 1, loops
    return loops[0]


def loop_ops(loop) -> Counter:
    return Counter(i.op for b in loop.blocks for i in b.insts)


def counted(body: str, before: str = '', after: str = 'LLOAD 3\nPRINT\n', n: int = 10) -> str:
    """main with locals 0 (the counter, n down to 1), 1, 2 (set before), 3
    (an accumulator); body runs n times."""
    return (f'.memory 16\n.func main 0 6\nPUSH 6\nLSTORE 1\nPUSH 7\nLSTORE 2\n{before}'
            f'PUSH {n}\nLSTORE 0\ntop:\n{body}'
            'LLOAD 0\nPUSH 1\nSUB\nDUP\nLSTORE 0\nJNZ top\n'
            f'{after}HALT\n.end\n')


INVARIANT_BODY = 'LLOAD 3\nLLOAD 1\nLLOAD 2\nMUL\nPUSH 3\nADD\nADD\nLSTORE 3\n'


def test_an_invariant_expression_ends_up_in_the_preheader():
    text = counted(INVARIANT_BODY)
    _, fn = build(text)
    hoist_invariants(fn)
    ir.verify(fn)
    loop = only_loop(fn)
    assert loop_ops(loop)['mul'] == 0
    pre = Counter(i.op for i in loop.preheader.insts)
    assert pre['mul'] == 1 and pre['add'] == 1       # a*b + 3; the accumulation stays
    assert loop_ops(loop)['add'] == 1
    check_against_interpreter(text)


def test_a_loop_with_a_print_or_a_call_keeps_its_code():
    for extra in ('LLOAD 3\nPRINT\n', 'PUSH 1\nCALL g\nPOP\n', 'PUSH 65\nPRINTC\n'):
        text = counted(INVARIANT_BODY + extra).replace(
            '.end\n', '.end\n.func g 1 0\nLLOAD 0\nRET\n.end\n')
        _, fn = build(text)
        loop = only_loop(fn)
        before = loop_ops(loop)
        hoist_invariants(fn)
        reduce_strength(fn)
        assert loop_ops(only_loop(fn)) == before, extra
        check_against_interpreter(text)


def test_loads_move_only_when_nothing_in_the_loop_writes_memory():
    read = 'LLOAD 3\nLOAD 5\nADD\nLSTORE 3\n'
    text = counted(read, before='PUSH 9\nSTORE 5\n')
    _, fn = build(text)
    hoist_invariants(fn)
    assert loop_ops(only_loop(fn))['load'] == 0
    check_against_interpreter(text)
    for write in ('LLOAD 0\nSTORE 6\n', 'LLOAD 0\nPUSH 3\nAND\nLLOAD 0\nSTOREI\n'):
        text = counted(read + write, before='PUSH 9\nSTORE 5\n')
        _, fn = build(text)
        hoist_invariants(fn)
        assert loop_ops(only_loop(fn))['load'] == 1, write
        check_against_interpreter(text)


def test_a_division_moves_once_its_divisor_is_a_known_nonzero_constant():
    # local 1 is INT64_MIN, read from memory so that folding cannot see it
    text = counted('LLOAD 3\nLLOAD 1\nPUSH -1\nDIV\nADD\nLSTORE 3\n',
                   before=f'PUSH {-(1 << 63)}\nSTORE 7\nLOAD 7\nLSTORE 1\n')
    _, fn = build(text)
    hoist_invariants(fn)                 # the divisor is still a check in the loop
    assert loop_ops(only_loop(fn))['div'] == 1
    _, fn = build(text)
    optimize(fn, O1 + ('licm',))         # folding proved -1 nonzero: the check went
    loop = only_loop(fn)
    assert loop_ops(loop)['div'] == 0 and any(i.op == 'div' for i in loop.preheader.insts)
    check_against_interpreter(text)


def test_a_division_by_zero_the_loop_never_reaches_does_not_trap():
    # local 4 is 0 (from memory, unknown to folding); the division sits
    # behind a branch that is never taken
    text = counted('LLOAD 4\nJZ skip\nLLOAD 1\nLLOAD 4\nDIV\nLSTORE 3\nskip:\n',
                   before='LOAD 8\nLSTORE 4\n')
    _, fn = build(text)
    optimize(fn, O1 + LOOPS)
    assert loop_ops(only_loop(fn))['chkzero'] == 1
    check_against_interpreter(text)
    assert execute(text, REFERENCE).error is None


def test_a_header_entered_from_two_places_gets_a_preheader_with_the_phis():
    text = ('.func main 0 4\nPUSH 5\nLSTORE 1\nPUSH 1\nJZ other\nPUSH 10\nLSTORE 0\nJMP top\n'
            'other:\nPUSH 20\nLSTORE 0\n'
            'top:\nLLOAD 2\nLLOAD 0\nPUSH 3\nMUL\nADD\nLLOAD 1\nADD\nLSTORE 2\n'
            'LLOAD 0\nPUSH 1\nSUB\nDUP\nLSTORE 0\nJNZ top\nLLOAD 2\nPRINT\nHALT\n.end\n')
    _, fn = build(text)
    header = next(b for b in fn.blocks if len(b.preds) == 3)
    nblocks = len(fn.blocks)
    loop = only_loop(fn)
    ir.verify(fn)
    assert len(fn.blocks) == nblocks + 1
    pre = loop.preheader
    assert loop.header is header and pre.start is None and pre.succs == [header]
    assert [p for p in header.preds if p not in loop.blocks] == [pre] and len(pre.preds) == 2
    assert [phi.var for phi in pre.phis] == ['L0']        # L1 is one value on both edges: no phi
    assert format_block(pre).startswith(f'{pre}  <- ')      # printed with its preds
    assert find_loops(fn)[0].preheader is pre               # found again, not made again
    assert len(fn.blocks) == nblocks + 1
    check_against_interpreter(text)


def test_a_preheader_keeps_phi_operands_in_line_with_preds_in_any_order():
    """The header's preds reordered by hand (back edge first, entries after),
    as another builder might leave them: the phi operands must still follow
    the preds once the preheader merges the entries."""
    text = ('.func main 0 4\nPUSH 5\nLSTORE 1\nLLOAD 1\nPUSH 2\nLT\nJZ other\nPUSH 10\nLSTORE 0\n'
            'PUSH 1\nLSTORE 1\nJMP top\nother:\nPUSH 20\nLSTORE 0\n'
            'top:\nLLOAD 2\nLLOAD 0\nPUSH 3\nMUL\nADD\nLLOAD 1\nADD\nLSTORE 2\n'
            'LLOAD 0\nPUSH 1\nSUB\nDUP\nLSTORE 0\nJNZ top\nLLOAD 2\nPRINT\nHALT\n.end\n')
    ref = execute(text, REFERENCE)
    program = load(text)
    for rotation in range(3):
        funcs = ssa.build_program(program)
        fn = funcs[0]
        header = next(b for b in fn.blocks if len(b.preds) == 3)
        k = rotation
        header.preds = header.preds[k:] + header.preds[:k]
        for phi in header.phis:
            phi.args = phi.args[k:] + phi.args[:k]
        ir.verify(fn)
        optimize(fn, LOOPS)
        loop = only_loop(fn)
        assert header.preds.count(loop.preheader) == 1 and len(header.preds) == 2
        assert sorted(p.var for p in loop.preheader.phis) == ['L0', 'L1']
        assert_same(ref, evaluate.run(program, funcs), f'rotation {rotation}')


MATMUL = (ROOT / 'bytecode' / 'matmul.asm').read_text().replace('.const N 200', '.const N 12')


def test_loops_nest_and_come_innermost_first():
    _, fn = build(MATMUL)
    loops = find_loops(fn)
    ir.verify(fn)
    assert [lp.depth for lp in loops] == [3, 2, 2, 1, 1]
    dot = loops[0]
    assert dot.parent.depth == 2 and dot.parent.parent.depth == 1
    assert dot.latches == [dot.header]                  # one block: its own latch
    for lp in loops:
        assert lp.preheader not in lp.blocks and lp.preheader.succs == [lp.header]
        if lp.parent is not None:
            assert lp.blocks < lp.parent.blocks and lp.preheader in lp.parent.blocks


def test_the_multiplies_of_the_matrix_index_leave_the_inner_loop():
    _, fn = build(MATMUL)
    optimize(fn, O1)
    dot = find_loops(fn)[0]
    before = sum(len(b.insts) + len(b.phis) for b in dot.blocks)
    assert loop_ops(dot)['mul'] == 3                    # i*N, k*N, and A[..] * B[..]
    optimize(fn, LOOPS)
    dot = find_loops(fn)[0]
    after = sum(len(b.insts) + len(b.phis) for b in dot.blocks)
    muls = [i for b in dot.blocks for i in b.insts if i.op == 'mul']
    assert len(muls) == 1 and all(a.op == 'loadi' for a in muls[0].args)
    assert after <= before - 6, (before, after)
    assert any(p.var == 'iv' for p in dot.header.phis)
    check_against_interpreter(MATMUL)


UNKNOWN_5 = 'PUSH 1234567\nSTORE 9\nLOAD 9\nLSTORE 5\n'   # local 5, not a constant to folding


@pytest.mark.parametrize('term, step', [
    ('LLOAD 0\nPUSH 12\nMUL\n', 'counting down'),
    ('PUSH 12\nLLOAD 0\nMUL\n', 'constant first'),
    ('LLOAD 0\nPUSH 3\nSHL\n', 'shift'),
    ('LLOAD 0\nPUSH 67\nSHL\n', 'shift mod 64'),
    ('LLOAD 0\nLLOAD 5\nMUL\n', 'invariant factor'),
    ('LLOAD 0\nLLOAD 5\nSHL\n', 'invariant shift'),
    ('LLOAD 0\nPUSH 5\nADD\nPUSH 9\nMUL\nLLOAD 5\nSUB\n', '(i + 5) * 9 - b'),
    ('LLOAD 5\nLLOAD 0\nPUSH 4\nMUL\nSUB\nNEG\n', '-(b - 4i)'),
])
def test_a_multiply_by_the_counter_becomes_a_new_induction_variable(term, step):
    text = counted(f'LLOAD 3\n{term}ADD\nLSTORE 3\n', before=UNKNOWN_5)
    _, fn = build(text)
    optimize(fn, O1)
    assert loop_ops(only_loop(fn))['mul'] + loop_ops(only_loop(fn))['shl'] == 1
    reduce_strength(fn)
    ir.verify(fn)
    loop = only_loop(fn)
    assert loop_ops(loop)['mul'] + loop_ops(loop)['shl'] == 0, step
    assert [p.var for p in loop.header.phis].count('iv') == 1
    check_against_interpreter(text)


def test_induction_variables_wrap_exactly_like_int64():
    big = 0x5555555555555555
    body = f'LLOAD 3\nLLOAD 5\nPUSH {big}\nMUL\nXOR\nLSTORE 3\nLLOAD 5\nPUSH {(1 << 62) + 3}\nADD\nLSTORE 5\n'
    text = counted(body, before=f'PUSH {(1 << 63) - 7}\nLSTORE 5\n', n=40)
    _, fn = build(text)
    optimize(fn, O1 + LOOPS)
    assert loop_ops(only_loop(fn))['mul'] == 0
    check_against_interpreter(text)


def test_the_product_of_two_counters_is_not_affine_and_stays():
    text = counted('LLOAD 3\nLLOAD 0\nLLOAD 0\nMUL\nADD\nLSTORE 3\n')
    _, fn = build(text)
    optimize(fn, O1 + LOOPS)
    assert loop_ops(only_loop(fn))['mul'] == 1
    check_against_interpreter(text)


def test_an_op_the_passes_do_not_know_keeps_its_loop_as_it_is():
    _, fn = build(counted(INVARIANT_BODY + 'LLOAD 3\nLLOAD 0\nPUSH 8\nMUL\nADD\nLSTORE 3\n'))
    loop = only_loop(fn)
    block = loop.header
    block.insts.insert(0, fn.new_inst('frame', [], imm=()))
    block.insts[0].block = block
    before = str(fn)
    hoist_invariants(fn)
    reduce_strength(fn)
    assert str(fn) == before


def test_straight_line_code_is_left_alone():
    text = 'PUSH 6\nPUSH 7\nMUL\nPRINT\nHALT\n'
    _, fn = build(text)
    before = str(fn)
    assert find_loops(fn) == []
    assert str(hoist_invariants(reduce_strength(fn))) == before
