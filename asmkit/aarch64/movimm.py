"""Materialising a 32/64-bit constant in a register, the way LLVM does.

``plan(value, bits)`` returns the instruction sequence as tuples:
``("movz"|"movn"|"movk", imm16, shift)`` or ``("orr", value)`` (orr Rd, zr,
#bitmask).  The order of preference follows LLVM's AArch64 immediate
expansion: movz/movn when at most one chunk differs, else a single orr, else
movz/movn + movk when two chunks are trivial, else orr + movk, else
movz/movn + 2 movk when any chunk is trivial, else orr of a replicated chunk
+ movk(s), else orr of a run of ones + movk(s), else movz + 3 movk.
"""

from .operands import encode_bitmask

MASK16 = 0xFFFF


def _chunks(value, bits):
    return [(value >> s) & MASK16 for s in range(0, bits, 16)]


def _simple(value, bits, ones, zeros):
    """movz (or movn when more chunks are all-ones) followed by movk."""
    neg = ones > zeros
    imm = ~value if neg else value
    imm &= (1 << bits) - 1
    first = "movn" if neg else "movz"
    shift = last = 0
    if imm:
        lz = 64 - imm.bit_length()
        tz = (imm & -imm).bit_length() - 1
        shift = (tz // 16) * 16
        last = ((63 - lz) // 16) * 16
    seq = [(first, (imm >> shift) & MASK16, shift)]
    if neg:
        imm = value & ((1 << bits) - 1)
    while shift < last:
        shift += 16
        chunk = (imm >> shift) & MASK16
        if chunk == (MASK16 if neg else 0):
            continue  # already set by the first instruction
        seq.append(("movk", chunk, shift))
    return seq


def _replicated_chunk(value):
    """orr of a chunk replicated 4 times, then movk the 1 or 2 other chunks."""
    chunks = _chunks(value, 64)
    for chunk in dict.fromkeys(chunks):
        count = chunks.count(chunk)
        rep = chunk * 0x0001000100010001
        if count not in (2, 3) or encode_bitmask(rep, 64) is None:
            continue
        seq = [("orr", rep)]
        seq += [("movk", c, 16 * i) for i, c in enumerate(chunks) if c != chunk]
        return seq
    return None


def _sext16(chunk):
    return chunk - 0x10000 if chunk & 0x8000 else chunk


def _is_low_mask(v):
    return v > 0 and v & (v + 1) == 0


def _sequence_of_ones(value):
    """orr of a contiguous run of ones, then movk the 1 or 2 chunks that differ."""
    chunks = _chunks(value, 64)
    start = end = None
    for i, c in enumerate(chunks):
        s = _sext16(c)
        if s in (0, -1):
            continue
        if _is_low_mask(~s & (2**64 - 1)) and s < 0:
            start = i
        elif _is_low_mask(s):
            end = i
    if start is None or end is None:
        return None
    outside, inside = 0, MASK16
    if start > end:
        start, end = end, start
        outside, inside = inside, outside
    orr_imm, patch = value, []
    for i, c in enumerate(chunks):
        m = MASK16 << (16 * i)
        if (i < start or end < i) and c != outside:
            orr_imm = orr_imm & ~m if outside == 0 else orr_imm | m
            patch.append(i)
        elif start < i < end and c != inside:
            orr_imm = orr_imm & ~m if inside != MASK16 else orr_imm | m
            patch.append(i)
    if not patch or encode_bitmask(orr_imm, 64) is None:
        return None
    return [("orr", orr_imm)] + [("movk", chunks[i], 16 * i) for i in patch]


def plan(value, bits=64):
    """The shortest instruction sequence (LLVM's choice) giving ``value``."""
    value &= (1 << bits) - 1
    chunks = _chunks(value, bits)
    ones = chunks.count(MASK16)
    zeros = chunks.count(0)
    n = bits // 16
    if n - ones <= 1 or n - zeros <= 1:
        return _simple(value, bits, ones, zeros)
    if encode_bitmask(value, bits) is not None:
        return [("orr", value)]
    if ones >= n - 2 or zeros >= n - 2:
        return _simple(value, bits, ones, zeros)
    # 64-bit only from here: orr + movk, building the orr value three ways.
    rotated = ((value << 32) | (value >> 32)) & (2**64 - 1)
    for shift in range(0, 64, 16):
        m = MASK16 << shift
        zero_chunk = value & ~m
        for candidate in (zero_chunk, value | m, zero_chunk | (rotated & m)):
            if encode_bitmask(candidate, 64) is not None:
                return [("orr", candidate), ("movk", (value >> shift) & MASK16, shift)]
    if ones or zeros:
        return _simple(value, bits, ones, zeros)
    return _replicated_chunk(value) or _sequence_of_ones(value) or _simple(value, bits, ones, zeros)
