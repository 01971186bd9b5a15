"""x86-64 general registers: one object per name, with precomputed encoding bits.

Every field the encoder needs (low three bits, REX.R/X/B contributions, the
"needs a REX prefix" flag of spl/bpl/sil/dil) is computed once here so the
encode path only reads attributes.
"""

from __future__ import annotations

__all__ = ["Reg", "REGS", "GPR64", "GPR32", "GPR16", "GPR8", "RIP", "RIZ", "by_name"]

_NAMES64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
_NAMES32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] + \
           [f"r{i}d" for i in range(8, 16)]
_NAMES16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] + \
           [f"r{i}w" for i in range(8, 16)]
_NAMES8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"] + \
          [f"r{i}b" for i in range(8, 16)]


class Reg:
    """A general register of a given width (8, 16, 32 or 64 bits)."""

    __slots__ = ("name", "num", "size", "low", "reg_bits", "rex_r", "rex_x",
                 "rex_b", "force_rex", "w", "gp")

    def __init__(self, name: str, num: int, size: int):
        self.name = name
        self.num = num
        self.size = size
        self.low = num & 7
        self.reg_bits = (num & 7) << 3       # ModRM.reg field, pre-shifted
        hi = num >> 3 if num >= 0 else 0
        self.rex_r = hi << 2
        self.rex_x = hi << 1
        self.rex_b = hi
        # spl/bpl/sil/dil exist only with a REX prefix (without one, the same
        # numbers mean ah/ch/dh/bh, which asmkit does not provide).
        self.force_rex = size == 8 and 4 <= num <= 7
        self.w = 8 if size == 64 else 0      # REX.W contribution
        # Usable as an ALU/mov operand (8/32/64-bit general register).
        self.gp = size in (8, 32, 64) and num >= 0

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    def __reduce__(self):
        return (by_name, (self.name,))

    # Memory-expression sugar (qword[rax + rcx*4 + 8]): __add__, __radd__,
    # __sub__, __mul__ and __rmul__ are attached by operands.py, which
    # defines Mem on top of this module.


class NoIndex:
    """``riz``: the SIB byte's "no index" field (index=100 without REX.X).

    Not a register: it is valid only as the index of a memory operand, so it
    is not a ``Reg`` and every register slot refuses it.  ``[rax + riz*2]``
    is what Capstone prints for a SIB byte with no index; as an index it
    forces that SIB byte (with its scale bits), so the text assembles back
    to the same bytes."""

    __slots__ = ()
    name = "riz"
    size = 64

    def __repr__(self) -> str:
        return "riz"

    __str__ = __repr__

    def __reduce__(self):
        return "RIZ"

    # RIZ * 2 (an index term) is attached by operands.py, as for Reg.


RIZ = NoIndex()

GPR64 = [Reg(n, i, 64) for i, n in enumerate(_NAMES64)]
GPR32 = [Reg(n, i, 32) for i, n in enumerate(_NAMES32)]
GPR16 = [Reg(n, i, 16) for i, n in enumerate(_NAMES16)]
GPR8 = [Reg(n, i, 8) for i, n in enumerate(_NAMES8)]
RIP = Reg("rip", -1, 64)

REGS = {r.name: r for r in GPR64 + GPR32 + GPR16 + GPR8 + [RIP]}


def by_name(name: str) -> Reg:
    return REGS[name]


globals().update(REGS)
__all__ += list(REGS)
