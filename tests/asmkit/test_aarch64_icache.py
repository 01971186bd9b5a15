"""Executable memory for AArch64 code: the icache flush and the W^X arena.

Host-generic: on an AArch64 host the code runs natively (through the
arena's libgcc or asmkit flush); on x86-64 the same flush routine runs in
Unicorn and the arena runs x86 code, so nothing is skipped anywhere.
"""

import ctypes
import platform

import pytest

import asmkit
from asmkit import icache
from asmkit.aarch64 import semantics
from asmkit.memory import PAGE, CodeArena

AARCH64_HOST = platform.machine().lower() in ("aarch64", "arm64")


def test_flush_routine_walks_every_cache_line_in_unicorn():
    code = icache.flush_routine()
    text = asmkit.disassemble(code, "aarch64")
    assert text[0] == "mrs x3, ctr_el0"
    assert {"dc cvau, x2", "ic ivau, x2", "dsb ish", "isb", "ret"} <= set(text)
    lines = []
    import unicorn
    from unicorn import arm64_const as c
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
    uc.mem_map(0x10000, 0x1000)
    uc.mem_write(0x10000, code)

    def on_code(uc_, address, size, _):
        word = int.from_bytes(uc_.mem_read(address, 4), "little")
        if word & 0xFFFFFFE0 in (0xD50B7B20, 0xD50B7520):   # dc cvau / ic ivau
            lines.append((word & 0xFFFFFFE0, uc_.reg_read(c.UC_ARM64_REG_X2)))
    uc.hook_add(unicorn.UC_HOOK_CODE, on_code)
    uc.reg_write(c.UC_ARM64_REG_X0, 0x20010)
    uc.reg_write(c.UC_ARM64_REG_X1, 0x20110)
    uc.reg_write(c.UC_ARM64_REG_X30, 0x10000 + len(code) - 4)
    uc.emu_start(0x10000, 0x10000 + len(code) - 4)
    ctr = uc.reg_read(c.UC_ARM64_REG_X3)
    dline, iline = 4 << ((ctr >> 16) & 15), 4 << (ctr & 15)
    dc = [a for k, a in lines if k == 0xD50B7B20]
    ic = [a for k, a in lines if k == 0xD50B7520]
    assert dc == list(range(0x20010 & -dline, 0x20110, dline))
    assert ic == list(range(0x20010 & -iline, 0x20110, iline))


def test_flush_icache_is_safe_on_this_host():
    with CodeArena(PAGE) as arena:
        blob = arena.reserve(PAGE, b"\x00" * 64)
        icache.flush_icache(blob.address, 64)
        icache.flush_icache(blob.address, 0)
    name = icache.flusher_name()
    assert ("libgcc" in name or "asmkit" in name) if AARCH64_HOST else "none" in name


def _host_add_one():
    """Code for this host computing arg0 + 1, built with asmkit."""
    if AARCH64_HOST:
        from asmkit.aarch64 import Builder
        from asmkit.aarch64.regs import X
        b = Builder()
        b.add(X[0], X[0], 1)
        b.ret()
        return b
    from asmkit.x86_64 import Builder
    from asmkit.x86_64.regs import rax, rdi
    b = Builder()
    b.lea(rax, rdi + 1)
    b.ret()
    return b


@pytest.mark.parametrize("own_routine", [False, True])
def test_arena_runs_patches_and_stays_wx(own_routine):
    icache.flusher_name(prefer_own=own_routine)
    try:
        with CodeArena(4 * PAGE) as arena:
            blob = arena.place(_host_add_one())
            assert blob(41) == 42
            assert CodeArena.protection(blob.address) == "r-xp"
            # patch the immediate: the new code must run (icache flushed)
            if AARCH64_HOST:
                blob.patch(0, (0x91000000 | (7 << 10)).to_bytes(4, "little"))  # add x0,x0,#7
                assert blob(1) == 8
            else:
                blob.patch(3, b"\x07")                                   # lea rax,[rdi+7]
                assert blob(1) == 8
            assert CodeArena.protection(blob.address) == "r-xp"
    finally:
        icache.flusher_name(prefer_own=False)


def test_aarch64_code_from_the_arena_bytes_runs_in_unicorn():
    """The same AArch64 bytes an AArch64 host would call, run on any host."""
    from asmkit.aarch64 import Builder
    from asmkit.aarch64.regs import X
    b = Builder()
    b.add(X[0], X[0], 1)
    with CodeArena(PAGE) as arena:
        blob = arena.load(b.finish())
        code = bytes(ctypes.string_at(blob.address, blob.size))[:4]
    m = semantics.Machine()
    got = m.run(code, semantics.State([41] + [0] * 30, 0, 0, bytes(512)))
    assert got.x[0] == 42
