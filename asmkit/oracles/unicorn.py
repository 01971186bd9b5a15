"""Unicorn adapter: run a snippet and read back registers and memory.

One :class:`Emulator` keeps one Unicorn instance with code and stack mapped,
so a proof can run thousands of snippets without re-creating it.  A run that
faults or is stopped by a limit raises (:class:`EmulationFault`,
:class:`EmulationLimit`) instead of passing a half-done state off as final.
"""

from __future__ import annotations

import threading
import time

from ..emulation import (ADDRESS_LIMIT, DEFAULT_COUNT, EmulationFault,
                         EmulationLimit, byte_count, check_span, register_value)

CODE_ADDRESS = 0x10000
CODE_SIZE = 0x10000
STACK_ADDRESS = 0x7FF00000
STACK_SIZE = 0x10000
PAGE = 0x1000

_ACCESS = {  # Unicorn's UC_MEM_* access kinds, as a fault message says them
    "UC_MEM_READ_UNMAPPED": "read of {size} at unmapped address {address:#x}",
    "UC_MEM_WRITE_UNMAPPED": "write of {size} at unmapped address {address:#x}",
    "UC_MEM_FETCH_UNMAPPED": "fetch from unmapped address {address:#x}",
    "UC_MEM_READ_PROT": "read of {size} at protected address {address:#x}",
    "UC_MEM_WRITE_PROT": "write of {size} at protected address {address:#x}",
    "UC_MEM_FETCH_PROT": "fetch from non-executable address {address:#x}",
}


class Emulator:
    """A reusable Unicorn instance for one architecture."""

    def __init__(self, arch_mod, code_address: int = CODE_ADDRESS,
                 code_size: int = CODE_SIZE):
        import unicorn
        arch_name, mode_name = arch_mod.UNICORN
        self._uc = unicorn.Uc(getattr(unicorn, arch_name), getattr(unicorn, mode_name))
        consts = importlib_consts(arch_mod.UNICORN_CONSTS)
        self.regs = {name: getattr(consts, const)
                     for name, const in arch_mod.UNICORN_REGS.items()}
        self._arch = arch_mod
        self.pc = arch_mod.PC_REG
        self.sp = arch_mod.SP_REG
        self.code_address = code_address
        self.code_size = code_size
        self._uc.mem_map(code_address, code_size)
        self._uc.mem_map(STACK_ADDRESS, STACK_SIZE)
        self._mapped = [(code_address, code_size), (STACK_ADDRESS, STACK_SIZE)]
        self.stack_top = STACK_ADDRESS + STACK_SIZE - 0x100
        self._access_text = {getattr(unicorn, kind): text for kind, text in _ACCESS.items()}
        self._bad_accesses = []
        self._uc.hook_add(unicorn.UC_HOOK_MEM_INVALID, _note_bad_access,
                          self._bad_accesses)

    def map(self, address: int, size: int) -> None:
        """Make ``[address, address + size)`` readable and writable."""
        if size <= 0:
            return
        lo = address & ~(PAGE - 1)
        hi = (address + size + PAGE - 1) & ~(PAGE - 1)
        for start, length in self._mapped:
            if lo < start + length and start < hi:
                # Overlaps something mapped: map the uncovered pages one by one.
                for page in range(lo, hi, PAGE):
                    if not any(s <= page < s + n for s, n in self._mapped):
                        self._uc.mem_map(page, PAGE)
                        self._mapped.append((page, PAGE))
                return
        self._uc.mem_map(lo, hi - lo)
        self._mapped.append((lo, hi - lo))

    def write(self, address: int, data: bytes) -> None:
        self._uc.mem_write(address, bytes(data))

    def read(self, address: int, size: int) -> bytes:
        return bytes(self._uc.mem_read(address, size))

    def run(self, code: bytes, regs: dict | None = None, memory: dict | None = None,
            address: int | None = None, reset: bool = True,
            count: int | None = DEFAULT_COUNT, timeout: float | None = None) -> dict:
        """Run ``code`` from ``address`` to its end; return every register.

        Registers not given start at zero (``reset``), the stack pointer at a
        mapped stack; ``memory`` maps addresses to bytes written first.
        ``count`` instructions and ``timeout`` seconds (None or 0: no limit)
        bound the run; running out raises EmulationLimit, a fault raises
        EmulationFault.  Bad arguments raise ValueError.
        """
        import unicorn
        uc = self._uc
        address = self.code_address if address is None else address
        check_span(address, len(code))
        if address + len(code) == ADDRESS_LIMIT:    # Unicorn stops at the end address
            raise ValueError(f"code at {address:#x} ({byte_count(len(code))}) ends at 2^64; "
                             f"emulation needs its end below 2^64")
        start_regs = {name: register_value(self._arch, name, value)
                      for name, value in (regs or {}).items()}
        try:
            if not (self.code_address <= address and
                    address + len(code) <= self.code_address + self.code_size):
                self.map(address, len(code))
            if code:
                uc.mem_write(address, bytes(code))
                # Drop blocks translated from earlier code at the same address.
                uc.ctl_remove_cache(address, address + len(code))
            if reset:
                for const in self.regs.values():
                    uc.reg_write(const, 0)
                uc.reg_write(self.regs[self.sp], self.stack_top)
            for addr, data in (memory or {}).items():
                check_span(addr, len(data), "memory")
                self.map(addr, len(data))
                uc.mem_write(addr, bytes(data))
        except unicorn.UcError as exc:
            raise ValueError(f"cannot map the code or memory: {_uc_text(exc)}") from None
        for name, value in start_regs.items():
            uc.reg_write(self.regs[name], value)
        end = address + len(code)
        self._bad_accesses.clear()
        began = time.monotonic()
        try:
            self._start(address, end, int((timeout or 0) * 1_000_000), count or 0)
        except unicorn.UcError as exc:
            raise EmulationFault(self._fault_text(exc), self._read_regs(),
                                 self.reg(self.pc)) from None
        final = self._read_regs()
        pc = final[self.pc]
        if pc != end:
            if timeout and (not count or time.monotonic() - began >= timeout):
                reason, limit, what = "timeout", timeout, f"{timeout:g} seconds"
            else:
                reason, limit, what = "count", count, f"{count} instructions"
            raise EmulationLimit(f"stopped after {what}, at pc {pc:#x} (the code "
                                 f"ends at {end:#x})", final, pc, reason, limit)
        return final

    def _start(self, address: int, end: int, timeout_us: int, count: int) -> None:
        """``emu_start`` that Ctrl-C stops at once.

        Python handles signals only between bytecodes, so Unicorn runs in a
        worker thread while this one waits; a KeyboardInterrupt here stops the
        emulation, and is re-raised once the worker has left Unicorn (freeing
        the Uc under a running worker would crash).  The wait is on an Event,
        not Thread.join: an interrupted join can report a live thread done.
        """
        uc = self._uc
        if threading.current_thread() is not threading.main_thread():
            uc.emu_start(address, end, timeout=timeout_us, count=count)
            return
        failure = []
        finished = threading.Event()

        def emulate():
            try:
                uc.emu_start(address, end, timeout=timeout_us, count=count)
            except Exception as exc:    # re-raised in the caller's thread
                failure.append(exc)
            finally:
                finished.set()

        threading.Thread(target=emulate, name="asmkit-emulate", daemon=True).start()
        interrupted = False
        while True:
            try:
                if finished.wait(0.1):
                    break
            except KeyboardInterrupt:
                interrupted = True
                uc.emu_stop()       # again on each Ctrl-C, in case Unicorn had not begun
        if interrupted:
            raise KeyboardInterrupt
        if failure:
            raise failure[0]

    def _read_regs(self) -> dict:
        return {name: self._uc.reg_read(const) for name, const in self.regs.items()}

    def _fault_text(self, exc) -> str:
        """One line: where it stopped and what went wrong, in words."""
        what = _uc_text(exc)
        if self._bad_accesses:
            access, address, size = self._bad_accesses[-1]
            text = self._access_text.get(access)
            if text is not None:
                what = text.format(size=byte_count(size), address=address)
        return f"emulation fault at pc {self.reg(self.pc):#x}: {what}"

    def reg(self, name: str) -> int:
        return self._uc.reg_read(self.regs[name])


def _note_bad_access(_uc, access, address, size, _value, log):
    """Remember what a faulting access was; False lets the fault happen."""
    log.append((access, address, size))
    return False


def _uc_text(exc) -> str:
    """Unicorn's message without its code: 'Invalid instruction (UC_ERR_...)'
    becomes 'invalid instruction'."""
    text = str(exc).split(" (UC_ERR_")[0]
    if text == "Unhandled CPU exception":
        text += " (an undefined instruction, or a trap such as brk or svc)"
    return text[:1].lower() + text[1:]


def importlib_consts(module_name: str):
    import importlib
    return importlib.import_module(module_name)
