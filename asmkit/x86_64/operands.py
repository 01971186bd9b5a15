"""x86-64 memory operands and immediate ranges.

``Mem`` is ``[base + index*scale + disp]`` (or ``[rip + disp]``, or
``[rip + label]``) with an optional access size.  Its ModRM/SIB/displacement
bytes are computed once, on first use, and reused by every instruction that
takes it.  Build one directly (``Mem(rdi, disp=16, size=64)``), with the
helpers (``qword(rdi, 16)``, ``mem(base, index, scale, disp)``) or with the
bracket sugar ``qword[rdi + rcx*8 + 16]``.
"""

from __future__ import annotations

import struct

from ..buffer import AsmError, Label
from .regs import RIP, RIZ, NoIndex, Reg

__all__ = ["Mem", "mem", "byte", "word", "dword", "qword", "ptr", "SIZE_NAMES",
           "fits_i8", "fits_i32", "INT32_MIN", "INT32_MAX"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
SIZE_NAMES = {8: "byte", 16: "word", 32: "dword", 64: "qword"}
_SCALE_BITS = {1: 0, 2: 0x40, 4: 0x80, 8: 0xC0}
_SAME = object()      # "keep this field" in Mem._copy


def fits_i8(v: int) -> bool:
    return -128 <= v <= 127


def fits_i32(v: int) -> bool:
    return INT32_MIN <= v <= INT32_MAX


class Mem:
    """A memory operand.  ``size`` is in bits (8/16/32/64) or None when an
    instruction's register operand decides it.

    A Mem is a value that is never changed after it is made (its encoding is
    cached in it, and the Builder memoises instructions by operand
    identity), so it compares and hashes by identity: reuse one object for
    an operand you emit often."""

    __slots__ = ("base", "index", "scale", "disp", "size", "label", "_enc")

    def __init__(self, base: Reg | None = None, index: Reg | None = None,
                 scale: int = 1, disp: int = 0, size: int | None = None,
                 label: Label | None = None):
        self.base = base
        self.index = index
        self.scale = scale
        self.disp = disp
        self.size = size
        self.label = label
        self._enc = None

    # -- sugar: rax + 8, rax + rcx*4, (rax + rcx*4) + 8, rip + label
    @classmethod
    def of(cls, reg: Reg) -> "Mem":
        return cls(reg, None, 1, 0)

    def _copy(self, base=_SAME, index=_SAME, scale=_SAME, disp=_SAME,
              size=_SAME, label=_SAME) -> "Mem":
        return Mem(self.base if base is _SAME else base,
                   self.index if index is _SAME else index,
                   self.scale if scale is _SAME else scale,
                   self.disp if disp is _SAME else disp,
                   self.size if size is _SAME else size,
                   self.label if label is _SAME else label)

    def __add__(self, other):
        if other.__class__ is int:
            return Mem(self.base, self.index, self.scale, self.disp + other,
                       self.size, self.label)
        if isinstance(other, int) and not isinstance(other, bool):
            return self._copy(disp=self.disp + other)
        if isinstance(other, Reg):
            if self.index is None and self.base is not None:
                return self._copy(index=other, scale=1)
            if self.base is None:
                return self._copy(base=other)
        if isinstance(other, Mem) and other.base is None and other.label is None:
            if self.index is None:
                return self._copy(index=other.index, scale=other.scale,
                                  disp=self.disp + other.disp)
        if isinstance(other, Label) and self.base is RIP and self.label is None:
            return self._copy(label=other)
        raise AsmError(f"cannot add {other!r} to memory operand {self}")

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, int) and not isinstance(other, bool):
            return self._copy(disp=self.disp - other)
        raise AsmError(f"cannot subtract {other!r} from memory operand {self}")

    # -- encoding
    def encoding(self):
        """(rex X|B bits, ModRM without reg field, SIB+disp bytes, disp offset
        within those bytes for a rip+label fixup, else -1)."""
        enc = self._enc
        if enc is None:
            enc = self._enc = _encode_mem(self)
        return enc

    def with_size(self, size: int) -> "Mem":
        return self._copy(size=size)

    def key(self) -> tuple:
        """The operand's value, for comparing two Mems by what they mean."""
        return (self.base, self.index, self.scale, self.disp, self.size,
                self.label)

    def address_text(self) -> str:
        parts = []
        if self.base is not None:
            parts.append(self.base.name)
        if self.index is not None:
            parts.append(f"{self.index.name}*{self.scale}")
        text = " + ".join(parts)
        if self.label is not None:
            text += f" + {self.label.name}"
        d = self.disp
        if not parts:
            text = f"{d:#x}" if d >= 0 else f"-{-d:#x}"
        elif d > 0:
            text += f" + {d:#x}"
        elif d < 0:
            text += f" - {-d:#x}"
        return f"[{text}]"

    def __str__(self) -> str:
        if self.size is None:
            return self.address_text()
        return f"{SIZE_NAMES[self.size]} ptr {self.address_text()}"

    __repr__ = __str__


# (base, index, scale) -> (rex X|B, ModRM without mod/reg, SIB byte or b"",
# needs a displacement even when it is 0 (base rbp/r13)).  Filled by the
# checked path for combinations it accepted, so a hit needs no checks.
_LAYOUTS: dict = {}
_BASE_LAYOUTS: dict = {}      # the same for [base + disp]: base -> layout
_DISP8 = [bytes((d,)) for d in range(256)]
_I32 = struct.Struct("<i").pack


def _encode_mem(m: Mem):
    """The encoding tuple of ``Mem.encoding()``: a table lookup for an
    operand whose registers were seen before, else the checked path."""
    disp = m.disp
    if m.label is None and -0x80000000 <= disp <= 0x7FFFFFFF:
        if m.index is None and m.scale == 1:
            layout = _BASE_LAYOUTS.get(m.base)
        else:
            layout = _LAYOUTS.get((m.base, m.index, m.scale))
        if layout is not None:
            rex, rm, sib, needs_disp = layout
            if disp == 0 and not needs_disp:
                return rex, rm, sib, -1
            if -128 <= disp <= 127:
                return rex, 0x40 | rm, sib + _DISP8[disp & 0xFF], -1
            return rex, 0x80 | rm, sib + _I32(disp), -1
    return _encode_mem_checked(m)


def _encode_mem_checked(m: Mem):
    base, index, scale, disp = m.base, m.index, m.scale, m.disp
    if 0xFFFFFFFF80000000 <= disp <= 0xFFFFFFFFFFFFFFFF:
        disp -= 1 << 64       # the 64-bit spelling Capstone prints for [-x]
    if scale not in _SCALE_BITS:
        raise AsmError(f"memory operand {m}: scale {scale} is not 1, 2, 4 or 8")
    if not fits_i32(disp):
        hint = ("; only movabs al/eax/rax takes a 64-bit absolute address"
                if base is None and index is None else "")
        raise AsmError(f"memory operand {m}: displacement {disp:#x} does not "
                       f"fit a signed 32-bit field{hint}")
    if base is RIZ:
        raise AsmError(f"memory operand {m}: riz cannot be a base register "
                       f"(it means 'no index')")
    if index is RIZ:
        return _encode_no_index(m, base, scale, disp)
    for r, what in ((base, "base"), (index, "index")):
        if r is not None and (r.size != 64 or (r is RIP and what == "index")):
            raise AsmError(f"memory operand {m}: {r.name} cannot be a {what} "
                           f"register (64-bit general registers only)")
    key = (base, index, scale)
    if index is not None and index.num == 4:
        # [x + rsp] means [rsp + x]; rsp itself cannot be an index.
        if scale == 1 and base is not None and base is not RIP and base.num != 4:
            base, index = index, base
        else:
            raise AsmError(f"memory operand {m}: rsp cannot be an index register")
    d32 = (disp & 0xFFFFFFFF).to_bytes(4, "little")
    if base is RIP:
        if index is not None:
            raise AsmError(f"memory operand {m}: rip-relative takes no index")
        return 0, 0x05, d32, 0
    if m.label is not None:
        raise AsmError(f"memory operand {m}: a label needs rip as base")
    if base is None:
        # No base: SIB with base=101 and mod=00 means disp32 only.
        idx = index.low << 3 if index is not None else 0x20
        rex = index.rex_x if index is not None else 0
        return rex, 0x04, bytes((_SCALE_BITS[scale] | idx | 5,)) + d32, -1
    rex = base.rex_b
    if index is None and base.low != 4:   # rsp/r12 need a SIB byte
        rm, sib = base.low, b""
    else:
        idx = 0x20 if index is None else index.low << 3
        if index is not None:
            rex |= index.rex_x
        rm, sib = 4, bytes((_SCALE_BITS[scale] | idx | base.low,))
    needs_disp = base.low == 5            # rbp/r13 need a displacement
    _LAYOUTS[key] = (rex, rm, sib, needs_disp)
    if index is None and scale == 1:
        _BASE_LAYOUTS[base] = _LAYOUTS[key]
    if disp == 0 and not needs_disp:
        return rex, rm, sib, -1
    if fits_i8(disp):
        return rex, 0x40 | rm, sib + bytes((disp & 0xFF,)), -1
    return rex, 0x80 | rm, sib + d32, -1


def _encode_no_index(m: Mem, base, scale, disp):
    """``[base + riz*scale + disp]``: a SIB byte with index=100 ("none") and
    the given scale, the bytes Capstone prints that way."""
    d32 = (disp & 0xFFFFFFFF).to_bytes(4, "little")
    if base is None:
        return 0, 0x04, bytes((_SCALE_BITS[scale] | 0x20 | 5,)) + d32, -1
    if base is RIP or base.__class__ is not Reg or base.size != 64:
        raise AsmError(f"memory operand {m}: {base} cannot be a base with riz "
                       f"(64-bit general registers only)")
    if disp == 0 and base.low != 5:
        mod, tail = 0x00, b""
    elif fits_i8(disp):
        mod, tail = 0x40, bytes((disp & 0xFF,))
    else:
        mod, tail = 0x80, d32
    sib = _SCALE_BITS[scale] | 0x20 | base.low
    return base.rex_b, mod | 4, bytes((sib,)) + tail, -1


class _Sized:
    """``qword[rax + 8]`` or ``qword(rax, 8)`` builds a sized Mem."""

    __slots__ = ("size",)

    def __init__(self, size):
        self.size = size

    def __getitem__(self, addr) -> Mem:
        if addr.__class__ is Mem:
            return Mem(addr.base, addr.index, addr.scale, addr.disp, self.size,
                       addr.label)
        return _as_mem(addr, self.size)

    def __call__(self, base=None, disp=0, index=None, scale=1, label=None) -> Mem:
        return Mem(base, index, scale, disp, self.size, label)

    def __repr__(self):
        return SIZE_NAMES.get(self.size, "ptr")


def _as_mem(addr, size) -> Mem:
    if isinstance(addr, Mem):
        return addr._copy(size=size)
    if isinstance(addr, Reg):
        return Mem(addr, None, 1, 0, size)
    if isinstance(addr, int):
        return Mem(None, None, 1, addr, size)
    raise AsmError(f"not a memory address: {addr!r}")


byte, word, dword, qword = _Sized(8), _Sized(16), _Sized(32), _Sized(64)
ptr = _Sized(None)


def mem(base=None, index=None, scale=1, disp=0, size=None, label=None) -> Mem:
    return Mem(base, index, scale, disp, size, label)


# ------------------------------------------------ register sugar for Mem
def _reg_add(reg, other):
    """rax + 8, rax + rcx, rax + rcx*8, rip + label."""
    if other.__class__ is int:
        return Mem(reg, None, 1, other)
    return Mem(reg, None, 1, 0) + other


def _reg_sub(reg, other):
    if other.__class__ is int:
        return Mem(reg, None, 1, -other)
    return Mem(reg, None, 1, 0) - other


def _reg_mul(reg, scale):
    """rcx*8 (an index term)."""
    return Mem(None, reg, scale, 0)


NoIndex.__mul__ = NoIndex.__rmul__ = _reg_mul
Reg.__add__ = Reg.__radd__ = _reg_add
Reg.__sub__ = _reg_sub
Reg.__mul__ = Reg.__rmul__ = _reg_mul
