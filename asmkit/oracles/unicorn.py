"""Unicorn adapter: run a snippet and read back registers and memory.

One :class:`Emulator` keeps one Unicorn instance with code and stack mapped,
so a proof can run thousands of snippets without re-creating it.
"""

from __future__ import annotations

CODE_ADDRESS = 0x10000
CODE_SIZE = 0x10000
STACK_ADDRESS = 0x7FF00000
STACK_SIZE = 0x10000
PAGE = 0x1000


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
        self.pc = arch_mod.PC_REG
        self.sp = arch_mod.SP_REG
        self.code_address = code_address
        self.code_size = code_size
        self._uc.mem_map(code_address, code_size)
        self._uc.mem_map(STACK_ADDRESS, STACK_SIZE)
        self._mapped = [(code_address, code_size), (STACK_ADDRESS, STACK_SIZE)]
        self.stack_top = STACK_ADDRESS + STACK_SIZE - 0x100

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
            count: int = 100000) -> dict:
        """Run ``code`` from ``address`` to its end; return every register.

        Registers not given start at zero (``reset``), the stack pointer at a
        mapped stack; ``memory`` maps addresses to bytes written first.
        """
        uc = self._uc
        address = self.code_address if address is None else address
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
        if memory:
            for addr, data in memory.items():
                self.map(addr, len(data))
                uc.mem_write(addr, bytes(data))
        if regs:
            for name, value in regs.items():
                uc.reg_write(self.regs[name], value)
        uc.emu_start(address, address + len(code), count=count)
        return {name: uc.reg_read(const) for name, const in self.regs.items()}

    def reg(self, name: str) -> int:
        return self._uc.reg_read(self.regs[name])


def importlib_consts(module_name: str):
    import importlib
    return importlib.import_module(module_name)
