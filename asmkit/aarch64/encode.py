"""The AArch64 Builder: one method per instruction form, on a CodeBuffer.

Every method validates its operands (register widths, which slot may hold
sp or the zero register, immediate ranges) and appends one 32-bit word, or
a short sequence for ``mov`` of a wide constant.  Where LLVM's assembler has
several encodings for what was written (``add x0, x1, #-1`` -> ``sub``,
``ldr x0, [x1, #-8]`` -> ``ldur``, ``mov`` -> movz/movn/orr/add) the Builder
emits the one LLVM picks.

Branch targets are Labels or absolute addresses.  With ``relax=True`` (the
default) b.cond/cbz/cbnz/tbz/tbnz whose target ends up out of range become
the inverted branch over an unconditional ``b`` (a veneer LLVM's branch
relaxation also uses); with ``relax=False`` they stay 4 bytes and an
out-of-range target is a RangeError naming the instruction.

Speed: ``Encoder`` methods try the common operand shapes with table lookups
(tables.py) and fall back to the generic, error-naming encoders; ``Builder``
puts a memo in front (memo.py), so a repeated instruction costs one lookup.
"""

import struct

from ..buffer import AsmError, BranchForms, CodeBuffer, Label
from .. import memo
from . import movimm
from .operands import (
    COND, COND_NAMES, OFFSET, POST, PRE, BitmaskImm, ExtendedReg, Imm12, Mem, MoveWide,
    OperandError, RegOffset, ShiftedReg, cond_code, encode_bitmask,
)
from .operands import _MEM_CACHE
from .regs import Reg, W, WZR, X, XZR
from .tables import (
    BASE_N, LOGIC_IMM, SF, SP_D, SP_N, ZR_A, ZR_D, ZR_M, ZR_N, cache_bitmask,
)

__all__ = ["Builder", "Encoder", "AsmError", "OperandError", "NOP", "clear_memo"]

NOP = 0xD503201F
_pack = struct.Struct("<I").pack
# The buffer's position-free records (bytes, name, *ops) of constant forms.
_NOP_RECORD = (_pack(NOP), "nop")
_RET_RECORD = (_pack(0xD65F03C0), "ret")

BARRIER_OPTIONS = {"oshld": 1, "oshst": 2, "osh": 3, "nshld": 5, "nshst": 6, "nsh": 7,
                   "ishld": 9, "ishst": 10, "ish": 11, "ld": 13, "st": 14, "sy": 15}


def _sys_fields(op1, crn, crm, op2):
    """The op1:CRn:CRm:op2 field of SYS (bits 18:5, shifted down by 5)."""
    return (op1 << 11) | (crn << 7) | (crm << 3) | op2


# dc/ic operations as SYS #op1, Cn, Cm, #op2
CACHE_OPS = {
    "dc": {"cvau": _sys_fields(3, 7, 11, 1), "civac": _sys_fields(3, 7, 14, 1),
           "cvac": _sys_fields(3, 7, 10, 1), "zva": _sys_fields(3, 7, 4, 1)},
    "ic": {"ivau": _sys_fields(3, 7, 5, 1), "iallu": _sys_fields(0, 7, 5, 0),
           "ialluis": _sys_fields(0, 7, 1, 0)},
}


def _name(op):
    if isinstance(op, Label):
        return op.name
    if isinstance(op, int):
        return f"#{op:#x}" if op > 9 or op < -9 else f"#{op}"
    return str(op)


def format_record(name, ops):
    """Listing text for one recorded builder call, in assembler syntax."""
    return name + (" " + ", ".join(_name(o) for o in ops) if ops else "")


# ---- operand-slot checks: return the register number --------------------

def _rz(r, bits, what="register"):
    """A register slot where 31 means the zero register."""
    if r.__class__ is not Reg or r.is_sp or r.bits != bits:
        raise OperandError(f"{what} must be a {bits}-bit general register or "
                           f"{'xzr' if bits == 64 else 'wzr'}, not {r!r}")
    return r.num


def _rs(r, bits, what="register"):
    """A register slot where 31 means the stack pointer."""
    if r.__class__ is not Reg or r.is_zr or r.bits != bits:
        raise OperandError(f"{what} must be a {bits}-bit general register or "
                           f"{'sp' if bits == 64 else 'wsp'}, not {r!r}")
    return r.num


def _width(r):
    if r.__class__ is not Reg:
        raise OperandError(f"expected a register, not {r!r}")
    return r.bits


def _int(v, what):
    if v.__class__ is not int and not isinstance(v, int):
        raise OperandError(f"{what} must be an integer, not {v!r}")
    return v


# ---- branch fixups ------------------------------------------------------

def _rel(target, pc):
    """target - pc in 64-bit arithmetic, so ``#0xffff...ffc0`` (how Capstone
    prints an address below zero) and ``-0x40`` are the same target."""
    return ((target - pc + (1 << 63)) & 0xFFFFFFFFFFFFFFFF) - (1 << 63)


_pack_into = struct.Struct("<I").pack_into


def _patch_b26(code, start, pc, target, word):
    off = target - pc
    if not -(1 << 27) <= off < (1 << 27):     # only then can 64-bit wrap matter
        off = _rel(target, pc)
    if off & 3 or not -(1 << 27) <= off < (1 << 27):
        return False
    _pack_into(code, start, word | ((off >> 2) & 0x3FFFFFF))


def _patch_b19(code, start, pc, target, word):
    off = target - pc
    if not -(1 << 20) <= off < (1 << 20):
        off = _rel(target, pc)
    if off & 3 or not -(1 << 20) <= off < (1 << 20):
        return False
    _pack_into(code, start, word | (((off >> 2) & 0x7FFFF) << 5))


def _patch_b14(code, start, pc, target, word):
    off = _rel(target, pc)
    if off & 3 or not -(1 << 15) <= off < (1 << 15):
        return False
    code[start:start + 4] = (word | (((off >> 2) & 0x3FFF) << 5)).to_bytes(4, "little")


def _adr_fields(word, off):
    return word | ((off & 3) << 29) | (((off >> 2) & 0x7FFFF) << 5)


def _patch_adr(code, start, pc, target, word):
    off = _rel(target, pc)
    if not -(1 << 20) <= off < (1 << 20):
        return False
    code[start:start + 4] = _adr_fields(word, off).to_bytes(4, "little")


def _patch_adrp(code, start, pc, target, word):
    off = _rel(target & ~0xFFF, pc & ~0xFFF) >> 12
    if not -(1 << 20) <= off < (1 << 20):
        return False
    code[start:start + 4] = _adr_fields(word, off).to_bytes(4, "little")


_PATCH_SHORT = {19: _patch_b19, 14: _patch_b14}
_FORMS = {}
_LABEL_FORMS = {}     # cbz/cbnz/tbz/tbnz word -> _relaxable(word, bits) (to a label)


def _relaxable(word, bits, to_label=True):
    """BranchForms for a b.cond/cbz/tbz word: itself, or inverted over a b.

    Branches to labels get ``short_range`` so finish() can size them without
    encoding; an absolute target may be written modulo 2**64 (Capstone's
    spelling of an address below zero), which only the encoders' 64-bit
    arithmetic understands, so those keep sizing by encoding.
    """
    forms = _FORMS.get((word, to_label))
    if forms is not None:
        return forms
    limit = 1 << (bits + 1)
    mask = (1 << bits) - 1
    # b.cond inverts the condition (bit 0); cbz/cbnz and tbz/tbnz flip bit 24.
    inverted = (word ^ 1) if word >> 24 == 0x54 else (word ^ (1 << 24))
    skip = (inverted | (2 << 5)).to_bytes(4, "little")   # over the next b

    def short(pc, target):
        off = target - pc
        if not -limit <= off < limit:       # only then can 64-bit wrap matter
            off = _rel(target, pc)
        if off & 3 or not -limit <= off < limit:
            return None
        return _pack(word | (((off >> 2) & mask) << 5))

    def long(pc, target):
        off = _rel(target, pc + 4)
        if off & 3 or not -(1 << 27) <= off < (1 << 27):
            return None
        return skip + (0x14000000 | ((off >> 2) & 0x3FFFFFF)).to_bytes(4, "little")

    # A misaligned target fails both forms, with short_range or without.
    span = (-limit, limit - 4) if to_label else None
    forms = _FORMS[word, to_label] = BranchForms(4, 8, short, long, span)
    return forms


# ---- load/store tables --------------------------------------------------
# name -> (size in bytes, Rt width, unsigned-offset base, unscaled/index base,
#          literal base or None)
_LDST = {
    "strb": (1, 32, 0x39000000, 0x38000000),
    "ldrb": (1, 32, 0x39400000, 0x38400000),
    "ldrsb": (1, None, 0x39800000, 0x38800000),  # x: opc 10, w: opc 11
    "strh": (2, 32, 0x79000000, 0x78000000),
    "ldrh": (2, 32, 0x79400000, 0x78400000),
    "ldrsh": (2, None, 0x79800000, 0x78800000),
    "ldrsw": (4, 64, 0xB9800000, 0xB8800000),
    "str": (None, None, 0xB9000000, 0xB8000000),  # size from Rt: w 4, x 8
    "ldr": (None, None, 0xB9400000, 0xB8400000),
}
_UNSCALED = {"ldur": "ldr", "stur": "str", "ldurb": "ldrb", "sturb": "strb",
             "ldurh": "ldrh", "sturh": "strh", "ldursb": "ldrsb",
             "ldursh": "ldrsh", "ldursw": "ldrsw"}


# ---- fast paths ---------------------------------------------------------
# Each public method below first tries the common case with table lookups
# (see tables.py) and appends its word inline; anything else (sp where the
# shifted form cannot take it, Imm12/ShiftedReg/ExtendedReg operands,
# unencodable values, wrong widths) falls through to the generic encoder,
# which makes the same encoding decision or raises the error naming it.
# The record appended to ``_recs`` is exactly what ``_emit`` would append.

_LOGIC64 = LOGIC_IMM[64]
_LOGIC32 = LOGIC_IMM[32]
_GP_D = {r: v for r, v in ZR_D.items() if not r.is_zr}   # x0-x30, w0-w30
_BCOND_NAMES = tuple("b." + c for c in COND_NAMES)
_COND12 = {name: code << 12 for name, code in COND.items()}
_INV12 = {name: (code ^ 1) << 12 for name, code in COND.items() if code < 14}


def _addsub_method(name, op, s):
    """add/adds/sub/subs: register and 12-bit immediate fast paths."""
    imm_base = 0x11000000 | (op << 30) | (s << 29)
    neg_base = 0x11000000 | ((op ^ 1) << 30) | (s << 29)   # add #-n is sub #n
    reg_base = 0x0B000000 | (op << 30) | (s << 29)
    imm_d = ZR_D if s else SP_D

    def method(self, rd, rn, src):
        try:
            if src.__class__ is int:
                d = imm_d[rd]
                n = SP_N[rn]
                if not (d ^ n) & SF:
                    if 0 <= src <= 0xFFF:
                        word = imm_base | d | n | (src << 10)
                    elif -0xFFF <= src < 0:
                        word = neg_base | d | n | (-src << 10)
                    else:
                        word = -1
                    if word >= 0:
                        rec = (_pack(word), name, rd, rn, src)
                        self._recs.append(rec)
                        self._code += rec[0]
                        return
            elif src.__class__ is Reg:
                d = ZR_D[rd]
                n = ZR_N[rn]
                m = ZR_M[src]
                if not (d ^ n | d ^ m) & SF:
                    rec = (_pack(reg_base | d | n | m), name, rd, rn, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
        except (KeyError, TypeError):
            pass
        self._emit(self._addsub(name, op, s, rd, rn, src), name, (rd, rn, src))

    method.__name__ = name
    method.__doc__ = f"{name} rd, rn, (register | shifted | extended | immediate)"
    return method


def _compare_method(name, alias, op):
    """cmp/cmn: subs/adds with the zero register as destination."""
    imm_base = 0x3100001F | (op << 30)
    neg_base = 0x3100001F | ((op ^ 1) << 30)
    reg_base = 0x2B00001F | (op << 30)

    def method(self, rn, src):
        try:
            if src.__class__ is int:
                n = SP_N[rn]
                if 0 <= src <= 0xFFF:
                    word = imm_base | n | (src << 10)
                elif -0xFFF <= src < 0:
                    word = neg_base | n | (-src << 10)
                else:
                    word = -1
                if word >= 0:
                    rec = (_pack(word), name, rn, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
            elif src.__class__ is Reg:
                n = ZR_N[rn]
                m = ZR_M[src]
                if not (n ^ m) & SF:
                    rec = (_pack(reg_base | n | m), name, rn, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
        except (KeyError, TypeError):
            pass
        zr = XZR if _width(rn) == 64 else WZR
        self._emit(self._addsub(alias, op, 1, zr, rn, src), name, (rn, src))

    method.__name__ = name
    method.__doc__ = f"{name} rn, (register | shifted | extended | immediate)"
    return method


def _logical_method(name, opc, neg):
    """and/orr/eor/ands (and the negated bic/orn/eon/bics): register and
    (for the plain ones) cached bitmask-immediate fast paths."""
    imm_base = 0x12000000 | (opc << 29)
    reg_base = 0x0A000000 | (opc << 29) | (neg << 21)
    imm_d = ZR_D if opc == 3 else SP_D

    def method(self, rd, rn, src):
        try:
            if src.__class__ is Reg:
                d = ZR_D[rd]
                n = ZR_N[rn]
                m = ZR_M[src]
                if not (d ^ n | d ^ m) & SF:
                    rec = (_pack(reg_base | d | n | m), name, rd, rn, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
            elif src.__class__ is int and not neg:
                d = imm_d[rd]
                n = ZR_N[rn]
                if not (d ^ n) & SF:
                    f = (_LOGIC64 if d & SF else _LOGIC32).get(src)
                    if f is not None:
                        rec = (_pack(imm_base | d | n | f), name, rd, rn, src)
                        self._recs.append(rec)
                        self._code += rec[0]
                        return
        except (KeyError, TypeError):
            pass
        self._emit(self._logical(name, rd, rn, src), name, (rd, rn, src))

    method.__name__ = name + "_" if name == "and" else name
    method.__doc__ = f"{name} rd, rn, (register | shifted | bitmask immediate)"
    return method


def _shift_method(name, kind):
    """lsl/lsr/asr/ror by register (xxxv) or immediate (ubfm/sbfm/extr)."""
    reg_base = 0x1AC02000 | (kind << 10)
    imm = {}    # (sf, amount) -> word without registers; filled lazily

    def method(self, rd, rn, src):
        try:
            d = ZR_D[rd]
            n = ZR_N[rn]
            if not (d ^ n) & SF:
                if src.__class__ is int:
                    f = imm.get((d & SF, src))
                    if f is not None:
                        if kind == 3:      # ror = extr rd, rn, rn, #s
                            f |= (n & 0x3E0) << 11
                        rec = (_pack(f | d | n), name, rd, rn, src)
                        self._recs.append(rec)
                        self._code += rec[0]
                        return
                elif src.__class__ is Reg:
                    m = ZR_M[src]
                    if not (d ^ m) & SF:
                        rec = (_pack(reg_base | d | n | m), name, rd, rn, src)
                        self._recs.append(rec)
                        self._code += rec[0]
                        return
        except (KeyError, TypeError):
            pass
        word = self._shift(name, rd, rn, src)
        if src.__class__ is int:      # remember the field part, registers cleared
            imm[(word & SF, src)] = word & (~0x1F03FF if kind == 3 else ~0x3FF)
        self._emit(word, name, (rd, rn, src))

    method.__name__ = name
    method.__doc__ = f"{name} rd, rn, (register | #amount)"
    return method


def _three_method(name, base, only64=False):
    """mul/mneg/smulh/umulh/sdiv/udiv rd, rn, rm."""
    def method(self, rd, rn, rm):
        try:
            d = ZR_D[rd]
            n = ZR_N[rn]
            m = ZR_M[rm]
            if not (d ^ n | d ^ m) & SF and (d & SF or not only64):
                rec = (_pack(base | d | n | m), name, rd, rn, rm)
                self._recs.append(rec)
                self._code += rec[0]
                return
        except (KeyError, TypeError):
            pass
        self._emit(self._three(base, rd, rn, rm, only64=only64), name, (rd, rn, rm))

    method.__name__ = name
    method.__doc__ = f"{name} rd, rn, rm"
    return method


def _four_method(name, base):
    """madd/msub rd, rn, rm, ra."""
    def method(self, rd, rn, rm, ra):
        try:
            d = ZR_D[rd]
            n = ZR_N[rn]
            m = ZR_M[rm]
            a = ZR_A[ra]
            if not (d ^ n | d ^ m | d ^ a) & SF:
                rec = (_pack(base | d | n | m | a), name, rd, rn, rm, ra)
                self._recs.append(rec)
                self._code += rec[0]
                return
        except (KeyError, TypeError):
            pass
        self._emit(self._three(base, rd, rn, rm, ra), name, (rd, rn, rm, ra))

    method.__name__ = name
    method.__doc__ = f"{name} rd, rn, rm, ra"
    return method


def _csel_method(name, base):
    """csel/csinc/csinv/csneg rd, rn, rm, cond."""
    def method(self, rd, rn, rm, cond):
        try:
            d = ZR_D[rd]
            n = ZR_N[rn]
            m = ZR_M[rm]
            if not (d ^ n | d ^ m) & SF:
                word = base | d | n | m | _COND12[cond]
                rec = (_pack(word), name, rd, rn, rm, cond)
                self._recs.append(rec)
                self._code += rec[0]
                return
        except (KeyError, TypeError):
            pass
        self._emit(self._csel(base, rd, rn, rm, cond), name, (rd, rn, rm, cond))

    method.__name__ = name
    method.__doc__ = f"{name} rd, rn, rm, cond"
    return method


def _cset_method(name, base):
    """cset/csetm rd, cond: csinc/csinv rd, zr, zr, !cond."""
    zr_base = base | (31 << 16) | (31 << 5)

    def method(self, rd, cond):
        try:
            word = zr_base | ZR_D[rd] | _INV12[cond]
            rec = (_pack(word), name, rd, cond)
            self._recs.append(rec)
            self._code += rec[0]
            return
        except (KeyError, TypeError):
            pass
        zr = XZR if _width(rd) == 64 else WZR
        inv = self._inv_cond(cond, name)
        self._emit(self._csel(base, rd, zr, zr, inv), name, (rd, cond))

    method.__name__ = name
    method.__doc__ = f"{name} rd, cond"
    return method


def _cinc_method(name, base):
    """cinc/cinv/cneg rd, rn, cond: csinc/csinv/csneg rd, rn, rn, !cond."""
    def method(self, rd, rn, cond):
        try:
            d = ZR_D[rd]
            n = ZR_N[rn]
            if not (d ^ n) & SF:
                word = base | d | n | ((n & 0x3E0) << 11) | _INV12[cond]
                rec = (_pack(word), name, rd, rn, cond)
                self._recs.append(rec)
                self._code += rec[0]
                return
        except (KeyError, TypeError):
            pass
        inv = self._inv_cond(cond, name)
        self._emit(self._csel(base, rd, rn, rn, inv), name, (rd, rn, cond))

    method.__name__ = name
    method.__doc__ = f"{name} rd, rn, cond"
    return method


_REG_OPTION = {"uxtw": 2 << 13, "lsl": 3 << 13, "sxtw": 6 << 13, "sxtx": 7 << 13}


def _unscaled_method(name):
    """ldur/stur and their byte/half/signed forms (unscaled 9-bit offset)."""
    def method(self, rt, addr):
        self._emit(self._ldur(name, rt, addr), name, (rt, addr))
    method.__name__ = name
    return method


def _load_store_method(name):
    """ldr/str and the byte/half/signed forms: unsigned offset, the ldur
    alias and register offset inline; writeback and literals generic."""
    per_reg = {}    # rt -> (unsigned-offset word, unscaled/indexed word, log2 size)

    def method(self, rt, addr):
        try:
            cls = addr.__class__
            if cls is Mem:
                if addr.mode == OFFSET:
                    uoff, u9, sh = per_reg[rt]
                    off = addr.offset
                    q = off >> sh
                    if 0 <= q <= 0xFFF and q << sh == off:
                        word = uoff | (q << 10) | BASE_N[addr.base]
                    elif -256 <= off <= 255:
                        word = u9 | ((off & 0x1FF) << 12) | BASE_N[addr.base]
                    else:
                        word = -1
                    if word >= 0:
                        rec = (_pack(word), name, rt, addr)
                        self._recs.append(rec)
                        self._code += rec[0]
                        return
            elif cls is RegOffset:
                uoff, u9, sh = per_reg[rt]
                amount = addr.amount
                if amount is None or (amount == 0 and sh):
                    s = 0
                elif amount == sh:
                    s = 0x1000
                else:
                    s = -1
                if s >= 0:
                    word = u9 | 0x200800 | (addr.index.num << 16) | _REG_OPTION[addr.extend] \
                        | s | BASE_N[addr.base]
                    rec = (_pack(word), name, rt, addr)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
        except (KeyError, TypeError):
            pass
        self._load_store(name, rt, addr)
        if rt not in per_reg and (cls is Mem or cls is RegOffset):
            size, uoff, u9 = self._ldst_base(name, rt)
            per_reg[rt] = (uoff, u9, size.bit_length() - 1)

    method.__name__ = name
    method.__doc__ = f"{name} rt, [xn, #off] | [xn, #off]! | [xn], #off | [xn, rm, ext] | label"
    return method


_HW = {0: 0, 16: 1 << 21, 32: 2 << 21, 48: 3 << 21}   # move-wide shift -> hw field


def _movewide_method(name, opc):
    """movz/movn/movk rd, #imm16{, lsl #shift}: plain ints inline, a
    MoveWide or anything unusual through the generic encoder."""
    base = (opc << 29) | 0x12800000

    def method(self, rd, imm, shift=0):
        if rd.__class__ is Reg and imm.__class__ is int and shift.__class__ is int \
                and 0 <= imm <= 0xFFFF:
            d = ZR_D.get(rd)
            hw = _HW.get(shift)
            if d is not None and hw is not None and (d & SF or hw <= 1 << 21):
                rec = (_pack(base | d | hw | (imm << 5)), name, rd, imm, shift)
                self._recs.append(rec)
                self._code += rec[0]
                return
        self._emit(self._movewide(opc, rd, imm, shift), name, (rd, imm, shift))

    method.__name__ = name
    method.__doc__ = f"{name} rd, #imm16{{, lsl #shift}}"
    return method


_PAIR_IDX = {OFFSET: 2 << 23, POST: 1 << 23, PRE: 3 << 23}


def _pair_method(name, load):
    """ldp/stp rt, rt2, [xn, #off] | [xn, #off]! | [xn], #off: the plain case
    inline; anything the generic encoder might refuse (a misfit offset,
    equal destinations, a writeback base that is also a data register) goes
    to it, so it makes the decision and names the error."""
    base = 0x28000000 | (load << 22)

    def method(self, rt, rt2, addr):
        if addr.__class__ is Mem and rt.__class__ is Reg and rt2.__class__ is Reg:
            t = ZR_D.get(rt)
            t2 = ZR_D.get(rt2)
            off = addr.offset
            idx = _PAIR_IDX.get(addr.mode)
            n = BASE_N.get(addr.base)
            if t is not None and t2 is not None and not (t ^ t2) & SF \
                    and off.__class__ is int and idx is not None and n is not None:
                sh = 3 if t & SF else 2
                q = off >> sh
                t &= 31
                t2 &= 31
                if q << sh == off and -64 <= q <= 63 and not (load and t == t2) \
                        and (idx == 2 << 23 or n >> 5 == 31
                             or (n >> 5 != t and n >> 5 != t2)):
                    rec = (_pack(base | ((sh - 2) << 31) | idx | ((q & 0x7F) << 15)
                                 | (t2 << 10) | n | t), name, rt, rt2, addr)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
        self._emit(self._pair(load, rt, rt2, addr), name, (rt, rt2, addr))

    method.__name__ = name
    method.__doc__ = f"{name} rt, rt2, [xn, #off] | [xn, #off]! | [xn], #off"
    return method


# Constants already planned: value -> ((word with rd 0, name, op, op), ...)
_MOV64 = {}
_MOV32 = {}
_MOV_LIMIT = 4096
_MOVEWIDE_OPC = {"movn": 0, "movz": 2, "movk": 3}


def _mov_plan(builder, value, bits):
    """The words (destination 0) and listing records of ``mov rd, #value``."""
    cache = _MOV64 if bits == 64 else _MOV32
    steps = cache.get(value)
    if steps is not None:
        return steps
    rd, zr = (X[0], XZR) if bits == 64 else (W[0], WZR)
    out = []
    for step in movimm.plan(value, bits):
        if step[0] == "orr":
            out.append((builder._logical("orr", rd, zr, step[1]), "orr", zr, step[1]))
        else:
            word = builder._movewide(_MOVEWIDE_OPC[step[0]], rd, step[1], step[2])
            out.append((word, step[0], step[1], step[2]))
    steps = tuple(out)
    if len(cache) < _MOV_LIMIT:
        cache[value] = steps
    return steps


class Encoder(CodeBuffer):
    """The checked AArch64 encoder; use :class:`Builder` (the same methods with
    a memo in front)."""

    def __init__(self, relax=True):
        super().__init__(formatter=format_record, relax=relax)

    def _align_fill(self, fill):
        return fill if fill is not None else NOP.to_bytes(4, "little")

    def _emit(self, word, name, ops):
        """Append one instruction word with its position-free record (the
        memo keeps such records as they are; see asmkit/memo.py)."""
        rec = (_pack(word), name, *ops)
        self._recs.append(rec)
        self._code += rec[0]

    def word(self, value):
        """A raw 32-bit instruction word (``.inst``)."""
        self._emit(value & 0xFFFFFFFF, ".inst", (value,))

    # ---------------------------------------------------------- add / sub
    def _addsub(self, name, op, s, rd, rn, src):
        """add/adds/sub/subs in all three operand forms (op: 0 add, 1 sub)."""
        bits = _width(rd)
        sf = (bits == 64) << 31
        if src.__class__ is int or isinstance(src, (int, Imm12)):
            if src.__class__ is Imm12:
                imm, shifted12 = src.imm12, src.shift == 12
            else:
                if src < 0:
                    op, src = op ^ 1, -src   # LLVM: add #-n is sub #n
                if src <= 0xFFF:
                    imm, shifted12 = src, 0
                else:
                    src = Imm12.of(src)
                    imm, shifted12 = src.imm12, src.shift == 12
            d = _rz(rd, bits, "destination") if s else _rs(rd, bits, "destination")
            n = _rs(rn, bits, "first source")
            return 0x11000000 | sf | (op << 30) | (s << 29) | (shifted12 << 22) \
                | (imm << 10) | (n << 5) | d
        if src.__class__ is Reg:
            uses_sp = rn.is_sp or (rd.is_sp and not s)
            if not uses_sp:
                return self._addsub_shifted(sf, op, s, bits, rd, rn, src, 0, 0)
            src = ExtendedReg(src, "uxtx" if bits == 64 else "uxtw", 0)
        elif src.__class__ is ShiftedReg:
            uses_sp = rn.is_sp or (rd.is_sp and not s)
            if not uses_sp:
                return self._addsub_shifted(sf, op, s, bits, rd, rn, src.reg, src.shift,
                                            src.amount)
            if src.shift != 0 or src.amount > 4:
                raise OperandError("with sp only 'lsl #0-4' may shift the register operand")
            src = ExtendedReg(src.reg, "uxtx" if bits == 64 else "uxtw", src.amount)
        if src.__class__ is not ExtendedReg:
            raise OperandError(f"cannot use {src!r} as an add/sub operand")
        m_bits = 64 if bits == 64 and src.extend & 3 == 3 else 32
        m = _rz(src.reg, m_bits, "extended register")
        d = _rz(rd, bits, "destination") if s else _rs(rd, bits, "destination")
        n = _rs(rn, bits, "first source")
        return 0x0B200000 | sf | (op << 30) | (s << 29) | (m << 16) | (src.extend << 13) \
            | (src.amount << 10) | (n << 5) | d

    @staticmethod
    def _addsub_shifted(sf, op, s, bits, rd, rn, rm, shift, amount):
        if shift == 3:
            raise OperandError("add/sub cannot use ror")
        return 0x0B000000 | sf | (op << 30) | (s << 29) | (shift << 22) \
            | (_rz(rm, bits, "second source") << 16) | (amount << 10) \
            | (_rz(rn, bits, "first source") << 5) | _rz(rd, bits, "destination")

    add = _addsub_method("add", 0, 0)
    adds = _addsub_method("adds", 0, 1)
    sub = _addsub_method("sub", 1, 0)
    subs = _addsub_method("subs", 1, 1)
    cmp = _compare_method("cmp", "subs", 1)
    cmn = _compare_method("cmn", "adds", 0)

    def neg(self, rd, src):
        if isinstance(src, int):
            raise OperandError("neg takes a register operand")
        zr = XZR if _width(rd) == 64 else WZR
        self._emit(self._addsub("sub", 1, 0, rd, zr, src), "neg", (rd, src))

    def negs(self, rd, src):
        if isinstance(src, int):
            raise OperandError("negs takes a register operand")
        zr = XZR if _width(rd) == 64 else WZR
        self._emit(self._addsub("subs", 1, 1, rd, zr, src), "negs", (rd, src))

    # ------------------------------------------------------------- logical
    # opc (bits 30:29) and N (bit 21, register form only) per mnemonic
    _LOGIC = {"and": (0, 0), "bic": (0, 1), "orr": (1, 0), "orn": (1, 1),
              "eor": (2, 0), "eon": (2, 1), "ands": (3, 0), "bics": (3, 1)}

    def _logical(self, name, rd, rn, src):
        opc, neg = self._LOGIC[name]
        bits = _width(rd)
        sf = (bits == 64) << 31
        if src.__class__ is int or isinstance(src, (int, BitmaskImm)):
            value = src.value if src.__class__ is BitmaskImm else src
            if neg:
                value = ~value
            fields = encode_bitmask(value & ((1 << bits) - 1), bits)
            if fields is None or (bits == 32 and fields >> 12):
                raise OperandError(f"{name}: {src if isinstance(src, int) else src.value:#x} "
                                   f"is not a valid {bits}-bit logical immediate")
            if not neg and src.__class__ is int:
                cache_bitmask(src, bits, fields)
            d = _rz(rd, bits, "destination") if opc == 3 else _rs(rd, bits, "destination")
            return 0x12000000 | sf | (opc << 29) | (fields << 10) \
                | (_rz(rn, bits, "source") << 5) | d
        shift = amount = 0
        if src.__class__ is ShiftedReg:
            src, shift, amount = src.reg, src.shift, src.amount
        elif src.__class__ is not Reg:
            raise OperandError(f"cannot use {src!r} as a logical operand")
        return 0x0A000000 | sf | (opc << 29) | (shift << 22) | (neg << 21) \
            | (_rz(src, bits, "second source") << 16) | (amount << 10) \
            | (_rz(rn, bits, "first source") << 5) | _rz(rd, bits, "destination")

    and_ = _logical_method("and", 0, 0)
    ands = _logical_method("ands", 3, 0)
    orr = _logical_method("orr", 1, 0)
    eor = _logical_method("eor", 2, 0)
    bic = _logical_method("bic", 0, 1)
    bics = _logical_method("bics", 3, 1)
    orn = _logical_method("orn", 1, 1)
    eon = _logical_method("eon", 2, 1)

    def tst(self, rn, src):
        try:
            if src.__class__ is int:
                n = ZR_N[rn]
                f = (_LOGIC64 if n & SF else _LOGIC32).get(src)
                if f is not None:
                    rec = (_pack(0x7200001F | n | f), "tst", rn, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
            elif src.__class__ is Reg:
                n = ZR_N[rn]
                m = ZR_M[src]
                if not (n ^ m) & SF:
                    rec = (_pack(0x6A00001F | n | m), "tst", rn, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
        except (KeyError, TypeError):
            pass
        zr = XZR if _width(rn) == 64 else WZR
        self._emit(self._logical("ands", zr, rn, src), "tst", (rn, src))

    def mvn(self, rd, src):
        zr = XZR if _width(rd) == 64 else WZR
        self._emit(self._logical("orn", rd, zr, src), "mvn", (rd, src))

    # ----------------------------------------------------------- move wide
    def _movewide(self, opc, rd, imm, shift):
        bits = _width(rd)
        if imm.__class__ is not MoveWide:
            imm = MoveWide(_int(imm, "move-wide immediate"), shift, bits)
        elif bits == 32 and imm.shift > 16:
            raise OperandError(f"move-wide shift {imm.shift} needs a 64-bit register")
        return ((bits == 64) << 31) | (opc << 29) | 0x12800000 | ((imm.shift >> 4) << 21) \
            | (imm.imm16 << 5) | _rz(rd, bits, "destination")

    movz = _movewide_method("movz", 2)
    movn = _movewide_method("movn", 0)
    movk = _movewide_method("movk", 3)

    def mov(self, rd, src):
        """Register move (orr, or add #0 with sp) or any constant (movz/movn/orr/movk)."""
        try:
            if src.__class__ is Reg:
                d = ZR_D[rd]
                m = ZR_M[src]
                if not (d ^ m) & SF:
                    rec = (_pack(0x2A0003E0 | d | m), "mov", rd, src)
                    self._recs.append(rec)
                    self._code += rec[0]
                    return
            elif src.__class__ is int:
                d = _GP_D[rd]
                steps = (_MOV64 if d & SF else _MOV32).get(src)
                if steps is not None:
                    self._mov_steps(rd, d & 31, steps)
                    return
        except (KeyError, TypeError):
            pass
        self._mov_generic(rd, src)

    def _mov_steps(self, rd, num, steps):
        code = self._code
        recs = self._recs
        for word, name, a, b in steps:
            rec = (_pack(word | num), name, rd, a, b)
            recs.append(rec)
            code += rec[0]

    def _mov_generic(self, rd, src):
        bits = _width(rd)
        if src.__class__ is Reg:
            if rd.is_sp or src.is_sp:
                self._emit(self._addsub("add", 0, 0, rd, src, 0), "mov", (rd, src))
            else:
                zr = XZR if bits == 64 else WZR
                self._emit(self._logical("orr", rd, zr, src), "mov", (rd, src))
            return
        value = _int(src, "mov source")
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise OperandError(f"mov: {value:#x} does not fit in {bits} bits")
        if rd.is_sp:   # only orr can write sp: a single bitmask immediate
            self._emit(self._logical("orr", rd, XZR if bits == 64 else WZR, value),
                       "mov", (rd, src))
            return
        if rd.is_zr:   # orr cannot write the zero register: checked step by step
            for step in movimm.plan(value, bits):
                kind = step[0]
                zr = XZR if bits == 64 else WZR
                if kind == "orr":
                    self._emit(self._logical("orr", rd, zr, step[1]), "orr", (rd, zr, step[1]))
                else:
                    opc = {"movn": 0, "movz": 2, "movk": 3}[kind]
                    self._emit(self._movewide(opc, rd, step[1], step[2]), kind,
                               (rd, step[1], step[2]))
            return
        self._mov_steps(rd, _rz(rd, bits, "destination"), _mov_plan(self, value, bits))

    # -------------------------------------------------------------- shifts
    def _shift(self, name, rd, rn, src):
        bits = _width(rd)
        sf = (bits == 64) << 31
        d, n = _rz(rd, bits, "destination"), _rz(rn, bits, "source")
        kind = ("lsl", "lsr", "asr", "ror").index(name)
        if src.__class__ is Reg:  # lslv/lsrv/asrv/rorv
            return 0x1AC02000 | sf | (_rz(src, bits, "shift register") << 16) \
                | (kind << 10) | (n << 5) | d
        amount = _int(src, "shift amount")
        if not 0 <= amount < bits:
            raise OperandError(f"{name}: shift {amount} out of range 0..{bits - 1}")
        nbit = (bits == 64) << 22
        if kind == 0:    # lsl = ubfm rd, rn, #(-s mod bits), #(bits-1-s)
            return 0x53000000 | sf | nbit | (((-amount) % bits) << 16) \
                | ((bits - 1 - amount) << 10) | (n << 5) | d
        if kind == 3:    # ror = extr rd, rn, rn, #s
            return 0x13800000 | sf | nbit | (n << 16) | (amount << 10) | (n << 5) | d
        base = 0x53000000 if kind == 1 else 0x13000000   # ubfm / sbfm
        return base | sf | nbit | (amount << 16) | ((bits - 1) << 10) | (n << 5) | d

    lsl = _shift_method("lsl", 0)
    lsr = _shift_method("lsr", 1)
    asr = _shift_method("asr", 2)
    ror = _shift_method("ror", 3)

    # ------------------------------------------------------ multiply/divide
    def _three(self, base, rd, rn, rm, ra=None, only64=False):
        bits = _width(rd)
        if only64 and bits != 64:
            raise OperandError("this instruction takes 64-bit registers only")
        word = base | ((bits == 64) << 31) | (_rz(rm, bits, "second source") << 16) \
            | (_rz(rn, bits, "first source") << 5) | _rz(rd, bits, "destination")
        if ra is not None:
            word |= _rz(ra, bits, "addend") << 10
        return word

    madd = _four_method("madd", 0x1B000000)
    msub = _four_method("msub", 0x1B008000)
    mul = _three_method("mul", 0x1B007C00)
    mneg = _three_method("mneg", 0x1B00FC00)
    smulh = _three_method("smulh", 0x1B407C00, only64=True)
    umulh = _three_method("umulh", 0x1BC07C00, only64=True)
    sdiv = _three_method("sdiv", 0x1AC00C00)
    udiv = _three_method("udiv", 0x1AC00800)

    # --------------------------------------------------- conditional select
    def _csel(self, base, rd, rn, rm, cond):
        return self._three(base, rd, rn, rm) | (cond_code(cond) << 12)

    def _inv_cond(self, cond, name):
        code = cond_code(cond)
        if code >= 14:
            raise OperandError(f"{name} cannot use condition {COND_NAMES[code]}")
        return code ^ 1

    csel = _csel_method("csel", 0x1A800000)
    csinc = _csel_method("csinc", 0x1A800400)
    csinv = _csel_method("csinv", 0x5A800000)
    csneg = _csel_method("csneg", 0x5A800400)
    cset = _cset_method("cset", 0x1A800400)
    csetm = _cset_method("csetm", 0x5A800000)
    cinc = _cinc_method("cinc", 0x1A800400)
    cinv = _cinc_method("cinv", 0x5A800000)
    cneg = _cinc_method("cneg", 0x5A800400)

    # ------------------------------------------------------------ branches
    def _target(self, target):
        if target.__class__ is str:
            return self.get_label(target)
        if target.__class__ is Label or isinstance(target, int):
            return target
        raise OperandError(f"branch target must be a label or an address, not {target!r}")

    def _fixed(self, word, patch, name, ops, target):
        if target.__class__ is not Label:
            target = self._target(target)
        code = self._code
        self._recs.append((len(code), len(self._var), name) + ops)
        code += _pack(word)
        self.fixup(target, patch, word)

    def _cond_branch(self, word, bits, name, ops, target):
        if target.__class__ is not Label:
            target = self._target(target)
        if self.relax:    # the buffer sizes it (short_range) or lays it out
            self.branch(target, _relaxable(word, bits, target.__class__ is Label),
                        name, *ops)
            return
        code = self._code
        self._recs.append((len(code), len(self._var), name) + ops)
        code += _pack(word)
        self.fixup(target, _PATCH_SHORT[bits], word)

    def b(self, target):
        self._fixed(0x14000000, _patch_b26, "b", (target,), target)

    def bl(self, target):
        self._fixed(0x94000000, _patch_b26, "bl", (target,), target)

    def b_cond(self, cond, target):
        try:
            code = COND[cond]
        except (KeyError, TypeError):
            code = cond_code(cond)
        self._cond_branch(0x54000000 | code, 19, _BCOND_NAMES[code], (target,), target)

    def cbz(self, rt, target):
        try:
            word = 0x34000000 | ZR_D[rt]
        except (KeyError, TypeError):
            bits = _width(rt)
            word = 0x34000000 | ((bits == 64) << 31) | _rz(rt, bits, "register")
        if target.__class__ is Label and self.relax and target.owner is self:
            forms = _LABEL_FORMS.get(word)
            if forms is None:
                forms = _LABEL_FORMS[word] = _relaxable(word, 19)
            self.branch_to_label(target, forms, "cbz", rt, target)
        else:
            self._cond_branch(word, 19, "cbz", (rt, target), target)

    def cbnz(self, rt, target):
        try:
            word = 0x35000000 | ZR_D[rt]
        except (KeyError, TypeError):
            bits = _width(rt)
            word = 0x35000000 | ((bits == 64) << 31) | _rz(rt, bits, "register")
        if target.__class__ is Label and self.relax and target.owner is self:
            forms = _LABEL_FORMS.get(word)
            if forms is None:
                forms = _LABEL_FORMS[word] = _relaxable(word, 19)
            self.branch_to_label(target, forms, "cbnz", rt, target)
        else:
            self._cond_branch(word, 19, "cbnz", (rt, target), target)

    def _tb(self, base, name, rt, bit, target):
        if rt.__class__ is Reg and bit.__class__ is int:
            d = ZR_D.get(rt)
            if d is not None and 0 <= bit < (64 if d & SF else 32):
                word = base | ((bit >> 5) << 31) | ((bit & 31) << 19) | (d & 31)
                if target.__class__ is Label and self.relax and target.owner is self:
                    forms = _LABEL_FORMS.get(word)
                    if forms is None:
                        forms = _LABEL_FORMS[word] = _relaxable(word, 14)
                    self.branch_to_label(target, forms, name, rt, bit, target)
                else:
                    self._cond_branch(word, 14, name, (rt, bit, target), target)
                return
        bits = _width(rt)
        if not 0 <= _int(bit, "bit number") < bits:
            raise OperandError(f"{name}: bit {bit} out of range 0..{bits - 1}")
        word = base | ((bit >> 5) << 31) | ((bit & 31) << 19) | _rz(rt, bits, "register")
        self._cond_branch(word, 14, name, (rt, bit, target), target)

    def tbz(self, rt, bit, target):
        self._tb(0x36000000, "tbz", rt, bit, target)

    def tbnz(self, rt, bit, target):
        self._tb(0x37000000, "tbnz", rt, bit, target)

    def br(self, rn):
        self._emit(0xD61F0000 | (_rz(rn, 64, "target register") << 5), "br", (rn,))

    def blr(self, rn):
        self._emit(0xD63F0000 | (_rz(rn, 64, "target register") << 5), "blr", (rn,))

    def ret(self, rn=None):
        if rn is None:
            self._recs.append(_RET_RECORD)      # position-free (see memo.py)
            self._code += _RET_RECORD[0]
            return
        n = _rz(rn, 64, "return register")
        self._emit(0xD65F0000 | (n << 5), "ret", () if rn is None else (rn,))

    def adr(self, rd, target):
        self._fixed(0x10000000 | _rz(rd, 64, "destination"), _patch_adr, "adr",
                    (rd, target), target)

    def adrp(self, rd, target):
        self._fixed(0x90000000 | _rz(rd, 64, "destination"), _patch_adrp, "adrp",
                    (rd, target), target)

    # ---------------------------------------------------------- load/store
    @staticmethod
    def _ldst_base(name, rt):
        """(access size, unsigned-offset word, unscaled/indexed word) for rt."""
        size, rt_bits, base_uoff, base_u9 = _LDST[name]
        bits = _width(rt)
        if rt_bits is not None and bits != rt_bits:
            raise OperandError(f"{name} needs a {rt_bits}-bit register, not {rt}")
        if size is None:                       # ldr/str: size from the register
            size = bits // 8
            if bits == 64:
                base_uoff |= 0x40000000
                base_u9 |= 0x40000000
        elif rt_bits is None and bits == 32:   # ldrsb/ldrsh into w: opc 11
            base_uoff |= 0x00400000
            base_u9 |= 0x00400000
        t = _rz(rt, bits, "data register")
        return size, base_uoff | t, base_u9 | t

    def _ldst(self, name, rt, addr):
        size, base_uoff, base_u9 = self._ldst_base(name, rt)
        t = rt.num
        if addr.__class__ is Mem:
            n = addr.base.num
            off = addr.offset
            if addr.mode == OFFSET:
                if off >= 0 and off % size == 0 and off // size <= 0xFFF:
                    return base_uoff | ((off // size) << 10) | (n << 5) | t
                if -256 <= off <= 255:         # LLVM: the ldur/stur alias
                    return base_u9 | ((off & 0x1FF) << 12) | (n << 5) | t
                raise OperandError(f"{name}: offset {off} is neither a multiple of {size} "
                                   f"in 0..{0xFFF * size} nor in -256..255")
            if not -256 <= off <= 255:
                raise OperandError(f"{name}: writeback offset {off} out of range -256..255")
            if n == t and not rt.is_zr:
                raise OperandError(f"{name}: writeback base {addr.base} is also the data register")
            return base_u9 | ((off & 0x1FF) << 12) | ((0xC00 if addr.mode == PRE else 0x400)) \
                | (n << 5) | t
        if addr.__class__ is RegOffset:
            option = {"uxtw": 2, "lsl": 3, "sxtw": 6, "sxtx": 7}[addr.extend]
            scale = size.bit_length() - 1
            amount = addr.amount
            if amount is None:
                s = 0
            elif amount == scale:
                s = 1
            elif amount == 0 and scale != 0:
                s = 0
            else:
                raise OperandError(f"{name}: index shift must be #0 or #{scale}, not #{amount}")
            return base_u9 | 0x200800 | (addr.index.num << 16) | (option << 13) \
                | (s << 12) | (addr.base.num << 5) | t
        raise OperandError(f"{name}: {addr!r} is not a memory operand")

    def _ldur(self, name, rt, addr):
        size, base_uoff, base_u9 = self._ldst_base(_UNSCALED[name], rt)
        if addr.__class__ is not Mem or addr.mode != OFFSET:
            raise OperandError(f"{name} takes [Xn, #offset]")
        if not -256 <= addr.offset <= 255:
            raise OperandError(f"{name}: offset {addr.offset} out of range -256..255")
        return base_u9 | ((addr.offset & 0x1FF) << 12) | (addr.base.num << 5)

    def _literal(self, name, rt, target):
        bits = _width(rt)
        if name == "ldrsw":
            word = 0x98000000
            if bits != 64:
                raise OperandError("ldrsw needs a 64-bit register")
        elif name == "ldr":
            word = 0x58000000 if bits == 64 else 0x18000000
        else:
            raise OperandError(f"{name} has no literal (pc-relative) form")
        self._fixed(word | _rz(rt, bits, "data register"), _patch_b19, name, (rt, target), target)

    def _load_store(self, name, rt, addr):
        if addr.__class__ is Mem or addr.__class__ is RegOffset:
            self._emit(self._ldst(name, rt, addr), name, (rt, addr))
        else:
            self._literal(name, rt, addr)

    ldr = _load_store_method("ldr")
    str = _load_store_method("str")
    ldrb = _load_store_method("ldrb")
    strb = _load_store_method("strb")
    ldrh = _load_store_method("ldrh")
    strh = _load_store_method("strh")
    ldrsb = _load_store_method("ldrsb")
    ldrsh = _load_store_method("ldrsh")
    ldrsw = _load_store_method("ldrsw")

    ldur = _unscaled_method("ldur")
    stur = _unscaled_method("stur")
    ldurb = _unscaled_method("ldurb")
    sturb = _unscaled_method("sturb")
    ldurh = _unscaled_method("ldurh")
    sturh = _unscaled_method("sturh")
    ldursb = _unscaled_method("ldursb")
    ldursh = _unscaled_method("ldursh")
    ldursw = _unscaled_method("ldursw")

    def _pair(self, load, rt, rt2, addr):
        name = "ldp" if load else "stp"
        bits = _width(rt)
        t, t2 = _rz(rt, bits, "first register"), _rz(rt2, bits, "second register")
        if addr.__class__ is not Mem:
            raise OperandError(f"{name} takes [Xn, #off], [Xn, #off]! or [Xn], #off")
        size = bits // 8
        off = addr.offset
        if off % size or not -64 <= off // size <= 63:
            raise OperandError(f"{name}: offset {off} is not a multiple of {size} "
                               f"in {-64 * size}..{63 * size}")
        if load and t == t2:
            raise OperandError(f"{name}: both destinations are {rt}")
        n = addr.base.num
        if addr.mode != OFFSET and not addr.base.is_sp and n in (t, t2) and not (
                (n == t and rt.is_zr) or (n == t2 and rt2.is_zr)):
            raise OperandError(f"{name}: writeback base {addr.base} is also a data register")
        idx = {OFFSET: 2, POST: 1, PRE: 3}[addr.mode]
        return ((bits == 64) << 31) | 0x28000000 | (idx << 23) | (load << 22) \
            | (((off // size) & 0x7F) << 15) | (t2 << 10) | (n << 5) | t

    ldp = _pair_method("ldp", 1)
    stp = _pair_method("stp", 0)

    # ------------------------------------------------------------- system
    def nop(self):
        self._recs.append(_NOP_RECORD)
        self._code += _NOP_RECORD[0]

    def brk(self, imm=0):
        if not 0 <= _int(imm, "brk immediate") <= 0xFFFF:
            raise OperandError(f"brk immediate {imm:#x} does not fit in 16 bits")
        self._emit(0xD4200000 | (imm << 5), "brk", (imm,))

    def _barrier(self, base, name, option):
        if isinstance(option, str):
            try:
                option = BARRIER_OPTIONS[option.lower()]
            except KeyError:
                raise OperandError(f"{name}: unknown option {option!r}") from None
        if not 0 <= option <= 15:
            raise OperandError(f"{name}: option {option} out of range 0..15")
        self._emit(base | (option << 8), name, (option,))

    def dmb(self, option="sy"):
        self._barrier(0xD50330BF, "dmb", option)

    def dsb(self, option="sy"):
        self._barrier(0xD503309F, "dsb", option)

    def isb(self, option="sy"):
        self._barrier(0xD50330DF, "isb", option)

    def _sys(self, kind, op, rt):
        try:
            fields = CACHE_OPS[kind][op.lower()]
        except KeyError:
            raise OperandError(f"unknown {kind} operation {op!r}") from None
        t = 31 if rt is None else _rz(rt, 64, "address register")
        self._emit(0xD5080000 | (fields << 5) | t, kind, (op,) + ((rt,) if rt else ()))

    def dc(self, op, rt):
        self._sys("dc", op, rt)

    def ic(self, op, rt=None):
        self._sys("ic", op, rt)

    def dc_cvau(self, rt):
        self._sys("dc", "cvau", rt)

    def ic_ivau(self, rt):
        self._sys("ic", "ivau", rt)


def _cond_method(name, code):
    word = 0x54000000 | code
    full = "b." + name
    forward = _relaxable(word, 19)

    def method(self, target):
        if target.__class__ is Label and self.relax and target.owner is self:
            self.branch_to_label(target, forward, full, target)
        else:
            self._cond_branch(word, 19, full, (target,), target)
    method.__name__ = "b_" + name
    method.__doc__ = f"b.{name} target"
    return method


for _code, _cname in enumerate(COND_NAMES):
    setattr(Encoder, "b_" + _cname, _cond_method(_cname, _code))
setattr(Encoder, "b_cs", _cond_method("hs", 2))
setattr(Encoder, "b_cc", _cond_method("lo", 3))


# Methods whose output never depends on the layout for the operands they are
# usually given (a literal ldr leaves a fixup and is simply not remembered).
_MEMO_ARITY = {
    2: ["cmp", "cmn", "neg", "negs", "tst", "mvn", "cset", "csetm",
        "ldr", "str", "ldrb", "strb", "ldrh", "strh", "ldrsb", "ldrsh", "ldrsw",
        "ldur", "stur", "ldurb", "sturb", "ldurh", "sturh", "ldursb", "ldursh", "ldursw"],
    3: ["add", "adds", "sub", "subs", "and_", "ands", "orr", "eor", "bic", "bics",
        "orn", "eon", "lsl", "lsr", "asr", "ror", "cinc", "cinv", "cneg",
        "mul", "mneg", "smulh", "umulh", "sdiv", "udiv", "ldp", "stp"],
    4: ["csel", "csinc", "csinv", "csneg", "madd", "msub"],
}


class Builder(Encoder):
    """Emit AArch64 code: ``b = Builder(); b.add(X0, X1, 4); b.ret(); b.finish()``.

    The Encoder's methods with the memo of asmkit/memo.py in front: an
    instruction already emitted once with the same operands costs one dict
    lookup.
    """

    mov = memo.memoize_sequence(Encoder.mov)
    movz = memo.memoize_defaults(Encoder.movz, 1, 0)
    movn = memo.memoize_defaults(Encoder.movn, 1, 0)
    movk = memo.memoize_defaults(Encoder.movk, 1, 0)


def _install_memos():
    for arity, names in _MEMO_ARITY.items():
        for name in names:
            setattr(Builder, name, memo.memoize(getattr(Encoder, name), arity))


_install_memos()


def clear_memo():
    """Forget every remembered instruction and cached ``mem()`` operand (the
    benchmark's cold run; tests compare the memo with the Encoder)."""
    memo.clear_memo()
    _MEM_CACHE.clear()
