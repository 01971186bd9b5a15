"""Compiled code on asmkit's W^X arena: placing regions, finding the code a
return address belongs to, and evicting the least recently used region
when the cache is full.

A *region* is what one compilation placed: a function and the callees
compiled with it. Regions are packed by bytes (16-byte aligned), several to
a page, and the cache holds exactly `--code-cache` bytes of them. Eviction
removes a whole region; its functions go back to the interpreter (their
function-table entries point at the `uncompiled` routine again) until they
are hot again. Regions are only placed and evicted while Python runs, when
no native code is running, so rewriting a page that holds live code (RX ->
RW -> RX) never pulls code from under a running instruction.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from asmkit.memory import PAGE, ArenaExhausted, CodeArena


ALIGN = 16                  # every function starts 16-byte aligned


class CacheFull(Exception):
    """The code does not fit even in an empty cache."""


@dataclass
class Placed:
    code: object            # backends.lowering.CompiledCode
    address: int
    region: 'Region'


@dataclass(eq=False)                # identity: regions go in sets
class Region:
    blob: object                                       # the arena blob holding it all
    placed: list[Placed] = field(default_factory=list)
    last_used: int = 0

    @property
    def functions(self) -> list[int]:
        return [p.code.func_index for p in self.placed]

    @property
    def size(self) -> int:
        return sum(len(p.code.code) for p in self.placed)


class CodeCache:
    def __init__(self, capacity: int, runtime_code: bytes, on_change=None):
        # the runtime routines live in their own permanent arena
        self.runtime_arena = CodeArena(max(len(runtime_code), 1))
        self.runtime_address = self.runtime_arena.load(runtime_code).address
        self.arena = CodeArena(capacity, granule=ALIGN) if capacity > 0 else None
        self.requested = capacity
        self.capacity = self.arena.capacity if self.arena is not None else 0
        self.regions: list[Region] = []
        self._starts: list[int] = []          # sorted blob addresses
        self._placed: list[Placed] = []       # same order
        self._clock = 0
        self.evictions = 0
        self.bytes_placed = 0
        self.on_change = on_change or (lambda address, size: None)

    def mappings(self):
        """(address, size) of the executable memory, for an emulator."""
        out = [(self.runtime_arena.base, self.runtime_arena.size)]
        if self.arena is not None:
            out.append((self.arena.base, self.arena.size))
        return out

    def describe(self) -> str:
        """The size really used, as -v and --stats print it: --code-cache
        rounded up to whole 16-byte granules (and mapped in whole pages),
        with the request beside it when the two differ."""
        text = f'{self.capacity} bytes'
        if self.arena is not None:
            pages = self.arena.size // PAGE
            text += f' in {pages} page{"" if pages == 1 else "s"} of {PAGE}'
        if self.capacity != self.requested:
            text += f' (--code-cache {self.requested} rounded up)'
        return text

    def touch(self, region: Region):
        self._clock += 1
        region.last_used = self._clock

    def place(self, codes: list, evict, keep=()) -> Region:
        """A new region holding codes as one blob (each function 16-byte
        aligned), evicting least recently used regions through
        `evict(region)` to make room, never one in `keep`; CacheFull if
        there is no room even then."""
        offsets, image = [], bytearray()
        for code in codes:
            image += bytes(-len(image) % ALIGN)
            offsets.append(len(image))
            image += code.code
        size = len(image)
        if self.arena is None or size > self.capacity:
            raise CacheFull(f'{size} bytes do not fit a {self.capacity}-byte code cache')
        while True:
            try:
                blob = self.arena.load(bytes(image))
                break
            except ArenaExhausted:
                victims = [r for r in self.regions if r not in keep]
                if not victims:
                    raise CacheFull(f'{size} bytes do not fit the {self.capacity}-byte '
                                    'code cache') from None
                evict(min(victims, key=lambda r: r.last_used))
        self.on_change(blob.address, size)
        region = Region(blob)
        self.touch(region)
        self.regions.append(region)
        for code, off in zip(codes, offsets):
            p = Placed(code, blob.address + off, region)
            region.placed.append(p)
            i = bisect.bisect(self._starts, p.address)
            self._starts.insert(i, p.address)
            self._placed.insert(i, p)
        self.bytes_placed += size
        return region

    def remove(self, region: Region):
        for p in region.placed:
            i = bisect.bisect_left(self._starts, p.address)
            del self._starts[i]
            del self._placed[i]
        self.on_change(region.blob.address, region.blob.span)
        self.arena.free(region.blob)
        region.placed.clear()
        self.regions.remove(region)
        self.evictions += 1

    def lookup(self, address: int) -> tuple[Placed, int] | None:
        """The placed code containing address, and the offset within it."""
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        p = self._placed[i]
        off = address - p.address
        return (p, off) if 0 <= off < len(p.code.code) else None

    def close(self):
        """Unmap the code memory (after the run)."""
        self.runtime_arena.close()
        if self.arena is not None:
            self.arena.close()

    @property
    def used(self) -> int:
        return sum(r.size for r in self.regions)
