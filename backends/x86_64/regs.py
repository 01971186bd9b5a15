"""x86-64 register roles for the JIT (System V at the host boundary).

    rbx  frame base on the value stack (locals, then operand-stack slots)
    r12  memory cell 0             r13  state block
    r14  call budget (max_call_depth - depth)
    rsp  the machine stack (return addresses only), a dedicated mapping
    rax rcx rdx                    scratch inside one bytecode op
    rbp r15 r11 r10 r9 r8 rdi rsi  hold operand-stack values between ops,
                                   the first five also promoted variables
"""
from __future__ import annotations

from asmkit.x86_64 import Mem
from asmkit.x86_64.regs import REGS

from .. import abi
from ..target import Registers

R = REGS
rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi = (R[n] for n in ('rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'))
r8, r9, r10, r11, r12, r13, r14, r15 = (R[f'r{i}'] for i in range(8, 16))
eax, ecx, edx = R['eax'], R['ecx'], R['edx']
al, cl, dl = R['al'], R['cl'], R['dl']
RIP = R['rip']
POOL = (rbp, r15, r11, r10, r9, r8, rdi, rsi)
REG8 = {R[n]: R[m] for n, m in [('rsi', 'sil'), ('rdi', 'dil'), ('rbp', 'bpl'), ('r8', 'r8b'), ('r9', 'r9b'),
                                ('r10', 'r10b'), ('r11', 'r11b'), ('r15', 'r15b')]}
REG32 = {R[n]: R[m] for n, m in [('rsi', 'esi'), ('rdi', 'edi'), ('rbp', 'ebp'), ('r8', 'r8d'), ('r9', 'r9d'),
                                 ('r10', 'r10d'), ('r11', 'r11d'), ('r15', 'r15d')]}

BASE, MEM, STATE, BUDGET = rbx, r12, r13, r14

REGISTERS = Registers(
    allocatable=POOL,
    callee_saved=(rbx, rbp, r12, r13, r14, r15),
    args=(rdi, rsi, rdx, rcx, r8, r9),
    ret=rax,
    print_value=rax,
    roles={'base': BASE, 'mem': MEM, 'state': STATE, 'budget': BUDGET, 'sp': rsp,
           'scratch': (rax, rcx, rdx)},
    max_promoted=5,           # keep at least three registers for operand values
)

_MEMS: dict = {}


def at(base, disp: int = 0, index=None):
    """qword [base + index*8 + disp], built once and reused (a Mem caches
    its own encoding, so reuse also skips re-encoding the address)."""
    key = (base, disp, index)
    m = _MEMS.get(key)
    if m is None:
        m = _MEMS[key] = Mem(base, index, 8 if index is not None else 1, disp, 64)
    return m


def byte_at(base, index=None):
    return Mem(base, index, 1, 0, 8)


FIELD = {name: at(STATE, off) for name, off in abi.OFF.items()}
