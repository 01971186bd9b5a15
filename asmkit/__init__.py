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

__all__ = [
    "ARCHES", "AsmError", "Label", "LabelError", "RangeError", "UnknownArch",
    "Emulation", "assemble", "builder", "disassemble", "emulate", "host_arch",
    "load", "resolve",
]


def assemble(text: str, arch: str, address: int = 0) -> bytes:
    """Assemble program ``text`` for ``arch`` as if placed at ``address``."""
    return load(arch).assemble(text, address)


def builder(arch: str, **kwargs):
    """A fresh Builder for ``arch``."""
    return load(arch).Builder(**kwargs)


def disassemble(code: bytes, arch: str, address: int = 0) -> list[str]:
    """Capstone's text for each instruction of ``code``."""
    from .oracles import capstone
    return capstone.disassemble(code, load(arch), address)


@dataclass
class Emulation:
    """What :func:`emulate` returns: every register and the given memory."""
    regs: dict
    memory: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.regs[name]


def emulate(code: bytes, arch: str, regs: dict | None = None,
            memory: dict | None = None, address: int | None = None) -> Emulation:
    """Run ``code`` in Unicorn from ``address`` to its end.

    ``regs`` gives starting register values (others are zero; the stack
    pointer points at a mapped stack), ``memory`` maps addresses to bytes.
    Returns the final registers (flags included) and the final contents of
    each memory region that was given.
    """
    from .oracles.unicorn import Emulator
    emu = Emulator(load(arch))
    final = emu.run(code, regs=regs, memory=memory, address=address)
    mem = {addr: emu.read(addr, len(data)) for addr, data in (memory or {}).items()}
    return Emulation(final, mem)
