"""The engines every conformance case runs on, built from the backend
registry (tests/support/backend_engines.py): the interpreter, the host's
backend natively at threshold 0, at the default threshold, at threshold 2
and at threshold 2 in a 4 KiB code cache, and every backend under Unicorn
at threshold 0, the default threshold and threshold 2 in a 4 KiB cache.
A case's `-- options` are applied on top.

`interp` is the reference: every other engine is also compared with it.
"""
from __future__ import annotations

from tests.support.backend_engines import (JIT0, JIT2, JIT2_TINY, JIT_DEFAULT, OPT_MODES,
                                           REFERENCE, build)

ENGINES = build(native_modes=(JIT0, JIT_DEFAULT, JIT2, JIT2_TINY) + OPT_MODES,
                emulated_modes=(JIT0, JIT_DEFAULT, JIT2_TINY) + OPT_MODES)
__all__ = ['ENGINES', 'REFERENCE']
