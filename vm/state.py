"""The memory native code runs against: the state block (backends/abi.py
layout), the output buffer, the value stack and a dedicated, guard-paged
machine stack. All are anonymous page-aligned mappings, so Unicorn can map
the very same memory (mem_map_ptr) and run the very same bytes.
"""
from __future__ import annotations

import ctypes

from backends import abi

from .memory import PAGE, Region

OUT_CAPACITY = 1 << 16
SIGNAL_MARGIN = 256 * 1024      # room below the machine stack for signal frames
VSTACK_LIMIT = 2 << 30          # value stack bigger than this: deep calls deopt


def value_stack_need(program, max_call_depth: int) -> int:
    """Bytes of value stack for max_call_depth of the program's largest
    frames (whether compiled calls must check for room depends on it)."""
    max_frame = max((f.nslots + facts.max_height for f, facts in
                     zip(program.functions, program.facts)), default=1) + 1
    return (max_call_depth + 1) * max_frame * abi.WORD


class NativeState:
    """State block + output buffer + value stack + machine stack for one run."""

    def __init__(self, program, memory, max_call_depth: int, native_abi):
        nfuncs = self.nfuncs = len(program.functions)
        self.block = Region(abi.state_size(nfuncs))
        self.fields = self.block.words(0, abi.state_size(nfuncs) // abi.WORD)
        self.out = Region(OUT_CAPACITY)
        need = value_stack_need(program, max_call_depth)
        vbytes = min(VSTACK_LIMIT, need)
        # when the value stack holds the deepest possible call chain, compiled
        # calls need not check for room (the call budget bounds it)
        self.vstack_covers_depth = need <= VSTACK_LIMIT
        self.vstack = Region(vbytes + PAGE, noreserve=True)
        self.mstack = Region(native_abi.machine_stack_bytes(max_call_depth) + SIGNAL_MARGIN + PAGE,
                             noreserve=True)
        self.mstack.guard_low_page()
        # word views for bulk reads (hand-backs): one slice per frame
        self.vstack_words = memoryview(self.vstack.map).cast('q')
        self._mstack_words = memoryview(self.mstack.map).cast('q')
        self.set('mem_base', memory.address)
        self.set('mem_cells', memory.ncells)
        self.set('out_ptr', self.out.address)
        self.set('out_cap', OUT_CAPACITY)
        self.set('entry_sp', self.mstack.address + self.mstack.size - 64)
        self.set('vstack_end', self.vstack.address + self.vstack.size - PAGE)
        self.memory = memory

    @property
    def address(self) -> int:
        return self.block.address

    def set(self, name: str, value: int):
        self.fields[abi.OFF[name] // abi.WORD] = value

    def get(self, name: str) -> int:
        return self.fields[abi.OFF[name] // abi.WORD]

    def set_function(self, index: int, address: int):
        self.fields[abi.FUNC_TABLE // abi.WORD + index] = address

    def set_counter(self, index: int, value: int):
        self.fields[abi.hot_counter(self.nfuncs, index) // abi.WORD] = value

    def take_output(self) -> bytes:
        n = self.get('out_len')
        if not n:
            return b''
        self.set('out_len', 0)
        return ctypes.string_at(self.out.address, n)

    def read_words(self, address: int, count: int) -> list[int]:
        if count <= 0:
            return []
        return list((ctypes.c_int64 * count).from_address(address))

    def mstack_word(self, address: int) -> int:
        """The machine-stack word at address (a return address)."""
        return self._mstack_words[(address - self.mstack.address) // abi.WORD]

    def write_words(self, address: int, values) -> None:
        n = len(values)
        if n:
            (ctypes.c_int64 * n).from_address(address)[:] = values

    def close(self):
        """Unmap everything (after the run; no code may use it again)."""
        self.fields = None
        self.vstack_words.release()
        self._mstack_words.release()
        for region in (self.block, self.out, self.vstack, self.mstack):
            region.close()

    def regions(self):
        """(address, size) of every mapping native code touches."""
        mem = self.memory
        return [(self.block.address, self.block.size), (self.out.address, self.out.size),
                (self.vstack.address, self.vstack.size),
                (self.mstack.address + PAGE, self.mstack.size - PAGE),   # not the guard page
                (mem.address, mem.size)]
