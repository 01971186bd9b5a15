"""W^X executable memory: a code arena of mmap'd pages handed out as blobs.

Pages are never writable and executable at once.  A blob is written while
its pages are RW, then flipped to RX (``mprotect``) before it can be called;
``patch()`` flips them back to RW, writes, and returns them to RX.  After
every write of code ``asmkit.icache.flush_icache`` runs (a no-op on x86-64).

The arena is one reservation carved into blobs with a first-fit free
list, so many blobs can live and die independently, and running out raises
:class:`ArenaExhausted` (the caller can free or grow).  Blobs are whole
pages by default; an arena made with a smaller ``granule`` packs blobs by
bytes, several to a page.  Writing into a page that already holds live code
then flips just the pages written RX -> RW -> RX (never RWX), so the caller
must not be running code from those pages at the time; a page goes back to
PROT_NONE only once no blob is left on it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import threading

__all__ = ["CodeArena", "Blob", "ArenaExhausted", "MemoryError_"]

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20
PAGE = mmap.PAGESIZE

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                       ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value


class MemoryError_(OSError):
    """mmap/mprotect failed (the errno is in the message)."""


class ArenaExhausted(MemoryError_):
    """No free range in the arena is large enough for the request."""


def _protect(address: int, size: int, prot: int):
    if _libc.mprotect(address, size, prot) != 0:
        err = ctypes.get_errno()
        raise MemoryError_(err, f"mprotect({address:#x}, {size:#x}, {prot}) "
                           f"failed with errno {err}")


def _flush(address: int, size: int):
    from .icache import flush_icache
    flush_icache(address, size)


class Blob:
    """A placed piece of code: ``address``, ``size``, ``call(restype, *argtypes)``.

    ``size`` is the byte length written; the blob owns whole pages.
    """

    __slots__ = ("arena", "address", "size", "span", "_fn_cache", "freed")

    def __init__(self, arena, address, size, span):
        self.arena = arena
        self.address = address
        self.size = size
        self.span = span
        self._fn_cache = {}
        self.freed = False

    def function(self, restype=ctypes.c_int64, *argtypes):
        """A ctypes function pointer to the start of the blob."""
        key = (restype, argtypes)
        fn = self._fn_cache.get(key)
        if fn is None:
            self._check_live()
            fn = ctypes.CFUNCTYPE(restype, *argtypes)(self.address)
            self._fn_cache[key] = fn
        return fn

    def __call__(self, *args, restype=ctypes.c_int64):
        """Call with integer arguments (System V / AAPCS64 int64 registers)."""
        return self.function(restype, *([ctypes.c_int64] * len(args)))(*args)

    def read(self) -> bytes:
        self._check_live()
        return ctypes.string_at(self.address, self.size)

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite bytes at ``offset`` (RX -> RW -> write -> RX)."""
        self._check_live()
        if offset < 0 or offset + len(data) > self.span:
            raise ValueError(f"patch [{offset:#x}, {offset + len(data):#x}) is "
                             f"outside the blob (size {self.span:#x})")
        self.arena._write(self.address, self.span, offset, bytes(data))
        self.size = max(self.size, offset + len(data))

    def free(self) -> None:
        if not self.freed:
            self.arena.free(self)

    def _check_live(self):
        if self.freed:
            raise ValueError(f"blob at {self.address:#x} has been freed")

    def __repr__(self):
        return f"Blob({self.address:#x}, {self.size} bytes)"


class CodeArena:
    """``size`` bytes of code memory reserved once and handed out as blobs.

    ``granule`` (a power of two, at most a page) is the unit blobs are cut
    in; with a granule below a page, ``capacity`` (the bytes handed out) is
    ``size`` rounded up to the granule rather than to a page.
    """

    def __init__(self, size: int = 1 << 20, granule: int = PAGE):
        if granule <= 0 or granule > PAGE or granule & (granule - 1):
            raise ValueError(f"granule {granule} is not a power of two up to {PAGE}")
        self.granule = granule
        self.capacity = max(granule, -(-size // granule) * granule)
        self.size = (self.capacity + PAGE - 1) // PAGE * PAGE
        addr = _libc.mmap(None, self.size, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if addr in (None, _MAP_FAILED):
            err = ctypes.get_errno()
            raise MemoryError_(err, f"mmap of {self.size:#x} bytes failed "
                               f"(errno {err})")
        self.base = addr
        self._free = [(0, self.capacity)]     # sorted (offset, length) ranges
        self._lock = threading.Lock()
        self.blobs = set()
        self.closed = False

    # ---------------------------------------------------------- allocation
    def _take(self, need: int) -> int:
        for i, (off, length) in enumerate(self._free):
            if length >= need:
                if length == need:
                    del self._free[i]
                else:
                    self._free[i] = (off + need, length - need)
                return off
        raise ArenaExhausted(
            f"code arena exhausted: {need:#x} bytes requested, "
            f"{self.free_bytes():#x} free in {len(self._free)} ranges "
            f"of {self.size:#x}")

    def free_bytes(self) -> int:
        return sum(n for _, n in self._free)

    def load(self, code: bytes) -> Blob:
        """Place ``code`` in a new blob and make it executable."""
        return self.reserve(len(code), code)

    def reserve(self, size: int, code: bytes = b"") -> Blob:
        """A blob of at least ``size`` bytes, initially holding ``code``."""
        if self.closed:
            raise ValueError("code arena is closed")
        g = self.granule
        span = max(g, (size + g - 1) // g * g)
        with self._lock:
            off = self._take(span)
        blob = Blob(self, self.base + off, len(code), span)
        self.blobs.add(blob)
        self._write(blob.address, span, 0, bytes(code))
        return blob

    def place(self, builder) -> Blob:
        """Finish ``builder`` at its final address and load it."""
        blob = self.reserve(builder.max_size())
        code = builder.finish(blob.address)
        blob.patch(0, code)
        blob.size = len(code)
        return blob

    def free(self, blob: Blob) -> None:
        if blob.arena is not self or blob.freed:
            raise ValueError(f"{blob!r} is not a live blob of this arena")
        blob.freed = True
        self.blobs.discard(blob)
        with self._lock:
            self._free.append((blob.address - self.base, blob.span))
            self._free.sort()
            merged = []
            for off, n in self._free:
                if merged and merged[-1][0] + merged[-1][1] == off:
                    merged[-1] = (merged[-1][0], merged[-1][1] + n)
                else:
                    merged.append((off, n))
            self._free = merged
            # pages of the blob that no other blob shares become inaccessible
            start = blob.address - self.base
            lo, hi = start // PAGE * PAGE, -(-(start + blob.span) // PAGE) * PAGE
            for page in range(lo, hi, PAGE):
                if self._is_free(page, min(page + PAGE, self.capacity)):
                    _protect(self.base + page, PAGE, PROT_NONE)

    def _is_free(self, start: int, end: int) -> bool:
        for off, n in self._free:
            if off <= start and end <= off + n:
                return True
            if off > start:
                return False
        return False

    # -------------------------------------------------------------- W^X
    def _write(self, address: int, span: int, offset: int, data: bytes):
        """RW, copy, then RX: the pages are never writable and executable.
        Only the pages the blob covers are flipped (with packed blobs, a
        neighbour's code on them is not executable meanwhile)."""
        lo = address // PAGE * PAGE
        hi = -(-(address + span) // PAGE) * PAGE
        _protect(lo, hi - lo, PROT_READ | PROT_WRITE)
        try:
            if data:
                ctypes.memmove(address + offset, data, len(data))
        finally:
            _protect(lo, hi - lo, PROT_READ | PROT_EXEC)
        if data:
            _flush(address + offset, len(data))

    @staticmethod
    def protection(address: int) -> str:
        """The page's permissions as /proc/self/maps shows them ('r-xp')."""
        with open("/proc/self/maps") as fh:
            for line in fh:
                rng, perms = line.split()[:2]
                lo, hi = (int(x, 16) for x in rng.split("-"))
                if lo <= address < hi:
                    return perms
        return "----"

    def close(self) -> None:
        if not self.closed:
            _libc.munmap(self.base, self.size)
            self.closed = True
            self.blobs.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
