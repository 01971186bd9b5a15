"""The AArch64 backend's Target table."""
from __future__ import annotations

from asmkit.aarch64 import Builder

from ..abi import NativeABI
from ..target import Target
from .emit import A64Emitter
from .regs import REGISTERS
from .runtime import SLOT, runtime_routines

TARGET = Target(
    name='aarch64',
    registers=REGISTERS,
    # each frame keeps x30 in a 16-byte slot (sp stays 16-aligned);
    # enter(state) is AAPCS64: x0 in, x0 out, return address in x30
    abi=NativeABI(return_slot=SLOT, arg_reg='x0', ret_reg='x0', sp_reg='sp', link_reg='x30'),
    emitter=A64Emitter,
    builder=Builder,
    runtime_routines=runtime_routines,
)
