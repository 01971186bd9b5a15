"""The VM's global memory (int64 cells), and `Region`, the anonymous,
page-aligned mapping it and the JIT's stacks and state block are made of.

With the JIT, the cells live in one anonymous mapping that the interpreter
(through a memoryview) and native or emulated code (through its address)
share, so crossing between them copies nothing. The interpreter alone uses a
plain list, which Python indexes about twice as fast.
"""
from __future__ import annotations

import array
import ctypes
import ctypes.util
import mmap

PAGE = mmap.PAGESIZE
MAP_NORESERVE = 0x4000          # Linux: reserve address space, commit on touch

_libc = ctypes.CDLL(ctypes.util.find_library('c') or None, use_errno=True)
_libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
MADV_DONTNEED = 4


def _round(n: int) -> int:
    return max(PAGE, -(-n // PAGE) * PAGE)


class Region:
    """One anonymous mapping that stays put for the run."""

    def __init__(self, size: int, noreserve: bool = False):
        self.size = _round(size)
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (MAP_NORESERVE if noreserve else 0)
        self.map = mmap.mmap(-1, self.size, flags=flags)
        self._pin = ctypes.c_char.from_buffer(self.map)
        self.address = ctypes.addressof(self._pin)

    def words(self, offset: int, count: int):
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
        if hi <= lo or _libc.madvise(self.address + lo, hi - lo, MADV_DONTNEED) != 0:
            return 0
        return hi - lo

    def guard_low_page(self):
        """Make the lowest page inaccessible: a runaway stack faults there
        instead of corrupting other memory."""
        if _libc.mprotect(self.address, PAGE, 0) != 0:
            raise OSError(ctypes.get_errno(), 'mprotect failed for a stack guard page')



class CellMemory:
    def __init__(self, ncells: int, native: bool = True):
        self.ncells = ncells
        self.native = native
        if native:
            self._region = Region(ncells * 8)
            self.address, self.size = self._region.address, self._region.size
            self.cells = memoryview(self._region.map).cast('q')[:ncells]
        else:
            self._region = None
            self.address = 0
            self.size = ncells * 8
            self.cells = [0] * ncells

    def load(self, data):
        """Apply the program's data records."""
        for addr, values in data:
            if self.native:
                values = memoryview(array.array('q', values)).cast('B').cast('q')
            self.cells[addr:addr + len(values)] = values

    def close(self):
        if self._region is not None:
            self.cells.release()
            self.cells = None
            self._region.close()
            self._region = None
