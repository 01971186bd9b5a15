"""The AArch64 runtime routines every compiled function reaches through the
state block: enter, entry_return, exit, resume, print, printc, uncompiled.

Conventions (register roles in regs.py):

- Host boundary, AAPCS64: `enter(state)` and `resume(state)` are called with
  x0 = state block and return the exit reason in x0. They push x19-x30 on the
  host stack (96 bytes, sp stays 16-aligned), record host_sp, load the roles
  (x19 frame base, x20 memory cell 0, x21 state block, x22 call budget) and
  switch sp to the dedicated machine stack. `enter` then `blr`s to
  entry_addr; the address after that blr is `entry_return`.
- Machine stack: return addresses only, one 16-byte slot per frame so sp
  stays 16-aligned. Every compiled function entry (and OSR entry stub) does
  `str x30, [sp, #-16]!`; RET does `ldr x30, [sp], #16; ret`. A frame walk
  reads the return address at exit_sp, exit_sp + 16, ... up to the slot
  holding entry_return.
- `uncompiled` (reached by `blr` through the function table) pushes x30 the
  same way and exits with EXIT_DEOPT, so exit_sp points at the innermost
  return site.
- `exit` (reached by `br` with the reason in x0) stores exit_base (x19),
  exit_sp (sp) and depth_left (x22), restores the host's sp and registers
  and returns the reason to the host.
- `print` / `printc`: value in x0, called with `blr`. They keep only the
  roles (x19-x22), sp and x30: a yield passes through the host, which
  gets its own x19-x28 back, so every other register is clobbered and
  callers keep their values in memory across the call. `print` writes the decimal and '\n', building the digits
  in 32 bytes it reserves below sp (never below sp unreserved: signals run
  on this stack). When the output buffer has no room, the routine *yields*:
  it pushes x30 on the machine stack (a 16-byte slot, like a frame), saves
  yield_value (x0), yield_routine (its own start), yield_sp, yield_base and
  yield_depth and exits with EXIT_FLUSH. `resume` restores x19/x22/sp from
  those fields, pops x30 again and re-runs the routine from its start with
  x0 = yield_value, now with an empty buffer: execution continues exactly
  where it was. No state-block field beyond abi's is needed.
"""
from __future__ import annotations

from asmkit.aarch64 import Builder
from asmkit.aarch64.operands import mem, post, pre
from asmkit.aarch64.regs import LR, SP, X

from .. import abi
from .regs import BASE, BUDGET, HOST_SAVED, MEM, STATE, w

SLOT = 16                    # machine-stack bytes per return address
HOST_FRAME = 8 * len(HOST_SAVED)   # x19-x30 saved by enter/resume: 96
DIGITS = 32                  # scratch print reserves below sp for the digits


def field(name: str):
    """[x21, #offset] of a state block field."""
    return mem(STATE, abi.OFF[name])


def runtime_routines():
    """(bytes, {routine name: offset}) of the shared routines."""
    b = Builder()
    x0, x1, x2, x3, x4, x5, x6, x7 = X[:8]
    x9 = X[9]
    names = {}

    def host_save():
        """Push x19-x30 for the host, point x21 at the state block, note host_sp."""
        b.stp(X[29], LR, pre(SP, -HOST_FRAME))
        for i in range(0, 10, 2):               # x19/x20 .. x27/x28 above x29/x30
            b.stp(HOST_SAVED[i], HOST_SAVED[i + 1], mem(SP, 16 + 8 * i))
        b.mov(STATE, x0)
        b.mov(x9, SP)
        b.str(x9, field('host_sp'))
        b.ldr(MEM, field('mem_base'))

    names['enter'] = b.here('enter')
    host_save()
    b.ldr(BASE, field('entry_base'))
    b.ldr(BUDGET, field('depth_left'))
    b.ldr(x9, field('entry_sp'))
    b.mov(SP, x9)
    b.ldr(x9, field('entry_addr'))
    b.blr(x9)
    names['entry_return'] = b.here('entry_return')
    b.mov(x0, abi.EXIT_RETURNED)

    names['exit'] = exit_ = b.here('exit')
    b.str(BASE, field('exit_base'))
    b.mov(x9, SP)
    b.str(x9, field('exit_sp'))
    b.str(BUDGET, field('depth_left'))
    b.ldr(x9, field('host_sp'))
    b.mov(SP, x9)
    for i in range(0, 10, 2):
        b.ldp(HOST_SAVED[i], HOST_SAVED[i + 1], mem(SP, 16 + 8 * i))
    b.ldp(X[29], LR, post(SP, HOST_FRAME))
    b.ret()

    names['resume'] = b.here('resume')
    host_save()
    b.ldr(BASE, field('yield_base'))
    b.ldr(BUDGET, field('yield_depth'))
    b.ldr(x9, field('yield_sp'))
    b.mov(SP, x9)
    b.ldr(LR, post(SP, SLOT))           # the print routine's caller
    b.ldr(x0, field('yield_value'))
    b.ldr(x9, field('yield_routine'))
    b.br(x9)

    def yield_to_host(routine):
        """Buffer full: save where to continue, exit with EXIT_FLUSH."""
        b.str(LR, pre(SP, -SLOT))
        b.str(x0, field('yield_value'))
        b.adr(x1, routine)
        b.str(x1, field('yield_routine'))
        b.mov(x1, SP)
        b.str(x1, field('yield_sp'))
        b.str(BASE, field('yield_base'))
        b.str(BUDGET, field('yield_depth'))
        b.mov(x0, abi.EXIT_FLUSH)
        b.b(exit_)

    # print: x0 = value. x1 length, x2 write pointer, x3 quotient, x4 digit
    # pointer (backwards), x5 digit, x6 ten, x7 end of the digits
    names['print'] = p = b.here('print')
    full = b.label()
    b.ldr(x1, field('out_len'))
    b.add(x2, x1, abi.PRINT_ROOM)
    b.ldr(x3, field('out_cap'))
    b.cmp(x2, x3)
    b.b_hi(full)
    b.ldr(x2, field('out_ptr'))
    b.add(x2, x2, x1)
    positive = b.label()
    b.tbz(x0, 63, positive)
    b.mov(w(x5), ord('-'))
    b.strb(w(x5), post(x2, 1))
    b.neg(x0, x0)                      # INT64_MIN stays 2^63 as unsigned: fine for udiv
    b.bind(positive)
    b.sub(SP, SP, DIGITS)
    b.add(x7, SP, DIGITS)
    b.mov(x4, x7)
    b.mov(x6, 10)
    digit = b.here()
    b.udiv(x3, x0, x6)
    b.msub(x5, x3, x6, x0)
    b.add(w(x5), w(x5), ord('0'))
    b.strb(w(x5), pre(x4, -1))
    b.mov(x0, x3)
    b.cbnz(x0, digit)
    copy = b.here()
    b.ldrb(w(x5), post(x4, 1))
    b.strb(w(x5), post(x2, 1))
    b.cmp(x4, x7)
    b.b_ne(copy)
    b.add(SP, SP, DIGITS)
    b.mov(w(x5), 10)
    b.strb(w(x5), post(x2, 1))
    b.ldr(x3, field('out_ptr'))
    b.sub(x2, x2, x3)
    b.str(x2, field('out_len'))
    b.ret()
    b.bind(full)
    yield_to_host(p)

    # printc: x0 = value, its low byte is written
    names['printc'] = pc_ = b.here('printc')
    full = b.label()
    b.ldr(x1, field('out_len'))
    b.add(x2, x1, 1)
    b.ldr(x3, field('out_cap'))
    b.cmp(x2, x3)
    b.b_hi(full)
    b.ldr(x3, field('out_ptr'))
    b.strb(w(x0), mem(x3, x1))
    b.str(x2, field('out_len'))
    b.ret()
    b.bind(full)
    yield_to_host(pc_)

    names['uncompiled'] = b.here('uncompiled')
    b.str(LR, pre(SP, -SLOT))          # the innermost return site, at exit_sp
    b.mov(x0, abi.EXIT_DEOPT)
    b.b(exit_)

    keys = list(names)
    code, offsets = b.finish_with_labels([names[k] for k in keys])
    return code, dict(zip(keys, offsets))
