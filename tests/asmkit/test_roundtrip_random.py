"""Random Capstone round trip (asmkit/roundtrip.py): random bytes -> Capstone
text -> asmkit never gives bytes Capstone prints as another instruction."""

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asmkit import roundtrip


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_random_instructions_have_no_wrong_bytes(arch):
    report = roundtrip.run(arch, 5000, seed=11)
    print(report.table())
    assert report.cases == 5000
    assert report.wrong == [] and report.crashes == []
    # most of what is inside the coverage round-trips
    assert report.classes["roundtrip"] + report.classes["equivalent"] > 0.5 * (
        report.cases - report.classes["excluded"])


@functools.lru_cache(maxsize=None)
def _engines(arch):
    from asmkit import arch as arch_names
    rules = roundtrip.RULES[arch]
    return (rules, roundtrip._capstone(rules, True), roundtrip._capstone(rules, False),
            arch_names.load(arch).assemble)


def _one(arch, raw):
    """``(class, info)`` of the first instruction of ``raw``, or None."""
    rules, cs, plain, assemble = _engines(arch)
    insn = next(cs.disasm(raw, roundtrip.ADDRESS, 1), None)
    if insn is None:
        return None
    return roundtrip.classify(rules, insn, assemble, plain, cs)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.binary(min_size=15, max_size=15))
def test_hypothesis_x86_64_bytes(raw):
    result = _one("x86_64", raw)
    assert result is None or result[0] != "wrong", result


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_hypothesis_aarch64_words(word):
    result = _one("aarch64", word.to_bytes(4, "little"))
    assert result is None or result[0] != "wrong", result


def test_classes_of_known_bytes():
    x86 = {"4801d8": "roundtrip",            # add rax, rbx
           "e9 00 00 00 00": "equivalent",   # jmp rel32 where rel8 reaches
           "d1f2": "equivalent",             # D1 /6 printed 'sal', LLVM's shl is D1 /4
           "4a87c0": "equivalent",           # xchg rax, rax -> 48 90, printed 'nop'
           "88e0": "excluded",               # mov al, ah
           "f20f58c1": "excluded",           # addsd
           "0fa3c3": "rejected"}             # bt ebx, eax: an integer gap
    for hexed, cls in x86.items():
        assert _one("x86_64", bytes.fromhex(hexed))[0] == cls, hexed
    a64 = {"2000028b": "roundtrip",          # add x0, x1, x2
           "e0ffbf12": "roundtrip",          # mov w0, #0x7fffffff (movn)
           "2000221e": "excluded",           # scvtf s0, w1
           "1f2003d5": "roundtrip"}          # nop
    for hexed, cls in a64.items():
        assert _one("aarch64", bytes.fromhex(hexed))[0] == cls, hexed

