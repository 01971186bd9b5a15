"""AArch64 general-purpose registers.

Register number 31 means two different things depending on the operand slot:
the stack pointer (``sp``/``wsp``) or the zero register (``xzr``/``wzr``).  The
two are distinct objects here so the encoder can refuse ``sp`` where only the
zero register is allowed and the reverse, instead of silently encoding 31.
"""

__all__ = ["Reg", "REGS", "by_name", "X", "W", "SP", "WSP", "XZR", "WZR", "FP", "LR"]


class Reg:
    """One register: its 5-bit number, its width and what number 31 means."""

    __slots__ = ("name", "num", "bits", "sf", "is_sp", "is_zr")

    def __init__(self, name, num, bits, is_sp=False, is_zr=False):
        self.name = name
        self.num = num
        self.bits = bits
        self.sf = 1 if bits == 64 else 0
        self.is_sp = is_sp
        self.is_zr = is_zr

    def __repr__(self):
        return self.name

    __str__ = __repr__

    @property
    def is_gp(self):
        """True for x0-x30 / w0-w30 (neither sp nor the zero register)."""
        return not (self.is_sp or self.is_zr)

    def as_bits(self, bits):
        """The same register number at another width (x3 <-> w3, sp <-> wsp)."""
        if bits == self.bits:
            return self
        if self.is_sp:
            return SP if bits == 64 else WSP
        if self.is_zr:
            return XZR if bits == 64 else WZR
        return X[self.num] if bits == 64 else W[self.num]


X = tuple(Reg(f"x{i}", i, 64) for i in range(31))
W = tuple(Reg(f"w{i}", i, 32) for i in range(31))
SP = Reg("sp", 31, 64, is_sp=True)
WSP = Reg("wsp", 31, 32, is_sp=True)
XZR = Reg("xzr", 31, 64, is_zr=True)
WZR = Reg("wzr", 31, 32, is_zr=True)
FP = X[29]
LR = X[30]

REGS = X + W + (SP, WSP, XZR, WZR)

by_name = {r.name: r for r in REGS}
by_name.update({"fp": FP, "lr": LR, "ip0": X[16], "ip1": X[17]})

# Module-level names x0..x30, w0..w30 for `from asmkit.aarch64.regs import *`.
for _r in X + W:
    globals()[_r.name.upper()] = _r
    __all__.append(_r.name.upper())
del _r
