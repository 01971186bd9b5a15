"""asmkit for AArch64: Builder, text assembler and the oracle descriptors.

The oracle descriptors are constant *names*, resolved by asmkit.oracles only
when a proof, disassemble() or emulate() runs; the Builder and assembler are
imported on first use, so importing this package costs nothing.
"""

NAME = "aarch64"

CAPSTONE = ("CS_ARCH_ARM64", "CS_MODE_ARM")
KEYSTONE = ("KS_ARCH_ARM64", "KS_MODE_LITTLE_ENDIAN")
UNICORN = ("UC_ARCH_ARM64", "UC_MODE_ARM")
UNICORN_CONSTS = "unicorn.arm64_const"
UNICORN_REGS = {f"x{i}": f"UC_ARM64_REG_X{i}" for i in range(29)}
UNICORN_REGS.update({"x29": "UC_ARM64_REG_X29", "x30": "UC_ARM64_REG_X30",
                     "sp": "UC_ARM64_REG_SP", "pc": "UC_ARM64_REG_PC",
                     "nzcv": "UC_ARM64_REG_NZCV"})
PC_REG = "pc"
SP_REG = "sp"

__all__ = ["NAME", "Builder", "assemble", "CAPSTONE", "KEYSTONE", "UNICORN",
           "UNICORN_CONSTS", "UNICORN_REGS", "PC_REG", "SP_REG"]


def assemble(text, address=0):
    """The bytes of AArch64 program ``text`` placed at ``address``."""
    from .parse import assemble as _assemble
    return _assemble(text, address)


def __getattr__(name):
    if name == "Builder":
        from .encode import Builder
        return Builder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
