"""The x86-64 runtime routines (names in backends.abi.ROUTINES): the host
calls enter/resume; compiled code reaches exit, print, printc and
uncompiled through the state block.

enter saves the System V callee-saved registers on the host stack, loads
the register roles and switches rsp to the dedicated machine stack before
calling the entry; exit undoes that from any depth. print/printc yield to
the host (EXIT_FLUSH) when the output buffer is full: the yield keeps the
machine stack as it is, so resume restores rsp, rbx, r14 and the value and
jumps back into the same routine, whose return address is still on the
machine stack.
"""
from __future__ import annotations

from asmkit.x86_64 import Builder, Mem

from .. import abi
from .regs import (FIELD, REGISTERS, RIP, al, at, byte_at, dl, eax, ecx, edx, r8, r9, r12, r13,
                   r14, rax, rbx, rcx, rdi, rdx, rsi, rsp)


def runtime_routines():
    """Returns (bytes, {name: offset})."""
    b = Builder()
    names = {}
    saved = REGISTERS.callee_saved

    def host_save():
        for r in saved:
            b.push(r)
        b.mov(r13, rdi)
        b.mov(FIELD['host_sp'], rsp)
        b.mov(r12, FIELD['mem_base'])

    names['enter'] = b.here('enter')
    host_save()
    b.mov(rbx, FIELD['entry_base'])
    b.mov(r14, FIELD['depth_left'])
    b.mov(rsp, FIELD['entry_sp'])
    b.call(FIELD['entry_addr'])
    names['entry_return'] = b.here('entry_return')
    b.mov(eax, abi.EXIT_RETURNED)
    names['exit'] = exit_ = b.here('exit')
    b.mov(FIELD['exit_base'], rbx)
    b.mov(FIELD['exit_sp'], rsp)
    b.mov(FIELD['depth_left'], r14)
    b.mov(rsp, FIELD['host_sp'])
    for r in reversed(saved):
        b.pop(r)
    b.ret()

    names['resume'] = b.here('resume')
    host_save()
    b.mov(rbx, FIELD['yield_base'])
    b.mov(r14, FIELD['yield_depth'])
    b.mov(rsp, FIELD['yield_sp'])
    b.mov(rax, FIELD['yield_value'])
    b.jmp(FIELD['yield_routine'])

    def yield_to_host(routine_label):
        b.mov(FIELD['yield_value'], rax)
        b.lea(rcx, Mem(RIP, None, 1, 0, 64, routine_label))
        b.mov(FIELD['yield_routine'], rcx)
        b.mov(FIELD['yield_sp'], rsp)
        b.mov(FIELD['yield_base'], rbx)
        b.mov(FIELD['yield_depth'], r14)
        b.mov(eax, abi.EXIT_FLUSH)
        b.jmp(exit_)

    # print: rax = value; writes decimal and '\n'; clobbers rax rcx rdx rsi rdi r8 r9
    names['print'] = p = b.here('print')
    full = b.label()
    b.mov(rcx, FIELD['out_len'])
    b.lea(rdx, at(rcx, abi.PRINT_ROOM))
    b.cmp(rdx, FIELD['out_cap'])
    b.j('a', full)
    b.mov(rdi, FIELD['out_ptr'])
    b.add(rdi, rcx)
    b.mov(rsi, rax)
    positive = b.label()
    b.test(rsi, rsi)
    b.j('ns', positive)
    b.mov(byte_at(rdi), ord('-'))
    b.add(rdi, 1)
    b.neg(rsi)                 # INT64_MIN stays 2^63 as unsigned: fine for div
    b.bind(positive)
    b.lea(r8, at(rsp, -1))     # digits go backwards into the red zone
    b.mov(r9, r8)
    b.mov(rax, rsi)
    b.mov(ecx, 10)
    digit = b.here()
    b.xor(edx, edx)
    b.div(rcx)
    b.add(dl, ord('0'))
    b.mov(byte_at(r8), dl)
    b.sub(r8, 1)
    b.test(rax, rax)
    b.j('ne', digit)
    copy = b.here()
    b.add(r8, 1)
    b.mov(dl, byte_at(r8))
    b.mov(byte_at(rdi), dl)
    b.add(rdi, 1)
    b.cmp(r8, r9)
    b.j('ne', copy)
    b.mov(byte_at(rdi), 10)
    b.add(rdi, 1)
    b.sub(rdi, FIELD['out_ptr'])
    b.mov(FIELD['out_len'], rdi)
    b.ret()
    b.bind(full)
    yield_to_host(p)

    names['printc'] = pc_ = b.here('printc')
    full = b.label()
    b.mov(rcx, FIELD['out_len'])
    b.lea(rdx, at(rcx, 1))
    b.cmp(rdx, FIELD['out_cap'])
    b.j('a', full)
    b.mov(rdi, FIELD['out_ptr'])
    b.mov(byte_at(rdi, rcx), al)
    b.mov(FIELD['out_len'], rdx)
    b.ret()
    b.bind(full)
    yield_to_host(pc_)

    names['uncompiled'] = b.here('uncompiled')
    b.mov(eax, abi.EXIT_DEOPT)
    b.jmp(exit_)

    keys = list(names)
    code, offsets = b.finish_with_labels([names[k] for k in keys])
    return code, dict(zip(keys, offsets))
