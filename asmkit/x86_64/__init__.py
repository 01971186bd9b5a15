"""asmkit for x86-64: registers, memory operands, the Builder, the text
assembler and the oracle descriptors (constant names, resolved lazily)."""

from __future__ import annotations

from .encode import CC_NAMES, CONDITIONS, Builder
from .operands import Mem, byte, dword, mem, ptr, qword, word
from .regs import REGS, RIP, Reg

NAME = "x86_64"

# Oracle descriptors: names of constants in keystone / capstone / unicorn.
KEYSTONE = ("KS_ARCH_X86", "KS_MODE_64")
CAPSTONE = ("CS_ARCH_X86", "CS_MODE_64")
UNICORN = ("UC_ARCH_X86", "UC_MODE_64")
UNICORN_CONSTS = "unicorn.x86_const"
UNICORN_REGS = {name: f"UC_X86_REG_{name.upper()}" for name in
                ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"]}
UNICORN_REGS["rflags"] = "UC_X86_REG_EFLAGS"
PC_REG = "rip"
SP_REG = "rsp"
FLAGS_REG = "rflags"


def assemble(text: str, address: int = 0) -> bytes:
    """Assemble Intel-syntax ``text`` as if placed at ``address``."""
    from .parse import assemble as _assemble
    return _assemble(text, address)


def __getattr__(name):
    if name in REGS:
        return REGS[name]
    raise AttributeError(name)


__all__ = ["NAME", "Builder", "assemble", "Mem", "Reg", "RIP", "REGS", "mem",
           "byte", "word", "dword", "qword", "ptr", "CONDITIONS", "CC_NAMES",
           "KEYSTONE", "CAPSTONE", "UNICORN", "UNICORN_CONSTS", "UNICORN_REGS",
           "PC_REG", "SP_REG", "FLAGS_REG"]
