"""The x86-64 Builder: one method per instruction form, bytes as LLVM picks them.

Operands are registers (``asmkit.x86_64.regs``), memory operands (``Mem``)
and Python ints.  Every method checks its operands and raises ``AsmError``
naming the instruction and the operand that cannot be encoded; nothing is
truncated.  Where x86 offers several encodings the one LLVM's assembler
emits is chosen: imm8 forms when the value fits, the short ``al/eax/rax``
forms for imm32 ALU/test, ``d1`` (``d0``) for shifts by one, ``90+r`` for ``xchg``
with the accumulator, ``mov r32, imm`` as ``b8+r``, ``mov r64, imm`` as
``c7`` when the value sign-extends from 32 bits and ``movabs`` otherwise.
"""

from __future__ import annotations

import struct

from .. import memo
from ..buffer import AsmError, BranchForms, CodeBuffer, Label
from .operands import SIZE_NAMES, Mem, _encode_mem, fits_i32
from .regs import RIP, Reg

__all__ = ["Builder", "CONDITIONS", "CC_NAMES", "NOP_FILL"]

_I32 = struct.Struct("<i").pack
_I64 = struct.Struct("<q").pack
_U16 = struct.Struct("<H").pack

# Condition codes: canonical (Capstone's) names first, then aliases.
CC_NAMES = ["o", "no", "b", "ae", "e", "ne", "be", "a",
            "s", "ns", "p", "np", "l", "ge", "le", "g"]
CONDITIONS = {n: i for i, n in enumerate(CC_NAMES)}
CONDITIONS.update({"c": 2, "nae": 2, "nb": 3, "nc": 3, "z": 4, "nz": 5,
                   "na": 6, "nbe": 7, "pe": 10, "po": 11, "nge": 12,
                   "nl": 13, "ng": 14, "nle": 15})

NOP_FILL = b"\x90"


def _bad(name, pos, op, why):
    return AsmError(f"{name}: operand {pos} ({_show(op)}) {why}")


def _show(op):
    if isinstance(op, int) and not isinstance(op, bool):
        return f"{op:#x}" if op >= 0 else f"-{-op:#x}"
    return str(op)


def _imm(name, pos, v, size):
    """The signed value of immediate ``v`` for a ``size``-bit operation whose
    imm field sign-extends from 32 bits (or is 8 bits for byte operations).
    Accepts the signed and the unsigned spelling of the same bit pattern."""
    if v.__class__ is not int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(name, pos, v, "is not an immediate")
    if size == 64:
        if -0x80000000 <= v <= 0x7FFFFFFF:
            return v
        if 0xFFFFFFFF80000000 <= v <= 0xFFFFFFFFFFFFFFFF:
            return v - (1 << 64)
        raise _bad(name, pos, v, "does not fit a sign-extended 32-bit immediate")
    if size == 32:
        if -0x80000000 <= v <= 0xFFFFFFFF:
            return v - (1 << 32) if v > 0x7FFFFFFF else v
        raise _bad(name, pos, v, "does not fit a 32-bit immediate")
    if size == 8:
        if -0x80 <= v <= 0xFF:
            return v - 256 if v > 0x7F else v
        raise _bad(name, pos, v, "does not fit an 8-bit immediate")
    raise _bad(name, pos, v, f"has no {size}-bit immediate form")


def _jcc_forms(cc):
    table = [bytes((0x70 | cc, d)) for d in range(256)]

    def short(pc, target):
        d = target - pc - 2
        return table[d & 0xFF] if -128 <= d <= 127 else None

    pack = struct.Struct("<BBi").pack
    op2 = 0x80 | cc

    def long(pc, target):
        try:
            return pack(0x0F, op2, target - pc - 6)
        except struct.error:          # beyond rel32
            return None

    return BranchForms(2, 6, short, long, (-126, 129))


_JMP8 = [bytes((0xEB, d)) for d in range(256)]


def _jmp_short(pc, target):
    d = target - pc - 2
    return _JMP8[d & 0xFF] if -128 <= d <= 127 else None


_JMP32 = struct.Struct("<Bi").pack


def _jmp_long(pc, target):
    try:
        return _JMP32(0xE9, target - pc - 5)
    except struct.error:              # beyond rel32
        return None


_JCC = [_jcc_forms(cc) for cc in range(16)]
_JMP = BranchForms(2, 5, _jmp_short, _jmp_long, (-126, 129))


def _patch_rel32(code, start, pc, target, length):
    """call rel32: the displacement is the last four bytes."""
    d = target - pc - length
    if not fits_i32(d):
        return False
    code[start + length - 4:start + length] = _I32(d)


def _rel64(target, pc):
    """target - pc in 64-bit arithmetic, as the CPU adds rel8/rel32 to rip:
    ``jmp 0xffffffff90fe6c74`` at 0x400000 (Capstone's text for a rel32
    that wraps below address zero) is 0x6f41938c bytes back."""
    return ((target - pc + (1 << 63)) & 0xFFFFFFFFFFFFFFFF) - (1 << 63)


def _wrapping(forms):
    """The forms for an absolute target, whose distance is taken modulo
    2**64.  They carry no short_range (the buffer measures that range with
    plain subtraction), so finish() sizes them by encoding."""
    short, long = forms.short, forms.long

    def short_wrapped(pc, target):
        return short(pc, pc + _rel64(target, pc))

    def long_wrapped(pc, target):
        return long(pc, pc + _rel64(target, pc))

    return BranchForms(forms.short_size, forms.long_size, short_wrapped, long_wrapped)


def _patch_rel32_wrapped(code, start, pc, target, length):
    """call rel32 to an absolute address, the distance modulo 2**64."""
    return _patch_rel32(code, start, pc, pc + _rel64(target, pc), length)


_JCC_ABSOLUTE = [_wrapping(forms) for forms in _JCC]
_JMP_ABSOLUTE = _wrapping(_JMP)


def _patch_rip(code, start, pc, target, arg):
    """[rip + label]: disp32 relative to the end of the instruction."""
    off, length, extra = arg
    d = target + extra - pc - length
    if not fits_i32(d):
        return False
    code[start + off:start + off + 4] = _I32(d)


def format_insn(name, ops) -> str:
    """Listing text for one instruction, in Capstone's Intel syntax."""
    size = None
    if name != "lea" and not name.startswith(("movzx", "movsx")):
        for op in ops:
            if op.__class__ is Reg:
                size = op.size
                break
    parts = []
    for op in ops:
        if op.__class__ is Mem and op.size is None and size and name != "lea":
            parts.append(f"{SIZE_NAMES[size]} ptr {op.address_text()}")
        else:
            parts.append(_show(op))
    return name + (" " + ", ".join(parts) if parts else "")


def _alu_method(k, name):
    op_rr = k << 3 | 1                # r/m, r (the 8-bit opcode is one less)
    op_rm = k << 3 | 3                # r, r/m
    digit = 0xC0 | k << 3

    def alu(self, dst, src):
        # The common forms inline (reg, reg / reg, imm / reg, mem); the
        # rest, and every operand that needs a check, in Encoder._alu.
        if dst.__class__ is Reg and dst.gp:
            sc = src.__class__
            if sc is Reg:
                if src.size == dst.size and src.gp:
                    code = self._code
                    self._recs.append((len(code), len(self._var), name, dst, src))
                    rex = dst.w | src.rex_r | dst.rex_b
                    if rex or dst.force_rex or src.force_rex:
                        code.append(0x40 | rex)
                    code.append(op_rr - 1 if dst.size == 8 else op_rr)
                    code.append(0xC0 | src.reg_bits | dst.low)
                    return
            elif sc is int and dst.size != 8 and -128 <= src <= 127:
                code = self._code
                self._recs.append((len(code), len(self._var), name, dst, src))
                rex = dst.w | dst.rex_b
                if rex:
                    code.append(0x40 | rex)
                code.append(0x83)
                code.append(digit | dst.low)
                code.append(src & 0xFF)
                return
            elif sc is Mem and src.label is None \
                    and (src.size is None or src.size == dst.size):
                code = self._code
                self._recs.append((len(code), len(self._var), name, dst, src))
                enc = src._enc
                if enc is None:
                    enc = src._enc = _encode_mem(src)
                xb, modrm, tail, _ = enc
                rex = dst.w | dst.rex_r | xb
                if rex or dst.force_rex:
                    code.append(0x40 | rex)
                code.append(op_rm - 1 if dst.size == 8 else op_rm)
                code.append(modrm | dst.reg_bits)
                code += tail
                return
        self._alu(k, name, dst, src)

    alu.__name__ = name if name not in ("and", "or") else name + "_"
    alu.__doc__ = f"{name} r/m, r | r, r/m | r/m, imm (imm8 when it fits)."
    return alu


class Encoder(CodeBuffer):
    """Every x86-64 form, checked and encoded on each call.

    This is where all encoding decisions live.  :class:`Builder` (the class
    to use) puts a memo in front of it; ``relax=False`` keeps every jmp/jcc
    to a label in its rel32 form.
    """

    def __init__(self, relax: bool = True):
        super().__init__(format_insn, relax)

    def _align_fill(self, fill):
        return NOP_FILL if fill is None else fill

    # --------------------------------------------------------------- core
    def _modrm(self, opc, w, r, rm, imm=b"", name=None):
        """Emit [REX] opc ModRM [SIB] [disp] imm; ``r`` is a Reg or a /digit."""
        code = self._code
        if r.__class__ is int:
            regbits, rex, force = r << 3, w, False
        else:
            regbits, rex, force = r.reg_bits, w | r.rex_r, r.force_rex
        if rm.__class__ is Reg:
            rex |= rm.rex_b
            if rex or force or rm.force_rex:
                code.append(0x40 | rex)
            code += opc
            code.append(0xC0 | regbits | rm.low)
            if imm:
                code += imm
            return
        enc = rm._enc
        if enc is None:
            enc = rm._enc = _encode_mem(rm)
        xb, modrm, tail, dfix = enc
        rex |= xb
        if rex or force:
            code.append(0x40 | rex)
        code += opc
        code.append(modrm | regbits)
        at = len(code)
        code += tail
        if imm:
            code += imm
        if rm.label is not None:
            start = self._recs[-1][0]
            self.fixup(rm.label, _patch_rip, (at + dfix - start, len(code) - start, rm.disp))

    def _note(self, name, *ops):
        self._recs.append((len(self._code), len(self._var), name, *ops))

    @staticmethod
    def _mem_size(name, pos, m, size):
        if m.size is not None and m.size != size:
            raise _bad(name, pos, m, f"is {m.size}-bit, the instruction is {size}-bit")

    @staticmethod
    def _sized(name, pos, op, sizes):
        """The operand size of a Reg or sized Mem in ``sizes``."""
        size = op.size
        if size is None:
            raise _bad(name, pos, op, "needs a size (byte/dword/qword ptr)")
        if size not in sizes:
            raise _bad(name, pos, op, f"is {size}-bit; "
                       f"{name} takes {'/'.join(map(str, sizes))}-bit operands")
        return size

    def _check_reg(self, name, pos, op, sizes):
        if op.__class__ is Reg and op.size in sizes and op.num >= 0:
            return
        if op.__class__ is not Reg or op is RIP:
            raise _bad(name, pos, op, "must be a general register")
        if op.size not in sizes:
            raise _bad(name, pos, op, f"is {op.size}-bit; "
                       f"{name} takes {'/'.join(map(str, sizes))}-bit registers")

    def _rm_operand(self, name, pos, op, sizes):
        if op.__class__ is Reg:
            self._check_reg(name, pos, op, sizes)
            return op.size
        if op.__class__ is Mem:
            return self._sized(name, pos, op, sizes)
        raise _bad(name, pos, op, "must be a register or memory operand")

    # ---------------------------------------------------- two-operand ALU
    def _alu(self, k, name, dst, src):
        if dst.__class__ is Reg and dst.gp:
            # Fast paths (the JIT's common cases): reg, reg and reg, imm8.
            code = self._code
            if src.__class__ is Reg:
                if src.size == dst.size and src.gp:
                    self._recs.append((len(code), len(self._var), name, dst, src))
                    rex = dst.w | src.rex_r | dst.rex_b
                    if rex or dst.force_rex or src.force_rex:
                        code.append(0x40 | rex)
                    code.append(k << 3 | (0 if dst.size == 8 else 1))
                    code.append(0xC0 | src.reg_bits | dst.low)
                    return
            elif src.__class__ is int and dst.size != 8:
                if -128 <= src <= 127:
                    self._recs.append((len(code), len(self._var), name, dst, src))
                    rex = dst.w | dst.rex_b
                    if rex:
                        code.append(0x40 | rex)
                    code.append(0x83)
                    code.append(0xC0 | k << 3 | dst.low)
                    code.append(src & 0xFF)
                    return
                if -0x80000000 <= src <= 0x7FFFFFFF:
                    self._recs.append((len(code), len(self._var), name, dst, src))
                    if dst.num == 0:
                        if dst.w:
                            code.append(0x48)
                        code.append(k << 3 | 5)
                    else:
                        rex = dst.w | dst.rex_b
                        if rex:
                            code.append(0x40 | rex)
                        code.append(0x81)
                        code.append(0xC0 | k << 3 | dst.low)
                    code += _I32(src)
                    return
            elif src.__class__ is Mem and src.label is None \
                    and (src.size is None or src.size == dst.size):
                self._recs.append((len(code), len(self._var), name, dst, src))
                enc = src._enc
                if enc is None:
                    enc = src._enc = _encode_mem(src)
                xb, modrm, tail, _ = enc
                rex = dst.w | dst.rex_r | xb
                if rex or dst.force_rex:
                    code.append(0x40 | rex)
                code.append(k << 3 | (2 if dst.size == 8 else 3))
                code.append(modrm | dst.reg_bits)
                code += tail
                return
        if dst.__class__ is Reg:
            size = dst.size
            if src.__class__ is Reg:
                if src.size != size or size == 16 or dst is RIP or src is RIP:
                    self._check_reg(name, 1, dst, (8, 32, 64))
                    raise _bad(name, 2, src, f"must be a {size}-bit register")
                self._recs.append((len(self._code), len(self._var), name, dst, src))
                self._modrm(_ALU_MR[size == 8][k], dst.w, src, dst)
                return
            self._check_reg(name, 1, dst, (8, 32, 64))
            if src.__class__ is Mem:
                self._mem_size(name, 2, src, size)
                self._note(name, dst, src)
                self._modrm(_ALU_RM[size == 8][k], dst.w, dst, src)
                return
            v = _imm(name, 2, src, size)
            self._note(name, dst, src)
            if size == 8:
                if dst.num == 0:
                    self._code += bytes((k << 3 | 4, v & 0xFF))
                else:
                    self._modrm(b"\x80", 0, k, dst, bytes((v & 0xFF,)))
            elif -128 <= v <= 127:
                self._modrm(b"\x83", dst.w, k, dst, bytes((v & 0xFF,)))
            elif dst.num == 0:
                if dst.w:
                    self._code.append(0x48)
                self._code.append(k << 3 | 5)
                self._code += _I32(v)
            else:
                self._modrm(b"\x81", dst.w, k, dst, _I32(v))
            return
        if dst.__class__ is not Mem:
            raise _bad(name, 1, dst, "must be a register or memory operand")
        if src.__class__ is Reg:
            self._check_reg(name, 2, src, (8, 32, 64))
            self._mem_size(name, 1, dst, src.size)
            self._note(name, dst, src)
            self._modrm(_ALU_MR[src.size == 8][k], src.w, src, dst)
            return
        size = self._sized(name, 1, dst, (8, 32, 64))
        v = _imm(name, 2, src, size)
        self._note(name, dst, src)
        if size == 8:
            self._modrm(b"\x80", 0, k, dst, bytes((v & 0xFF,)))
        elif -128 <= v <= 127:
            self._modrm(b"\x83", 8 if size == 64 else 0, k, dst, bytes((v & 0xFF,)))
        else:
            self._modrm(b"\x81", 8 if size == 64 else 0, k, dst, _I32(v))

    add = _alu_method(0, "add")
    or_ = _alu_method(1, "or")
    adc = _alu_method(2, "adc")
    sbb = _alu_method(3, "sbb")
    and_ = _alu_method(4, "and")
    sub = _alu_method(5, "sub")
    xor = _alu_method(6, "xor")
    cmp = _alu_method(7, "cmp")

    # ----------------------------------------------------------------- mov
    def mov(self, dst, src):
        """mov r/m, r | r, r/m | r, imm (imm64 as movabs) | m, imm32."""
        sc = src.__class__
        if dst.__class__ is Reg and dst.gp and sc is Mem and src.label is None \
                and (src.size is None or src.size == dst.size):
            code = self._code
            self._recs.append((len(code), len(self._var), "mov", dst, src))
            enc = src._enc
            if enc is None:
                enc = src._enc = _encode_mem(src)
            xb, modrm, tail, _ = enc
            rex = dst.w | dst.rex_r | xb
            if rex or dst.force_rex:
                code.append(0x40 | rex)
            code.append(0x8A if dst.size == 8 else 0x8B)
            code.append(modrm | dst.reg_bits)
            code += tail
            return
        if sc is Reg and src.gp and dst.__class__ is Mem and dst.label is None \
                and (dst.size is None or dst.size == src.size):
            code = self._code
            self._recs.append((len(code), len(self._var), "mov", dst, src))
            enc = dst._enc
            if enc is None:
                enc = dst._enc = _encode_mem(dst)
            xb, modrm, tail, _ = enc
            rex = src.w | src.rex_r | xb
            if rex or src.force_rex:
                code.append(0x40 | rex)
            code.append(0x88 if src.size == 8 else 0x89)
            code.append(modrm | src.reg_bits)
            code += tail
            return
        if dst.__class__ is Reg and dst.gp:
            if sc is Reg:
                if src.size == dst.size and src.gp:
                    code = self._code
                    self._recs.append((len(code), len(self._var), "mov", dst, src))
                    rex = dst.w | src.rex_r | dst.rex_b
                    if rex or dst.force_rex or src.force_rex:
                        code.append(0x40 | rex)
                    code.append(0x88 if dst.size == 8 else 0x89)
                    code.append(0xC0 | src.reg_bits | dst.low)
                    return
            elif sc is int and -0x80000000 <= src <= 0x7FFFFFFF and dst.size != 8:
                code = self._code
                self._recs.append((len(code), len(self._var), "mov", dst, src))
                if dst.w:
                    code.append(0x48 | dst.rex_b)
                    code.append(0xC7)
                    code.append(0xC0 | dst.low)
                else:
                    if dst.rex_b:
                        code.append(0x41)
                    code.append(0xB8 | dst.low)
                code += _I32(src)
                return
        if dst.__class__ is Reg and src.__class__ is Reg:
            size = dst.size
            if src.size != size or size == 16 or dst is RIP or src is RIP:
                self._check_reg("mov", 1, dst, (8, 32, 64))
                raise _bad("mov", 2, src, f"must be a {size}-bit register")
            self._recs.append((len(self._code), len(self._var), "mov", dst, src))
            self._modrm(b"\x88" if size == 8 else b"\x89", dst.w, src, dst)
            return
        if dst.__class__ is Reg:
            self._check_reg("mov", 1, dst, (8, 32, 64))
            size = dst.size
            if src.__class__ is Mem:
                self._mem_size("mov", 2, src, size)
                self._note("mov", dst, src)
                self._modrm(b"\x8a" if size == 8 else b"\x8b", dst.w, dst, src)
                return
            if not isinstance(src, int) or isinstance(src, bool):
                raise _bad("mov", 2, src, "must be a register, memory or immediate")
            if size == 64:
                if not -(1 << 63) <= src < (1 << 64):
                    raise _bad("mov", 2, src, "does not fit 64 bits")
                v = src - (1 << 64) if src >= (1 << 63) else src
                if fits_i32(v):
                    self._note("mov", dst, src)
                    self._modrm(b"\xc7", 8, 0, dst, _I32(v))
                else:
                    self._movabs(dst, v)
                return
            v = _imm("mov", 2, src, size)
            self._note("mov", dst, src)
            code = self._code
            if dst.rex_b or dst.force_rex:
                code.append(0x40 | dst.rex_b)
            if size == 8:
                code += bytes((0xB0 | dst.low, v & 0xFF))
            else:
                code.append(0xB8 | dst.low)
                code += _I32(v)
            return
        if dst.__class__ is not Mem:
            raise _bad("mov", 1, dst, "must be a register or memory operand")
        if src.__class__ is Reg:
            self._check_reg("mov", 2, src, (8, 32, 64))
            self._mem_size("mov", 1, dst, src.size)
            self._note("mov", dst, src)
            self._modrm(b"\x88" if src.size == 8 else b"\x89", src.w, src, dst)
            return
        size = self._sized("mov", 1, dst, (8, 32, 64))
        v = _imm("mov", 2, src, size)
        self._note("mov", dst, src)
        if size == 8:
            self._modrm(b"\xc6", 0, 0, dst, bytes((v & 0xFF,)))
        else:
            self._modrm(b"\xc7", 8 if size == 64 else 0, 0, dst, _I32(v))

    def movabs(self, dst, imm):
        """mov r64, imm64 in its 10-byte form whatever the value; or the
        accumulator load/store at a 64-bit absolute address (moffs, A0-A3):
        ``movabs al/eax/rax, [addr]`` and ``movabs [addr], al/eax/rax``."""
        if dst.__class__ is Mem or imm.__class__ is Mem:
            self._moffs(dst, imm)
            return
        self._check_reg("movabs", 1, dst, (64,))
        if not isinstance(imm, int) or not -(1 << 63) <= imm < (1 << 64):
            raise _bad("movabs", 2, imm, "must be a 64-bit immediate")
        self._movabs(dst, imm - (1 << 64) if imm >= (1 << 63) else imm)

    def _movabs(self, dst, v):
        self._note("movabs", dst, v)
        self._code += bytes((0x48 | dst.rex_b, 0xB8 | dst.low)) + _I64(v)

    def _moffs(self, dst, src):
        """A0/A1 (load) or A2/A3 (store) with an 8-byte address: the only
        x86-64 form that reaches any 64-bit address without a register."""
        load = src.__class__ is Mem
        reg, mem = (dst, src) if load else (src, dst)
        reg_pos, mem_pos = (1, 2) if load else (2, 1)
        if reg.__class__ is Mem:
            raise _bad("movabs", reg_pos, reg, "must be al, eax or rax")
        self._check_reg("movabs", reg_pos, reg, (8, 32, 64))
        if reg.num != 0:
            raise _bad("movabs", reg_pos, reg, "must be al, eax or rax "
                       "(the accumulator is the only register with a 64-bit "
                       "absolute address form)")
        if mem.base is not None or mem.index is not None or mem.label is not None:
            raise _bad("movabs", mem_pos, mem, "must be an absolute address "
                       "[addr] with no base or index register")
        self._mem_size("movabs", mem_pos, mem, reg.size)
        addr = mem.disp
        if addr.__class__ is not int or not -(1 << 63) <= addr < (1 << 64):
            raise _bad("movabs", mem_pos, mem, "address does not fit 64 bits")
        self._note("movabs", dst, src)
        code = self._code
        if reg.size == 64:
            code.append(0x48)
        code.append((0xA0 if load else 0xA2) | (reg.size != 8))
        code += (addr & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")

    def _ext(self, name, opc, dst, src, src_sizes, dst_sizes=(32, 64)):
        self._check_reg(name, 1, dst, dst_sizes)
        if src.__class__ is Reg:
            self._check_reg(name, 2, src, src_sizes)
        elif src.__class__ is Mem:
            self._sized(name, 2, src, src_sizes)
        else:
            raise _bad(name, 2, src, "must be a register or memory operand")
        self._note(name, dst, src)
        self._modrm(opc[src.size], dst.w, dst, src)

    def movzx(self, dst, src):
        """Zero-extend an 8- or 16-bit register or memory into dst."""
        self._ext("movzx", _MOVZX, dst, src, (8, 16))

    def movsx(self, dst, src):
        """Sign-extend an 8- or 16-bit register or memory into dst."""
        self._ext("movsx", _MOVSX, dst, src, (8, 16))

    def movsxd(self, dst, src):
        """Sign-extend a 32-bit register or memory into a 64-bit register;
        with a 32-bit destination (63 without REX.W) it is a plain 32-bit move."""
        self._ext("movsxd", _MOVSXD, dst, src, (32,), (32, 64))

    def lea(self, dst, src):
        if dst.__class__ is Reg and src.__class__ is Mem and src.label is None \
                and dst.gp and dst.size != 8:
            code = self._code
            self._recs.append((len(code), len(self._var), "lea", dst, src))
            enc = src._enc
            if enc is None:
                enc = src._enc = _encode_mem(src)
            xb, modrm, tail, _ = enc
            rex = dst.w | dst.rex_r | xb
            if rex:
                code.append(0x40 | rex)
            code.append(0x8D)
            code.append(modrm | dst.reg_bits)
            code += tail
            return
        self._check_reg("lea", 1, dst, (32, 64))
        if src.__class__ is not Mem:
            raise _bad("lea", 2, src, "must be a memory operand")
        self._note("lea", dst, src)
        self._modrm(b"\x8d", dst.w, dst, src)

    # ----------------------------------------------------------- test/xchg
    def test(self, dst, src):
        if dst.__class__ is Reg and src.__class__ is Reg and dst.gp \
                and src.gp and src.size == dst.size:
            code = self._code
            self._recs.append((len(code), len(self._var), "test", dst, src))
            rex = src.w | src.rex_r | dst.rex_b
            if rex or src.force_rex or dst.force_rex:
                code.append(0x40 | rex)
            code.append(0x84 if src.size == 8 else 0x85)
            code.append(0xC0 | src.reg_bits | dst.low)
            return
        if src.__class__ is Mem and dst.__class__ is Reg:
            dst, src = src, dst        # test r, m is test m, r
        if src.__class__ is Reg:
            self._check_reg("test", 2, src, (8, 32, 64))
            if dst.__class__ is Reg:
                self._check_reg("test", 1, dst, (src.size,))
            elif dst.__class__ is Mem:
                self._mem_size("test", 1, dst, src.size)
            else:
                raise _bad("test", 1, dst, "must be a register or memory operand")
            self._note("test", dst, src)
            self._modrm(b"\x84" if src.size == 8 else b"\x85", src.w, src, dst)
            return
        size = self._rm_operand("test", 1, dst, (8, 32, 64))
        v = _imm("test", 2, src, size)
        self._note("test", dst, src)
        w = 8 if size == 64 else 0
        imm = bytes((v & 0xFF,)) if size == 8 else _I32(v)
        if dst.__class__ is Reg and dst.num == 0:
            if w:
                self._code.append(0x48)
            self._code.append(0xA8 if size == 8 else 0xA9)
            self._code += imm
        else:
            self._modrm(b"\xf6" if size == 8 else b"\xf7", w, 0, dst, imm)

    def xchg(self, a, b):
        if a.__class__ is Mem and b.__class__ is Reg:
            a, b = b, a
        self._check_reg("xchg", 1, a, (8, 32, 64))
        opc = b"\x86" if a.size == 8 else b"\x87"     # 8-bit: no 90+r form
        if b.__class__ is Mem:
            self._mem_size("xchg", 2, b, a.size)
            self._note("xchg", a, b)
            self._modrm(opc, a.w, a, b)
            return
        self._check_reg("xchg", 2, b, (a.size,))
        self._note("xchg", a, b)
        if a.size == 8:
            self._modrm(opc, 0, b, a)
        elif (a.num == 0 or b.num == 0) and not (a.size == 32 and a.num == b.num):
            other = b if a.num == 0 else a
            rex = a.w | other.rex_b
            if rex:
                self._code.append(0x40 | rex)
            self._code.append(0x90 | other.low)
        else:
            self._modrm(b"\x87", a.w, b, a)

    # --------------------------------------------------------- multiply etc
    def imul(self, dst, src=None, imm=None):
        """imul r/m (rdx:rax), imul r, r/m, or imul r, r/m, imm."""
        if src is None:
            self._unary(5, "imul", dst, (8, 32, 64))
            return
        if dst.__class__ is Reg and src.__class__ is Reg and dst.gp \
                and dst.size != 8 and src.size == dst.size and src.gp:
            code = self._code
            rex = dst.w | dst.rex_r | src.rex_b
            if imm is None:
                self._recs.append((len(code), len(self._var), "imul", dst, src))
                if rex:
                    code.append(0x40 | rex)
                code += b"\x0f\xaf"
                code.append(0xC0 | dst.reg_bits | src.low)
                return
            if imm.__class__ is int and -0x80000000 <= imm <= 0x7FFFFFFF:
                self._recs.append((len(code), len(self._var), "imul", dst, src, imm))
                if rex:
                    code.append(0x40 | rex)
                if -128 <= imm <= 127:
                    code.append(0x6B)
                    code.append(0xC0 | dst.reg_bits | src.low)
                    code.append(imm & 0xFF)
                else:
                    code.append(0x69)
                    code.append(0xC0 | dst.reg_bits | src.low)
                    code += _I32(imm)
                return
        self._check_reg("imul", 1, dst, (32, 64))
        if src.__class__ is Reg:
            self._check_reg("imul", 2, src, (dst.size,))
        elif src.__class__ is Mem:
            self._mem_size("imul", 2, src, dst.size)
        else:
            raise _bad("imul", 2, src, "must be a register or memory operand")
        if imm is None:
            self._note("imul", dst, src)
            self._modrm(b"\x0f\xaf", dst.w, dst, src)
            return
        v = _imm("imul", 3, imm, dst.size)
        self._note("imul", dst, src, imm)
        if -128 <= v <= 127:
            self._modrm(b"\x6b", dst.w, dst, src, bytes((v & 0xFF,)))
        else:
            self._modrm(b"\x69", dst.w, dst, src, _I32(v))

    def _unary(self, digit, name, op, sizes, opc=b"\xf7"):
        if op.__class__ is Reg and op.gp:
            code = self._code
            self._recs.append((len(code), len(self._var), name, op))
            rex = op.w | op.rex_b
            if rex or op.force_rex:
                code.append(0x40 | rex)
            code.append(opc[0] - 1 if op.size == 8 else opc[0])
            code.append(0xC0 | digit << 3 | op.low)
            return
        size = self._rm_operand(name, 1, op, sizes)
        if size == 8:                 # F7 -> F6, FF -> FE: the r/m8 opcodes
            opc = _BYTE_OPCODE[opc]
        self._note(name, op)
        self._modrm(opc, 8 if size == 64 else 0, digit, op)

    def not_(self, op): self._unary(2, "not", op, (8, 32, 64))
    def neg(self, op): self._unary(3, "neg", op, (8, 32, 64))
    def mul(self, op): self._unary(4, "mul", op, (8, 32, 64))
    def div(self, op): self._unary(6, "div", op, (8, 32, 64))
    def idiv(self, op): self._unary(7, "idiv", op, (8, 32, 64))
    def inc(self, op): self._unary(0, "inc", op, (8, 32, 64), b"\xff")
    def dec(self, op): self._unary(1, "dec", op, (8, 32, 64), b"\xff")

    def cqo(self):
        self._note("cqo")
        self._code += b"\x48\x99"

    def cdq(self):
        self._note("cdq")
        self._code.append(0x99)

    def cdqe(self):
        self._note("cdqe")
        self._code += b"\x48\x98"

    # -------------------------------------------------------------- shifts
    def _shift(self, digit, name, dst, count):
        if dst.__class__ is Reg and count.__class__ is int and dst.gp \
                and 0 <= count <= 255:
            code = self._code
            self._recs.append((len(code), len(self._var), name, dst, count))
            rex = dst.w | dst.rex_b
            if rex or dst.force_rex:
                code.append(0x40 | rex)
            if count == 1:
                code.append(0xD0 if dst.size == 8 else 0xD1)
                code.append(0xC0 | digit << 3 | dst.low)
            else:
                code.append(0xC0 if dst.size == 8 else 0xC1)
                code.append(0xC0 | digit << 3 | dst.low)
                code.append(count)
            return
        size = self._rm_operand(name, 1, dst, (8, 32, 64))
        w = 8 if size == 64 else 0
        byte = size == 8              # C0/D0/D2 are the r/m8 opcodes
        if count.__class__ is Reg:
            if count.name != "cl":
                raise _bad(name, 2, count, "must be cl or an immediate")
            self._note(name, dst, count)
            self._modrm(b"\xd2" if byte else b"\xd3", w, digit, dst)
            return
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 255:
            raise _bad(name, 2, count, "must be cl or an immediate 0..255")
        self._note(name, dst, count)
        if count == 1:
            self._modrm(b"\xd0" if byte else b"\xd1", w, digit, dst)
        else:
            self._modrm(b"\xc0" if byte else b"\xc1", w, digit, dst, bytes((count,)))

    def rol(self, dst, count): self._shift(0, "rol", dst, count)
    def ror(self, dst, count): self._shift(1, "ror", dst, count)
    def shl(self, dst, count): self._shift(4, "shl", dst, count)
    def shr(self, dst, count): self._shift(5, "shr", dst, count)
    def sar(self, dst, count): self._shift(7, "sar", dst, count)
    sal = shl

    # ---------------------------------------------------- setcc and cmovcc
    def set(self, cond, dst):
        """setCC r/m8 for condition name ``cond`` (e, ne, l, ...)."""
        cc = _cond(cond)
        name = "set" + CC_NAMES[cc]
        if dst.__class__ is Reg:
            self._check_reg(name, 1, dst, (8,))
        elif dst.__class__ is Mem:
            self._mem_size(name, 1, dst, 8)
        else:
            raise _bad(name, 1, dst, "must be an 8-bit register or byte memory")
        self._note(name, dst)
        self._modrm(_SETCC[cc], 0, 0, dst)

    def cmov(self, cond, dst, src):
        """cmovCC r, r/m for condition name ``cond``."""
        cc = _cond(cond)
        name = "cmov" + CC_NAMES[cc]
        self._check_reg(name, 1, dst, (32, 64))
        if src.__class__ is Reg:
            self._check_reg(name, 2, src, (dst.size,))
        elif src.__class__ is Mem:
            self._mem_size(name, 2, src, dst.size)
        else:
            raise _bad(name, 2, src, "must be a register or memory operand")
        self._note(name, dst, src)
        self._modrm(_CMOV[cc], dst.w, dst, src)

    # ------------------------------------------------------------ branches
    def _target(self, name, target):
        if target.__class__ is Label:
            if target.owner is not self:
                raise _bad(name, 1, target, "is a label of another builder")
            return
        if not isinstance(target, int) or isinstance(target, bool) or target < 0:
            raise _bad(name, 1, target, "must be a label or an absolute address")
        if target >> 64:
            raise _bad(name, 1, target, "is not a 64-bit address")

    def j(self, cond, target):
        """jCC to a label or absolute address (rel8 when it fits)."""
        cc = _cond(cond)
        name = "j" + CC_NAMES[cc]
        self._target(name, target)
        forms = _JCC[cc] if target.__class__ is Label else _JCC_ABSOLUTE[cc]
        self.branch(target, forms, name, target)

    def jmp(self, target):
        """jmp label/address (rel8 or rel32), or jmp r64 / qword ptr [m]."""
        if target.__class__ is Reg or target.__class__ is Mem:
            self._indirect(4, "jmp", target)
            return
        self._target("jmp", target)
        forms = _JMP if target.__class__ is Label else _JMP_ABSOLUTE
        self.branch(target, forms, "jmp", target)

    def call(self, target):
        """call label/address (rel32), or call r64 / qword ptr [m]."""
        if target.__class__ is Reg or target.__class__ is Mem:
            self._indirect(2, "call", target)
            return
        self._target("call", target)
        self._note("call", target)
        self._code += b"\xe8\x00\x00\x00\x00"
        self.fixup(target, _patch_rel32 if target.__class__ is Label
                   else _patch_rel32_wrapped, 5)

    def _indirect(self, digit, name, target):
        if target.__class__ is Reg:
            self._check_reg(name, 1, target, (64,))
        else:
            self._mem_size(name, 1, target, 64)
        self._note(name, target)
        self._modrm(b"\xff", 0, digit, target)

    def ret(self, pop: int | None = None):
        if pop is None:
            self._note("ret")
            self._code.append(0xC3)
            return
        if not isinstance(pop, int) or not 0 <= pop <= 0xFFFF:
            raise _bad("ret", 1, pop, "must be an immediate 0..0xffff")
        self._note("ret", pop)
        self._code += b"\xc2" + _U16(pop)

    # ---------------------------------------------------------- push / pop
    def push(self, src):
        if src.__class__ is Reg and src.size == 64 and src.num >= 0:
            code = self._code
            self._recs.append((len(code), len(self._var), "push", src))
            if src.rex_b:
                code.append(0x41)
            code.append(0x50 | src.low)
            return
        if src.__class__ is Reg:
            self._check_reg("push", 1, src, (64,))
            self._note("push", src)
            if src.rex_b:
                self._code.append(0x41)
            self._code.append(0x50 | src.low)
        elif src.__class__ is Mem:
            self._mem_size("push", 1, src, 64)
            self._note("push", src)
            self._modrm(b"\xff", 0, 6, src)
        else:
            v = _imm("push", 1, src, 64)
            self._note("push", src)
            if -128 <= v <= 127:
                self._code += bytes((0x6A, v & 0xFF))
            else:
                self._code += b"\x68" + _I32(v)

    def pop(self, dst):
        if dst.__class__ is Reg and dst.size == 64 and dst.num >= 0:
            code = self._code
            self._recs.append((len(code), len(self._var), "pop", dst))
            if dst.rex_b:
                code.append(0x41)
            code.append(0x58 | dst.low)
            return
        if dst.__class__ is Reg:
            self._check_reg("pop", 1, dst, (64,))
            self._note("pop", dst)
            if dst.rex_b:
                self._code.append(0x41)
            self._code.append(0x58 | dst.low)
        elif dst.__class__ is Mem:
            self._mem_size("pop", 1, dst, 64)
            self._note("pop", dst)
            self._modrm(b"\x8f", 0, 0, dst)
        else:
            raise _bad("pop", 1, dst, "must be a 64-bit register or memory")

    # --------------------------------------------------------------- misc
    def nop(self):
        self._note("nop")
        self._code.append(0x90)

    def int3(self):
        self._note("int3")
        self._code.append(0xCC)

    def ud2(self):
        self._note("ud2")
        self._code += b"\x0f\x0b"


def _cond(cond):
    cc = CONDITIONS.get(cond) if isinstance(cond, str) else None
    if cc is None:
        if isinstance(cond, int) and 0 <= cond < 16:
            return cond
        raise AsmError(f"unknown condition {cond!r}")
    return cc


_ALU_MR = {False: [bytes((k << 3 | 1,)) for k in range(8)],
           True: [bytes((k << 3,)) for k in range(8)]}
_ALU_RM = {False: [bytes((k << 3 | 3,)) for k in range(8)],
           True: [bytes((k << 3 | 2,)) for k in range(8)]}
_MOVZX = {8: b"\x0f\xb6", 16: b"\x0f\xb7"}
_MOVSX = {8: b"\x0f\xbe", 16: b"\x0f\xbf"}
_MOVSXD = {32: b"\x63"}
_BYTE_OPCODE = {b"\xf7": b"\xf6", b"\xff": b"\xfe"}
_SETCC = [bytes((0x0F, 0x90 | cc)) for cc in range(16)]
_CMOV = [bytes((0x0F, 0x40 | cc)) for cc in range(16)]


def _condition_pair(cc):
    """setCC r/m8 and cmovCC r, r/m for condition number ``cc``: register
    forms inline, anything else through Encoder.set / Encoder.cmov."""
    set_name, set_op = "set" + CC_NAMES[cc], _SETCC[cc]
    cmov_name, cmov_op = "cmov" + CC_NAMES[cc], _CMOV[cc]

    def setcc(self, dst):
        if dst.__class__ is Reg and dst.size == 8 and dst.num >= 0:
            code = self._code
            self._recs.append((len(code), len(self._var), set_name, dst))
            if dst.rex_b or dst.force_rex:
                code.append(0x40 | dst.rex_b)
            code += set_op
            code.append(0xC0 | dst.low)
            return
        Encoder.set(self, cc, dst)

    def cmovcc(self, dst, src):
        if dst.__class__ is Reg and src.__class__ is Reg and dst.gp \
                and dst.size != 8 and src.size == dst.size and src.gp:
            code = self._code
            self._recs.append((len(code), len(self._var), cmov_name, dst, src))
            rex = dst.w | dst.rex_r | src.rex_b
            if rex:
                code.append(0x40 | rex)
            code += cmov_op
            code.append(0xC0 | dst.reg_bits | src.low)
            return
        Encoder.cmov(self, cc, dst, src)

    return setcc, cmovcc


def _install_condition_methods():
    """je/jne/..., sete/..., cmove/... for every name and alias."""
    for cname, cc in CONDITIONS.items():
        setcc, cmovcc = _condition_pair(cc)

        for prefix, fn in (("set", setcc), ("cmov", cmovcc)):
            fn.__name__ = prefix + cname
            fn.__doc__ = f"{prefix}{cname}: see {prefix}()"
            setattr(Encoder, prefix + cname, fn)


_install_condition_methods()


# --------------------------------------------------------------- the memo
#
# The Builder is the Encoder with the shared memo (asmkit/memo.py) in front
# of every method whose bytes cannot depend on the layout; jmp/jcc/call to
# labels or addresses and [rip + label] operands leave a fixup or a
# variable-size item, and the memo never keeps those.

_MEMO_ARITY = {
    1: ["not_", "neg", "mul", "div", "idiv", "inc", "dec", "push", "pop"],
    2: ["add", "or_", "adc", "sbb", "and_", "sub", "xor", "cmp", "mov",
        "movabs", "movzx", "movsx", "movsxd", "lea", "test", "xchg", "rol",
        "ror", "shl", "shr", "sar", "set"],
}


def clear_memo():
    """Forget every memoised instruction (see asmkit/memo.py)."""
    memo.clear_memo()


class Builder(Encoder):
    """Emit x86-64 instructions by method call; ``finish()`` gives the bytes.

    The methods are the Encoder's, with the memo of asmkit/memo.py in
    front; ``relax=False`` keeps every jmp/jcc to a label in its rel32 form.
    """

    imul = memo.memoize_defaults(Encoder.imul, 2)
    cmov = memo.memoize(Encoder.cmov, 3)

    def j(self, cond, target):
        """jCC to a label or absolute address (rel8 when it fits)."""
        try:
            jump = _JUMP_BY_COND.get(cond)
        except TypeError:             # unhashable: let Encoder.j name it
            jump = None
        if jump is None:
            Encoder.j(self, cond, target)
        else:
            jump(self, target)

    def call(self, target):
        """call label/address (rel32), or call r64 / qword ptr [m]."""
        if target.__class__ is Mem or target.__class__ is Reg:
            _call_indirect(self, target)
        else:
            Encoder.call(self, target)

    def cqo(self):
        """cqo (sign-extend rax into rdx)."""
        self._recs.append(_CQO)
        self._code += b"\x48\x99"

    def ret(self, pop=None):
        """ret, or ret imm16."""
        if pop is None:
            self._recs.append(_RET)
            self._code += b"\xc3"
        else:
            Encoder.ret(self, pop)


def _jump_method(forms, name, cc):
    """jCC (cc 0-15) or jmp (cc None): a label of this builder goes straight
    to the buffer's branch entry; anything else takes the checked path."""
    def jump(self, target):
        if target.__class__ is Label and target.owner is self:
            self.branch_to_label(target, forms, name, target)
        elif cc is None:
            if target.__class__ is Mem or target.__class__ is Reg:
                _jmp_indirect(self, target)
            else:
                Encoder.jmp(self, target)
        else:
            Encoder.j(self, cc, target)

    jump.__doc__ = f"{name} label/address (rel8 when it fits, else rel32)"
    return jump


Builder.jmp = _jump_method(_JMP, "jmp", None)
Builder.jmp.__doc__ = ("jmp label/address (rel8 or rel32), or jmp r64 / "
                       "qword ptr [m].")


def _call_indirect_slow(self, target):
    Encoder._indirect(self, 2, "call", target)


def _jmp_indirect_slow(self, target):
    Encoder._indirect(self, 4, "jmp", target)


_call_indirect_slow.__name__ = "call"
_jmp_indirect_slow.__name__ = "jmp"
_call_indirect = memo.memoize(_call_indirect_slow, 1)     # call r64 / [m]
_jmp_indirect = memo.memoize(_jmp_indirect_slow, 1)       # jmp r64 / [m]

_JCC_NAMES = ["j" + n for n in CC_NAMES]
_CQO, _RET = (b"\x48\x99", "cqo"), (b"\xc3", "ret")     # shared records
_JUMP_BY_COND: dict = {}       # condition name or number -> jCC method


def _install_memos():
    for arity, names in _MEMO_ARITY.items():
        for name in names:
            setattr(Builder, name, memo.memoize(getattr(Encoder, name), arity))
    Builder.sal = Builder.shl
    for cname, cc in CONDITIONS.items():
        j = _jump_method(_JCC[cc], _JCC_NAMES[cc], cc)
        j.__name__ = "j" + cname
        j.__doc__ = f"j{cname} label/address: see j()"
        setattr(Builder, "j" + cname, j)
        _JUMP_BY_COND[cname] = _JUMP_BY_COND[cc] = j
        for prefix, arity in (("set", 1), ("cmov", 2)):
            slow = getattr(Encoder, prefix + cname)
            setattr(Builder, prefix + cname, memo.memoize(slow, arity))


_install_memos()
