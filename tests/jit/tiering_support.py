"""Small helpers for the tiering, code-cache and limits tests: run a
program on the interpreter and on a JIT configuration, and read the
numbers the `--stats` summary prints."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from vm.api import Outcome, RunConfig, execute

from .diffengines import differences

ROOT = Path(__file__).resolve().parents[2]
# backend / emulate for jit(); the `jit_target` fixture (conftest.py) sets it
TARGET = {'backend': 'auto', 'emulate': False}


def interp(source: str, **options) -> Outcome:
    """The reference; options that change meaning (max_call_depth) apply."""
    return execute(source, RunConfig(jit=False, **options), 'prog.asm')


def jit(source: str, **options) -> Outcome:
    for key, value in TARGET.items():
        options.setdefault(key, value)
    options.setdefault('verbose', True)
    options.setdefault('stats', True)
    return execute(source, RunConfig(jit=True, **options), 'prog.asm')


def same_as_interp(source: str, **options) -> Outcome:
    """Run with the JIT, assert it matches the interpreter, return it."""
    semantic = {k: options[k] for k in ('max_call_depth',) if k in options}
    ref, got = interp(source, **semantic), jit(source, **options)
    diffs = differences(ref, got)
    assert not diffs, f'{options}: ' + '; '.join(diffs) + '\n' + got.log
    return got


def stats(log: str) -> dict[str, int]:
    """The counters of the `[JIT stats]` summary."""
    numbers = {}
    for key, pattern in (('functions', r'compiled regions: (\d+) functions'),
                         ('live_regions', r'(\d+) regions live'),
                         ('evicted', r'(\d+) evicted'),
                         ('entries', r'(\d+) native entries'),
                         ('handbacks', r'(\d+) hand-backs'),
                         ('ops', r'compile time: [\d.]+ ms for (\d+) ops')):
        m = re.search(pattern, log)
        assert m, f'no {key!r} in the stats summary:\n{log}'
        numbers[key] = int(m.group(1))
    return numbers


def jitvm(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """The `jitvm` command line in a child process."""
    return subprocess.run([sys.executable, '-m', 'vm.cli', *args], capture_output=True,
                          timeout=timeout, cwd=ROOT, **kw)
