"""Unicorn adapter: run a snippet and read back registers and memory.

One :class:`Emulator` keeps one Unicorn instance with code and stack mapped,
so a proof can run thousands of snippets without re-creating it.  A run that
faults or is stopped by a limit raises (:class:`EmulationFault`,
:class:`EmulationLimit`) instead of passing a half-done state off as final.
"""

from __future__ import annotations

import time

CODE_ADDRESS = 0x10000
CODE_SIZE = 0x10000
STACK_ADDRESS = 0x7FF00000
STACK_SIZE = 0x10000
PAGE = 0x1000
ADDRESS_LIMIT = 1 << 64
# Defaults of Emulator.run, asmkit.emulate and `asmkit run`: about 0.1 s of
# Unicorn for a plain loop, far beyond any test snippet.
DEFAULT_COUNT = 10_000_000
# Registers narrower than 64 bits (everything else is 64-bit).
REGISTER_BITS = {"nzcv": 32}

_ACCESS = {  # Unicorn's UC_MEM_* access kinds, as a fault message says them
    "UC_MEM_READ_UNMAPPED": "read of {size} bytes at unmapped address {address:#x}",
    "UC_MEM_WRITE_UNMAPPED": "write of {size} bytes at unmapped address {address:#x}",
    "UC_MEM_FETCH_UNMAPPED": "fetch from unmapped address {address:#x}",
    "UC_MEM_READ_PROT": "read of {size} bytes at protected address {address:#x}",
    "UC_MEM_WRITE_PROT": "write of {size} bytes at protected address {address:#x}",
    "UC_MEM_FETCH_PROT": "fetch from non-executable address {address:#x}",
}


class EmulationError(RuntimeError):
    """The emulated code did not run to its end.

    ``regs`` holds the registers where it stopped (``emulate`` adds
    ``emulation``, the same with the given memory), ``pc`` the stop address.
    """

    def __init__(self, message: str, regs: dict, pc: int):
        super().__init__(message)
        self.regs = regs
        self.pc = pc
        self.emulation = None


class EmulationFault(EmulationError):
    """A bad memory access or an invalid instruction."""


class EmulationLimit(EmulationError):
    """The instruction count or the time limit ran out before the code's end.

    ``reason`` is ``"count"`` or ``"timeout"``; ``limit`` is the instruction
    count or the seconds.
    """

    def __init__(self, message: str, regs: dict, pc: int, reason: str, limit):
        super().__init__(message, regs, pc)
        self.reason = reason
        self.limit = limit


def register_value(arch_mod, name: str, value: int) -> int:
    """``value`` as the register's bit pattern (negative: two's complement).

    Raises ValueError for an unknown register or a value that does not fit
    its width, so nothing is truncated silently.
    """
    if name not in arch_mod.UNICORN_REGS:
        raise ValueError(f"unknown register {name!r} (known: "
                         f"{', '.join(arch_mod.UNICORN_REGS)})")
    bits = REGISTER_BITS.get(name, 64)
    if not -(1 << (bits - 1)) <= value < 1 << bits:
        raise ValueError(f"{name}={value:#x} does not fit {bits} bits "
                         f"(-2^{bits - 1} to 2^{bits}-1)")
    return value & ((1 << bits) - 1)


def check_span(address: int, size: int, what: str = "code") -> None:
    """Raise ValueError unless ``[address, address + size)`` lies below 2^64."""
    if not 0 <= address < ADDRESS_LIMIT:
        raise ValueError(f"address {address:#x} is not in 0 to 2^64-1")
    if address + size > ADDRESS_LIMIT:
        raise ValueError(f"{what} at {address:#x} ({_bytes(size)}) ends past 2^64")


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
        self._bad_access = None
        self._uc.hook_add(unicorn.UC_HOOK_MEM_INVALID, self._note_bad_access)

    def _note_bad_access(self, _uc, access, address, size, _value, _data):
        """Remember what a faulting access was; False lets the fault happen."""
        self._bad_access = (access, address, size)
        return False

    def map(self, address: int, size: int) -> None:
        """Make ``[address, address + size)`` readable and writable."""
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
            raise ValueError(f"code at {address:#x} ({_bytes(len(code))}) ends at 2^64; "
                             f"emulation needs its end below 2^64")
        start_regs = {name: register_value(self._arch, name, value)
                      for name, value in (regs or {}).items()}
        try:
            if not (self.code_address <= address and
                    address + len(code) <= self.code_address + self.code_size):
                self.map(address, len(code))
            uc.mem_write(address, bytes(code))
            # Drop blocks translated from earlier code at the same address.
            uc.ctl_remove_cache(address, address + max(len(code), 1))
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
        self._bad_access = None
        began = time.monotonic()
        try:
            uc.emu_start(address, end, timeout=int((timeout or 0) * 1_000_000),
                         count=count or 0)
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

    def _read_regs(self) -> dict:
        return {name: self._uc.reg_read(const) for name, const in self.regs.items()}

    def _fault_text(self, exc) -> str:
        pc = self.reg(self.pc)
        if self._bad_access is not None:
            access, address, size = self._bad_access
            text = self._access_text.get(access)
            if text is not None:
                return f"emulation fault at pc {pc:#x}: " + text.format(size=size, address=address)
        return f"emulation fault at pc {pc:#x}: {_uc_text(exc)}"

    def reg(self, name: str) -> int:
        return self._uc.reg_read(self.regs[name])


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"


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
