"""W^X code arena: place, call, patch, free, exhaustion; pages never RWX.

Host-generic: every test runs code of the host's own architecture, built
with that architecture's asmkit, so the same tests run natively on x86-64
and on AArch64 hosts (where the arena also flushes the instruction cache).
"""

import ctypes

import pytest

import asmkit
from asmkit.arch import host_arch
from asmkit.memory import PAGE, ArenaExhausted, CodeArena

HOST = host_arch()

# (add one to the first argument, return a constant), per host architecture
SNIPPETS = {
    'x86_64': ('lea rax, [rdi + 1]\nret', 'mov eax, {n}\nret'),
    'aarch64': ('add x0, x0, #1\nret', 'mov x0, #{n}\nret'),
}


def _asm(text: str) -> bytes:
    return asmkit.assemble(text, HOST)


def _add_one() -> bytes:
    return _asm(SNIPPETS[HOST][0])


def _ret_const(n: int) -> bytes:
    return _asm(SNIPPETS[HOST][1].format(n=n))


def test_place_call_and_protection():
    with CodeArena(4 * PAGE) as arena:
        blob = arena.load(_add_one())
        assert blob(41) == 42
        assert CodeArena.protection(blob.address) == "r-xp"


def test_patch_goes_back_through_rw_and_stays_wx():
    with CodeArena(4 * PAGE) as arena:
        blob = arena.load(_ret_const(7))
        assert blob() == 7
        blob.patch(0, _ret_const(99))
        assert blob() == 99
        assert CodeArena.protection(blob.address) == "r-xp"
        with pytest.raises(ValueError, match="outside the blob"):
            blob.patch(PAGE, b"\x00\x00\x00\x00")


def test_many_blobs_free_reuse_and_exhaustion():
    with CodeArena(4 * PAGE) as arena:
        blobs = [arena.load(_add_one()) for _ in range(4)]
        assert len({b.address for b in blobs}) == 4
        with pytest.raises(ArenaExhausted, match="exhausted"):
            arena.load(_add_one())
        blobs[1].free()
        blobs[2].free()
        big = arena.reserve(2 * PAGE)          # the two freed pages merged
        assert big.address == blobs[1].address
        assert blobs[0](1) == 2 and blobs[3](2) == 3
        with pytest.raises(ValueError, match="freed"):
            blobs[1].read()
        assert arena.free_bytes() == 0


def test_arena_place_finishes_a_builder_at_its_address():
    # place() finishes the builder at the blob's own address, so labels and
    # absolute targets resolve where the code really is.
    arch = asmkit.arch.load(HOST)
    b = arch.Builder()
    skip = b.label()
    if HOST == 'x86_64':
        from asmkit.x86_64.regs import eax
        b.jmp(skip)
        b.mov(eax, 1)
        b.ret()
        b.bind(skip)
        b.mov(eax, 2)
        b.ret()
    else:
        from asmkit.aarch64.regs import X0 as x0
        b.b(skip)
        b.mov(x0, 1)
        b.ret()
        b.bind(skip)
        b.mov(x0, 2)
        b.ret()
    with CodeArena() as arena:
        blob = arena.place(b)
        assert blob.function(ctypes.c_int64)() == 2
        assert blob.read() == b.finish(blob.address)
