"""The integer forms a random Capstone round trip found missing: moffs
movabs, 8-bit shifts/unary/xchg, movsxd r32 and riz addressing."""

import pytest

import asmkit
from asmkit.x86_64 import Builder, Mem, byte, dword, qword
from asmkit.x86_64.encode import Encoder
from asmkit.x86_64.regs import (RIZ, al, bl, cl, dil, eax, ecx, r8b, r9, r12,
                                 r13, r15b, rax, rbp, rcx, rsp, sil, spl)

ROWS = [
    # moffs: the accumulator at a 64-bit absolute address
    (lambda b: b.movabs(rax, qword[0x1122334455667788]), "48a18877665544332211",
     "movabs rax, qword ptr [0x1122334455667788]"),
    (lambda b: b.movabs(eax, Mem(None, None, 1, 0x10)), "a11000000000000000",
     "movabs eax, dword ptr [0x10]"),
    (lambda b: b.movabs(al, byte[8]), "a00800000000000000", "movabs al, byte ptr [8]"),
    (lambda b: b.movabs(byte[0xFFFFFFFFFFFFFFF0], al), "a2f0ffffffffffffff",
     "movabs byte ptr [0xfffffffffffffff0], al"),
    (lambda b: b.movabs(dword[0x8000000000], eax), "a30000000080000000",
     "movabs dword ptr [0x8000000000], eax"),
    (lambda b: b.movabs(qword[0], rax), "48a30000000000000000", "movabs qword ptr [0], rax"),
    # 8-bit shifts and rotates: d0 by one, c0 by imm, d2 by cl
    (lambda b: b.shl(al, 1), "d0e0", "shl al, 1"),
    (lambda b: b.shr(bl, 3), "c0eb03", "shr bl, 3"),
    (lambda b: b.sar(dil, cl), "40d2ff", "sar dil, cl"),
    (lambda b: b.rol(spl, 0), "40c0c400", "rol spl, 0"),
    (lambda b: b.ror(r15b, 0xFF), "41c0cfff", "ror r15b, 0xff"),
    (lambda b: b.shl(byte[rax + 8], cl), "d26008", "shl byte ptr [rax + 8], cl"),
    (lambda b: b.sal(byte[rcx], 1), "d021", "shl byte ptr [rcx], 1"),
    # 8-bit unary group: f6 / fe
    (lambda b: b.not_(al), "f6d0", "not al"),
    (lambda b: b.neg(sil), "40f6de", "neg sil"),
    (lambda b: b.mul(byte[rsp]), "f62424", "mul byte ptr [rsp]"),
    (lambda b: b.imul(cl), "f6e9", "imul cl"),
    (lambda b: b.div(r8b), "41f6f0", "div r8b"),
    (lambda b: b.idiv(byte[r13]), "41f67d00", "idiv byte ptr [r13]"),
    (lambda b: b.inc(spl), "40fec4", "inc spl"),
    (lambda b: b.dec(byte[rax]), "fe08", "dec byte ptr [rax]"),
    # 8-bit xchg: 86, never the 90+r form
    (lambda b: b.xchg(al, cl), "86c8", "xchg al, cl"),
    (lambda b: b.xchg(al, al), "86c0", "xchg al, al"),
    (lambda b: b.xchg(sil, r8b), "4486c6", "xchg sil, r8b"),
    (lambda b: b.xchg(byte[rcx], bl), "8619", "xchg byte ptr [rcx], bl"),
    (lambda b: b.xchg(bl, byte[rcx]), "8619", "xchg byte ptr [rcx], bl"),
    # movsxd with a 32-bit destination (no REX.W)
    (lambda b: b.movsxd(eax, ecx), "63c1", "movsxd eax, ecx"),
    (lambda b: b.movsxd(ecx, dword[r9 + 4]), "41634904", "movsxd ecx, dword ptr [r9 + 4]"),
    # riz: a SIB byte with no index, any scale
    (lambda b: b.mov(eax, dword[rax + RIZ * 1]), "8b0420", "mov eax, dword ptr [rax + riz]"),
    (lambda b: b.mov(eax, Mem(rax, RIZ, 1, 8)), "8b442008", "mov eax, dword ptr [rax + riz + 8]"),
    (lambda b: b.mov(ecx, dword[rsp + RIZ * 2]), "8b0c64", "mov ecx, dword ptr [rsp + riz*2]"),
    (lambda b: b.mov(eax, dword[RIZ * 4 + 0x10]), "8b04a510000000", "mov eax, dword ptr [riz*4 + 0x10]"),
    (lambda b: b.lea(rax, Mem(rbp, RIZ, 8)), "488d44e500", "lea rax, [rbp + riz*8]"),
    (lambda b: b.add(qword[r12 + RIZ * 2 - 0x81], 1), "498384647fffffff01",
     "add qword ptr [r12 + riz*2 - 0x81], 1"),
]


@pytest.mark.parametrize("emit, hexbytes, text", ROWS, ids=[r[2] for r in ROWS])
def test_emit(emit, hexbytes, text):
    b = Builder()
    emit(b)
    code = b.finish()
    assert code.hex() == hexbytes
    assert asmkit.disassemble(code, "x86_64") == [text]
    assert asmkit.assemble(text, "x86_64") == code
    plain = Encoder()
    emit(plain)
    assert plain.finish() == code


@pytest.mark.parametrize("text, message", [
    ("movabs rcx, qword ptr [0x10]", r"movabs: operand 1 \(rcx\) must be al, eax or rax"),
    ("movabs qword ptr [0x10], rbx", r"movabs: operand 2 \(rbx\) must be al, eax or rax"),
    ("movabs rax, dword ptr [0x10]", r"movabs: operand 2 .* is 32-bit, the instruction is 64-bit"),
    ("movabs rax, qword ptr [rax + 8]", r"movabs: operand 2 .* no base or index"),
    ("movabs al, byte ptr [0x10000000000000000]", r"movabs: operand 2 .* does not fit 64 bits"),
    ("shl ax, 1", r"shl: operand 1 \(ax\) is 16-bit"),
    ("shl byte ptr [rax], dl", r"shl: operand 2 \(dl\) must be cl"),
    ("shl al, 0x100", r"shl: operand 2 \(0x100\)"),
    ("xchg al, ecx", r"xchg: operand 2 \(ecx\) is 32-bit; xchg takes 8-bit"),
    ("xchg byte ptr [rax], ecx", r"xchg: operand 2 .* is 8-bit, the instruction is 32-bit"),
    ("movsxd eax, rcx", r"movsxd: operand 2 \(rcx\) is 64-bit"),
    ("movsxd eax, byte ptr [rax]", r"movsxd: operand 2 .* is 8-bit"),
    ("mov rax, riz", r"mov: operand 2 \(riz\)"),
    ("mov rax, qword ptr [riz + rax*2]", r"bad index term"),
    ("mov rax, qword ptr [rax + rcx + riz]", r"riz must be the only index"),
    ("mov rax, qword ptr [rip + riz*2]", r"rip cannot be a base with riz"),
    ("inc word ptr [rax]", r"inc: operand 1 .* is 16-bit"),
])
def test_errors_name_instruction_and_operand(text, message):
    with pytest.raises(asmkit.AsmError, match=message):
        asmkit.assemble(text, "x86_64")


def test_riz_is_no_register():
    b = Builder()
    for call in (lambda: b.mov(rax, RIZ), lambda: b.push(RIZ), lambda: b.shl(RIZ, 1),
                 lambda: b.mov(rax, Mem(RIZ, None, 1, 0, 64))):
        with pytest.raises(asmkit.AsmError):
            call()
    assert b.finish() == b""


def test_riz_scale_one_without_base_is_the_plain_absolute_form():
    """[riz*1 + d] has the same SIB byte as asmkit's [d] (index none, base
    none), so Capstone prints it as [d]."""
    assert asmkit.assemble("mov eax, dword ptr [riz*1 + 0x10]", "x86_64") == \
        asmkit.assemble("mov eax, dword ptr [0x10]", "x86_64")


def test_movabs_negative_address_is_its_64_bit_pattern():
    assert asmkit.assemble("movabs al, byte ptr [-16]", "x86_64") == \
        bytes.fromhex("a0f0ffffffffffffff")


def test_errors_leave_nothing_half_written():
    b = Builder()
    for bad in (lambda: b.movabs(rcx, qword[0x10]), lambda: b.xchg(al, ecx),
                lambda: b.shl(byte[rax], 256), lambda: b.movsxd(eax, rax)):
        with pytest.raises(asmkit.AsmError):
            bad()
    assert b.finish() == b""


@pytest.mark.parametrize("text, address, hexbytes", [
    # Capstone prints a rel32 that wraps below zero as an unsigned address
    ("call 0xffffffff900f23cf", 0x400000, "e8ca23cf8f"),
    ("jmp 0xffffffff90fe6c74", 0x400000, "e96f6cbe90"),
    ("jne 0xfffffffffffffff0", 0, "75ee"),
    ("jmp 0xfffffffffffffff0", 0, "ebee"),
    # and a branch near the top of the address space that wraps past it
    ("jmp 0x10", 0xFFFFFFFFFFFFFFF0, "eb1e"),
    ("jl 0x1000", 0xFFFFFFFFFFFFFFF0, "0f8c0a100000"),
    ("call 0x10", 0xFFFFFFFFFFFFFFF0, "e81b000000"),
    # no wrap: kernel-style addresses keep working
    ("jmp 0xffffffff81000100", 0xFFFFFFFF81000000, "e9fb000000"),
])
def test_branch_distance_is_taken_modulo_2_64(text, address, hexbytes):
    code = asmkit.assemble(text, "x86_64", address)
    assert code.hex() == hexbytes
    assert asmkit.disassemble(code, "x86_64", address) == [text]


@pytest.mark.parametrize("text, address", [
    ("jl 0xffffffff7fffff00", 0x100),       # wraps, but beyond rel32
    ("call 0xffffffff7ffffff0", 0x100),
])
def test_wrapped_branch_beyond_rel32_is_a_range_error(text, address):
    with pytest.raises(asmkit.RangeError, match="out of range"):
        asmkit.assemble(text, "x86_64", address)


def test_branch_target_beyond_64_bits_is_an_error():
    with pytest.raises(asmkit.AsmError, match=r"jmp: operand 1 \(0x10000000000000010\) "
                                              r"is not a 64-bit address"):
        Builder().jmp((1 << 64) + 0x10)


def test_mov_with_a_64_bit_address_points_to_movabs():
    with pytest.raises(asmkit.AsmError, match="only movabs al/eax/rax takes a 64-bit"):
        asmkit.assemble("mov rax, qword ptr [0x1122334455667788]", "x86_64")
