"""W^X code arena: place, call, patch, free, exhaustion; pages never RWX."""

import ctypes
import pytest

from asmkit.memory import PAGE, ArenaExhausted, CodeArena

def _add_one():
    from asmkit.x86_64 import Builder
    from asmkit.x86_64.regs import rax, rdi
    b = Builder()
    b.lea(rax, rdi + 1)
    b.ret()
    return b


def test_place_call_and_protection():
    with CodeArena(4 * PAGE) as arena:
        blob = arena.place(_add_one())
        assert blob(41) == 42
        assert CodeArena.protection(blob.address) == "r-xp"


def test_patch_goes_back_through_rw_and_stays_wx():
    from asmkit.x86_64 import Builder
    from asmkit.x86_64.regs import eax
    with CodeArena(4 * PAGE) as arena:
        b = Builder()
        b.mov(eax, 7)
        b.ret()
        blob = arena.load(b.finish())
        assert blob() == 7
        blob.patch(1, (99).to_bytes(4, "little"))
        assert blob() == 99
        assert CodeArena.protection(blob.address) == "r-xp"
        with pytest.raises(ValueError, match="outside the blob"):
            blob.patch(PAGE, b"\x90")


def test_many_blobs_free_reuse_and_exhaustion():
    with CodeArena(4 * PAGE) as arena:
        blobs = [arena.place(_add_one()) for _ in range(4)]
        assert len({b.address for b in blobs}) == 4
        with pytest.raises(ArenaExhausted, match="exhausted"):
            arena.place(_add_one())
        blobs[1].free()
        blobs[2].free()
        big = arena.reserve(2 * PAGE)          # the two freed pages merged
        assert big.address == blobs[1].address
        assert blobs[0](1) == 2 and blobs[3](2) == 3
        with pytest.raises(ValueError, match="freed"):
            blobs[1].read()
        assert arena.free_bytes() == 0


def test_arena_place_with_absolute_branch_targets():
    # place() finishes the builder at the blob's own address.
    from asmkit.x86_64 import Builder
    from asmkit.x86_64.regs import eax
    with CodeArena() as arena:
        b = Builder()
        skip = b.label()
        b.jmp(skip)
        b.mov(eax, 1)
        b.ret()
        b.bind(skip)
        b.mov(eax, 2)
        b.ret()
        blob = arena.place(b)
        assert blob.function(ctypes.c_int64)() == 2
        assert blob.read() == b.finish(blob.address)
