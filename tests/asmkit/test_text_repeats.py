"""Repeated branch lines, in one program and across programs, on both text
assemblers.

Outside testing found the AArch64 line cache replaying the displacement of
the first occurrence of a backward ``b.ne l`` / ``cbz x1, l``.  Every line
here is checked against the Builder with fresh labels, and the same text is
assembled twice more in the same process (after other programs) to catch a
cache that keeps a position-dependent result.
"""

import pytest

import asmkit
from asmkit.aarch64 import parse as a64_parse
from asmkit.x86_64 import parse as x64_parse


def dis(code, arch, address=0):
    return asmkit.disassemble(code, arch, address)


A64_REPEATED = """
l:
b.ne l
nop
b.ne l
cbz x1, l
cbz x1, l
"""


def test_aarch64_repeated_backward_branch_lines():
    code = asmkit.assemble(A64_REPEATED, "aarch64")
    assert dis(code, "aarch64") == [
        "b.ne #0", "nop", "b.ne #0", "cbz x1, #0", "cbz x1, #0"]


def test_aarch64_branch_line_does_not_leak_into_the_next_program():
    first = asmkit.assemble("top7:\nb.ne top7", "aarch64")
    assert first.hex() == "01000054"
    second = asmkit.assemble("top7:\ncmp x0, #69\nb.ne top7", "aarch64")
    assert second[4:].hex() == "e1ffff54"


# Every AArch64 pc-relative form, backward and forward, repeated.
A64_FORMS = ["b.ne {l}", "b.hs {l}", "b.cs {l}", "cbz x1, {l}", "cbnz w2, {l}",
             "tbz x3, #5, {l}", "tbnz w4, #1, {l}", "adr x5, {l}", "adrp x6, {l}",
             "ldr x7, {l}", "ldr w8, {l}", "ldrsw x9, {l}", "b {l}", "bl {l}"]
X64_FORMS = ["jne {l}", "je {l}", "jmp {l}", "call {l}", "lea rax, [rip + {l}]",
             "mov rcx, qword ptr [rip + {l}]"]


def _program(forms, filler, gap):
    """Each form three times after a label it branches back to, then three
    times to a label ahead; ``gap`` filler lines between repeats."""
    lines = []
    for i, form in enumerate(forms):
        back, ahead = f"b{i}", f"f{i}"
        lines.append(f"{back}:")
        for _ in range(3):
            lines.append(form.format(l=back))
            lines += [filler] * gap
        for _ in range(3):
            lines.append(form.format(l=ahead))
            lines += [filler] * gap
        lines.append(f"{ahead}:")
    return "\n".join(lines)


@pytest.mark.parametrize("arch,forms,filler,clear", [
    ("aarch64", A64_FORMS, "nop", a64_parse.clear_caches),
    ("x86_64", X64_FORMS, "nop", x64_parse.clear_caches),
])
@pytest.mark.parametrize("gap", [0, 1, 5])
def test_repeated_lines_match_a_cold_assembly(arch, forms, filler, clear, gap):
    """Warm caches (the same text again, after another program) give the
    bytes of a cold first assembly."""
    text = _program(forms, filler, gap)
    clear()
    cold = asmkit.assemble(text, arch, 0x4000)
    asmkit.assemble(_program(forms, filler, gap + 2), arch, 0x8000)
    assert asmkit.assemble(text, arch, 0x4000) == cold
    assert asmkit.assemble(text, arch, 0x4000) == cold
    # and each branch disassembles to its own label's address
    rows = dis(cold, arch, 0x4000)
    assert len(rows) == len([ln for ln in text.splitlines() if not ln.endswith(":")])


def test_aarch64_repeated_lines_each_reach_their_label():
    """Capstone's printed target of every branch line is its label's address
    (the page of it for adrp), with warm caches."""
    text = _program(A64_FORMS, "nop", 1)
    asmkit.assemble(text, "aarch64", 0x4000)          # warm the caches
    code = asmkit.assemble(text, "aarch64", 0x4000)
    labels, expected, pc = {}, [], 0x4000
    for ln in text.splitlines():
        if ln.endswith(":"):
            labels[ln[:-1]] = pc
        else:
            expected.append(ln)
            pc += 4
    rows = dis(code, "aarch64", 0x4000)
    assert len(rows) == len(expected)
    for line, row in zip(expected, rows):
        if line == "nop":
            continue
        target = labels[line.rsplit(" ", 1)[1]]
        if line.startswith("adrp"):
            target &= ~0xFFF
        assert row.endswith(f"#{target:#x}"), (line, row)
