"""Two ways to run the same bytes: natively through ctypes, or in Unicorn.

Both call the backend's `enter` and `resume` routines with the state block's
address and return the exit reason. One ctypes call runs a whole hot loop or
call tree: native code comes back only to finish, flush output, or hand
frames to the interpreter.
"""
from __future__ import annotations

import ctypes

_ENTRY = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)


class NativeExecutor:
    name = 'native'

    def __init__(self, state, cache, routines: dict, target):
        base = cache.runtime_address
        self._enter = _ENTRY(base + routines['enter'])
        self._resume = _ENTRY(base + routines['resume'])
        self._state = state.address

    def enter(self) -> int:
        return self._enter(self._state)

    def resume(self) -> int:
        return self._resume(self._state)

    def code_changed(self, address: int, size: int):
        """Nothing to do natively: the arena makes new code coherent."""


class UnicornExecutor:
    """Runs the generated code in Unicorn, on the same memory: every region
    is mapped at its host address with mem_map_ptr, so state, memory, output
    and stacks are shared with Python exactly as in native runs."""
    name = 'unicorn'
    HOST_STACK = 64 * 1024

    def __init__(self, state, cache, routines: dict, target):
        import unicorn
        from asmkit.arch import load as load_arch
        desc = load_arch(target.name)
        consts = __import__(desc.UNICORN_CONSTS, fromlist=['*'])
        self._uc = uc = unicorn.Uc(getattr(unicorn, desc.UNICORN[0]), getattr(unicorn, desc.UNICORN[1]))
        self._reg = {name: getattr(consts, const) for name, const in desc.UNICORN_REGS.items()}
        self._target = target
        rw = unicorn.UC_PROT_READ | unicorn.UC_PROT_WRITE
        rx = unicorn.UC_PROT_READ | unicorn.UC_PROT_EXEC
        for address, size in state.regions():
            uc.mem_map_ptr(address, size, rw, address)
        for address, size in cache.mappings():
            uc.mem_map_ptr(address, size, rx, address)
        # a private stack standing in for the host's, and a stop address
        from .memory import Region
        self._host = Region(self.HOST_STACK)
        uc.mem_map_ptr(self._host.address, self._host.size, rw, self._host.address)
        self._stop = self._host.address          # never executed: emulation stops here
        base = cache.runtime_address
        self._enter_at = base + routines['enter']
        self._resume_at = base + routines['resume']
        self._state = state.address

    def _run(self, begin: int) -> int:
        uc, reg, t = self._uc, self._reg, self._target.abi
        sp = self._host.address + self._host.size - 256
        uc.reg_write(reg[t.arg_reg], self._state)
        if t.link_reg is None:
            sp -= t.return_slot
            uc.mem_write(sp, self._stop.to_bytes(8, 'little'))
        else:
            uc.reg_write(reg[t.link_reg], self._stop)
        uc.reg_write(reg[t.sp_reg], sp)
        uc.emu_start(begin, self._stop)
        return uc.reg_read(reg[t.ret_reg])

    def enter(self) -> int:
        return self._run(self._enter_at)

    def resume(self) -> int:
        return self._run(self._resume_at)

    def code_changed(self, address: int, size: int):
        """Drop Unicorn's translations of code that was rewritten or freed."""
        self._uc.ctl_remove_cache(address, address + size)
