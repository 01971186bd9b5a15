"""The x86-64 backend's Target table."""
from __future__ import annotations

from asmkit.x86_64 import Builder

from ..abi import NativeABI
from ..target import Target
from .emit import X86Emitter
from .regs import REGISTERS
from .runtime import runtime_routines

TARGET = Target(
    name='x86_64',
    registers=REGISTERS,
    # `call` pushes an 8-byte return address; enter(state) is System V
    abi=NativeABI(return_slot=8, arg_reg='rdi', ret_reg='rax', sp_reg='rsp'),
    emitter=X86Emitter,
    builder=Builder,
    runtime_routines=runtime_routines,
)
