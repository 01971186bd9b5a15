"""What an emulation may be asked and how it fails, without Unicorn.

``asmkit.emulate`` and the Unicorn adapter share these; they live apart so
that ``import asmkit`` (and the JIT) never loads the oracles package.
"""

from __future__ import annotations

ADDRESS_LIMIT = 1 << 64
# Default of Emulator.run, asmkit.emulate and `asmkit run`: about 0.1 s of
# Unicorn for a plain loop, far beyond any test snippet.
DEFAULT_COUNT = 10_000_000
# Registers narrower than 64 bits (everything else is 64-bit).
REGISTER_BITS = {"nzcv": 32}


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
        raise ValueError(f"{name}={value} does not fit {bits} bits "
                         f"(-2^{bits - 1} to 2^{bits}-1)")
    return value & ((1 << bits) - 1)


def check_span(address: int, size: int, what: str = "code") -> None:
    """Raise ValueError unless ``[address, address + size)`` lies below 2^64."""
    if not 0 <= address < ADDRESS_LIMIT:
        raise ValueError(f"address {address:#x} is not in 0 to 2^64-1")
    if address + size > ADDRESS_LIMIT:
        raise ValueError(f"{what} at {address:#x} ({byte_count(size)}) ends past 2^64")


def byte_count(n: int) -> str:
    """'1 byte', '2 bytes'."""
    return "1 byte" if n == 1 else f"{n} bytes"
