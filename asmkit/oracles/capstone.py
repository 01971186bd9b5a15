"""Capstone adapter: the reference disassembler (and printer of our syntax)."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def _engine(arch_name: str, mode_name: str):
    import capstone
    return capstone.Cs(getattr(capstone, arch_name), getattr(capstone, mode_name))


def decode(code: bytes, arch_mod, address: int = 0) -> list:
    """``[(address, size, text)]`` for each instruction Capstone decodes.

    Stops at the first byte Capstone cannot decode, like Capstone itself.
    """
    eng = _engine(*arch_mod.CAPSTONE)
    out = []
    for addr, size, mnem, ops in eng.disasm_lite(bytes(code), address):
        out.append((addr, size, f"{mnem} {ops}" if ops else mnem))
    return out


def disassemble(code: bytes, arch_mod, address: int = 0) -> list:
    """The text of each instruction; raises if some bytes do not decode."""
    rows = decode(code, arch_mod, address)
    used = sum(r[1] for r in rows)
    if used != len(code):
        raise ValueError(f"cannot decode bytes at offset {used:#x}: "
                         f"{bytes(code[used:used + 8]).hex()}")
    return [r[2] for r in rows]
