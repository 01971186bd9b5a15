"""The interface every backend exports as `TARGET` (QBE's Target table):
one object per architecture naming its lowering, its runtime routines and
how to run its code under Unicorn."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Target:
    name: str                       # 'x86_64', 'aarch64' (asmkit's arch names)
    compile_function: Callable      # (program, fidx, vstack_checks=True) -> lowering.CompiledCode
    runtime_routines: Callable      # () -> (bytes, {routine name: offset})
    # Unicorn: register names for the entry argument, stack pointer, return
    # value and the return-address convention of the entry routine
    arg_reg: str
    sp_reg: str
    ret_reg: str
    link_reg: str | None = None     # None: return address pushed on the stack
