"""Instruction-cache coherence for the AArch64 backend: every write of code
(runtime routines, each compiled region, space reused after an eviction) is
flushed by asmkit's arena before it can run, and the Unicorn executor drops
its translations of every range that was written or freed, so a region
placed where an evicted one was never runs the old code."""
from __future__ import annotations

import asmkit.icache
import vm.codecache
import vm.executors
from tests.jit.tiering_support import interp
from tests.jit.diffengines import differences
from vm.api import RunConfig, execute


def thrashing_program() -> str:
    """main calls three drivers (and two again); each driver's hot loop
    calls its own big worker. Two workers never fit a 4 KiB cache together,
    so every worker evicts the one before and takes its space."""
    parts = ['.func main', *[f'CALL driver{k}\nPRINT' for k in (1, 2, 3, 1, 2)], 'PUSH 0', 'RET',
             '.end']
    for k in (1, 2, 3):
        parts += [f'.func driver{k} 0 2', 'PUSH 10', 'LSTORE 0', 'top:', 'LLOAD 1', 'LLOAD 0',
                  f'CALL work{k}', 'ADD', 'LSTORE 1', 'LLOAD 0', 'PUSH 1', 'SUB', 'DUP',
                  'LSTORE 0', 'JNZ top', 'LLOAD 1', 'RET', '.end']
        parts += [f'.func work{k} 1', 'LLOAD 0']
        parts += [x for i in range(200) for x in (f'PUSH {i * 7919 + k}', 'XOR' if i % 2 else 'ADD')]
        parts += ['RET', '.end']
    return '\n'.join(parts)


def test_every_write_is_flushed_and_every_change_reaches_unicorn(monkeypatch):
    flushed, changed, placed, removed = [], [], [], []
    real_flush = asmkit.icache.flush_icache
    monkeypatch.setattr(asmkit.icache, 'flush_icache',
                        lambda address, size: (flushed.append((address, size)),
                                               real_flush(address, size))[1])
    real_changed = vm.executors.UnicornExecutor.code_changed

    def code_changed(self, address, size):
        changed.append((address, size))
        return real_changed(self, address, size)
    monkeypatch.setattr(vm.executors.UnicornExecutor, 'code_changed', code_changed)
    real_place, real_remove = vm.codecache.CodeCache.place, vm.codecache.CodeCache.remove

    def place(self, codes, evict, *keep):
        region = real_place(self, codes, evict, *keep)
        blob = region.blob
        placed.append((blob.address, blob.size, bytes(blob.read())))
        # by the time place() returns, the bytes are flushed and Unicorn told
        assert any(a <= blob.address and blob.address + blob.size <= a + n
                   for a, n in flushed), 'placed code was never flushed'
        assert (blob.address, region.size) in changed or any(
            a <= blob.address and blob.address + blob.size <= a + n for a, n in changed)
        return region

    def remove(self, region):
        span = (region.blob.address, region.blob.span)
        real_remove(self, region)
        removed.append(span)
        assert span in changed, 'freed code still translated by Unicorn'
    monkeypatch.setattr(vm.codecache.CodeCache, 'place', place)
    monkeypatch.setattr(vm.codecache.CodeCache, 'remove', remove)

    source = thrashing_program()
    got = execute(source, RunConfig(jit_threshold=2, code_cache=4096, backend='aarch64',
                                    emulate=True, verbose=True), 'prog.asm')
    assert not differences(interp(source), got)
    assert len(removed) >= 2
    # space reused: a region placed where other code was before
    seen: dict[int, bytes] = {}
    reused = 0
    for address, size, code in placed:
        if address in seen and seen[address] != code:
            reused += 1
        seen[address] = code
    assert reused >= 2, placed


def test_the_runtime_routines_are_flushed_too(monkeypatch):
    flushed = []
    real_flush = asmkit.icache.flush_icache
    monkeypatch.setattr(asmkit.icache, 'flush_icache',
                        lambda address, size: (flushed.append((address, size)),
                                               real_flush(address, size))[1])
    from backends.aarch64.target import TARGET
    code, _ = TARGET.runtime_routines()
    cache = vm.codecache.CodeCache(4096, code)
    try:
        assert (cache.runtime_address, len(code)) in flushed
    finally:
        cache.close()


def test_patching_compiled_code_is_flushed(monkeypatch):
    """The arena's patch path (RX -> RW -> write -> RX) flushes the patched
    bytes, so code rewritten in place is coherent too."""
    from asmkit.memory import CodeArena
    from backends.aarch64.target import TARGET
    from vm.api import load
    flushed = []
    real_flush = asmkit.icache.flush_icache
    monkeypatch.setattr(asmkit.icache, 'flush_icache',
                        lambda address, size: (flushed.append((address, size)),
                                               real_flush(address, size))[1])
    program = load('.func main\nPUSH 1\nPRINT\nPUSH 0\nRET\n.end\n')
    code = TARGET.compile_function(program, 0).code
    with CodeArena(1 << 16) as arena:
        blob = arena.load(code)
        assert (blob.address, len(code)) in flushed
        blob.patch(8, code[:4])
        assert flushed[-1] == (blob.address + 8, 4)
        assert blob.read()[8:12] == code[:4]
