"""The x86-64 text assembler: syntax variants, labels, errors with line numbers."""

import pytest

import asmkit


def asm(text, address=0):
    return asmkit.assemble(text, "x86_64", address)


def test_variants_assemble_alike():
    ref = asm("mov rax, qword ptr [rdi + rcx*4 + 0x10]")
    for text in ["MOV RAX, QWORD PTR [RDI + RCX*4 + 16]",
                 "mov rax, [rdi + 4*rcx + 0x10]",
                 "mov rax,qword ptr[rdi+rcx*4+0x10]",
                 "mov\trax, qword ptr [0x10 + rdi + rcx*4]",
                 "mov rax, qword ptr [rdi + rcx*4 + 10h]"]:
        assert asm(text) == ref, text


def test_separators_comments_labels_and_directives():
    code = asm("start: xor eax, eax ; inc eax # one\n"
               "loop: dec eax\n jne loop\n jmp start\n.align 4\n.byte 1, 0xff")
    assert code == bytes.fromhex("31c0ffc0ffc875fcebf6" "9090" "01ff")


def test_absolute_branch_targets_are_relative_to_address():
    assert asm("jne 0x1040", 0x1000) == bytes.fromhex("753e")
    assert asm("call 0x1000", 0x1000) == bytes.fromhex("e8fbffffff")


def test_rip_relative_label():
    code = asm("lea rax, [rip + data]\nret\ndata: .byte 7")
    assert code == bytes.fromhex("488d0501000000c307")


@pytest.mark.parametrize("text, message", [
    ("nop\nfrobnicate rax", r"line 2: 'frobnicate rax': unknown or unsupported instruction 'frobnicate'"),
    ("add rax", r"line 1: 'add rax': add takes 2 operand"),
    ("mov eax, 0x100000000", r"mov: operand 2 \(0x100000000\)"),
    ("mov rax, qword ptr [rax + rbx + rcx]", "too many registers"),
    ("jmp nowhere", "'nowhere' is never bound"),
    ("a: nop\na: nop", "already bound"),
    ("movzx eax, [rax]", r"movzx: operand 2 .*needs a size"),
    ("mov rax, tword ptr [rax]", "unknown size"),
    ("nop dword ptr [rax]", "nop takes 0 operand"),
])
def test_errors_name_line_and_instruction(text, message):
    with pytest.raises(asmkit.AsmError, match=message):
        asm(text)


@pytest.mark.parametrize("text", ["jmp ptr [rax]", "call ptr [rdi + 8]",
                                  "jmp PTR [rip + 0x10]", "mov rax, ptr [rbx]"])
def test_ptr_without_a_size_is_an_error(text):
    """Capstone prints the far indirect forms (FF /5, FF /3) as ``jmp ptr
    [m]`` / ``call ptr [m]``; they must not become the near FF /4, FF /2."""
    with pytest.raises(asmkit.AsmError, match="'ptr' without a size"):
        asm(text)


def test_capstone_far_indirect_text_is_rejected():
    for raw in ("ff28", "ff18"):            # ljmp / lcall [rax]
        text = asmkit.disassemble(bytes.fromhex(raw), "x86_64")[0]
        with pytest.raises(asmkit.AsmError):
            asm(text)
