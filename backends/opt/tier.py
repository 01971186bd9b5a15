"""The optimizing tier's driver: SSA of one function, the passes of a
level, machine code through the target's emitter.

Levels (`jitvm run --opt N`): 0 is the baseline tier alone; 1 adds the
optimizing tier with the scalar passes (constants, copies, dead code),
register allocation of every value, fused compares and rotated loops; 2
also keeps memory cells in registers and runs the loop passes (invariant
code motion, induction variables) and the arithmetic ones where they exist.
"""
from __future__ import annotations

from . import codegen, passes, ssa
from .loops import LOOP_PASSES
from .ranges import ARITH_PASSES

PASSES = dict(passes.PASSES)
PASSES.update(LOOP_PASSES)
PASSES.update(ARITH_PASSES)

LEVELS = {
    1: ('constants', 'copies', 'dead'),
    2: ('constants', 'copies', 'licm', 'iv', 'checks', 'divide', 'constants', 'copies', 'dead'),
}


def pipeline(level: int, names=None) -> tuple:
    return tuple(names) if names is not None else LEVELS[level]


def optimize(program, fidx: int, level: int = 2, names=None, check: bool = False):
    """The optimized SSA of function fidx (with OSR entry blocks)."""
    fn = ssa.build_function(program, fidx, osr=True, cells=level >= 2)
    for name in pipeline(level, names):
        fn = PASSES[name](fn)
        if check:
            from .ir import verify
            verify(fn)
    return fn


def compile_optimized(target, program, fidx: int, level: int = 2, names=None,
                      vstack_checks: bool = True):
    """CompiledCode for function fidx from the optimizing tier; raises
    codegen.CannotCompile when it cannot (the caller keeps the baseline)."""
    fn = optimize(program, fidx, level, names)
    return codegen.compile_function(target, program, fn, vstack_checks)
