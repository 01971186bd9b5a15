"""Text assembler: Capstone's syntax and the variants people write."""

import pytest

import asmkit
from asmkit.aarch64 import assemble
from asmkit.aarch64.parse import ParseError


@pytest.mark.parametrize("a,b", [
    ("ldr x3, [x0, #0x10]", "LDR X3, [X0, 16]"),
    ("add x0, x1, #1, lsl #12", "add x0,x1,4096"),
    ("movk x0, #0x1234, lsl #16", "movk x0, 4660, lsl 16"),
    ("mov x0, #-1", "movn x0, #0"),
    ("ldr x0, [x1], #-8", "ldr x0, [x1], #0xfffffffffffffff8"),   # Capstone's post-index
    ("cmp x0, w1, sxtw", "cmp x0, w1, sxtw #0"),
    ("csinc x0, x1, x1, eq", "cinc x0, x1, ne"),
    ("ret x30", "ret"),
    ("isb", "isb sy"),
    ("b.hs #0x40", "b.cs 0x40"),
    ("add x0, x1, x2 // comment", "add x0, x1, x2"),
])
def test_equivalent_spellings(a, b):
    assert assemble(a) == assemble(b)


def test_labels_and_absolute_targets():
    text = """
    start:  mov x0, #10
    loop:   subs x0, x0, #1
            b.ne loop
            cbz x0, done
            b #0x1000
    done:   ret
    """
    code = asmkit.assemble(text, "aarch64", address=0x1000)
    assert asmkit.disassemble(code, "arm64", 0x1000) == [
        "mov x0, #0xa", "subs x0, x0, #1", "b.ne #0x1004", "cbz x0, #0x1014",
        "b #0x1000", "ret"]


@pytest.mark.parametrize("text,match", [
    ("frob x0, x1", "unsupported instruction 'frob'"),
    ("add x0, x1, #0x1001", "12-bit"),
    ("and x0, x1, #5", "logical immediate"),
    ("ldr x0, [x1, #0x8000]", "neither a multiple"),
    ("ldr x0, [x0, #8]!", "writeback base"),
    ("ldp x0, x0, [x1]", "both destinations"),
    ("add x0, w1, x2", "64-bit"),
    ("lsl x0, x1, #64", "out of range"),
    ("b.ne", "wrong number"),
    ("cset x0, al", "cannot use condition"),
])
def test_errors_name_the_problem(text, match):
    with pytest.raises(ParseError, match=match):
        assemble(text)


def test_error_names_the_line():
    with pytest.raises(ParseError, match="line 2: bogus"):
        assemble("nop\nbogus x0")
