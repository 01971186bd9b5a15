"""The x86-64 emit operations the shared lowering drives (see
backends/lowering.py for what each must do).

x86 can take a memory or imm32 operand in most ALU instructions, so an
entry is turned into an operand in place (`operand`) rather than loaded
first. DIV/MOD go through rax/rdx with `idiv`, which faults on INT64_MIN / -1:
a -1 divisor is tested first (quotient = neg, remainder = 0).
"""
from __future__ import annotations

from .. import abi
from ..lowering import Lowering
from .regs import (BASE, BUDGET, FIELD, MEM, REG8, REG32, STATE, at, cl, eax, ecx, edx, rax,
                   rcx, rdx)

CC = {'EQ': 'e', 'NE': 'ne', 'LT': 'l', 'LE': 'le', 'GT': 'g', 'GE': 'ge'}
ALU = {'ADD': 'add', 'SUB': 'sub', 'AND': 'and_', 'OR': 'or_', 'XOR': 'xor'}
SHIFT = {'SHL': 'shl', 'SHR': 'shr', 'SAR': 'sar'}


def _fits32(v: int) -> bool:
    return -(1 << 31) <= v < (1 << 31)


_ZF_FROM_RESULT = frozenset(('add', 'sub', 'and', 'or', 'xor'))


class X86Emitter(Lowering):

    # -- operands ---------------------------------------------------------------
    def home(self, j: int):
        return at(BASE, self.slot_offset(j))

    def var_home(self, var):
        kind, n = var
        return at(BASE, 8 * n) if kind == 'L' else at(MEM, 8 * n)

    def operand(self, e, allow_imm=True, scratch=rax):
        """e as a source operand: register, imm32, or its home slot."""
        kind = e[0]
        if kind == 'r' or kind == 'p':
            return e[1]
        if kind == 's':
            return self.home(e[1])
        if allow_imm and _fits32(e[1]):
            return e[1]
        self.b.mov(scratch, e[1])
        return scratch

    def store(self, dst, e):
        """The memory operand dst = e."""
        kind = e[0]
        if kind == 'r' or kind == 'p':
            self.b.mov(dst, e[1])
        elif kind == 'i' and _fits32(e[1]):
            self.b.mov(dst, e[1])
        else:
            self.b.mov(rax, self.home(e[1]) if kind == 's' else e[1])
            self.b.mov(dst, rax)

    # -- moves -------------------------------------------------------------------
    def move(self, dst, src):
        self.b.mov(dst, src)

    def load(self, reg, e):
        kind = e[0]
        if kind == 'r' or kind == 'p':
            if e[1] is not reg:
                self.b.mov(reg, e[1])
        elif kind == 's':
            self.b.mov(reg, self.home(e[1]))
        else:                   # mov, not xor: flags may be live (fused compare)
            self.b.mov(reg, e[1])

    def store_home(self, j, e):
        self.store(self.home(j), e)

    def load_var(self, reg, var):
        self.b.mov(reg, self.var_home(var))

    def store_var(self, var, e):
        self.store(self.var_home(var), e)

    # -- arithmetic ----------------------------------------------------------------
    def binary(self, m, a, e):
        b = self.b
        name = ALU.get(m)
        if name is not None:
            getattr(b, name)(a, self.operand(e))
        elif m == 'MUL':
            if e[0] == 'i' and _fits32(e[1]):
                b.imul(a, a, e[1])
            else:
                b.imul(a, self.operand(e, allow_imm=False))
        elif e[0] == 'i':
            n = e[1] & 63
            if n:
                getattr(b, SHIFT[m])(a, n)
        else:
            b.mov(rcx, self.operand(e))
            getattr(b, SHIFT[m])(a, cl)

    def mul_high(self, dst, e_a, e_b):
        """dst = the high 64 bits of the signed product a * b (optimizing tier)."""
        self.load(rax, e_a)
        src = self.operand(e_b, allow_imm=False, scratch=rcx)
        self.b.imul(src)
        self.b.mov(dst, rdx)

    def unary(self, m, r):
        if m == 'NEG':
            self.b.neg(r)
        else:
            self.b.not_(r)

    def divide(self, quotient, e_a, e_b, pc):
        b = self.b
        result = rax if quotient else rdx
        if e_b[0] == 'i':
            d = e_b[1]
            self.load(rax, e_a)
            self.release(e_a)
            if d == -1:
                if quotient:
                    b.neg(rax)
                else:
                    b.xor(eax, eax)
                result = rax
            else:
                b.mov(rcx, d)
                b.cqo()
                b.idiv(rcx)
        else:
            b.mov(rcx, self.operand(e_b))
            self.release(e_b)
            self.load(rax, e_a)
            self.release(e_a)
            b.test(rcx, rcx)
            b.j('e', self.trap('division by zero', pc))
            normal, done = b.label(), b.label()
            b.cmp(rcx, -1)
            b.j('ne', normal)
            if quotient:
                b.neg(rax)          # INT64_MIN / -1 wraps to INT64_MIN
            else:
                b.xor(edx, edx)     # INT64_MIN % -1 is 0
            b.jmp(done)
            b.bind(normal)
            b.cqo()
            b.idiv(rcx)
            b.bind(done)
        r = self.alloc()
        b.mov(r, result)
        return r

    # -- compare and branch -----------------------------------------------------------
    def compare(self, e_a, e_b):
        if e_a[0] == 'i' or (e_a[0] == 's' and e_b[0] == 's'):
            r = self.alloc()
            self.load(r, e_a)
            self.b.cmp(r, self.operand(e_b))
            self.free.append(r)
        else:
            self.b.cmp(self.operand(e_a), self.operand(e_b))

    def compare_set(self, cond, a, e):
        self.b.cmp(a, self.operand(e))
        self.b.set(CC[cond], REG8[a])
        self.b.movzx(REG32[a], REG8[a])

    def branch_if(self, cond, label):
        self.b.j(CC[cond], label)

    def branch_on(self, e, nonzero, label):
        if e[0] == 's':
            self.b.cmp(self.home(e[1]), 0)
        else:
            self.b.test(e[1], e[1])
        self.b.j('ne' if nonzero else 'e', label)

    def jump(self, label):
        self.b.jmp(label)

    # -- memory by address ------------------------------------------------------------
    def check_address(self, a, trap):
        self.b.cmp(a, FIELD['mem_cells'])
        self.b.j('ae', trap)

    def load_cell(self, dst, a):
        self.b.mov(dst, at(MEM, 0, a))

    def store_cell(self, a, e):
        self.store(at(MEM, 0, a), e)

    # -- calls ---------------------------------------------------------------------
    def check_vstack(self, offset, label):
        self.b.lea(rax, at(BASE, offset))
        self.b.cmp(rax, FIELD['vstack_end'])
        self.b.j('a', label)

    def take_call(self, trap):
        self.b.sub(BUDGET, 1)
        self.b.j('s', trap)

    def give_call(self):
        self.b.add(BUDGET, 1)

    def move_base(self, delta):
        if delta > 0:
            self.b.add(BASE, delta)
        elif delta < 0:
            self.b.sub(BASE, -delta)

    def call_function(self, fidx):
        self.b.call(at(STATE, abi.FUNC_TABLE + abi.WORD * fidx))

    def call_local(self, label):
        self.b.call(label)

    def call_routine(self, field):
        self.b.call(FIELD[field])

    def unreachable(self):
        self.b.ud2()

    def store_result(self, e):
        self.store(at(BASE), e)

    def leave_frame(self):
        self.b.ret()

    # -- leaving --------------------------------------------------------------------
    def set_exit_value(self, e):
        self.store(FIELD['exit_value'], e)

    def leave(self, reason):
        self.b.mov(eax, reason)
        self.b.jmp(FIELD['rt_exit'])

    def trap_site(self, pc, tail):
        self.b.mov(ecx, pc)
        self.b.jmp(tail)

    def trap_tail(self, code):
        b = self.b
        b.mov(FIELD['exit_pc'], rcx)
        b.mov(FIELD['exit_func'], self.fidx)
        b.mov(FIELD['exit_value'], code)
        self.leave(abi.EXIT_TRAP)

    # -- entry ---------------------------------------------------------------------
    def enter_frame(self):
        """Nothing: `call` already pushed the return address."""

    def count_down(self, offset, label):
        """state[offset] -= 1; jump to label when it went negative."""
        self.b.sub(at(STATE, offset), 1)
        self.b.j('s', label)

    def exit_at(self, pc, reason):
        """Leave with reason, this function and pc noted (a tier-up exit)."""
        self.b.mov(FIELD['exit_pc'], pc)
        self.b.mov(FIELD['exit_func'], self.fidx)
        self.leave(reason)

    def poll(self, stop):
        self.b.cmp(FIELD['flag'], 0)
        self.b.j('ne', stop)

    def flags_hold(self, r) -> bool:
        recs = self.b._recs
        if not recs:
            return False
        last = recs[-1]
        # add/sub/and/or/xor reg, x set ZF from the 64-bit result
        return last[2] in _ZF_FROM_RESULT and last[3] is r and r.size == 64

    def jump_if_low_bits_zero(self, r, mask, label):
        self.b.test(r, mask)
        self.b.j('e', label)

    def zero_locals(self, first, count):
        b = self.b
        if count <= 16:
            b.xor(eax, eax)
            for i in range(first, first + count):
                b.mov(at(BASE, 8 * i), rax)
        else:
            b.lea(rdx, at(BASE, 8 * first))
            b.mov(ecx, count)
            b.xor(eax, eax)
            top = b.here()
            b.mov(at(rdx), rax)
            b.add(rdx, 8)
            b.sub(rcx, 1)
            b.j('ne', top)
