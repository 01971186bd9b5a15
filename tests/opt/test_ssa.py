"""The SSA of backends/opt, run through its evaluator with and without the
passes, against the reference interpreter: every conformance case that
loads, and random programs from tests/support/progen.py with and without
traps. Stdout, result, exit code, error line, phrase and offset must be
the interpreter's. Then unit tests that each pass shrinks what it should.
"""
from __future__ import annotations

import functools
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from backends.opt import evaluate, ir, passes, ssa, tier
from tests.conformance.corpus import config_for, load_corpus, run_case, same_as_reference
from tests.support.progen import generate_from_seed, programs
from vm.api import RunConfig, execute, load
from vm.errors import VMError

REFERENCE = RunConfig(jit=False)
SEEDS = 300                     # per flavour: without and with traps
SINGLE_PASS_SEEDS = 40          # each pass alone, on the first seeds
ALL = passes.LEVELS[1]
PIPELINES = {'none': (), 'all': ALL}


def _loads(case) -> bool:
    try:
        load(*case.program_input())
        return True
    except VMError:
        return False


CASES = [c for c in load_corpus() if _loads(c)]


def optimize_checked(fn, pipeline):
    """Run the named passes (any of the tier's, tier.PASSES), verifying the
    SSA after each."""
    for name in pipeline:
        fn = tier.PASSES[name](fn)
        ir.verify(fn)
    return fn


def run_ssa(program, pipeline, config: RunConfig = REFERENCE):
    """Build (and optimize) every function, verifying the SSA after each
    step, then evaluate."""
    funcs = ssa.build_program(program)
    for f in funcs:
        ir.verify(f)
    funcs = [optimize_checked(f, pipeline) for f in funcs]
    return evaluate.run(program, funcs, max_call_depth=config.max_call_depth,
                        timeout=config.timeout)


def check_case(case, pipelines: dict, what: str = '') -> None:
    """A conformance case through each pipeline, as the interpreter runs it."""
    ref = run_case(case, REFERENCE)
    data, filename = case.program_input()
    program = load(data, filename)
    config = config_for(case, REFERENCE)
    for name, pipeline in pipelines.items():
        assert_same(ref, run_ssa(program, pipeline, config), f'{case.name} with {what}{name}')


def assert_same(ref, got, what):
    diff = same_as_reference(ref, got)
    assert not diff, f'{what}:\n  ' + '\n  '.join(diff)


# ------------------------------------------------------------------ conformance

def test_most_of_the_corpus_runs():
    assert len(CASES) >= 180


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_conformance_case(case):
    check_case(case, PIPELINES, 'passes ')


# ------------------------------------------------------------------ random programs

@functools.lru_cache(maxsize=None)
def reference(seed: int, traps: bool):
    text = generate_from_seed(seed, traps)
    return text, execute(text, REFERENCE)


@pytest.mark.parametrize('traps', [False, True], ids=['plain', 'traps'])
@pytest.mark.parametrize('seed', range(SEEDS))
def test_random_program(seed, traps):
    text, ref = reference(seed, traps)
    program = load(text)
    for name, pipeline in PIPELINES.items():
        assert_same(ref, run_ssa(program, pipeline), f'seed {seed} traps={traps} passes {name}')
    if seed < SINGLE_PASS_SEEDS:
        for name in ALL:
            assert_same(ref, run_ssa(program, (name,)), f'seed {seed} traps={traps} only {name}')


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(traps=True))
def test_random_program_shrinks_on_failure(text):
    """The same comparison through hypothesis, so a failure shrinks to a
    small program."""
    ref = execute(text, REFERENCE)
    program = load(text)
    for name, pipeline in PIPELINES.items():
        assert_same(ref, run_ssa(program, pipeline), f'passes {name}\n{text}')


def test_random_programs_cover_every_trap_and_shrink():
    phrases = Counter()
    before = after = 0
    for seed in range(SEEDS):
        for traps in (False, True):
            text, ref = reference(seed, traps)
            phrases[ref.phrase] += 1
            program = load(text)
            for f in ssa.build_program(program):
                before += f.count()
                after += passes.optimize(f).count()
    assert {'division by zero', 'memory address out of range', 'call stack overflow'} <= set(phrases)
    assert after < before * 0.9, (before, after)


# ------------------------------------------------------------------ the passes, one by one

def build(text: str, fidx: int = 0):
    program = load(text)
    return program, ssa.build_function(program, fidx)


def ops(fn) -> Counter:
    return Counter(i.op for i in fn.values())


def check_against_interpreter(text: str):
    """Every pipeline on this text gives the interpreter's Outcome."""
    ref = execute(text, REFERENCE)
    program = load(text)
    for pipeline in [(), ALL] + [(p,) for p in ALL]:
        assert_same(ref, run_ssa(program, pipeline), f'passes {pipeline}')


def test_constants_fold_arithmetic_and_dead_code_drops_the_operands():
    text = 'PUSH 6\nPUSH 7\nMUL\nPUSH 3\nSUB\nPRINT\nHALT\n'
    _, fn = build(text)
    n = fn.count()
    passes.fold_constants(fn)
    assert 'mul' not in ops(fn) and 'sub' not in ops(fn)
    passes.remove_dead(fn)
    assert fn.count() < n
    assert [i.imm for i in fn.values() if i.op == 'const'][0] == 39
    check_against_interpreter(text)


def test_constants_fold_a_branch_and_drop_the_block_never_taken():
    text = ('PUSH 1\nJNZ yes\nPUSH 111\nPRINT\nyes: PUSH 222\nPRINT\nHALT\n')
    _, fn = build(text)
    blocks = len(fn.blocks)
    passes.fold_constants(fn)
    assert 'br' not in ops(fn)
    assert len(fn.blocks) == blocks - 1
    assert 111 not in [i.imm for i in fn.values() if i.op == 'const']
    check_against_interpreter(text)


def test_constants_flow_through_loop_phis():
    # local 0 is 5 on every path round the loop: the phi folds, so does the add
    text = ('.func main 0 2\nPUSH 5\nLSTORE 0\nPUSH 3\nLSTORE 1\n'
            'top: LLOAD 0\nLSTORE 0\nLLOAD 0\nPUSH 1\nADD\nPRINT\n'
            'LLOAD 1\nPUSH 1\nSUB\nDUP\nLSTORE 1\nJNZ top\nHALT\n.end\n')
    _, fn = build(text)
    assert 'add' in ops(fn)
    passes.optimize(fn, ('constants', 'dead'), check=True)
    assert 'add' not in ops(fn)
    assert sum(1 for i in fn.values() if i.op == 'phi') == 1       # only the counter
    check_against_interpreter(text)


def test_a_known_divisor_drops_the_check_a_zero_one_keeps_it():
    _, fn = build('PUSH 7\nPUSH 2\nDIV\nPRINT\nHALT\n')
    passes.optimize(fn)
    assert 'chkzero' not in ops(fn) and 'div' not in ops(fn)
    zero = 'PUSH 5\nPRINT\nPUSH 7\nPUSH 0\nMOD\nPOP\nHALT\n'
    _, fn = build(zero)
    passes.optimize(fn)
    assert ops(fn)['chkzero'] == 1 and 'mod' not in ops(fn)         # the check stays, the value goes
    check_against_interpreter(zero)
    check_against_interpreter('PUSH -9223372036854775808\nPUSH -1\nDIV\nPRINT\n'
                              'PUSH -9223372036854775808\nPUSH -1\nMOD\nPRINT\nPUSH -7\nPUSH 2\nMOD\nHALT\n')


def test_addresses_inside_memory_drop_the_bounds_check_outside_keep_it():
    _, fn = build('.memory 8\nPUSH 3\nLOADI\nPRINT\nHALT\n')
    passes.optimize(fn)
    assert 'chkaddr' not in ops(fn)
    outside = '.memory 8\nPUSH 1\nPRINT\nPUSH 8\nLOADI\nPOP\nHALT\n'
    _, fn = build(outside)
    passes.optimize(fn)
    assert ops(fn)['chkaddr'] == 1
    check_against_interpreter(outside)


def test_copies_forward_identities_and_phis_left_with_one_value():
    text = ('.func main 0 1\nPUSH 9\nLSTORE 0\nLLOAD 0\nPUSH 0\nADD\nPUSH 1\nMUL\n'
            'PUSH 64\nSHL\nPUSH 0\nOR\nPRINT\nHALT\n.end\n')
    _, fn = build(text)
    passes.propagate_copies(fn)
    assert not {'add', 'mul', 'shl', 'or'} & set(ops(fn))
    check_against_interpreter(text)
    # after the constant branch goes, the join's phi has one operand: a copy
    join = ('.func main 0 1\nPUSH 0\nJZ a\nPUSH 1\nLSTORE 0\nJMP b\n'
            'a: LOAD 0\nLSTORE 0\nb: LLOAD 0\nPRINT\nHALT\n.end\n')
    _, fn = build(join)
    passes.fold_constants(fn)
    assert ops(fn)['phi'] == 1                   # L0, with the one operand left
    passes.propagate_copies(fn)
    assert 'phi' not in ops(fn)
    check_against_interpreter(join)


def test_dead_code_keeps_effects_and_traps():
    text = ('.memory 4\nLOAD 1\nPOP\nPUSH 1\nPUSH 2\nADD\nPOP\nPUSH 3\nLOADI\nPOP\n'
            'PUSH 2\nPUSH 5\nSTORE 0\nPRINT\nPUSH 1\nPUSH 0\nDIV\nPOP\nHALT\n')
    _, fn = build(text)
    passes.remove_dead(fn)
    o = ops(fn)
    assert 'load' not in o and 'add' not in o and 'loadi' not in o
    assert o['chkaddr'] == 1 and o['chkzero'] == 1 and o['store'] == 1 and o['print'] == 1
    check_against_interpreter(text)


def test_absorbing_operands_fold_whatever_the_other_one_is():
    text = '.memory 4\nLOAD 1\nPUSH 0\nMUL\nLOAD 2\nPUSH 0\nAND\nLOAD 3\nPUSH -1\nOR\nADD\nADD\nPRINT\nHALT\n'
    _, fn = build(text)
    passes.optimize(fn)
    assert not {'mul', 'and', 'or', 'add', 'load'} & set(ops(fn))
    check_against_interpreter(text)


def test_each_pass_is_switchable():
    text = 'PUSH 6\nPUSH 7\nMUL\nPUSH 0\nADD\nPRINT\nHALT\n'
    counts = {}
    for pipeline in [(), ('constants',), ('copies',), ('dead',), ALL]:
        _, fn = build(text)
        counts[pipeline] = passes.optimize(fn, pipeline, check=True).count()
    assert counts[()] == max(counts.values())
    assert counts[ALL] == min(counts.values()) < counts[('constants',)]
    assert counts[('copies',)] < counts[()]


# ------------------------------------------------------------------ construction, printer, verifier

def test_stack_values_and_locals_merge_through_phis():
    # a value left on the operand stack across a join, and a local set on two paths
    text = ('.func main 0 1\nPUSH 10\nLOAD 0\nJZ a\nPUSH 1\nLSTORE 0\nJMP b\n'
            'a: PUSH 2\nLSTORE 0\nb: LLOAD 0\nADD\nPRINT\nHALT\n.end\n')
    _, fn = build(text)
    phis = [p.var for p in fn.values() if p.op == 'phi']
    assert phis == ['L0']                 # the stack slot carries one value on both paths
    check_against_interpreter(text)


def test_every_instruction_carries_its_bytecode_offset():
    program, fn = build('PUSH 1\nPUSH 0\nDIV\nHALT\n')
    at = program.facts[0].at
    for ins in fn.values():
        if ins.pc is not None:
            assert ins.pc in at
    chk = next(i for i in fn.values() if i.op == 'chkzero')
    assert at[chk.pc].op.mnemonic == 'DIV'


def test_long_chains_of_joins_build_without_recursion():
    n = 1000
    lines = ['.func main 0 2', 'PUSH 1', 'LSTORE 0']
    for i in range(n):
        lines += ['LLOAD 0', f'JZ s{i}', 'LLOAD 0', 'PUSH 1', 'ADD', 'LSTORE 0', f's{i}:']
    lines += ['LLOAD 0', 'LLOAD 1', 'ADD', 'PRINT', 'HALT', '.end']
    text = '\n'.join(lines) + '\n'
    _, fn = build(text)
    assert len(fn.blocks) > 2 * n
    check_against_interpreter(text)


def test_printer_names_values_blocks_and_offsets():
    _, fn = build('.func main 0 1\ntop: LLOAD 0\nPUSH 1\nADD\nDUP\nLSTORE 0\n'
                  'PUSH 3\nLT\nJNZ top\nHALT\n.end\n')
    text = str(fn)
    assert text.startswith('func main')
    assert ' = phi L0 [' in text and '= add ' in text and '@' in text and 'br ' in text


def test_verifier_catches_a_broken_ssa():
    _, fn = build('PUSH 1\nPUSH 2\nADD\nPRINT\nHALT\n')
    ir.verify(fn)
    add = next(i for i in fn.values() if i.op == 'add')
    add.block.insts.remove(add)
    with pytest.raises(ir.IRError):
        ir.verify(fn)
