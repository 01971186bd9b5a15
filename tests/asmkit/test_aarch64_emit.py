"""Cranelift-style emit table: (builder call, hex, Capstone text) rows that
check the encoder and the printer together, and the text assembler on the
printed text."""

import pytest

from asmkit.aarch64 import Builder, assemble
from asmkit.aarch64.operands import Imm12, extended, mem, post, pre, shifted
from asmkit.aarch64.regs import SP, WSP, WZR, XZR, W, X

x0, x1, x2, x3, x19, x30 = X[0], X[1], X[2], X[3], X[19], X[30]
w0, w1, w2, w3 = W[0], W[1], W[2], W[3]

ROWS = [
    (lambda b: b.add(x0, x1, 5), "20140091", "add x0, x1, #5"),
    (lambda b: b.add(x0, x1, Imm12(1, 12)), "20044091", "add x0, x1, #1, lsl #12"),
    (lambda b: b.add(x0, x1, 0x3000), "200c4091", "add x0, x1, #3, lsl #12"),
    (lambda b: b.add(w0, w1, -1), "20040051", "sub w0, w1, #1"),
    (lambda b: b.add(x0, SP, x1), "e063218b", "add x0, sp, x1"),
    (lambda b: b.add(x0, SP, shifted(x1, "lsl", 2)), "e06b218b", "add x0, sp, x1, lsl #2"),
    (lambda b: b.add(x0, x1, shifted(x2, "asr", 63)), "20fc828b", "add x0, x1, x2, asr #63"),
    (lambda b: b.subs(x0, x1, extended(w2, "sxtw", 3)), "20cc22eb",
     "subs x0, x1, w2, sxtw #3"),
    (lambda b: b.cmp(x0, -1), "1f0400b1", "cmn x0, #1"),
    (lambda b: b.cmp(SP, 16), "ff4300f1", "cmp sp, #0x10"),
    (lambda b: b.cmn(w0, extended(w1, "uxtb", 3)), "1f0c212b", "cmn w0, w1, uxtb #3"),
    (lambda b: b.neg(x0, x1), "e00301cb", "neg x0, x1"),
    (lambda b: b.tst(x0, 1), "1f0040f2", "tst x0, #1"),
    (lambda b: b.and_(SP, x1, 0xFF00), "3f1c7892", "and sp, x1, #0xff00"),
    (lambda b: b.orr(w0, w1, 0x55555555), "20f00032", "orr w0, w1, #0x55555555"),
    (lambda b: b.bic(x0, x1, 0xFF), "20dc7892", "and x0, x1, #0xffffffffffffff00"),
    (lambda b: b.eor(x0, x1, shifted(x2, "ror", 7)), "201cc2ca", "eor x0, x1, x2, ror #7"),
    (lambda b: b.mvn(w0, w1), "e003212a", "mvn w0, w1"),
    (lambda b: b.movz(x0, 0x1234, 16), "8046a2d2", "mov x0, #0x12340000"),
    (lambda b: b.movk(x0, 0xBEEF, 48), "e0ddf7f2", "movk x0, #0xbeef, lsl #48"),
    (lambda b: b.movn(w0, 0), "00008012", "mov w0, #-1"),
    (lambda b: b.mov(x0, 0xFF00FF00FF00FF00), "e09f08b2", "mov x0, #-0xff00ff00ff0100"),
    (lambda b: b.mov(x0, x1), "e00301aa", "mov x0, x1"),
    (lambda b: b.mov(SP, x1), "3f000091", "mov sp, x1"),
    (lambda b: b.mov(w0, WSP), "e0030011", "mov w0, wsp"),
    (lambda b: b.lsl(x0, x1, 3), "20f07dd3", "lsl x0, x1, #3"),
    (lambda b: b.lsr(w0, w1, 31), "207c1f53", "lsr w0, w1, #0x1f"),
    (lambda b: b.asr(x0, x1, x2), "2028c29a", "asr x0, x1, x2"),
    (lambda b: b.ror(x0, x1, 8), "2020c193", "ror x0, x1, #8"),
    (lambda b: b.mul(x0, x1, x2), "207c029b", "mul x0, x1, x2"),
    (lambda b: b.madd(w0, w1, w2, w3), "200c021b", "madd w0, w1, w2, w3"),
    (lambda b: b.msub(x0, x1, x2, x3), "208c029b", "msub x0, x1, x2, x3"),
    (lambda b: b.smulh(x0, x1, x2), "207c429b", "smulh x0, x1, x2"),
    (lambda b: b.umulh(x0, x1, x2), "207cc29b", "umulh x0, x1, x2"),
    (lambda b: b.sdiv(x0, x1, x2), "200cc29a", "sdiv x0, x1, x2"),
    (lambda b: b.udiv(w0, w1, w2), "2008c21a", "udiv w0, w1, w2"),
    (lambda b: b.csel(x0, x1, x2, "lt"), "20b0829a", "csel x0, x1, x2, lt"),
    (lambda b: b.csinc(w0, w1, w2, "hs"), "2024821a", "csinc w0, w1, w2, hs"),
    (lambda b: b.cset(x0, "eq"), "e0179f9a", "cset x0, eq"),
    (lambda b: b.csetm(w0, "lo"), "e0239f5a", "csetm w0, lo"),
    (lambda b: b.cinc(x0, x1, "eq"), "2014819a", "cinc x0, x1, eq"),
    (lambda b: b.cneg(x0, x1, "mi"), "205481da", "cneg x0, x1, mi"),
    (lambda b: b.ldr(x3, mem(x0, 0x10)), "030840f9", "ldr x3, [x0, #0x10]"),
    (lambda b: b.ldr(x0, mem(x1, -8)), "20805ff8", "ldur x0, [x1, #-8]"),
    (lambda b: b.ldr(w0, mem(SP, 16380)), "e0ff7fb9", "ldr w0, [sp, #0x3ffc]"),
    (lambda b: b.str(x0, pre(SP, -16)), "e00f1ff8", "str x0, [sp, #-0x10]!"),
    (lambda b: b.ldrb(w0, post(x1, 1)), "20144038", "ldrb w0, [x1], #1"),
    (lambda b: b.strh(w0, mem(x1, x2, "lsl", 1)), "20782278", "strh w0, [x1, x2, lsl #1]"),
    (lambda b: b.ldr(x0, mem(x1, w2, "sxtw", 3)), "20d862f8", "ldr x0, [x1, w2, sxtw #3]"),
    (lambda b: b.ldr(w0, mem(x1, w2, "uxtw")), "204862b8", "ldr w0, [x1, w2, uxtw]"),
    (lambda b: b.ldrsw(x0, mem(x1, 4)), "200480b9", "ldrsw x0, [x1, #4]"),
    (lambda b: b.ldrsb(w0, mem(x1)), "2000c039", "ldrsb w0, [x1]"),
    (lambda b: b.ldrsh(x0, mem(x1, 2)), "20048079", "ldrsh x0, [x1, #2]"),
    (lambda b: b.stur(w0, mem(x1, -1)), "20f01fb8", "stur w0, [x1, #-1]"),
    (lambda b: b.stp(X[29], x30, pre(SP, -16)), "fd7bbfa9", "stp x29, x30, [sp, #-0x10]!"),
    (lambda b: b.ldp(X[29], x30, post(SP, 16)), "fd7bc1a8", "ldp x29, x30, [sp], #0x10"),
    (lambda b: b.ldp(w0, w1, mem(x2, 8)), "40044129", "ldp w0, w1, [x2, #8]"),
    (lambda b: b.b(0x40), "10000014", "b #0x40"),
    (lambda b: b.bl(-0x40), "f0ffff97", "bl #0xffffffffffffffc0"),
    (lambda b: b.b_ne(0x40), "01020054", "b.ne #0x40"),
    (lambda b: b.b_cond("hs", 0x8), "42000054", "b.hs #8"),
    (lambda b: b.cbz(w3, 0x40), "03020034", "cbz w3, #0x40"),
    (lambda b: b.cbnz(x19, 0x1000), "138000b5", "cbnz x19, #0x1000"),
    (lambda b: b.tbz(x0, 35, 0x40), "000218b6", "tbz x0, #0x23, #0x40"),
    (lambda b: b.tbnz(w0, 3, 0x40), "00021837", "tbnz w0, #3, #0x40"),
    (lambda b: b.br(x1), "20001fd6", "br x1"),
    (lambda b: b.blr(X[16]), "00023fd6", "blr x16"),
    (lambda b: b.ret(), "c0035fd6", "ret"),
    (lambda b: b.adr(x0, 0x101), "00080030", "adr x0, #0x101"),
    (lambda b: b.adrp(x0, 0x3000), "000000f0", "adrp x0, #0x3000"),
    (lambda b: b.ldr(x0, 0x10), "80000058", "ldr x0, #0x10"),
    (lambda b: b.nop(), "1f2003d5", "nop"),
    (lambda b: b.brk(1), "200020d4", "brk #0x1"),
    (lambda b: b.dmb("ish"), "bf3b03d5", "dmb ish"),
    (lambda b: b.dsb("sy"), "9f3f03d5", "dsb sy"),
    (lambda b: b.isb(), "df3f03d5", "isb"),
    (lambda b: b.dc_cvau(x3), "237b0bd5", "dc cvau, x3"),
    (lambda b: b.ic_ivau(x3), "23750bd5", "ic ivau, x3"),
]


@pytest.mark.parametrize("emit,hexcode,text", ROWS, ids=[r[2] for r in ROWS])
def test_emit_table(emit, hexcode, text):
    import asmkit
    b = Builder()
    emit(b)
    code = b.finish()
    assert code.hex() == hexcode
    printed = asmkit.disassemble(code, "aarch64")
    assert len(printed) == 1
    assert _norm(printed[0]) == _norm(text)
    assert assemble(printed[0]) == code      # and the printed text assembles back


def _norm(text):
    """Capstone prints small immediates in decimal (#1) or hex (#0x1)."""
    import re
    return re.sub(r"#(-?)(0x[0-9a-f]+|\d+)",
                  lambda m: "#" + m.group(1) + str(int(m.group(2), 0)), text.strip())


def test_zero_register_and_sp_are_distinct_slots():
    from asmkit.aarch64.operands import OperandError
    b = Builder()
    with pytest.raises(OperandError, match="sp"):
        b.mul(SP, x1, x2)          # 31 in mul means xzr
    with pytest.raises(OperandError, match="xzr|sp"):
        b.add(XZR, x1, 5)          # add immediate: 31 as destination means sp
    with pytest.raises(OperandError):
        b.ldr(SP, mem(x1))         # a data register is never sp
    with pytest.raises(OperandError):
        b.add(x0, w1, x2)          # mixed widths
    with pytest.raises(OperandError):
        b.ldrb(x0, mem(x1))        # ldrb loads into w registers
    b.adds(XZR, SP, 5)             # cmp sp, #5 is fine
    assert b.finish().hex() == "ff1700b1"
    assert WZR.num == WSP.num == 31
