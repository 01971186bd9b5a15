"""Operand types that cannot hold an unencodable value."""

import random

import pytest

from asmkit.aarch64.movimm import plan
from asmkit.aarch64.operands import (
    BitmaskImm, Imm12, MoveWide, OperandError, PairOffset, ScaledOffset, UnscaledOffset,
    check_branch, decode_bitmask, encode_bitmask,
)


def _all_patterns(bits):
    vals = set()
    for n in ((0, 1) if bits == 64 else (0,)):
        for immr in range(64):
            for imms in range(64):
                v = decode_bitmask(n, immr, imms, bits)
                if v is not None:
                    vals.add(v)
    return vals


@pytest.mark.parametrize("bits,count", [(64, 5334), (32, 1302)])
def test_every_logical_immediate_encodes_and_decodes_back(bits, count):
    patterns = _all_patterns(bits)
    assert len(patterns) == count
    for v in patterns:
        fields = encode_bitmask(v, bits)
        assert fields is not None
        assert decode_bitmask(fields >> 12, (fields >> 6) & 63, fields & 63, bits) == v
        assert BitmaskImm(v, bits).value == v


@pytest.mark.parametrize("bits", [64, 32])
def test_every_other_value_is_rejected(bits):
    patterns = _all_patterns(bits)
    rng = random.Random(5)
    candidates = {0, (1 << bits) - 1}
    for v in rng.sample(sorted(patterns), 400):     # neighbours of valid patterns
        for d in (1, -1, 2):
            candidates.add((v + d) % (1 << bits))
        candidates.add(v ^ (1 << rng.randrange(bits)))
    candidates |= {rng.getrandbits(bits) for _ in range(20000)}
    rejected = 0
    for v in candidates - patterns:
        assert encode_bitmask(v, bits) is None, hex(v)
        with pytest.raises(OperandError):
            BitmaskImm(v, bits)
        rejected += 1
    assert rejected > 20000


def test_imm12_and_shift():
    assert (Imm12.of(0xFFF).imm12, Imm12.of(0xFFF).shift) == (0xFFF, 0)
    assert (Imm12.of(0x1000).imm12, Imm12.of(0x1000).shift) == (1, 12)
    assert Imm12.of(0xFFF000).value == 0xFFF000
    for bad in (0x1001, 0x1000000, -1):
        with pytest.raises(OperandError):
            Imm12.of(bad)
    with pytest.raises(OperandError):
        Imm12(1, 8)


def test_move_wide_and_offsets():
    MoveWide(0xFFFF, 48)
    for args in ((0x10000, 0), (1, 8), (1, 32, 32)):
        with pytest.raises(OperandError):
            MoveWide(*args)
    assert ScaledOffset(32760, 8).scaled == 4095
    for off, size in ((32768, 8), (4, 8), (-8, 8)):
        with pytest.raises(OperandError):
            ScaledOffset(off, size)
    UnscaledOffset(-256), UnscaledOffset(255)
    with pytest.raises(OperandError):
        UnscaledOffset(256)
    assert PairOffset(-512, 8).scaled == -64
    with pytest.raises(OperandError):
        PairOffset(512, 8)


@pytest.mark.parametrize("kind,limit", [("branch26", 128 << 20), ("branch19", 1 << 20),
                                        ("ldr19", 1 << 20), ("branch14", 32 << 10),
                                        ("adr21", 1 << 20)])
def test_branch_ranges(kind, limit):
    step = 1 if kind == "adr21" else 4
    check_branch(kind, limit - step)
    check_branch(kind, -limit)
    with pytest.raises(OperandError, match="out of range"):
        check_branch(kind, limit)
    with pytest.raises(OperandError, match="out of range"):
        check_branch(kind, -limit - step)
    if step == 4:
        with pytest.raises(OperandError, match="multiple"):
            check_branch(kind, 2)


def _run(seq, bits):
    v = 0
    for step in seq:
        if step[0] == "movz":
            v = step[1] << step[2]
        elif step[0] == "movn":
            v = ~(step[1] << step[2])
        elif step[0] == "movk":
            v = (v & ~(0xFFFF << step[2])) | (step[1] << step[2])
        else:
            v = step[1]
    return v & ((1 << bits) - 1)


def test_mov_materialisation_is_short_and_right():
    rng = random.Random(9)
    values = [0, 1, (1 << 64) - 1, 0x1234, 0x12340000, 0xFFFF0000FFFF0000,
              0x0000FFFFFFFF0000, 0x00FF00FF00FF00FF, 0x1234567812345678,
              0xFFFFFFFF12345678, 0x8000000000000000]
    values += [rng.getrandbits(64) for _ in range(3000)]
    values += [rng.getrandbits(16) << rng.choice((0, 16, 32, 48)) for _ in range(300)]
    for v in values:
        seq = plan(v, 64)
        assert _run(seq, 64) == v
        chunks = [(v >> s) & 0xFFFF for s in range(0, 64, 16)]
        naive = 4 - max(chunks.count(0), chunks.count(0xFFFF))
        assert len(seq) <= max(1, naive)
    # LLVM's choices for one-instruction constants
    assert plan(0x10000, 64) == [("movz", 1, 16)]
    assert plan(-2, 64) == [("movn", 1, 0)]
    assert plan(0x5555555555555555, 64) == [("orr", 0x5555555555555555)]
    assert plan(0xFFFFFFFF, 32) == [("movn", 0, 0)]
    # two-instruction orr + movk
    assert len(plan(0x00FF00FF00FF1234, 64)) == 2
