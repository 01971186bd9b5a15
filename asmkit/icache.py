"""Instruction-cache coherence after writing code.

x86-64 keeps instruction fetch coherent with stores, so ``flush_icache`` is a
no-op there.  AArch64 does not: after code is written through the data side,
the written lines must be cleaned to the point of unification (``dc cvau``)
and the instruction cache invalidated (``ic ivau``), with barriers, before the
code runs.  On an AArch64 host we use libgcc's ``__clear_cache`` (it reads
CTR_EL0 and honours the IDC/DIC bits) when the C library exports it, and
otherwise our own flush routine, assembled with asmkit and placed in a fresh
mapping (fresh pages are made coherent by the kernel, so the routine's own
first run needs no flush).
"""

import ctypes
import mmap
import platform

__all__ = ["flush_icache", "flush_routine", "flusher_name"]

_flush = None       # the callable (start, end) once chosen
_flusher_name = None
_keepalive = []     # the fallback routine's mapping, never unmapped


def flush_routine():
    """AArch64 code for ``flush(start=x0, end=x1)`` using CTR_EL0 line sizes."""
    from .aarch64.encode import Builder
    from .aarch64.regs import X
    x0, x1, x2, x3, x4, x5 = X[:6]
    b = Builder(relax=False)
    b.word(0xD53B0023)          # mrs x3, ctr_el0
    # data side: line = 4 << DminLine (bits 19:16)
    b.lsr(x4, x3, 16)
    b.and_(x4, x4, 0xF)
    b.mov(x5, 4)
    b.lsl(x5, x5, x4)
    b.sub(x4, x5, 1)
    b.bic(x2, x0, x4)           # first line
    dloop = b.here("dloop")
    b.dc("cvau", x2)
    b.add(x2, x2, x5)
    b.cmp(x2, x1)
    b.b_lo(dloop)
    b.dsb("ish")
    # instruction side: line = 4 << IminLine (bits 3:0)
    b.and_(x4, x3, 0xF)
    b.mov(x5, 4)
    b.lsl(x5, x5, x4)
    b.sub(x4, x5, 1)
    b.bic(x2, x0, x4)
    iloop = b.here("iloop")
    b.ic("ivau", x2)
    b.add(x2, x2, x5)
    b.cmp(x2, x1)
    b.b_lo(iloop)
    b.dsb("ish")
    b.isb()
    b.ret()
    return b.finish()


def _libgcc_clear_cache():
    for name in ("libgcc_s.so.1", None):
        try:
            fn = ctypes.CDLL(name).__clear_cache
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        fn.restype = None
        return fn
    return None


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mmap.restype = ctypes.c_void_p
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.mprotect.restype = ctypes.c_int
    return libc


def _own_flush_routine():
    """Map our routine RW, copy it, make it RX (never both), return a callable."""
    code = flush_routine()
    libc = _libc()
    size = mmap.PAGESIZE
    addr = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap failed for the icache flush routine")
    ctypes.memmove(addr, code, len(code))
    if libc.mprotect(addr, size, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        raise OSError(ctypes.get_errno(), "mprotect failed for the icache flush routine")
    _keepalive.append(addr)
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(addr)


def _choose(prefer_own=False):
    global _flush, _flusher_name
    if platform.machine().lower() not in ("aarch64", "arm64"):
        _flush, _flusher_name = (lambda start, end: None), "none (coherent host)"
        return
    fn = None if prefer_own else _libgcc_clear_cache()
    if fn is not None:
        _flush, _flusher_name = fn, "libgcc __clear_cache"
    else:
        _flush, _flusher_name = _own_flush_routine(), "asmkit dc cvau/ic ivau routine"


def flush_icache(address, size):
    """Make ``size`` bytes of freshly written code at ``address`` safe to run."""
    if _flush is None:
        _choose()
    if size > 0:
        _flush(address, address + size)


def flusher_name(prefer_own=None):
    """Which flush is in use ("none (coherent host)", libgcc, or our routine).

    ``prefer_own=True`` switches to asmkit's own routine (tests use it to run
    the fallback on hosts that also have libgcc); ``False`` back to the default.
    """
    if prefer_own is not None or _flush is None:
        _choose(bool(prefer_own))
    return _flusher_name
