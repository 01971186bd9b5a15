"""`jitvm run --perf-map`: /tmp/perf-PID.map, the file `perf report` reads
to name samples in JIT code (the format CPython's `-X perf` writes).

One `START SIZE jitvm::NAME` line (hex, no 0x) per function placed in the
code cache, appended and flushed as it is placed, so a perf recording at
that moment can already name it. Lines of evicted code stay: samples taken
before the eviction still point there. The runtime routines get one line
each (`jitvm::runtime.NAME`) when the run starts.
"""
from __future__ import annotations

import os

PREFIX = 'jitvm::'


def path_for(pid: int | None = None) -> str:
    return f'/tmp/perf-{os.getpid() if pid is None else pid}.map'


def symbol(name: str) -> str:
    """A function name as one perf-map symbol: a name perf would split or
    misread (control characters, a newline) is written as a quoted literal."""
    if name.isprintable():
        return PREFIX + name
    from .disasm import string_literal
    return PREFIX + string_literal(name)


class PerfMap:
    def __init__(self, path: str | None = None):
        from .errors import UsageError
        self.path = path or path_for()
        try:
            self.file = open(self.path, 'a', encoding='utf-8')
        except OSError as e:
            raise UsageError(f'cannot write the perf map {self.path}: {e.strerror}') from None

    def add(self, address: int, size: int, name: str) -> None:
        self.file.write(f'{address:x} {size:x} {symbol(name)}\n')
        self.file.flush()

    def add_runtime(self, base: int, size: int, routines: dict[str, int]) -> None:
        """One line per runtime routine (each runs to the next one's start)."""
        starts = sorted((off, name) for name, off in routines.items())
        for (off, name), (end, _) in zip(starts, starts[1:] + [(size, None)]):
            if end > off:
                self.add(base + off, end - off, 'runtime.' + name)

    def close(self) -> None:
        self.file.close()
