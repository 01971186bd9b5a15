"""The x86-64 backend: register roles, the runtime routines (entry, resume,
exit, print) and the lowering rule of every bytecode instruction.

Register roles (the Python/native seam is described in backends/abi.py):
    rbx  frame base on the value stack (locals, then operand-stack slots)
    r12  memory cell 0             r13  state block
    r14  call budget (max_call_depth - depth)
    rsp  the machine stack (return addresses only), a dedicated mapping
    rax rcx rdx                    scratch inside one bytecode op
    rsi rdi r8-r11 r15 rbp         hold operand-stack values between ops
"""
from __future__ import annotations

from asmkit.x86_64 import Builder, Mem
from asmkit.x86_64.regs import REGS

from .. import abi
from ..lowering import CompiledCode, Lowering, promotion_candidates
from ..target import Target

R = REGS
rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi = (R[n] for n in ('rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'))
r8, r9, r10, r11, r12, r13, r14, r15 = (R[f'r{i}'] for i in range(8, 16))
eax, ecx, edx = R['eax'], R['ecx'], R['edx']
al, cl, dl = R['al'], R['cl'], R['dl']
REG8 = {R[n]: R[m] for n, m in [('rsi', 'sil'), ('rdi', 'dil'), ('rbp', 'bpl'), ('r8', 'r8b'), ('r9', 'r9b'),
                                ('r10', 'r10b'), ('r11', 'r11b'), ('r15', 'r15b')]}
REG32 = {R[n]: R[m] for n, m in [('rsi', 'esi'), ('rdi', 'edi'), ('rbp', 'ebp'), ('r8', 'r8d'), ('r9', 'r9d'),
                                 ('r10', 'r10d'), ('r11', 'r11d'), ('r15', 'r15d')]}

BASE, MEM, STATE, BUDGET = rbx, r12, r13, r14
FIELD = {name: Mem(r13, None, 1, off, 64) for name, off in abi.OFF.items()}
MASK = (1 << 64) - 1
CC = {'EQ': 'e', 'NE': 'ne', 'LT': 'l', 'LE': 'le', 'GT': 'g', 'GE': 'ge'}
NEGATE = {'e': 'ne', 'ne': 'e', 'l': 'ge', 'ge': 'l', 'le': 'g', 'g': 'le'}


_MEMS: dict = {}


def _at(base, disp: int = 0, index=None):
    """qword [base + index*8 + disp], built once and reused (a Mem caches
    its own encoding, so reuse also skips re-encoding the address)."""
    key = (base, disp, index)
    m = _MEMS.get(key)
    if m is None:
        m = _MEMS[key] = Mem(base, index, 8 if index is not None else 1, disp, 64)
    return m


def _byte(base, index=None):
    return Mem(base, index, 1, 0, 8)


def _wrap(x: int) -> int:
    x &= MASK
    return x - (1 << 64) if x >> 63 else x


def _fits32(v: int) -> bool:
    return -(1 << 31) <= v < (1 << 31)


def _fold(m: str, a: int, b: int):
    """Constant-fold a binary op on two known values, or None to emit it."""
    if m == 'ADD': return _wrap(a + b)
    if m == 'SUB': return _wrap(a - b)
    if m == 'MUL': return _wrap(a * b)
    if m == 'AND': return a & b
    if m == 'OR': return a | b
    if m == 'XOR': return a ^ b
    if m == 'SHL': return _wrap(a << (b & 63))
    if m == 'SHR': return _wrap((a & MASK) >> (b & 63))
    if m == 'SAR': return a >> (b & 63)
    return None


POOL = (rbp, r15, r11, r10, r9, r8, rdi, rsi)
MAX_PROMOTED = 5          # keep at least three registers for operand values


class X86Lowering(Lowering):
    regs = POOL

    def plan(self, program, fidx, facts):
        """Give the most used locals / memory cells registers of their own
        for the whole function (entries ('p', reg) read them in place)."""
        chosen = promotion_candidates(program, fidx, facts, MAX_PROMOTED)
        self.promoted = {var: reg for var, reg in zip(chosen, POOL)}
        self.regs = POOL[len(chosen):]
        self.osr_stubs = []       # (label, loop header): load promoted vars, then jump
        self.cold = []            # (label, emitter): out-of-line paths, after the body
        self.fused = None         # condition left in the flags for the next JZ/JNZ
        self.vstack_checks = True

    def var_home(self, var):
        kind, n = var
        return _at(rbx, 8 * n) if kind == 'L' else _at(r12, 8 * n)

    def sync_out(self, cells_only=False):
        """Promoted variables to memory (before calls, prints, RET)."""
        for var, reg in self.promoted.items():
            if not cells_only or var[0] == 'M':
                self.b.mov(self.var_home(var), reg)

    def sync_in(self):
        """Promoted variables from memory (entry, OSR, after calls/prints)."""
        for var, reg in self.promoted.items():
            self.b.mov(reg, self.var_home(var))

    def osr_entry(self, pc):
        if not self.promoted:
            return self.label_at(pc)
        lab = self.b.label(f'osr{pc}')
        self.osr_stubs.append((lab, pc))
        return lab

    def read_var(self, var):
        self.push(('p', self.promoted[var]))

    def write_var(self, var, e):
        """var = e, for a promoted var: first copy out any stack entry that
        still reads the old value in place."""
        reg = self.promoted[var]
        for j, x in enumerate(self.stack):
            if x[0] == 'p' and x[1] is reg:
                r = self.alloc()
                self.b.mov(r, reg)
                self.stack[j] = ('r', r)
        kind = e[0]
        if kind == 's':
            self.b.mov(reg, self.home(e[1]))
        elif e[1] is not reg:
            self.b.mov(reg, e[1])
        self.release(e)

    # -- operands -----------------------------------------------------------
    def home(self, j: int):
        return _at(rbx, self.slot_offset(j))

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

    def load(self, reg, e, j):
        kind = e[0]
        if kind == 'r' or kind == 'p':
            if e[1] is not reg:
                self.b.mov(reg, e[1])
        elif kind == 's':
            self.b.mov(reg, self.home(e[1]))
        else:                   # mov, not xor: flags may be live (fused compare)
            self.b.mov(reg, e[1])

    def store(self, dst, e):
        """Store entry e to the memory operand dst."""
        kind = e[0]
        if kind == 'r' or kind == 'p':
            self.b.mov(dst, e[1])
        elif kind == 'i' and _fits32(e[1]):
            self.b.mov(dst, e[1])
        else:
            self.b.mov(rax, self.home(e[1]) if kind == 's' else e[1])
            self.b.mov(dst, rax)

    def store_home(self, j, e):
        self.store(self.home(j), e)

    def trap(self, code: str, pc: int):
        """A label that leaves with trap `code` at `pc` (stub emitted later)."""
        lab = self.b.label()
        self.trap_sites.append((lab, abi.TRAP_CODE[code], pc))
        return lab

    # -- frame ---------------------------------------------------------------
    def prologue(self):
        b = self.b
        self.stop = b.label('stop')
        b.cmp(FIELD['flag'], 0)
        b.j('ne', self.stop)
        f = self.func
        if f.nlocals:
            if f.nlocals <= 16:
                b.xor(eax, eax)
                for i in range(f.nargs, f.nslots):
                    b.mov(_at(rbx, 8 * i), rax)
            else:
                b.lea(rdi, _at(rbx, 8 * f.nargs))
                b.mov(ecx, f.nlocals)
                b.xor(eax, eax)
                top = b.here()
                b.mov(_at(rdi), rax)
                b.add(rdi, 8)
                b.sub(rcx, 1)
                b.j('ne', top)
        self.sync_in()

    def loop_check(self, pc):
        self.b.cmp(FIELD['flag'], 0)
        self.b.j('ne', self.stop)

    def epilogue_stubs(self):
        b = self.b
        for lab, pc in self.osr_stubs:
            b.bind(lab)
            self.sync_in()
            b.jmp(self.label_at(pc))
        b.bind(self.stop)
        b.mov(eax, abi.EXIT_STOP)
        b.jmp(FIELD['rt_exit'])
        # each trap site: its offset in ecx, then one shared tail per trap code
        tails = {}
        for lab, code, pc in self.trap_sites:
            b.bind(lab)
            b.mov(ecx, pc)
            tail = tails.get(code)
            if tail is None:
                tail = tails[code] = b.label()
            b.jmp(tail)
        for code, tail in tails.items():
            b.bind(tail)
            b.mov(FIELD['exit_pc'], rcx)
            b.mov(FIELD['exit_func'], self.fidx)
            b.mov(FIELD['exit_value'], code)
            b.mov(eax, abi.EXIT_TRAP)
            b.jmp(FIELD['rt_exit'])
        for lab, body in self.cold:
            b.bind(lab)
            body()

    # -- stack shuffles ------------------------------------------------------
    def op_NOP(self, ins):
        pass

    def op_PUSH(self, ins):
        self.push(('i', ins.arg))

    def op_POP(self, ins):
        self.release(self.pop())

    def copy_of(self, e):
        """A second, independent entry with e's value."""
        if e[0] == 'i' or e[0] == 'p':
            return e
        r = self.alloc()
        self.b.mov(r, e[1] if e[0] == 'r' else self.home(e[1]))
        return ('r', r)

    def op_DUP(self, ins):
        e = self.stack[-1]
        self.push(self.copy_of(e))

    def op_SWAP(self, ins):
        e_b = self._loaded(self.pop())
        e_a = self._loaded(self.pop())
        self.push(e_b)
        self.push(e_a)

    def _loaded(self, e):
        """e moves away from position j: a slot entry must go to a register."""
        if e[0] != 's':
            return e
        r = self.alloc()
        self.b.mov(r, self.home(e[1]))
        return ('r', r)

    def op_OVER(self, ins):
        a = self.stack[-2]
        self.push(self.copy_of(a))

    # -- arithmetic ------------------------------------------------------------
    def _binary(self, ins, emit):
        e_b = self.pop()
        if e_b[0] == 'i' and self.stack[-1][0] == 'i':
            value = _fold(ins.op.mnemonic, self.pop()[1], e_b[1])
            if value is not None:
                self.push(('i', value))
                return
            self.stack.append(e_b)
            e_b = self.pop()
        a = self.pop_reg()
        emit(a, e_b)
        self.release(e_b)
        self.push(('r', a))

    def op_ADD(self, ins):
        self._binary(ins, lambda a, e: self.b.add(a, self.operand(e)))

    def op_SUB(self, ins):
        self._binary(ins, lambda a, e: self.b.sub(a, self.operand(e)))

    def op_AND(self, ins):
        self._binary(ins, lambda a, e: self.b.and_(a, self.operand(e)))

    def op_OR(self, ins):
        self._binary(ins, lambda a, e: self.b.or_(a, self.operand(e)))

    def op_XOR(self, ins):
        self._binary(ins, lambda a, e: self.b.xor(a, self.operand(e)))

    def op_MUL(self, ins):
        def emit(a, e):
            if e[0] == 'i' and _fits32(e[1]):
                self.b.imul(a, a, e[1])
            else:
                self.b.imul(a, self.operand(e, allow_imm=False))
        self._binary(ins, emit)

    def _shift(self, ins, name):
        def emit(a, e):
            if e[0] == 'i':
                n = e[1] & 63
                if n:
                    getattr(self.b, name)(a, n)
            else:
                self.b.mov(rcx, self.operand(e))
                getattr(self.b, name)(a, cl)
        self._binary(ins, emit)

    def op_SHL(self, ins):
        self._shift(ins, 'shl')

    def op_SHR(self, ins):
        self._shift(ins, 'shr')

    def op_SAR(self, ins):
        self._shift(ins, 'sar')

    def op_NEG(self, ins):
        if self.stack[-1][0] == 'i':
            self.push(('i', _wrap(-self.pop()[1])))
            return
        r = self.pop_reg()
        self.b.neg(r)
        self.push(('r', r))

    def op_NOT(self, ins):
        if self.stack[-1][0] == 'i':
            self.push(('i', ~self.pop()[1]))
            return
        r = self.pop_reg()
        self.b.not_(r)
        self.push(('r', r))

    def _divmod(self, ins, want_quotient: bool):
        b = self.b
        e_b = self.pop()
        e_a = self.pop()
        result = rax if want_quotient else rdx
        if e_b[0] == 'i':
            d = e_b[1]
            if d == 0:
                b.jmp(self.trap('division by zero', ins.offset))
                self.release(e_a)
                self.push(('i', 0))       # never reached: keeps the stack shape
                return
            self.load(rax, e_a, len(self.stack))
            self.release(e_a)
            if d == -1:
                if want_quotient:
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
            self.load(rax, e_a, len(self.stack))
            self.release(e_a)
            b.test(rcx, rcx)
            b.j('e', self.trap('division by zero', ins.offset))
            normal, done = b.label(), b.label()
            b.cmp(rcx, -1)
            b.j('ne', normal)
            if want_quotient:
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
        self.push(('r', r))

    def op_DIV(self, ins):
        self._divmod(ins, True)

    def op_MOD(self, ins):
        self._divmod(ins, False)

    def _compare(self, ins):
        m = ins.op.mnemonic
        e_b = self.pop()
        if e_b[0] == 'i' and self.stack[-1][0] == 'i':
            a = self.pop()[1]
            v = {'EQ': a == e_b[1], 'NE': a != e_b[1], 'LT': a < e_b[1], 'LE': a <= e_b[1],
                 'GT': a > e_b[1], 'GE': a >= e_b[1]}[m]
            self.push(('i', int(v)))
            return
        cc = CC[m]
        nxt = self.next_ins
        if nxt is not None and nxt.op.mnemonic in ('JZ', 'JNZ'):
            # fuse with the branch: flags are consumed directly
            e_a = self.pop()
            if e_a[0] == 'i' or (e_a[0] == 's' and e_b[0] == 's'):
                a = self.alloc()
                self.load(a, e_a, len(self.stack))
                e_a = ('r', a)
            self.b.cmp(self.operand(e_a), self.operand(e_b))
            self.release(e_a)
            self.release(e_b)
            self.flush()                         # movs only: flags survive
            self.fused = (cc if nxt.op.mnemonic == 'JNZ' else NEGATE[cc])
            return
        a = self.pop_reg()
        self.b.cmp(a, self.operand(e_b))
        self.release(e_b)
        self.b.set(cc, REG8[a])
        self.b.movzx(REG32[a], REG8[a])
        self.push(('r', a))

    op_EQ = op_NE = op_LT = op_LE = op_GT = op_GE = _compare

    # -- memory and locals -------------------------------------------------------
    def _read(self, var, mem):
        if var in self.promoted:
            self.read_var(var)
        else:
            r = self.alloc()
            self.b.mov(r, mem)
            self.push(('r', r))

    def _write(self, var, mem):
        e = self.pop()
        if var in self.promoted:
            self.write_var(var, e)
        else:
            self.store(mem, e)
            self.release(e)

    def op_LOAD(self, ins):
        self._read(('M', ins.arg), _at(r12, 8 * ins.arg))

    def op_STORE(self, ins):
        self._write(('M', ins.arg), _at(r12, 8 * ins.arg))

    def op_LLOAD(self, ins):
        self._read(('L', ins.arg), _at(rbx, 8 * ins.arg))

    def op_LSTORE(self, ins):
        self._write(('L', ins.arg), _at(rbx, 8 * ins.arg))

    def _checked_address(self, ins):
        a = self.pop_reg()
        self.b.cmp(a, FIELD['mem_cells'])
        self.b.j('ae', self.trap('memory address out of range', ins.offset))
        return a

    def op_LOADI(self, ins):
        a = self._checked_address(ins)
        self.b.mov(a, _at(r12, 0, a))
        self.push(('r', a))

    def op_STOREI(self, ins):
        e = self.pop()
        a = self._checked_address(ins)
        self.store(_at(r12, 0, a), e)
        self.release(e)
        self.free.append(a)

    # -- control -------------------------------------------------------------
    def op_JMP(self, ins):
        self.flush()
        self.b.jmp(self.label_at(ins.target))

    def _branch(self, ins, jump_if_nonzero: bool):
        b = self.b
        fused = self.fused
        if fused is not None:
            self.fused = None
            b.j(fused, self.label_at(ins.target))
            return
        e = self.pop()
        if e[0] == 'i':
            self.flush()
            if bool(e[1]) == jump_if_nonzero:
                b.jmp(self.label_at(ins.target))
            return
        self.flush()
        if e[0] == 's':
            b.cmp(self.home(e[1]), 0)
        else:
            b.test(e[1], e[1])
            self.release(e)
        b.j('ne' if jump_if_nonzero else 'e', self.label_at(ins.target))

    def op_JZ(self, ins):
        self._branch(ins, False)

    def op_JNZ(self, ins):
        self._branch(ins, True)

    def op_CALL(self, ins):
        b = self.b
        callee = self.program.functions[ins.arg]
        n = callee.nargs
        h = len(self.stack)
        self.flush()
        self.sync_out()
        delta = 8 * (self.nslots + h - n)
        no_room = None
        if self.vstack_checks:
            frame = 8 * (callee.nslots + self.program.facts[ins.arg].max_height)
            no_room = b.label()
            b.lea(rax, _at(rbx, delta + frame))
            b.cmp(rax, FIELD['vstack_end'])
            b.j('a', no_room)
        b.sub(r14, 1)
        b.j('s', self.trap('call stack overflow', ins.offset))
        if delta:
            b.add(rbx, delta)
        b.call(_at(r13, abi.FUNC_TABLE + 8 * ins.arg))
        back = b.here()
        self.return_labels.append((back, ins.offset, delta, h))
        if delta:
            b.sub(rbx, delta)
        b.add(r14, 1)
        self.sync_in()

        def cold(delta=delta, pc=ins.offset, h=h):
            # not enough value stack: leave exactly as a call to code that
            # is not compiled, so the interpreter redoes this CALL
            if delta:
                b.add(rbx, delta)
            b.call(FIELD['rt_uncompiled'])
            self.return_labels.append((b.here(), pc, delta, h))
            b.ud2()     # never reached; keeps the return address inside this code
        if no_room is not None:
            self.cold.append((no_room, cold))
        del self.stack[h - n:]
        self.free = list(self.regs)
        self.push(('s', h - n))

    def op_RET(self, ins):
        e = self.pop()
        self.sync_out(cells_only=True)
        self.store(_at(rbx), e)
        self.release(e)
        self.b.ret()

    def op_HALT(self, ins):
        b = self.b
        if self.stack:
            self.store(FIELD['exit_value'], self.stack[-1])
        else:
            b.mov(FIELD['exit_value'], 0)
        b.mov(eax, abi.EXIT_HALT)
        b.jmp(FIELD['rt_exit'])

    def _print(self, routine):
        e = self.pop()
        self.flush()
        self.load(rax, e, len(self.stack))
        self.release(e)
        self.sync_out()
        self.b.call(FIELD[routine])
        self.free = list(self.regs)
        self.sync_in()

    def op_PRINT(self, ins):
        self._print('rt_print')

    def op_PRINTC(self, ins):
        self._print('rt_printc')


def compile_function(program, fidx: int, vstack_checks: bool = True) -> CompiledCode:
    """Lower one verified function to x86-64 machine code. Without
    vstack_checks, calls do not test for value-stack room (for a VM whose
    value stack holds max_call_depth of the largest frames)."""
    low = X86Lowering(program, fidx, program.facts[fidx], Builder())
    low.vstack_checks = vstack_checks
    return low.lower()


def runtime_routines():
    """The shared routines every compiled function reaches through the state
    block: enter, resume, exit, print, printc, uncompiled. Returns
    (bytes, {name: offset})."""
    b = Builder()
    names = {}
    saved = (rbx, rbp, r12, r13, r14, r15)

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
        b.lea(rcx, Mem(R['rip'], None, 1, 0, 64, routine_label))
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
    b.lea(rdx, _at(rcx, abi.PRINT_ROOM))
    b.cmp(rdx, FIELD['out_cap'])
    b.j('a', full)
    b.mov(rdi, FIELD['out_ptr'])
    b.add(rdi, rcx)
    b.mov(rsi, rax)
    positive = b.label()
    b.test(rsi, rsi)
    b.j('ns', positive)
    b.mov(_byte(rdi), ord('-'))
    b.add(rdi, 1)
    b.neg(rsi)                 # INT64_MIN stays 2^63 as unsigned: fine for div
    b.bind(positive)
    b.lea(r8, _at(rsp, -1))  # digits go backwards into the red zone
    b.mov(r9, r8)
    b.mov(rax, rsi)
    b.mov(ecx, 10)
    digit = b.here()
    b.xor(edx, edx)
    b.div(rcx)
    b.add(dl, ord('0'))
    b.mov(_byte(r8), dl)
    b.sub(r8, 1)
    b.test(rax, rax)
    b.j('ne', digit)
    copy = b.here()
    b.add(r8, 1)
    b.mov(dl, _byte(r8))
    b.mov(_byte(rdi), dl)
    b.add(rdi, 1)
    b.cmp(r8, r9)
    b.j('ne', copy)
    b.mov(_byte(rdi), 10)
    b.add(rdi, 1)
    b.sub(rdi, FIELD['out_ptr'])
    b.mov(FIELD['out_len'], rdi)
    b.ret()
    b.bind(full)
    yield_to_host(p)

    names['printc'] = pc_ = b.here('printc')
    full = b.label()
    b.mov(rcx, FIELD['out_len'])
    b.lea(rdx, _at(rcx, 1))
    b.cmp(rdx, FIELD['out_cap'])
    b.j('a', full)
    b.mov(rdi, FIELD['out_ptr'])
    b.mov(_byte(rdi, rcx), al)
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


TARGET = Target(name='x86_64', compile_function=compile_function,
                runtime_routines=runtime_routines,
                arg_reg='rdi', sp_reg='rsp', ret_reg='rax')
