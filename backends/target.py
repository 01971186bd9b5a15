"""What every backend exports as `TARGET`, in the style of QBE's Target
table: a register description, the native contract (`abi.NativeABI`), the
emitter class that the shared lowering drives, and the runtime routines.

A new architecture is one folder `backends/<arch>/` with the same files as
the others: regs.py (register roles: a `Registers`), emit.py (a
`lowering.Lowering` subclass implementing the emit operations), runtime.py
(runtime_routines) and target.py (the `Target`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .abi import NativeABI


@dataclass(frozen=True)
class Registers:
    """Register roles of one backend.

    allocatable: hold operand-stack values between bytecode ops and, per
        function, register-promoted variables (the first max_promoted);
        in preference order.
    callee_saved: what enter saves for the host and exit restores.
    args / ret: the host calling convention (enter's state argument, the
        exit reason).
    print_value: where PRINT/PRINTC pass the value to the runtime routine.
    roles: the fixed roles (base, mem, state, budget, sp, and scratch
        registers the emitters use inside one bytecode op).
    """
    allocatable: tuple
    callee_saved: tuple
    args: tuple
    ret: object
    print_value: object
    roles: dict
    max_promoted: int


@dataclass(frozen=True)
class Target:
    name: str                       # 'x86_64', 'aarch64' (asmkit's arch names)
    registers: Registers
    abi: NativeABI
    emitter: type                   # a lowering.Lowering subclass
    builder: Callable               # () -> an asmkit Builder for this arch
    runtime_routines: Callable      # () -> (bytes, {routine name: offset}), names in abi.ROUTINES

    def compile_function(self, program, fidx: int, vstack_checks: bool = True,
                         counters: bool = False, listing: bool = False):
        """Lower one verified function to machine code (a
        lowering.CompiledCode). Without vstack_checks, calls do not test
        for value-stack room (for a VM whose value stack holds
        max_call_depth of the largest frames). With listing, the code also
        records where each bytecode instruction's code starts (pc_offsets)."""
        low = self.emitter(self, program, fidx, self.builder())
        low.vstack_checks = vstack_checks
        low.counters = counters
        low.listing = listing
        return low.lower()

    def compile_optimized(self, program, fidx: int, level: int = 2, passes=None,
                          vstack_checks: bool = True):
        """The optimizing tier's code for one function (backends/opt), the
        same kind of CompiledCode; raises opt.codegen.CannotCompile."""
        from .opt.tier import compile_optimized
        return compile_optimized(self, program, fidx, level, passes, vstack_checks)
