"""The contract between compiled code and the VM: the state block layout,
exit reasons, trap codes and the value-stack frame layout. Every backend
compiles against this; vm.state builds the block.

Compiled code reaches the VM only through the state block whose address it
is given at entry: memory, the output buffer, the function table and the
runtime routines are all fields here, never host addresses baked into code,
so the same bytes run natively and under Unicorn.

Frames live on a *value stack* (Lua-style): a frame's base holds its locals
(args first), then its operand-stack slots. A call's arguments are the
caller's top stack slots, which become the callee's first locals in place;
the callee's result is written to its base[0], which is exactly the caller's
slot where the result belongs. Return addresses live on a separate machine
stack, one slot of `NativeABI.return_slot` bytes per live frame, innermost
at `exit_sp`, so a frame walk needs only the return addresses and a table
mapping each to (function, CALL offset, base delta).

What differs between architectures is written in each Target's `NativeABI`
(how big a return-address slot is, which registers Unicorn sets at entry);
everything else here is the same for every backend.
"""
from __future__ import annotations

from vm.record import record

WORD = 8

# state block fields (byte offsets)
_FIELDS = [
    'mem_base',       # address of memory cell 0
    'mem_cells',      # number of cells (LOADI/STOREI bound)
    'out_ptr',        # output buffer address
    'out_len',        # bytes used
    'out_cap',        # capacity
    'flag',           # nonzero: stop (1 time limit, 2 SIGINT); polled at loop headers and calls
    'exit_reason',
    'exit_func',
    'exit_pc',
    'exit_value',     # HALT result, or trap code
    'exit_base',      # value-stack base of the innermost frame at exit
    'exit_sp',        # machine stack pointer at exit (return addresses above it)
    'host_sp',        # the caller's stack pointer, restored at exit
    'entry_sp',       # top of the machine stack
    'depth_left',     # call budget: max_call_depth - depth
    'entry_addr',     # where enter() jumps
    'entry_base',     # value-stack base of the entry frame
    'vstack_end',     # end of the value stack (a call that would pass it deopts)
    'yield_sp',       # machine sp saved when output is flushed mid-run
    'yield_base',
    'yield_depth',
    'yield_value',
    'yield_routine',  # where resume() continues (print or printc)
    'rt_exit',        # runtime routine addresses (filled by the VM)
    'rt_print',
    'rt_printc',
    'rt_uncompiled',
    'rt_trap',
    'rt_stop',
    'spare0', 'spare1',
]
OFF = {name: i * WORD for i, name in enumerate(_FIELDS)}
FUNC_TABLE = len(_FIELDS) * WORD       # then one native entry address per function,
                                       # then one tier-up counter per function


def hot_counter(nfuncs: int, fidx: int) -> int:
    """Offset of fidx's tier-up counter: baseline code counts it down at
    function entry and loop headers and exits with EXIT_TIERUP below zero."""
    return FUNC_TABLE + WORD * (nfuncs + fidx)


def state_size(nfuncs: int) -> int:
    return FUNC_TABLE + 2 * WORD * nfuncs


# exit reasons (the value enter()/resume() return)
EXIT_RETURNED = 1     # the entry frame returned; its result is at entry_base[0]
EXIT_HALT = 2         # HALT; result in exit_value
EXIT_TRAP = 3         # trap code in exit_value, at exit_func / exit_pc
EXIT_STOP = 4         # the flag was set (time limit or SIGINT)
EXIT_DEOPT = 5        # a call to code that is not compiled: frames handed back
EXIT_FLUSH = 6        # output buffer full: flush, then resume()
EXIT_TIERUP = 7       # a tier-up counter ran out at exit_func / exit_pc (ENTRY_PC: the
                      # function entry); the frame is in memory, resume() continues
ENTRY_PC = -1

STOP_TIMEOUT = 1
STOP_SIGINT = 2

# trap codes (exit_value for EXIT_TRAP)
TRAPS = ['division by zero', 'memory address out of range', 'call stack overflow']
TRAP_CODE = {phrase: i for i, phrase in enumerate(TRAPS)}

# room the print routine needs in the output buffer for one PRINT
PRINT_ROOM = 24


# The routines every backend's runtime_routines() provides, by these names:
#   enter(state) / resume(state)  the only functions the host calls
#   entry_return                  the return address the entry frame sees
#   exit, print, printc, uncompiled  reached from compiled code through the
#                                 state block's rt_* fields
ROUTINES = ('enter', 'entry_return', 'exit', 'resume', 'print', 'printc', 'uncompiled')
STATE_ROUTINES = ('exit', 'print', 'printc', 'uncompiled')


@record(frozen=True)
class NativeABI:
    """How one architecture's compiled code meets the VM.

    return_slot: machine-stack bytes each live frame's return address takes
        (x86-64 `call` pushes 8; AArch64 keeps sp 16-byte aligned, so a
        function stores x30 in a 16-byte slot). vm.jit's frame walk steps
        this many bytes, vm.state sizes the machine stack with it.
    arg_reg / ret_reg / sp_reg: the registers of `enter(state) -> reason`
        under Unicorn; link_reg is where the caller's return address goes
        (None: pushed on the stack, as x86 `call` does).
    """
    return_slot: int
    arg_reg: str
    ret_reg: str
    sp_reg: str
    link_reg: str | None = None

    def machine_stack_bytes(self, max_call_depth: int) -> int:
        """Room for max_call_depth frames plus the entry and runtime
        routines' own slots."""
        return (max_call_depth + 64) * self.return_slot
