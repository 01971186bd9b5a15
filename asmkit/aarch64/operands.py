"""AArch64 operands: shifted/extended registers, memory forms, conditions and
immediates that refuse, at construction, any value the field cannot hold.

An immediate object that exists is encodable; the encoder never truncates.
"""

from .regs import Reg

__all__ = [
    "OperandError", "COND", "COND_NAMES", "invert_cond", "SHIFTS", "EXTENDS",
    "ShiftedReg", "ExtendedReg", "shifted", "extended",
    "Imm12", "BitmaskImm", "encode_bitmask", "decode_bitmask", "MoveWide",
    "ScaledOffset", "UnscaledOffset", "PairOffset",
    "Mem", "RegOffset", "mem", "pre", "post",
    "BRANCH_KINDS", "check_branch",
]


class OperandError(ValueError):
    """An operand that this instruction form cannot encode."""


# ---- conditions ---------------------------------------------------------

COND_NAMES = ("eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
              "hi", "ls", "ge", "lt", "gt", "le", "al", "nv")
COND = {name: i for i, name in enumerate(COND_NAMES)}
COND.update({"cs": 2, "cc": 3})


def cond_code(cond):
    """Condition name or number -> 4-bit code."""
    if isinstance(cond, int) and 0 <= cond < 16:
        return cond
    try:
        return COND[cond.lower()]
    except (KeyError, AttributeError):
        raise OperandError(f"unknown condition {cond!r}") from None


def invert_cond(code):
    """The opposite condition (eq <-> ne, ...)."""
    return code ^ 1


# ---- shifted and extended registers -------------------------------------

SHIFTS = {"lsl": 0, "lsr": 1, "asr": 2, "ror": 3}
EXTENDS = {"uxtb": 0, "uxth": 1, "uxtw": 2, "uxtx": 3,
           "sxtb": 4, "sxth": 5, "sxtw": 6, "sxtx": 7}


class ShiftedReg:
    """``Rm, <shift> #amount`` for the shifted-register ALU forms."""

    __slots__ = ("reg", "shift", "amount")

    def __init__(self, reg, shift="lsl", amount=0):
        if not isinstance(reg, Reg):
            raise OperandError(f"shifted operand needs a register, not {reg!r}")
        try:
            self.shift = SHIFTS[shift]
        except KeyError:
            raise OperandError(f"unknown shift {shift!r}") from None
        if not 0 <= amount < reg.bits:
            raise OperandError(f"shift amount {amount} out of range 0..{reg.bits - 1}")
        self.reg, self.amount = reg, amount

    def __repr__(self):
        return f"{self.reg}, {tuple(SHIFTS)[self.shift]} #{self.amount}"


class ExtendedReg:
    """``Rm, <extend> #amount`` for the extended-register add/sub forms."""

    __slots__ = ("reg", "extend", "amount")

    def __init__(self, reg, extend, amount=0):
        if not isinstance(reg, Reg):
            raise OperandError(f"extended operand needs a register, not {reg!r}")
        try:
            self.extend = EXTENDS[extend]
        except KeyError:
            raise OperandError(f"unknown extend {extend!r}") from None
        if not 0 <= amount <= 4:
            raise OperandError(f"extend amount {amount} out of range 0..4")
        self.reg, self.amount = reg, amount

    def __repr__(self):
        return f"{self.reg}, {tuple(EXTENDS)[self.extend]} #{self.amount}"


def shifted(reg, shift="lsl", amount=0):
    return ShiftedReg(reg, shift, amount)


def extended(reg, extend, amount=0):
    return ExtendedReg(reg, extend, amount)


# ---- arithmetic immediates ----------------------------------------------

class Imm12:
    """add/sub immediate: 12 bits, optionally shifted left by 12."""

    __slots__ = ("imm12", "shift")

    def __init__(self, imm12, shift=0):
        if shift not in (0, 12):
            raise OperandError(f"add/sub immediate shift must be 0 or 12, not {shift}")
        if not 0 <= imm12 <= 0xFFF:
            raise OperandError(f"add/sub immediate {imm12:#x} does not fit in 12 bits")
        self.imm12, self.shift = imm12, shift

    @classmethod
    def of(cls, value):
        """The encoding LLVM picks for a plain value: unshifted when it fits."""
        if 0 <= value <= 0xFFF:
            return cls(value, 0)
        if value & 0xFFF == 0 and 0 <= value >> 12 <= 0xFFF:
            return cls(value >> 12, 12)
        raise OperandError(f"immediate {value:#x} is not a 12-bit value (optionally lsl #12)")

    @property
    def value(self):
        return self.imm12 << self.shift

    def __repr__(self):
        return f"#{self.imm12:#x}" + (f", lsl #{self.shift}" if self.shift else "")


def encode_bitmask(value, bits):
    """N:immr:imms (13 bits) for a logical immediate, or None if unencodable.

    A logical immediate is a 2/4/8/16/32/64-bit element, a rotated run of
    ones (not all ones), replicated across the register.
    """
    mask = (1 << bits) - 1
    if value < 0:
        value &= mask
    if value == 0 or value >= mask:
        return None
    size = bits
    while size > 2:  # shrink to the smallest repeating element
        half = size >> 1
        hmask = (1 << half) - 1
        if value & hmask != (value >> half) & hmask:
            break
        size = half
    emask = (1 << size) - 1
    elem = value & emask
    ones = bin(elem).count("1")
    run = (1 << ones) - 1
    if elem & 1:  # run wraps around the top of the element
        low_ones = ((elem ^ emask) & -(elem ^ emask)).bit_length() - 1
        immr = ones - low_ones
    else:
        tz = (elem & -elem).bit_length() - 1
        immr = (size - tz) % size
    if ((run >> immr) | (run << (size - immr))) & emask != elem:
        return None  # the set bits are not one contiguous (rotated) run
    n = 1 if size == 64 else 0
    imms = ((-2 * size) & 0x3F) | (ones - 1)
    return (n << 12) | (immr << 6) | imms


def decode_bitmask(n, immr, imms, bits):
    """The value a logical-immediate field describes, or None if reserved."""
    combined = (n << 6) | (~imms & 0x3F)
    if combined == 0:
        return None
    size = 1 << (combined.bit_length() - 1)
    if size < 2 or size > bits:
        return None
    levels = size - 1
    s, r = imms & levels, immr & levels
    if s == levels:
        return None
    run = (1 << (s + 1)) - 1
    elem = ((run >> r) | (run << (size - r))) & ((1 << size) - 1)
    value = 0
    for i in range(0, bits, size):
        value |= elem << i
    return value


class BitmaskImm:
    """A logical (and/orr/eor/ands) immediate; only valid patterns construct."""

    __slots__ = ("value", "bits", "fields")

    def __init__(self, value, bits=64):
        fields = encode_bitmask(value, bits)
        if fields is None:
            raise OperandError(f"{value & ((1 << bits) - 1):#x} is not a valid "
                               f"{bits}-bit logical immediate")
        self.value, self.bits, self.fields = value & ((1 << bits) - 1), bits, fields


class MoveWide:
    """movz/movn/movk field: a 16-bit chunk and its position (lsl 0/16/32/48)."""

    __slots__ = ("imm16", "shift")

    def __init__(self, imm16, shift=0, bits=64):
        if not 0 <= imm16 <= 0xFFFF:
            raise OperandError(f"move-wide immediate {imm16:#x} does not fit in 16 bits")
        if shift not in ((0, 16) if bits == 32 else (0, 16, 32, 48)):
            raise OperandError(f"move-wide shift must be a multiple of 16 below {bits}, not {shift}")
        self.imm16, self.shift = imm16, shift


# ---- memory offsets -----------------------------------------------------

class ScaledOffset:
    """Unsigned 12-bit offset, in units of the access size (ldr/str [Xn, #imm])."""

    __slots__ = ("offset", "scaled")

    def __init__(self, offset, size):
        if offset < 0 or offset % size or offset // size > 0xFFF:
            raise OperandError(f"offset {offset} is not a multiple of {size} in 0..{0xFFF * size}")
        self.offset, self.scaled = offset, offset // size


class UnscaledOffset:
    """Signed 9-bit byte offset (ldur/stur, pre- and post-index)."""

    __slots__ = ("offset",)

    def __init__(self, offset):
        if not -256 <= offset <= 255:
            raise OperandError(f"offset {offset} out of range -256..255")
        self.offset = offset


class PairOffset:
    """Signed 7-bit offset in units of the register size (ldp/stp)."""

    __slots__ = ("offset", "scaled")

    def __init__(self, offset, size):
        if offset % size or not -64 <= offset // size <= 63:
            raise OperandError(f"pair offset {offset} is not a multiple of {size} "
                               f"in {-64 * size}..{63 * size}")
        self.offset, self.scaled = offset, offset // size


# ---- memory operands ----------------------------------------------------

OFFSET, PRE, POST = 0, 1, 2


class Mem:
    """``[Xn, #off]`` (mode OFFSET), ``[Xn, #off]!`` (PRE) or ``[Xn], #off`` (POST)."""

    __slots__ = ("base", "offset", "mode")

    def __init__(self, base, offset=0, mode=OFFSET):
        if not isinstance(base, Reg) or base.bits != 64 or base.is_zr:
            raise OperandError(f"memory base must be x0-x30 or sp, not {base}")
        self.base, self.offset, self.mode = base, offset, mode

    def __repr__(self):
        if self.mode == POST:
            return f"[{self.base}], #{self.offset}"
        return f"[{self.base}, #{self.offset}]" + ("!" if self.mode == PRE else "")


class RegOffset:
    """``[Xn, Xm{, lsl #s}]`` or ``[Xn, Wm, uxtw|sxtw {#s}]`` or ``[Xn, Xm, sxtx {#s}]``.

    ``amount`` is the shift actually applied (0 or log2 of the access size);
    ``None`` means the shift was not written at all, which matters only for
    how the disassembler prints it.
    """

    __slots__ = ("base", "index", "extend", "amount")

    def __init__(self, base, index, extend="lsl", amount=None):
        if not isinstance(base, Reg) or base.bits != 64 or base.is_zr:
            raise OperandError(f"memory base must be x0-x30 or sp, not {base}")
        if not isinstance(index, Reg) or index.is_sp:
            raise OperandError(f"memory index must be a general register, not {index}")
        extend = extend.lower()
        want = 32 if extend in ("uxtw", "sxtw") else 64
        if extend not in ("lsl", "uxtw", "sxtw", "sxtx"):
            raise OperandError(f"memory index extend must be lsl/uxtw/sxtw/sxtx, not {extend}")
        if index.bits != want:
            raise OperandError(f"index {index} does not go with {extend}")
        self.base, self.index, self.extend, self.amount = base, index, extend, amount

    def __repr__(self):
        amt = "" if self.amount is None else f" #{self.amount}"
        return f"[{self.base}, {self.index}, {self.extend}{amt}]"


_MEM_CACHE = {}
_MEM_CACHE_LIMIT = 1 << 14


def mem(base, offset=0, extend=None, amount=None):
    """``[base, #offset]``, or with a register index ``[base, Xm, extend #amount]``.

    Operands are immutable, so a repeated ``mem(...)`` (the common case in
    generated code) returns the operand built the first time.  Only exact
    ints, registers and strings make a key, so ``16.0`` never finds ``16``.
    """
    cls = offset.__class__
    if (cls is int or cls is Reg) and base.__class__ is Reg \
            and (amount is None or amount.__class__ is int) \
            and (extend is None or extend.__class__ is str):
        key = (base, offset, extend, amount)
        op = _MEM_CACHE.get(key)
        if op is not None:
            return op
    else:
        key = None
    if isinstance(offset, Reg):
        op = RegOffset(base, offset, extend or ("lsl" if offset.bits == 64 else "uxtw"), amount)
    else:
        op = Mem(base, offset, OFFSET)
    if key is not None and len(_MEM_CACHE) < _MEM_CACHE_LIMIT:
        _MEM_CACHE[key] = op
    return op


def pre(base, offset):
    """``[base, #offset]!``: add, then access, then write the base back."""
    return Mem(base, offset, PRE)


def post(base, offset):
    """``[base], #offset``: access, then add and write the base back."""
    return Mem(base, offset, POST)


# ---- branch offsets -----------------------------------------------------

# kind -> (field bits, scale shift).  The signed field holds offset >> shift.
BRANCH_KINDS = {
    "branch26": (26, 2),   # b, bl: +-128 MiB
    "branch19": (19, 2),   # b.cond, cbz, cbnz: +-1 MiB
    "ldr19": (19, 2),      # ldr (literal): +-1 MiB
    "branch14": (14, 2),   # tbz, tbnz: +-32 KiB
    "adr21": (21, 0),      # adr: +-1 MiB, byte granular
    "adrp21": (21, 12),    # adrp: +-4 GiB, in 4 KiB pages
}


def check_branch(kind, offset, what="branch"):
    """The encoded field value for ``offset``; raise if misaligned or out of range."""
    bits, shift = BRANCH_KINDS[kind]
    if offset & ((1 << shift) - 1):
        raise OperandError(f"{what}: offset {offset:#x} is not a multiple of {1 << shift}")
    field = offset >> shift
    limit = 1 << (bits - 1)
    if not -limit <= field < limit:
        raise OperandError(f"{what}: target out of range (offset {offset:#x}, "
                           f"limit +-{limit << shift:#x})")
    return field & ((1 << bits) - 1)
