"""The integer forms a random Capstone round trip found missing: moffs
movabs, 8-bit shifts/unary/xchg, movsxd r32 and riz addressing."""

import pytest

import asmkit
from asmkit.x86_64 import Builder, Mem, byte, qword
from asmkit.x86_64.regs import (RIZ, al, eax, ecx, rax, rcx)

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
