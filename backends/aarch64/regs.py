"""AArch64 register roles of the JIT (AAPCS64 at the host boundary).

    x19  frame base on the value stack (locals, then operand-stack slots)
    x20  memory cell 0              x21  state block
    x22  call budget (max_call_depth - depth)
    sp   the machine stack: return addresses only, one 16-byte slot per frame
    x30  link register (saved in the frame's slot at every function entry)
    x0   value passed to print/printc, exit reason passed to exit
    x16 x17                         scratch inside one bytecode op
    x23-x28 x9-x15                  operand-stack values and promoted variables
    x0-x8                           free

print/printc keep only the roles, sp and x30 (a full buffer yields to the
host, which restores its own x19-x28), so values live in memory across them.

x19-x28 and x29/x30 are callee-saved for the host; enter/resume save them
all before using any. x18 (the platform register) and x29 (the host's frame
pointer chain) are never touched by generated code.
"""
from __future__ import annotations

from asmkit.aarch64.regs import LR, SP, W, X, XZR

BASE, MEM, STATE, BUDGET = X[19], X[20], X[21], X[22]
LINK = LR
STACK = SP
ZERO = XZR
ARG = X[0]                   # print/printc value, exit reason
TMP, TMP2 = X[16], X[17]     # scratch within one op
# operand values and promoted variables
POOL = tuple(X[i] for i in (23, 24, 25, 26, 27, 28, 9, 10, 11, 12, 13, 14, 15))
# callee-saved registers enter/resume save for the host (x29, x30 included)
HOST_SAVED = tuple(X[i] for i in range(19, 31))
ROLES = {'base': BASE, 'mem': MEM, 'state': STATE, 'budget': BUDGET, 'sp': SP, 'link': LR}
NEVER_USED = (X[18], X[29])


def w(reg):
    """The 32-bit view of an x register (for byte stores and 32-bit moves)."""
    return W[reg.num]
