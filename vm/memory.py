"""The VM's global memory (int64 cells), and `Region`, the anonymous,
page-aligned mapping it and the JIT's stacks and state block are made of.

With the JIT, the cells live in one anonymous mapping that the interpreter
(through a memoryview) and native or emulated code (through its address)
share, so crossing between them copies nothing. The interpreter alone uses a
plain list, which Python indexes about twice as fast.
"""
from __future__ import annotations

import mmap
import struct

PAGE = mmap.PAGESIZE
MAP_NORESERVE = 0x4000          # Linux: reserve address space, commit on touch
MADV_DONTNEED = 4
_libc = None


def libc():
    """The C library through ctypes, loaded on first use: a run that never
    reaches native code does not import ctypes at all."""
    global _libc
    if _libc is None:
        import ctypes
        lib = ctypes.CDLL(None, use_errno=True)     # the process's own libc symbols
        lib.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        lib.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        _libc = lib
    return _libc


def _round(n: int) -> int:
    return max(PAGE, -(-n // PAGE) * PAGE)


class Region:
    """One anonymous mapping that stays put for the run."""

    def __init__(self, size: int, noreserve: bool = False):
        self.size = _round(size)
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (MAP_NORESERVE if noreserve else 0)
        self.map = mmap.mmap(-1, self.size, flags=flags)
        self._pin = None

    @property
    def address(self) -> int:
        """Where the mapping starts (asked by native code's set-up only, so
        ctypes is imported then, not at start-up)."""
        if self._pin is None:
            import ctypes
            self._pin = ctypes.c_char.from_buffer(self.map)
            self._address = ctypes.addressof(self._pin)
        return self._address

    def words(self, offset: int, count: int):
        import ctypes
        return (ctypes.c_int64 * count).from_address(self.address + offset)

    def close(self):
        self._pin = None
        try:
            self.map.close()
        except BufferError:     # a ctypes view is still alive: GC frees it later
            pass

    def discard(self, offset: int, length: int) -> int:
        """Give the whole pages in [offset, offset + length) back to the
        system (they read as zero when touched again); the bytes given back."""
        lo = -(-offset // PAGE) * PAGE
        hi = min(self.size, (offset + length) // PAGE * PAGE)
        if hi <= lo or libc().madvise(self.address + lo, hi - lo, MADV_DONTNEED) != 0:
            return 0
        return hi - lo

    def guard_low_page(self):
        """Make the lowest page inaccessible: a runaway stack faults there
        instead of corrupting other memory."""
        if libc().mprotect(self.address, PAGE, 0) != 0:
            import ctypes
            raise OSError(ctypes.get_errno(), 'mprotect failed for a stack guard page')



class CellMemory:
    def __init__(self, ncells: int, native: bool = True):
        self.ncells = ncells
        self.native = native
        if native:
            self._region = Region(ncells * 8)
            self.size = self._region.size
            self.cells = memoryview(self._region.map).cast('q')[:ncells]
        else:
            self._region = None
            self.size = ncells * 8
            self.cells = [0] * ncells

    @property
    def address(self) -> int:
        return self._region.address if self._region is not None else 0

    def load(self, data):
        """Apply the program's data records."""
        for addr, values in data:
            if self.native:
                # struct, not array: `array` imports collections.abc at start-up
                values = memoryview(struct.pack(f'={len(values)}q', *values)).cast('q')
            self.cells[addr:addr + len(values)] = values

    def close(self):
        if self._region is not None:
            self.cells.release()
            self.cells = None
            self._region.close()
            self._region = None
