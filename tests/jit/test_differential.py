"""Random valid programs (tests/support/progen.py) on every engine of
tests/jit/diffengines.py: the interpreter, the native JIT at threshold 0,
mixed mode at a low threshold, mixed mode in a one-page code cache, and
x86-64 under Unicorn. Stdout, result, exit code, error line, phrase and
trap offset must be identical.

Two sources of programs, both counted:
* hypothesis (`programs()` strategy): failures shrink to a small program;
* plain seeds from a base seed chosen per run (set JITVM_DIFF_SEED to
  replay one): wider programs, and the run also proves coverage - every
  opcode, every trap, and every tier transition (hot loop, hot function,
  eviction, hand-back) happened at least once.

At least 1,000 programs per run (PROGRAMS); the totals are printed at the
end of the module.
"""
from __future__ import annotations

import os
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from tests.jit.diffengines import ENGINES, REFERENCE, compare, mnemonics, transitions
from tests.support.backend_engines import OPT_MODES
from tests.support import summary
from tests.support.progen import generate_from_seed, programs
from vm.opcodes import BY_NAME

PROGRAMS = {'hypothesis': 500, 'hypothesis_traps': 250, 'seeded': 600}
TRAP_SHARE = 3                 # every third seeded program may trap
COUNTS: Counter = Counter()


def base_seed() -> int:
    """JITVM_DIFF_SEED, else a new seed per run; under xdist it is derived
    from the run's uid, which every worker shares, so the summary line
    names the seed every worker used."""
    if os.environ.get('JITVM_DIFF_SEED'):
        return int(os.environ['JITVM_DIFF_SEED'])
    run = os.environ.get('PYTEST_XDIST_TESTRUNUID')
    if run:
        return random.Random(run).randrange(1 << 32)
    return random.SystemRandom().randrange(1 << 32)


BASE_SEED = base_seed()

common = dict(deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope='module', autouse=True)
def report_counts():
    """This process's counts; the summary adds up those of every xdist worker."""
    yield
    counts = {k: COUNTS[k] for k in PROGRAMS}
    counts.update(total=sum(counts.values()), trapped=COUNTS['trapped'])
    summary.record(summary.COUNTS, 'differential',
                   'differential: {total} random programs x {engines} engines ('
                   + ', '.join(f'{k} {{{k}}}' for k in PROGRAMS)
                   + '), {trapped} trapped; seeds from JITVM_DIFF_SEED={seed}',
                   counts, engines=len(ENGINES), seed=BASE_SEED)


def check(source: str, how: str):
    outcomes, bad = compare(source)
    COUNTS[how] += 1
    if outcomes[REFERENCE].exit_code == 1:
        COUNTS['trapped'] += 1
    assert not bad, (f'engines disagree with the interpreter ({how}):\n' +
                     '\n'.join(f'  {name}: {d}' for name, diffs in bad.items() for d in diffs) +
                     '\nprogram:\n' + source)
    return outcomes


def test_every_backend_is_compared_natively_and_emulated():
    from backends import engine_backends
    assert REFERENCE == 'interp'
    for backend, native in engine_backends():
        emulated = [n for n in ENGINES if n.endswith(f'-{backend}-emu')]
        assert len(emulated) == 3 + len(OPT_MODES), (backend, list(ENGINES))
        if native:
            assert len([n for n in ENGINES if n.endswith('-native')]) == 3 + len(OPT_MODES)
    assert sum(PROGRAMS.values()) >= 1000


@settings(max_examples=PROGRAMS['hypothesis'], **common)
@given(programs(traps=False))
def test_random_programs_agree(source):
    outcomes = check(source, 'hypothesis')
    assert outcomes[REFERENCE].exit_code == 0       # without traps every program ends


@settings(max_examples=PROGRAMS['hypothesis_traps'], **common)
@given(programs(traps=True))
def test_random_programs_with_traps_agree(source):
    check(source, 'hypothesis_traps')


def test_seeded_programs_agree_and_cover_everything():
    used, phrases, seen = set(), Counter(), Counter()
    for i in range(PROGRAMS['seeded']):
        seed = BASE_SEED + i
        source = generate_from_seed(seed, traps=i % TRAP_SHARE == 0)
        try:
            outcomes = check(source, 'seeded')
        except AssertionError as e:
            raise AssertionError(f'seed {seed} (traps={i % TRAP_SHARE == 0}); replay with '
                                 f'python tools/fuzz_jit.py --seed {seed} --count 1'
                                 f'{" --traps 100" if i % TRAP_SHARE == 0 else " --traps 0"}'
                                 f'\n{e}') from None
        used |= mnemonics(source)
        phrases[outcomes[REFERENCE].phrase] += 1
        for name, got in outcomes.items():
            seen.update(transitions(got))
    assert used >= set(BY_NAME), f'opcodes never generated: {sorted(set(BY_NAME) - used)}'
    for phrase in ('division by zero', 'memory address out of range', 'call stack overflow'):
        assert phrases[phrase], f'no program trapped with {phrase!r}: {phrases}'
    # random programs (one main reaching everything) seldom evict now that
    # regions are packed by bytes and a group never evicts its own members;
    # hot groups that cannot share the tiny cache make every engine table
    # go through evictions too
    for got in check(independent_groups(), 'seeded').values():
        seen.update(transitions(got))
    for kind in ('hot loop', 'hot function', 'eviction', 'hand-back'):
        assert seen[kind], f'no program went through a {kind}: {seen}'


def independent_groups(groups: int = 3, size: int = 200) -> str:
    """main runs `groups` drivers twice each; each driver's hot loop calls
    its own worker of `size` operations: groups that share no function, two
    of which do not fit a 4 KiB cache together."""
    lines = ['.func main']
    for k in list(range(groups)) * 2:
        lines += [f'    CALL driver{k}', '    PRINT']
    lines += ['    PUSH 0', '    RET', '.end']
    for k in range(groups):
        lines += [f'.func driver{k} 0 2', '    PUSH 12', '    LSTORE 0', 'top:', '    LLOAD 1',
                  '    LLOAD 0', f'    CALL work{k}', '    ADD', '    LSTORE 1', '    LLOAD 0',
                  '    PUSH 1', '    SUB', '    DUP', '    LSTORE 0', '    JNZ top', '    LLOAD 1',
                  '    RET', '.end', f'.func work{k} 1', '    LLOAD 0']
        for i in range(size):
            lines += [f'    PUSH {i * 131 + k}', '    MUL' if i % 3 == 0 else '    XOR']
        lines += ['    RET', '.end']
    return '\n'.join(lines) + '\n'
