"""JITVM_TEST_ENGINES: which rows of an engines table a test run uses.

Why: inside the emulated arm64 root (tools/arm64_root.py) Python is ~10x
slower, and Unicorn engines there prove nothing the x86-64 host has not
already proved; only the natively executing engines are new evidence. The
engine tables (conformance corpus, random differential programs, tiering,
W^X) pass themselves through `filter_engines` so one variable selects rows
everywhere.

The value is a comma-separated list of words; an engine is kept when any
word matches it:
  all (or unset/empty)  every engine
  native                engines that run generated code on this CPU (jit, no emulate)
  emulated              engines that run generated code in Unicorn
  interp                engines without the JIT
  <engine name>         that row exactly
The reference engine is always kept: every other row is compared with it.
An unknown word is an error, so a typo never quietly drops engines.

tests/support/backend_engines.build passes every table it makes through
`selected`; a list of jit targets [(id, RunConfig options)] can go through
`selected_targets`.
"""
from __future__ import annotations

import os
from typing import Callable, Mapping, TypeVar

VARIABLE = 'JITVM_TEST_ENGINES'
KINDS = ('native', 'emulated', 'interp')
REFERENCE = 'interp'

T = TypeVar('T', bound=Callable)


def engine_kind(make: Callable) -> str:
    """'interp', 'native' or 'emulated', read from the RunConfig the row makes."""
    config = make()
    if not config.jit:
        return 'interp'
    return 'emulated' if config.emulate else 'native'


def filter_engines(engines: Mapping[str, T], reference: str = REFERENCE,
                   selection: str | None = None) -> dict[str, T]:
    """The rows of engines that selection (default: $JITVM_TEST_ENGINES) asks for, in order."""
    if selection is None:
        selection = os.environ.get(VARIABLE, '')
    words = {w.strip() for w in selection.split(',') if w.strip()}
    if not words or 'all' in words:
        return dict(engines)
    unknown = words - set(KINDS) - set(engines)
    if unknown:
        raise ValueError(f'{VARIABLE}: unknown word(s) {", ".join(sorted(unknown))}; '
                         f'use all, {", ".join(KINDS)} or engine names {", ".join(engines)}')
    return {name: make for name, make in engines.items()
            if name == reference or name in words or engine_kind(make) in words}


def selected(table: Mapping[str, T]) -> dict[str, T]:
    """The rows of an engines table (tests/support/backend_engines.build)
    that $JITVM_TEST_ENGINES asks for; the reference is 'interp'."""
    return filter_engines(table, REFERENCE)


def selected_targets(targets: list[tuple[str, dict]], selection: str | None = None) -> list[tuple[str, dict]]:
    """backend_engines.jit_targets() narrowed the same way: a target is
    'native' or 'emulated' by its `emulate` option, or named by its id."""
    if selection is None:
        selection = os.environ.get(VARIABLE, '')
    words = {w.strip() for w in selection.split(',') if w.strip()}
    if not words or 'all' in words:
        return list(targets)
    unknown = words - set(KINDS) - {t for t, _ in targets}
    if unknown:
        raise ValueError(f'{VARIABLE}: unknown word(s) {", ".join(sorted(unknown))}')
    return [(t, o) for t, o in targets
            if t in words or ('emulated' if o.get('emulate') else 'native') in words]
