"""The AArch64 emit operations the shared lowering drives (see
backends/lowering.py for what each must do).

AArch64 ALU instructions take registers or small immediates only, so an
entry is first made a register (`value`: its own register, xzr for 0, or a
scratch loaded from its slot or with a constant). Loads and stores reach
[base, #imm] up to 32760 bytes; bigger offsets go through x8 as a register
index. DIV/MOD: `sdiv` never traps, so a zero divisor is tested with cbz
(trap), and INT64_MIN / -1 already gives INT64_MIN; % is `msub`, which then
gives 0. Every instruction comes from asmkit's Builder.
"""
from __future__ import annotations

from asmkit.aarch64.operands import encode_bitmask, mem, post, pre
from asmkit.aarch64.regs import LR, SP

from .. import abi
from ..lowering import Lowering
from .regs import ADDR, ARG, BASE, BUDGET, MEM, STATE, TMP, TMP2, TMP3, TRAP_PC, ZERO
from .runtime import SLOT, field

CC = {'EQ': 'eq', 'NE': 'ne', 'LT': 'lt', 'LE': 'le', 'GT': 'gt', 'GE': 'ge', 'HS': 'hs'}
ALU = {'ADD': 'add', 'SUB': 'sub', 'AND': 'and_', 'OR': 'orr', 'XOR': 'eor', 'MUL': 'mul',
       'SHL': 'lsl', 'SHR': 'lsr', 'SAR': 'asr'}
_MAX_UOFF = 0xFFF * 8


def addsub_imm(v: int) -> bool:
    """v fits add/sub/cmp as an immediate (negative ones flip the op)."""
    n = -v if v < 0 else v
    return n <= 0xFFF or (n & 0xFFF == 0 and n >> 12 <= 0xFFF)


def logical_imm(v: int) -> bool:
    return encode_bitmask(v & ((1 << 64) - 1), 64) is not None


class A64Emitter(Lowering):

    # -- addresses --------------------------------------------------------------
    def at(self, base, off: int):
        """[base, #off] for a word at byte offset off (x8 holds big ones)."""
        if 0 <= off <= _MAX_UOFF and not off & 7:
            return mem(base, off)
        self.b.mov(ADDR, off >> 3)
        return mem(base, ADDR, 'lsl', 3)

    def home(self, j: int):
        return self.at(BASE, self.slot_offset(j))

    def var_home(self, var):
        kind, n = var
        return self.at(BASE if kind == 'L' else MEM, 8 * n)

    def value(self, e, scratch=TMP):
        """A register holding e's value (e's own, xzr, or scratch)."""
        kind = e[0]
        if kind == 'r' or kind == 'p':
            return e[1]
        if kind == 's':
            self.b.ldr(scratch, self.home(e[1]))
            return scratch
        if e[1] == 0:
            return ZERO
        self.b.mov(scratch, e[1])
        return scratch

    def store(self, addr_of, e):
        """Store e to the address addr_of() builds (after e is in a register,
        so both may use scratch)."""
        self.b.str(self.value(e), addr_of())

    # -- moves -------------------------------------------------------------------
    def move(self, dst, src):
        self.b.mov(dst, src)

    def load(self, reg, e):
        kind = e[0]
        if kind == 'r' or kind == 'p':
            if e[1] is not reg:
                self.b.mov(reg, e[1])
        elif kind == 's':
            self.b.ldr(reg, self.home(e[1]))
        else:                   # movz/movn/movk/orr: flags may be live
            self.b.mov(reg, e[1])

    def store_home(self, j, e):
        self.store(lambda: self.home(j), e)

    def load_var(self, reg, var):
        self.b.ldr(reg, self.var_home(var))

    def store_var(self, var, e):
        self.store(lambda: self.var_home(var), e)

    # -- arithmetic ----------------------------------------------------------------
    def binary(self, m, a, e):
        b = self.b
        name = ALU[m]
        if e[0] == 'i':
            v = e[1]
            if m in ('SHL', 'SHR', 'SAR'):
                if v & 63:
                    getattr(b, name)(a, a, v & 63)
                return
            if (m in ('ADD', 'SUB') and addsub_imm(v)) or \
                    (m in ('AND', 'OR', 'XOR') and logical_imm(v)):
                getattr(b, name)(a, a, v)
                return
        # shifts by register use the count mod 64, as the bytecode does
        getattr(b, name)(a, a, self.value(e))

    def binary3(self, m, d, e_a, e_b):
        """d = a OP b in one instruction where it encodes (optimizing tier:
        its values are in registers, so the three-operand form saves moves)."""
        b = self.b
        name = ALU[m]
        if e_a[0] == 'i':
            b.mov(TMP, e_a[1])
            a = TMP
        else:
            a = self.value(e_a, TMP)
        if e_b[0] == 'i':
            v = e_b[1]
            if m in ('SHL', 'SHR', 'SAR'):
                if v & 63:
                    getattr(b, name)(d, a, v & 63)
                elif d is not a:
                    b.mov(d, a)
                return
            if (m in ('ADD', 'SUB') and addsub_imm(v)) or \
                    (m in ('AND', 'OR', 'XOR') and logical_imm(v)):
                getattr(b, name)(d, a, v)
                return
        getattr(b, name)(d, a, self.value(e_b, TMP2))

    def mul_high(self, dst, e_a, e_b):
        """dst = the high 64 bits of the signed product a * b."""
        a = self.value(e_a, TMP)
        self.b.smulh(dst, a, self.value(e_b, TMP2))

    def unary(self, m, r):
        if m == 'NEG':
            self.b.neg(r, r)
        else:
            self.b.mvn(r, r)

    def divide(self, quotient, e_a, e_b, pc):
        b = self.b
        if e_b[0] == 'i' and e_b[1] == -1:
            # x / -1 = -x (INT64_MIN stays INT64_MIN), x % -1 = 0
            a = self.value(e_a)
            self.release(e_a)
            r = self.alloc()
            if quotient:
                b.neg(r, a)
            else:
                b.mov(r, 0)
            return r
        d = self.value(e_b, TMP2)
        if e_b[0] != 'i':
            b.cbz(d, self.trap('division by zero', pc))
        a = self.value(e_a, TMP)
        self.release(e_a)
        self.release(e_b)
        r = self.alloc()        # may spill: a store, which leaves a and d alone
        if quotient:
            b.sdiv(r, a, d)
        else:
            b.sdiv(TMP3, a, d)
            b.msub(r, TMP3, d, a)
        return r

    # -- compare and branch -----------------------------------------------------------
    def operand(self, e, scratch=TMP2):
        """A cmp second operand: an immediate when it encodes, else a register."""
        if e[0] == 'i' and addsub_imm(e[1]):
            return e[1]
        return self.value(e, scratch)

    def compare(self, e_a, e_b):
        a = self.value(e_a, TMP)
        self.b.cmp(a, self.operand(e_b))

    def compare_set(self, cond, a, e):
        self.b.cmp(a, self.operand(e))
        self.b.cset(a, CC[cond])

    def branch_if(self, cond, label):
        self.b.b_cond(CC[cond], label)

    def branch_on(self, e, nonzero, label):
        r = self.value(e)
        if nonzero:
            self.b.cbnz(r, label)
        else:
            self.b.cbz(r, label)

    def jump(self, label):
        self.b.b(label)

    # -- memory by address ------------------------------------------------------------
    def check_address(self, a, trap):
        self.b.ldr(TMP2, field('mem_cells'))
        self.b.cmp(a, TMP2)
        self.b.b_cond('hs', trap)

    def load_cell(self, dst, a):
        self.b.ldr(dst, mem(MEM, a, 'lsl', 3))

    def store_cell(self, a, e):
        self.b.str(self.value(e), mem(MEM, a, 'lsl', 3))

    # -- calls ---------------------------------------------------------------------
    def check_vstack(self, offset, label):
        b = self.b
        self.add_to(TMP, BASE, offset)
        b.ldr(TMP2, field('vstack_end'))
        b.cmp(TMP, TMP2)
        b.b_cond('hi', label)

    def add_to(self, dst, src, n):
        """dst = src + n for any n (x8 holds a constant that does not encode)."""
        if addsub_imm(n):
            if n or dst is not src:
                self.b.add(dst, src, n)
        else:
            self.b.mov(ADDR, n)
            self.b.add(dst, src, ADDR)

    def take_call(self, trap):
        self.b.subs(BUDGET, BUDGET, 1)
        self.b.b_cond('mi', trap)

    def give_call(self):
        self.b.add(BUDGET, BUDGET, 1)

    def move_base(self, delta):
        if delta:
            self.add_to(BASE, BASE, delta)

    def call_function(self, fidx):
        self.b.ldr(TMP, self.at(STATE, abi.FUNC_TABLE + abi.WORD * fidx))
        self.b.blr(TMP)

    def call_local(self, label):
        self.b.bl(label)

    def call_routine(self, name):
        self.b.ldr(TMP, field(name))
        self.b.blr(TMP)

    def unreachable(self):
        self.b.brk(0)

    def store_result(self, e):
        self.b.str(self.value(e), mem(BASE, 0))

    def leave_frame(self):
        self.b.ldr(LR, post(SP, SLOT))
        self.b.ret()

    # -- leaving --------------------------------------------------------------------
    def set_exit_value(self, e):
        self.b.str(self.value(e), field('exit_value'))

    def leave(self, reason):
        self.b.mov(ARG, reason)
        self.b.ldr(TMP, field('rt_exit'))
        self.b.br(TMP)

    def trap_site(self, pc, tail):
        self.b.mov(TRAP_PC, pc)
        self.b.b(tail)

    def trap_tail(self, code):
        b = self.b
        b.str(TRAP_PC, field('exit_pc'))
        b.str(self.value(('i', self.fidx)), field('exit_func'))
        b.str(self.value(('i', code)), field('exit_value'))
        self.leave(abi.EXIT_TRAP)

    # -- entry ---------------------------------------------------------------------
    def enter_frame(self):
        """The return address into this frame's 16-byte machine-stack slot."""
        self.b.str(LR, pre(SP, -SLOT))

    def count_down(self, offset, label):
        """state[offset] -= 1; jump to label when it went negative."""
        b = self.b
        b.ldr(TMP2, self.at(STATE, offset))
        b.subs(TMP2, TMP2, 1)
        b.str(TMP2, self.at(STATE, offset))
        b.b_cond('mi', label)

    def exit_at(self, pc, reason):
        """Leave with reason, this function and pc noted (a tier-up exit)."""
        self.b.str(self.value(('i', pc)), field('exit_pc'))
        self.b.str(self.value(('i', self.fidx)), field('exit_func'))
        self.leave(reason)

    def poll(self, stop):
        self.b.ldr(TMP, field('flag'))
        self.b.cbnz(TMP, stop)

    def jump_if_low_bits_zero(self, r, mask, label):
        self.b.tst(r, mask)
        self.b.b_cond('eq', label)

    def zero_locals(self, first, count):
        b = self.b
        if count <= 16:
            for i in range(first, first + count):
                b.str(ZERO, self.at(BASE, 8 * i))
            return
        self.add_to(TMP, BASE, 8 * first)
        b.mov(TMP2, count)
        top = b.here()
        b.str(ZERO, post(TMP, 8))
        b.subs(TMP2, TMP2, 1)
        b.b_cond('ne', top)
