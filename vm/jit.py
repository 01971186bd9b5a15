"""Tiering policy: when to compile, where to enter native code, and what to
do with what native code hands back."""
from __future__ import annotations


def make_jit(program, config, log):
    """The JIT for this run, or None when there is no backend to use."""
    from backends import select_backend
    target = select_backend(config.backend)
    if target is None:
        if config.verbose and log is not None:
            print('[JIT] no backend for this host: running the interpreter', file=log)
        return None
    from .tiering import Tiering
    return Tiering(program, config, log, target)
