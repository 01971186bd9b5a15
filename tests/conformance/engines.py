"""The engines every conformance case runs on.

Each entry maps a name to a factory of the RunConfig that selects the engine;
a case's `-- options` are applied on top. A new engine (the native JIT at
threshold 0 or at the default threshold, a backend under Unicorn) joins the
whole corpus by adding one line here, e.g.

    'jit0': lambda: RunConfig(jit=True, jit_threshold=0),
    'x86_64-emu': lambda: RunConfig(jit=True, jit_threshold=0, backend='x86_64', emulate=True),

`interp` is the reference: every other engine is also compared with it.
"""
from __future__ import annotations

from typing import Callable

from vm.api import RunConfig

REFERENCE = 'interp'

ENGINES: dict[str, Callable[[], RunConfig]] = {
    'interp': lambda: RunConfig(jit=False),
    'jit0-native': lambda: RunConfig(jit=True, jit_threshold=0, backend='x86_64'),
    'jit-native': lambda: RunConfig(jit=True, backend='x86_64'),
    # threshold 2: every loop and call switches tier mid-run, both ways
    'jit2-native': lambda: RunConfig(jit=True, jit_threshold=2, backend='x86_64'),
    'jit0-x86_64-emu': lambda: RunConfig(jit=True, jit_threshold=0, backend='x86_64', emulate=True),
}
