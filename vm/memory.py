"""The VM's global memory: int64 cells.

With the JIT, the cells live in one anonymous mapping that the interpreter
(through a memoryview) and native or emulated code (through its address)
share, so crossing between them copies nothing. The interpreter alone uses a
plain list, which Python indexes about twice as fast.
"""
from __future__ import annotations

import array
import ctypes
import mmap


class CellMemory:
    def __init__(self, ncells: int, native: bool = True):
        self.ncells = ncells
        self.native = native
        if native:
            size = max(mmap.PAGESIZE, -(-ncells * 8 // mmap.PAGESIZE) * mmap.PAGESIZE)
            self._map = mmap.mmap(-1, size)
            self._pin = ctypes.c_char.from_buffer(self._map)
            self.address = ctypes.addressof(self._pin)
            self.size = size
            self.cells = memoryview(self._map).cast('q')[:ncells]
        else:
            self._map = None
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
        if self._map is not None:
            self.cells.release()
            self.cells = None
            del self._pin
            try:
                self._map.close()
            except BufferError:     # a view is still held somewhere: let GC free it
                pass
            self._map = None
