"""Precomputed register fields for the Builder's fast paths.

Each table maps a register object to its field already shifted into place,
with the ``sf`` bit (bit 31) set for 64-bit registers.  A register that the
slot does not allow is simply absent, so one dict lookup both validates and
encodes; a ``KeyError`` sends the call to the generic (checking, error
naming) path.  The width rule "all registers of one instruction have the
same width" is one test: ``(a ^ b) & SF`` is nonzero exactly when the sf
bits differ.
"""

from .regs import SP, WSP, WZR, XZR, W, X

__all__ = ["SF", "ZR_D", "ZR_N", "ZR_M", "ZR_A", "SP_D", "SP_N", "BASE_N",
           "LOGIC_IMM", "cache_bitmask"]

SF = 1 << 31


def _table(regs, shift):
    return {r: (SF if r.bits == 64 else 0) | (r.num << shift) for r in regs}


_ZR = X + W + (XZR, WZR)     # slots where 31 is the zero register
_SP = X + W + (SP, WSP)      # slots where 31 is the stack pointer

ZR_D = _table(_ZR, 0)        # Rd / Rt
ZR_N = _table(_ZR, 5)        # Rn
ZR_M = _table(_ZR, 16)       # Rm
ZR_A = _table(_ZR, 10)       # Ra (madd/msub), Rt2 (ldp/stp)
SP_D = _table(_SP, 0)
SP_N = _table(_SP, 5)
BASE_N = {r: r.num << 5 for r in X + (SP,)}   # load/store base (Xn|SP)

# Logical immediates already encoded (N:immr:imms << 10), per width, keyed by
# the value as written.  Filled by the generic path on first use; only
# encodable values get in, so the size stays bounded.
LOGIC_IMM = {64: {}, 32: {}}
_LOGIC_IMM_LIMIT = 1 << 15


def _all_bitmasks():
    """Every logical immediate (5,334 at 64 bits, 1,302 at 32), written as
    its unsigned value, with the fields ``encode_bitmask`` gives it: an
    element of ``size`` bits holding ``ones`` set bits rotated right by
    ``immr``, replicated.  Filled once, so a never-seen value hits the
    table too (tests/asmkit/test_aarch64_fast.py checks it against
    ``encode_bitmask``)."""
    for size in (2, 4, 8, 16, 32, 64):
        emask = (1 << size) - 1
        n = 1 if size == 64 else 0
        for ones in range(1, size):
            run = (1 << ones) - 1
            imms = ((-2 * size) & 0x3F) | (ones - 1)
            for immr in range(size):
                elem = ((run >> immr) | (run << (size - immr))) & emask
                value = elem
                width = size
                while width < 64:
                    value |= value << width
                    width *= 2
                fields = ((n << 12) | (immr << 6) | imms) << 10
                LOGIC_IMM[64][value] = fields
                if size <= 32:
                    LOGIC_IMM[32][value & 0xFFFFFFFF] = fields


_all_bitmasks()


def cache_bitmask(value, bits, fields):
    """Remember that ``value`` encodes as ``fields`` at ``bits`` width."""
    table = LOGIC_IMM[bits]
    if len(table) < _LOGIC_IMM_LIMIT:
        table[value] = fields << 10
