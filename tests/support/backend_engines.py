"""Engine tables built from the backend registry: every test that runs a
program on "every engine" (conformance corpus, random differential
programs, fuzz campaigns) gets its engines here, so a new backend joins
them all by being registered, with no architecture named in a test.

An engine is a name and a factory of the RunConfig that selects it. For
each backend with a code generator there are native engines when it is the
host's architecture and Unicorn engines (`--emulate`) on any host, one per
threshold *mode*; the interpreter is always the reference.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from vm.api import RunConfig

REFERENCE = 'interp'


@dataclasses.dataclass(frozen=True)
class Mode:
    """A way of reaching compiled code: its threshold, cache size and
    whether to keep the -v log (to count tier transitions)."""
    name: str
    jit_threshold: int = 1000
    code_cache: int = 1 << 20
    verbose: bool = False
    opt: int = 0              # the optimizing tier's level (0: baseline only)


# everything compiled first; the default threshold (mostly interpreted,
# hot loops compiled); threshold 2 in a 4 KiB cache (every loop and call
# switches tier; regions are packed by bytes, so big groups are evicted or
# left out, and callees that do not fit hand frames back)
JIT0 = Mode('jit0', 0)
JIT_DEFAULT = Mode('jit', 1000)
JIT2_TINY = Mode('jit2-tiny-cache', 2, 4096, True)
JIT2 = Mode('jit2', 2)
JIT3 = Mode('jit3', 3, verbose=True)
# the optimizing tier: everything optimized first (level 1 and 2), and
# mixed mode at threshold 2, where baseline code counts towards the second
# threshold (10x) and tiers up mid-loop and mid-recursion
OPT1_JIT0 = Mode('o1-jit0', 0, opt=1)
OPT2_JIT0 = Mode('o2-jit0', 0, opt=2)
OPT2_JIT2 = Mode('o2-jit2', 2, opt=2, verbose=True)
OPT1_JIT2_TINY = Mode('o1-jit2-tiny-cache', 2, 4096, True, opt=1)
OPT_MODES = (OPT1_JIT0, OPT2_JIT0, OPT2_JIT2, OPT1_JIT2_TINY)


def engine_name(mode: Mode, backend: str, native: bool) -> str:
    return f'{mode.name}-native' if native else f'{mode.name}-{backend}-emu'


def build(native_modes, emulated_modes) -> dict[str, Callable[[], RunConfig]]:
    """{engine name: RunConfig factory}: the interpreter, the native modes
    for the host's backend, and the emulated modes for every backend."""
    from backends import engine_backends
    from .engine_filter import selected
    table: dict[str, Callable[[], RunConfig]] = {REFERENCE: lambda: RunConfig(jit=False)}
    for backend, native in engine_backends():
        runs = [(m, False) for m in emulated_modes]
        if native:
            runs = [(m, True) for m in native_modes] + runs
        for mode, natively in runs:
            def make(mode=mode, backend=backend, natively=natively):
                return RunConfig(jit=True, jit_threshold=mode.jit_threshold, backend=backend,
                                 emulate=not natively, code_cache=mode.code_cache,
                                 verbose=mode.verbose, opt=mode.opt)
            table[engine_name(mode, backend, natively)] = make
    return selected(table)


def jit_targets() -> list[tuple[str, dict]]:
    """[(id, RunConfig options)] for tests that run one program shape per
    way of executing compiled code (tiering, code cache, limits, W^X):
    'native' for the host's backend, '<arch>-emu' for every backend."""
    from backends import engine_backends
    found = engine_backends()
    targets = [('native', {'backend': b, 'emulate': False}) for b, native in found if native]
    targets += [(f'{b}-emu', {'backend': b, 'emulate': True}) for b, _ in found]
    from .engine_filter import selected_targets
    return selected_targets(targets)


def cli_args(options: dict) -> list[str]:
    """The `jitvm run` options selecting a jit_targets() entry."""
    return ['--backend', options['backend']] + (['--emulate'] if options['emulate'] else [])
