"""The engines a random program is run on, and the comparison that says
whether they agree. Shared by tests/jit/test_differential.py and
tools/fuzz_jit.py, so a CI run and a long fuzz campaign check the same thing.

The interpreter is the reference. The others cover every way native code is
reached: everything compiled before it runs (threshold 0), mixed mode at a
low threshold (hot loops entered mid-run at their header, hot functions
called from the interpreter), mixed mode in a 4096-byte code cache (packed
by bytes: large groups evicted or left out, callees that do not fit hand
frames back to the interpreter),
and the very same bytes under Unicorn. The mixed-mode engines run with -v
so a caller can count the tier transitions they went through (the log is
not compared).
"""
from __future__ import annotations

from typing import Callable

from tests.support.backend_engines import (JIT0, JIT2_TINY, JIT3, JIT_DEFAULT, OPT_MODES,
                                           REFERENCE, build)
from vm.api import Outcome, RunConfig, execute

FIELDS = ('stdout', 'result', 'exit_code', 'phrase', 'offset', 'error')

# native: threshold 0, 3 (mixed mode) and 2 in a 4 KiB cache; under Unicorn,
# every backend at threshold 0, the default and 2 in a 4 KiB cache
ENGINES: dict[str, Callable[[], RunConfig]] = build(
    native_modes=(JIT0, JIT3, JIT2_TINY) + OPT_MODES,
    emulated_modes=(JIT0, JIT_DEFAULT, JIT2_TINY) + OPT_MODES)


def differences(ref: Outcome, got: Outcome) -> list[str]:
    """Every user-visible field where got differs from the reference."""
    return [f'{f}: interpreter {getattr(ref, f)!r}, engine {getattr(got, f)!r}'
            for f in FIELDS if getattr(ref, f) != getattr(got, f)]


def compare(source: str, engines: dict | None = None, filename: str = 'gen.asm'):
    """Run source on every engine. Returns ({engine: Outcome}, {engine: diffs})
    with only the engines that disagree with the reference in the second."""
    engines = engines or ENGINES
    outcomes = {name: execute(source, make(), filename) for name, make in engines.items()}
    ref = outcomes[REFERENCE]
    bad = {}
    for name, got in outcomes.items():
        diffs = differences(ref, got)
        if diffs:
            bad[name] = diffs
    return outcomes, bad


def transitions(outcome: Outcome) -> set[str]:
    """Which tier transitions a -v log shows."""
    kinds = {'hot loop': '[JIT] hot loop', 'hot function': '[JIT] hot function',
             'eviction': '[JIT] evicted', 'hand-back': '[JIT] fallback to the interpreter',
             'does not fit': 'does not fit'}
    return {kind for kind, marker in kinds.items() if marker in outcome.log}


def mnemonics(source: str) -> set[str]:
    """The instruction mnemonics a generated `.asm` text uses."""
    found = set()
    for line in source.splitlines():
        word = line.split(';')[0].strip().split(' ')[0]
        if word and not word.startswith('.') and not word.endswith(':'):
            found.add(word.upper())
    return found


def report(request, line: str) -> None:
    """A line (a count or a timing) for the summary at the end of the run,
    which reaches the terminal from xdist workers too (tests/support/summary.py);
    keyed by the text before its first ':'."""
    from tests.support import summary
    summary.line(summary.COUNTS, line.split(':')[0], line)
