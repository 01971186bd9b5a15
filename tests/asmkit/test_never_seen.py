"""The never-seen programs of tools/bench_asm.py, and the caches on them.

Each random program must give the same bytes from the Builder (fresh
operand objects), the text assembler and Keystone; assembling a text once
must leave no line in the text caches and no entry in the memo (first
sightings are only noted), and a second time gives the same bytes.
"""

import sys
from pathlib import Path

import pytest

import asmkit
from asmkit import memo
from asmkit.aarch64 import parse as a64_parse
from asmkit.oracles import keystone as ks
from asmkit.x86_64 import parse as x64_parse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
try:
    import random_programs
finally:
    sys.path.pop(0)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
@pytest.mark.parametrize("seed", [1, 2])
def test_random_program_builder_text_and_keystone_agree(arch, seed):
    generate, render_text, render_calls = random_programs.PROGRAMS[arch]
    steps, n_labels = generate(seed, 1500)
    text = render_text(steps)
    builder, calls = render_calls(steps, n_labels)
    for method, ops in calls:
        method(builder, *ops)
    mod = asmkit.arch.load(arch)
    code = builder.finish()
    assert code == mod.assemble(text) == ks.assemble(text, mod)
    assert mod.assemble(text) == code        # again: the caches change nothing


def test_a_text_seen_once_leaves_no_cache_entry():
    memo.clear_memo()
    x64_parse.clear_caches()
    a64_parse.clear_caches()
    asmkit.assemble("mov rax, qword ptr [rbx + 0x1234]\nadd rcx, 0x5678", "x86_64")
    asmkit.assemble("ldr x0, [x1, #0x18]\nadd x2, x3, #0x123", "aarch64")
    assert not x64_parse._LINES and not x64_parse._INSNS and not x64_parse._CACHE
    assert not a64_parse._LINE_CACHE and not a64_parse._OPS_CACHE
    assert sum(len(m) for m in memo._MEMOS) == 0
    twice = "mov rax, qword ptr [rbx + 0x1234]\nmov rax, qword ptr [rbx + 0x1234]"
    assert asmkit.assemble(twice, "x86_64") == bytes.fromhex("488b8334120000") * 2
    assert "mov rax, qword ptr [rbx + 0x1234]" in x64_parse._LINES
    a64_twice = "ldr x0, [x1, #0x18]\nldr x0, [x1, #0x18]"
    assert asmkit.assemble(a64_twice, "aarch64") == bytes.fromhex("200c40f9") * 2
    assert "ldr x0, [x1, #0x18]" in a64_parse._LINE_CACHE


def test_one_pass_lines_read_numbers_as_the_general_parser_does():
    # a leading zero is decimal; these lines take the one-pass readers
    assert asmkit.assemble("mov rax, qword ptr [rbx + 010]", "x86_64") == \
        asmkit.assemble("mov rax, qword ptr [rbx + 0xa]", "x86_64")
    assert asmkit.assemble("ldr x0, [x1, #010]", "aarch64") == \
        asmkit.assemble("ldur x0, [x1, #0xa]", "aarch64")
    assert asmkit.assemble("ldr x0, [x1], #-0x8", "aarch64") == \
        asmkit.assemble("ldr x0, [x1], #0xfffffffffffffff8", "aarch64")
    assert asmkit.assemble("add X0, X1, X2", "aarch64") == \
        asmkit.assemble("add x0, x1, x2", "aarch64")
