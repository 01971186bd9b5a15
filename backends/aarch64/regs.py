"""AArch64 register roles of the JIT (AAPCS64 at the host boundary).

    x19  frame base on the value stack (locals, then operand-stack slots)
    x20  memory cell 0              x21  state block
    x22  call budget (max_call_depth - depth)
    sp   the machine stack: return addresses only, one 16-byte slot per frame
    x30  link register (stored in the frame's slot at every function entry)
    x0   value passed to print/printc, exit reason passed to exit
    x1   bytecode offset a trap site hands to its trap tail
    x8   address scratch (offsets too big for an immediate)
    x15 x16 x17                     value scratch inside one bytecode op
    x23-x28 x9-x14                  operand-stack values and promoted variables

print/printc keep only the roles, sp and x30 (a full buffer yields to the
host, which restores its own x19-x28), so values live in memory across them.
x19-x28 and x29/x30 are callee-saved for the host; enter/resume save them
all before using any. x18 (the platform register) and x29 (the host's frame
pointer chain) are never touched by generated code.
"""
from __future__ import annotations

from asmkit.aarch64.regs import LR, SP, W, X, XZR

from ..target import Registers

BASE, MEM, STATE, BUDGET = X[19], X[20], X[21], X[22]
ZERO = XZR
ARG = X[0]                   # print/printc value, exit reason
TRAP_PC = X[1]               # trap site -> trap tail
ADDR = X[8]                  # address scratch
TMP, TMP2, TMP3 = X[16], X[17], X[15]
POOL = tuple(X[i] for i in (23, 24, 25, 26, 27, 28, 9, 10, 11, 12, 13, 14))
HOST_SAVED = tuple(X[i] for i in range(19, 31))
NEVER_USED = (X[18], X[29])

REGISTERS = Registers(
    allocatable=POOL,
    callee_saved=HOST_SAVED,
    args=X[:8],
    ret=X[0],
    print_value=ARG,
    roles={'base': BASE, 'mem': MEM, 'state': STATE, 'budget': BUDGET, 'sp': SP, 'link': LR,
           'scratch': (TMP, TMP2, TMP3, ADDR, TRAP_PC)},
    max_promoted=6,           # keep at least six registers for operand values
)


def w(reg):
    """The 32-bit view of an x register (for byte stores)."""
    return W[reg.num]
