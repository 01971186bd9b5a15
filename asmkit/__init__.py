"""asmkit: x86-64 and AArch64 encoders, builders, a text assembler, W^X
executable memory, and oracle-backed proofs.

The top level dispatches on an architecture name (``x86_64``/``aarch64`` or an
alias); each ``asmkit.<arch>`` package has the same shape.  Nothing here
imports Keystone, Capstone or Unicorn until a function needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .arch import ARCHES, UnknownArch, host_arch, load, resolve
from .buffer import AsmError, Label, LabelError, RangeError
from .emulation import (DEFAULT_COUNT, EmulationError, EmulationFault,
                        EmulationLimit, check_span)

__all__ = [
    "ARCHES", "AsmError", "Label", "LabelError", "RangeError", "UnknownArch",
    "Emulation", "EmulationError", "EmulationFault", "EmulationLimit",
    "assemble", "builder", "disassemble", "emulate", "host_arch", "load",
    "resolve",
]


def _check_span(address: int, size: int) -> None:
    """AsmError unless the code lies in [0, 2^64): no listing wraps to 0."""
    try:
        check_span(address, size)
    except ValueError as exc:
        raise AsmError(str(exc)) from None


def assemble(text: str, arch: str, address: int = 0) -> bytes:
    """Assemble program ``text`` for ``arch`` as if placed at ``address``."""
    _check_span(address, 0)
    code = load(arch).assemble(text, address)
    _check_span(address, len(code))
    return code


def builder(arch: str, **kwargs):
    """A fresh Builder for ``arch``."""
    return load(arch).Builder(**kwargs)


def disassemble(code: bytes, arch: str, address: int = 0) -> list[str]:
    """Capstone's text for each instruction of ``code``."""
    from .oracles import capstone
    _check_span(address, len(code))
    return capstone.disassemble(code, load(arch), address)


@dataclass
class Emulation:
    """What :func:`emulate` returns: every register and the given memory."""
    regs: dict
    memory: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.regs[name]


def emulate(code: bytes, arch: str, regs: dict | None = None,
            memory: dict | None = None, address: int | None = None,
            count: int | None = DEFAULT_COUNT,
            timeout: float | None = None) -> Emulation:
    """Run ``code`` in Unicorn from ``address`` to its end.

    ``regs`` gives starting register values (others are zero; the stack
    pointer points at a mapped stack; negative values are two's complement,
    a value too wide for the register is a ValueError), ``memory`` maps
    addresses to bytes.  Returns the final registers (flags included) and the
    final contents of each memory region that was given.

    The code must run to its end: after ``count`` instructions or
    ``timeout`` seconds (None or 0: no limit) it raises EmulationLimit, on a
    bad memory access or an invalid instruction EmulationFault; both are
    EmulationError and carry the state where it stopped as ``.emulation``.
    """
    from .oracles.unicorn import Emulator
    emu = Emulator(load(arch))

    def final_memory():
        return {addr: emu.read(addr, len(data)) for addr, data in (memory or {}).items()}

    try:
        final = emu.run(code, regs=regs, memory=memory, address=address,
                        count=count, timeout=timeout)
    except EmulationError as exc:
        exc.emulation = Emulation(exc.regs, final_memory())
        raise
    return Emulation(final, final_memory())


def __getattr__(name: str):
    """``asmkit.__version__``, the distribution's (pyproject.toml), read
    only when asked: importlib.metadata costs start-up time."""
    if name == "__version__":
        from _jitvm import version
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
