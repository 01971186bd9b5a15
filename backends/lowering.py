"""The architecture-neutral lowering of one verified function.

This module decides *when* values move, what is folded, fused, promoted or
handed back; a target's emit.py decides *how*, by implementing the emit
operations listed at the end of `Lowering` (moves, loads and stores of
homes and variables, one binary op, compare and branch, calls, trap tails,
prologue and poll). LuaJIT keeps the same split: encodings in asmkit,
emitters per architecture, and the policy here once.

Virtual stack entries (tuples, for speed):
    ('s', j)    the value is in its home slot j (memory)
    ('r', reg)  the value is in a register this entry owns
    ('p', reg)  the value is a register-promoted variable, read in place
    ('i', n)    the value is the constant n
At every block boundary, call and exit all entries are ('s', j).

Conditions are named as the bytecode names them ('EQ', 'NE', 'LT', 'LE',
'GT', 'GE', signed) plus 'HS' (unsigned >=) for bounds checks; a target
maps them to its condition codes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from vm.opcodes import BRANCH, BY_NAME, CALL, HALT, JUMP, OPS, RETURN

from . import abi


@dataclass
class CompiledCode:
    """One function's machine code and what the VM needs to use it."""
    func_index: int
    code: bytes
    entry: int                                   # offset of the function entry
    osr: dict[int, int] = field(default_factory=dict)      # loop header pc -> offset
    # offset just after each call -> (CALL pc, base delta in bytes, height at the CALL)
    return_sites: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    ops: int = 0                                  # bytecode instructions compiled
    compile_ns: int = 0                           # filled in by the VM
    optimized: bool = False                       # made by the optimizing tier
    # for listings (jitvm dump; only when compiled with listing=True): bytecode
    # pc -> offset where its machine code starts, and the offset where the
    # out-of-line code after the body starts
    pc_offsets: dict[int, int] = field(default_factory=dict)
    out_of_line: int | None = None


MASK = (1 << 64) - 1
NEGATE = {'EQ': 'NE', 'NE': 'EQ', 'LT': 'GE', 'GE': 'LT', 'LE': 'GT', 'GT': 'LE'}
_COMPARE = {'EQ': lambda a, b: a == b, 'NE': lambda a, b: a != b, 'LT': lambda a, b: a < b,
            'LE': lambda a, b: a <= b, 'GT': lambda a, b: a > b, 'GE': lambda a, b: a >= b}


def wrap(x: int) -> int:
    """x as a signed 64-bit value (the bytecode's arithmetic)."""
    x &= MASK
    return x - (1 << 64) if x >> 63 else x


def fold(m: str, a: int, b: int):
    """Constant-fold a binary op on two known values, or None to emit it
    (DIV and MOD are left to run: a zero divisor must trap at its offset)."""
    if m == 'ADD': return wrap(a + b)
    if m == 'SUB': return wrap(a - b)
    if m == 'MUL': return wrap(a * b)
    if m == 'AND': return a & b
    if m == 'OR': return a | b
    if m == 'XOR': return a ^ b
    if m == 'SHL': return wrap(a << (b & 63))
    if m == 'SHR': return wrap((a & MASK) >> (b & 63))
    if m == 'SAR': return a >> (b & 63)
    return None


_VARIABLE = {BY_NAME[m].code: k for m, k in
             (('LLOAD', 'L'), ('LSTORE', 'L'), ('LOAD', 'M'), ('STORE', 'M'))}
_INDIRECT = {BY_NAME['LOADI'].code, BY_NAME['STOREI'].code}


def promotion_candidates(program, fidx: int, facts, limit: int) -> list[tuple[str, int]]:
    """The variables worth keeping in registers for a whole function, most
    used first: locals ('L', i) and, when the function has no LOADI/STOREI
    (which could alias them), memory cells named by LOAD/STORE ('M', addr).
    Uses inside loops weigh 8x per nesting level (loops found from the
    backward jumps, by bytecode range)."""
    heights = facts.heights
    instrs = [ins for ins in facts.instrs if ins.offset in heights]
    loops = [(ins.target, ins.offset) for ins in instrs
             if ins.op.flow in (JUMP, BRANCH) and ins.target <= ins.offset]
    indirect = any(ins.op.code in _INDIRECT for ins in instrs)
    weight: dict[tuple[str, int], int] = {}
    for ins in instrs:
        kind = _VARIABLE.get(ins.op.code)
        if kind is None or (kind == 'M' and indirect):
            continue
        var = (kind, ins.arg)
        at = ins.offset
        depth = sum(1 for head, tail in loops if head <= at <= tail) if loops else 0
        weight[var] = weight.get(var, 0) + 8 ** min(depth, 6)
    ranked = sorted(weight, key=lambda v: (-weight[v], v))
    return ranked[:limit]


class Lowering:
    """Walks one function and drives the target's emit operations.

    Subclasses (a backend's emit.py) implement the methods in the last
    section; everything else is shared by every architecture."""

    def __init__(self, target, program, fidx: int, builder):
        self.target = target
        self.program = program
        self.fidx = fidx
        self.func = program.functions[fidx]
        self.facts = facts = program.facts[fidx]
        self.b = builder
        self.nslots = self.func.nslots
        self.heights = facts.heights
        self.labels = {}
        self.trap_sites = []          # (label, trap code, pc)
        self.return_labels = []       # (label, call pc, delta, height)
        self.osr_labels = {}          # loop header pc -> its entry label
        self.osr_stubs = []           # (label, loop header)
        self.cold = []                # (label, emitter): out-of-line paths after the body
        self.listing = False          # record CompiledCode.pc_offsets (jitvm dump; costs compile time)
        self.pc_marks = []            # (pc, label where its code starts), when listing
        self.fused = None             # condition left in the flags for the next JZ/JNZ
        self.vstack_checks = True
        self.counters = False         # count towards the optimizing tier (EXIT_TIERUP)
        self.ops = 0
        regs = target.registers
        chosen = promotion_candidates(program, fidx, facts, regs.max_promoted)
        self.promoted = dict(zip(chosen, regs.allocatable))
        self.regs = regs.allocatable[len(chosen):]
        self.stack: list[tuple] = []
        self.free = list(self.regs)

    # -- the virtual stack ---------------------------------------------------
    def label_at(self, pc: int):
        lab = self.labels.get(pc)
        if lab is None:
            lab = self.labels[pc] = self.b.label(f'pc{pc}')
        return lab

    def slot_offset(self, j: int) -> int:
        """Byte offset from the frame base of operand-stack slot j."""
        return abi.WORD * (self.nslots + j)

    def alloc(self):
        """A free register, spilling the deepest register entry if needed."""
        if not self.free:
            for j, e in enumerate(self.stack):
                if e[0] == 'r':
                    self.store_home(j, e)
                    self.stack[j] = ('s', j)
                    self.free.append(e[1])
                    break
        return self.free.pop()

    def release(self, e):
        if e[0] == 'r':
            self.free.append(e[1])

    def push(self, e):
        self.stack.append(e)

    def pop(self):
        return self.stack.pop()

    def pop_reg(self):
        """Pop into a register this op may overwrite."""
        e = self.stack.pop()
        if e[0] == 'r':
            return e[1]
        r = self.alloc()
        self.load(r, e)
        return r

    def in_register(self, e):
        """An entry that owns a register holding e's value."""
        if e[0] == 'r':
            return e
        r = self.alloc()
        self.load(r, e)
        return ('r', r)

    def flush(self):
        """Every entry to its home slot (block boundaries, calls, exits).
        Only moves and stores: flags set by a fused compare survive."""
        for j, e in enumerate(self.stack):
            if e[0] != 's' or e[1] != j:
                self.store_home(j, e)
                self.release(e)
                self.stack[j] = ('s', j)

    def reset(self, height: int):
        self.stack = [('s', j) for j in range(height)]
        self.free = list(self.regs)

    def trap(self, phrase: str, pc: int):
        """A label that leaves with the trap `phrase` at `pc` (the stub is
        emitted after the body; one shared tail per trap code)."""
        lab = self.b.label()
        self.trap_sites.append((lab, abi.TRAP_CODE[phrase], pc))
        return lab

    # -- promoted variables ------------------------------------------------------
    def sync_out(self, cells_only=False):
        """Promoted variables to memory (before calls, prints, RET)."""
        for var, reg in self.promoted.items():
            if not cells_only or var[0] == 'M':
                self.store_var(var, ('r', reg))

    def sync_in(self):
        """Promoted variables from memory (entry, OSR, after calls/prints)."""
        for var, reg in self.promoted.items():
            self.load_var(reg, var)

    def write_var(self, var, e):
        """var = e, for a promoted var: first copy out any stack entry that
        still reads the old value in place."""
        reg = self.promoted[var]
        for j, x in enumerate(self.stack):
            if x[0] == 'p' and x[1] is reg:
                r = self.alloc()
                self.move(r, reg)
                self.stack[j] = ('r', r)
        self.load(reg, e)
        self.release(e)

    # -- the walk ------------------------------------------------------------------
    def leaders(self) -> set[int]:
        starts = {0}
        for ins in self.facts.instrs:
            if ins.offset not in self.heights:
                continue
            flow = ins.op.flow
            if flow in (JUMP, BRANCH):
                starts.add(ins.target)
            if flow not in ('next', CALL):
                starts.add(ins.end)
        return starts

    def lower(self) -> CompiledCode:
        b = self.b
        leaders = self.leaders()
        headers = set(self.facts.loop_headers)
        entry = b.here('entry')
        self.stop = b.label('stop')
        self.enter_frame()
        self.poll(self.stop)
        self.count_hot(abi.ENTRY_PC)
        f = self.func
        if f.nlocals:
            self.zero_locals(f.nargs, f.nlocals)
        self.sync_in()
        reachable = [ins for ins in self.facts.instrs if ins.offset in self.heights]
        handlers = self.handlers()
        prev_flow = None
        for i, ins in enumerate(reachable):
            pc = ins.offset
            if pc in leaders:
                if prev_flow not in (JUMP, RETURN, HALT, None):
                    self.flush()                # falling into the next block
                self.reset(self.heights[pc])
                b.bind(self.label_at(pc))
                if pc in headers:
                    lab = self.osr_labels[pc] = b.label(f'osr{pc}')
                    self.osr_stubs.append((lab, pc))
                    self.poll(self.stop)
                    self.count_hot(pc)
            if self.listing:
                self.pc_marks.append((pc, self.labels[pc] if pc in leaders else b.here()))
            self.ops += 1
            nxt = reachable[i + 1] if i + 1 < len(reachable) else None
            self.next_ins = nxt if nxt is not None and nxt.offset not in leaders else None
            handlers[ins.op.code](self, ins)
            prev_flow = ins.op.flow
        if self.listing:
            self.pc_marks.append((None, b.here()))
        self.out_of_line()
        return self.finish_code(entry)

    def count_hot(self, pc: int):
        """With counters: one count towards the optimizing tier; when the
        function's counter runs out, the frame goes to memory and the code
        exits with EXIT_TIERUP at pc (the VM resumes it, optimized or not)."""
        if not self.counters:
            return
        lab = self.b.label()
        self.count_down(abi.hot_counter(len(self.program.functions), self.fidx), lab)

        def stub(pc=pc):
            if pc != abi.ENTRY_PC:
                self.sync_out()
            self.exit_at(pc, abi.EXIT_TIERUP)
        self.cold.append((lab, stub))

    def out_of_line(self):
        """After the body: OSR entries, the stop exit, trap sites and
        tails, cold paths."""
        b = self.b
        for lab, pc in self.osr_stubs:
            # entered from the host like a call: frame slot, then promoted vars
            b.bind(lab)
            self.enter_frame()
            self.sync_in()
            self.jump(self.label_at(pc))
        b.bind(self.stop)
        self.leave(abi.EXIT_STOP)
        tails = {}
        for lab, code, pc in self.trap_sites:
            b.bind(lab)
            tail = tails.get(code)
            if tail is None:
                tail = tails[code] = b.label()
            self.trap_site(pc, tail)
        for code, tail in tails.items():
            b.bind(tail)
            self.trap_tail(code)
        for lab, body in self.cold:
            b.bind(lab)
            body()

    def finish_code(self, entry) -> CompiledCode:
        osr = list(self.osr_labels.items())
        labels = [entry] + [lab for _, lab in osr] + [r[0] for r in self.return_labels]
        marks = len(labels)
        labels += [lab for _, lab in self.pc_marks]
        code, offsets = self.b.finish_with_labels(labels)
        cc = CompiledCode(self.fidx, code, offsets[0], ops=self.ops)
        n = len(osr)
        for (pc, _), off in zip(osr, offsets[1:1 + n]):
            cc.osr[pc] = off
        for (_, call_pc, delta, height), off in zip(self.return_labels, offsets[1 + n:marks]):
            cc.return_sites[off] = (call_pc, delta, height)
        self.fill_pc_offsets(cc, offsets[marks:])
        return cc

    def fill_pc_offsets(self, cc: CompiledCode, offsets):
        """cc.pc_offsets and cc.out_of_line from the marks lower() left."""
        for (pc, _), off in zip(self.pc_marks, offsets):
            if pc is None:
                cc.out_of_line = off
            else:
                cc.pc_offsets[pc] = off

    @classmethod
    def handlers(cls) -> dict:
        """opcode -> the op_MNEMONIC method, built once per class."""
        table = cls.__dict__.get('_handlers')
        if table is None:
            table = {op.code: getattr(cls, 'op_' + op.mnemonic) for op in OPS}
            cls._handlers = table
        return table

    # -- stack shuffles --------------------------------------------------------------
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
        self.load(r, e)
        return ('r', r)

    def op_DUP(self, ins):
        self.push(self.copy_of(self.stack[-1]))

    def op_OVER(self, ins):
        self.push(self.copy_of(self.stack[-2]))

    def op_SWAP(self, ins):
        # a slot entry that changes position must go to a register first
        e_b, e_a = self.pop(), self.pop()
        e_b = self.in_register(e_b) if e_b[0] == 's' else e_b
        e_a = self.in_register(e_a) if e_a[0] == 's' else e_a
        self.push(e_b)
        self.push(e_a)

    # -- arithmetic --------------------------------------------------------------------
    def _binary(self, ins):
        m = ins.op.mnemonic
        e_b = self.pop()
        if e_b[0] == 'i' and self.stack[-1][0] == 'i':
            value = fold(m, self.stack[-1][1], e_b[1])
            if value is not None:
                self.pop()
                self.push(('i', value))
                return
        a = self.pop_reg()
        self.binary(m, a, e_b)
        self.release(e_b)
        self.push(('r', a))

    op_ADD = op_SUB = op_MUL = op_AND = op_OR = op_XOR = _binary
    op_SHL = op_SHR = op_SAR = _binary

    def _unary(self, ins):
        m = ins.op.mnemonic
        if self.stack[-1][0] == 'i':
            n = self.pop()[1]
            self.push(('i', wrap(-n) if m == 'NEG' else ~n))
            return
        r = self.pop_reg()
        self.unary(m, r)
        self.push(('r', r))

    op_NEG = op_NOT = _unary

    def _divmod(self, ins):
        e_b = self.pop()
        e_a = self.pop()
        if e_b[0] == 'i' and e_b[1] == 0:
            self.jump(self.trap('division by zero', ins.offset))
            self.release(e_a)
            self.push(('i', 0))       # never reached: keeps the stack shape
            return
        self.push(('r', self.divide(ins.op.mnemonic == 'DIV', e_a, e_b, ins.offset)))

    op_DIV = op_MOD = _divmod

    def _compare(self, ins):
        m = ins.op.mnemonic
        e_b = self.pop()
        if e_b[0] == 'i' and self.stack[-1][0] == 'i':
            self.push(('i', int(_COMPARE[m](self.pop()[1], e_b[1]))))
            return
        nxt = self.next_ins
        if nxt is not None and nxt.op.mnemonic in ('JZ', 'JNZ'):
            # fused with the branch: the flags are consumed directly
            e_a = self.pop()
            self.compare(e_a, e_b)
            self.release(e_a)
            self.release(e_b)
            self.flush()
            self.fused = m if nxt.op.mnemonic == 'JNZ' else NEGATE[m]
            return
        a = self.pop_reg()
        self.compare_set(m, a, e_b)
        self.release(e_b)
        self.push(('r', a))

    op_EQ = op_NE = op_LT = op_LE = op_GT = op_GE = _compare

    # -- memory and locals ---------------------------------------------------------------
    def _read(self, var):
        reg = self.promoted.get(var)
        if reg is not None:
            self.push(('p', reg))
        else:
            r = self.alloc()
            self.load_var(r, var)
            self.push(('r', r))

    def _write(self, var):
        e = self.pop()
        if var in self.promoted:
            self.write_var(var, e)
        else:
            self.store_var(var, e)
            self.release(e)

    def op_LOAD(self, ins):
        self._read(('M', ins.arg))

    def op_STORE(self, ins):
        self._write(('M', ins.arg))

    def op_LLOAD(self, ins):
        self._read(('L', ins.arg))

    def op_LSTORE(self, ins):
        self._write(('L', ins.arg))

    def op_LOADI(self, ins):
        a = self.pop_reg()
        self.check_address(a, self.trap('memory address out of range', ins.offset))
        self.load_cell(a, a)
        self.push(('r', a))

    def op_STOREI(self, ins):
        e = self.pop()
        a = self.pop_reg()
        self.check_address(a, self.trap('memory address out of range', ins.offset))
        self.store_cell(a, e)
        self.release(e)
        self.free.append(a)

    # -- control -------------------------------------------------------------------------
    def op_JMP(self, ins):
        self.flush()
        self.jump(self.label_at(ins.target))

    def _branch(self, ins):
        nonzero = ins.op.mnemonic == 'JNZ'
        target = self.label_at(ins.target)
        if self.fused is not None:
            cond, self.fused = self.fused, None
            self.branch_if(cond, target)
            return
        e = self.pop()
        self.flush()
        if e[0] == 'i':
            if bool(e[1]) == nonzero:
                self.jump(target)
            return
        self.branch_on(e, nonzero, target)
        self.release(e)

    op_JZ = op_JNZ = _branch

    def op_CALL(self, ins):
        """Arguments are the top slots, which become the callee's first
        locals in place: move the base up by delta, call through the
        function table, move it back. A call that would pass the end of
        the value stack leaves as a call to uncompiled code does, so the
        interpreter redoes it."""
        b = self.b
        callee = self.program.functions[ins.arg]
        n = callee.nargs
        h = len(self.stack)
        self.flush()
        self.sync_out()
        delta = abi.WORD * (self.nslots + h - n)
        no_room = None
        if self.vstack_checks:
            frame = abi.WORD * (callee.nslots + self.program.facts[ins.arg].max_height)
            no_room = b.label()
            self.check_vstack(delta + frame, no_room)
        self.take_call(self.trap('call stack overflow', ins.offset))
        self.move_base(delta)
        self.call_function(ins.arg)
        self.return_labels.append((b.here(), ins.offset, delta, h))
        self.move_base(-delta)
        self.give_call()
        self.sync_in()

        def cold(delta=delta, pc=ins.offset, h=h):
            self.move_base(delta)
            self.call_routine('rt_uncompiled')
            self.return_labels.append((b.here(), pc, delta, h))
            self.unreachable()  # keeps the return address inside this code
        if no_room is not None:
            self.cold.append((no_room, cold))
        del self.stack[h - n:]
        self.free = list(self.regs)
        self.push(('s', h - n))

    def op_RET(self, ins):
        e = self.pop()
        self.sync_out(cells_only=True)
        self.store_result(e)
        self.release(e)
        self.leave_frame()

    def op_HALT(self, ins):
        self.set_exit_value(self.stack[-1] if self.stack else ('i', 0))
        self.leave(abi.EXIT_HALT)

    def _print(self, ins):
        e = self.pop()
        self.flush()
        value = self.target.registers.print_value
        self.load(value, e)
        self.release(e)
        self.sync_out()
        self.call_routine('rt_print' if ins.op.mnemonic == 'PRINT' else 'rt_printc')
        self.free = list(self.regs)
        self.sync_in()

    op_PRINT = op_PRINTC = _print

    # -- the emit operations a target implements ------------------------------------------
    # Registers passed in are allocatable ones (or print_value); entries are
    # as in the module docstring. An operation may use the target's own
    # scratch registers but no allocatable register it was not given.
    def move(self, dst, src):
        """dst = src, two registers."""
        raise NotImplementedError

    def load(self, reg, e):
        """reg = the value of entry e (may be reg itself; never changes flags)."""
        raise NotImplementedError

    def store_home(self, j, e):
        """Operand-stack slot j's home = e (never changes flags)."""
        raise NotImplementedError

    def load_var(self, reg, var):
        """reg = variable ('L', i) local i or ('M', a) memory cell a, from memory."""
        raise NotImplementedError

    def store_var(self, var, e):
        """The variable's memory home = e."""
        raise NotImplementedError

    def binary(self, m, a, e):
        """a = a OP e for m in ADD SUB MUL AND OR XOR SHL SHR SAR (bytecode semantics)."""
        raise NotImplementedError

    def unary(self, m, r):
        """r = -r (NEG) or ~r (NOT)."""
        raise NotImplementedError

    def divide(self, quotient, e_a, e_b, pc):
        """A register with a / b (quotient) or a % b, both entries released;
        a zero divisor jumps to self.trap('division by zero', pc); INT64_MIN / -1
        gives INT64_MIN and % gives 0."""
        raise NotImplementedError

    def compare(self, e_a, e_b):
        """Set the flags for a signed comparison of a with b."""
        raise NotImplementedError

    def compare_set(self, cond, a, e):
        """a = 1 if (a cond e) else 0."""
        raise NotImplementedError

    def branch_if(self, cond, label):
        """Jump to label if the flags say cond."""
        raise NotImplementedError

    def branch_on(self, e, nonzero, label):
        """Jump to label if e (a register or slot entry) is nonzero / zero."""
        raise NotImplementedError

    def jump(self, label):
        raise NotImplementedError

    def check_address(self, a, trap):
        """Jump to trap unless 0 <= a < mem_cells (one unsigned compare)."""
        raise NotImplementedError

    def load_cell(self, dst, a):
        """dst = memory cell a (a register)."""
        raise NotImplementedError

    def store_cell(self, a, e):
        """memory cell a = e."""
        raise NotImplementedError

    def check_vstack(self, offset, label):
        """Jump to label if base + offset passes the state's vstack_end."""
        raise NotImplementedError

    def take_call(self, trap):
        """Decrement the call budget; jump to trap if it went negative."""
        raise NotImplementedError

    def give_call(self):
        raise NotImplementedError

    def move_base(self, delta):
        """base += delta bytes (nothing for 0)."""
        raise NotImplementedError

    def call_function(self, fidx):
        """Call through the state's function table; the return site is the
        position right after this call."""
        raise NotImplementedError

    def call_local(self, label):
        """Call a label of the code being emitted (a function calling itself:
        no table load); the return site is the position right after it, as
        for call_function."""
        raise NotImplementedError

    def call_routine(self, field):
        """Call the runtime routine in state field `field` (rt_print, ...)."""
        raise NotImplementedError

    def unreachable(self):
        raise NotImplementedError

    def store_result(self, e):
        """base[0] = e (RET's result, the caller's slot)."""
        raise NotImplementedError

    def leave_frame(self):
        """Return to the caller (undo enter_frame)."""
        raise NotImplementedError

    def set_exit_value(self, e):
        raise NotImplementedError

    def leave(self, reason):
        """Exit to the host through rt_exit with exit reason `reason`."""
        raise NotImplementedError

    def trap_site(self, pc, tail):
        """At a trap site: note pc for the tail, then jump to tail."""
        raise NotImplementedError

    def trap_tail(self, code):
        """Record trap `code`, this function and the noted pc; leave with EXIT_TRAP."""
        raise NotImplementedError

    def enter_frame(self):
        """At function entry and OSR entries: whatever a called frame needs
        (keep the return address in its machine-stack slot)."""
        raise NotImplementedError

    def poll(self, stop):
        """Jump to stop if the state's stop flag is set."""
        raise NotImplementedError

    def flags_hold(self, r) -> bool:
        """Whether the last instruction emitted left the condition flags
        saying whether register r is zero (so `branch_if('NE'/'EQ')` can
        test r without a compare). Asked only straight after computing r,
        with no label bound in between. Machines without such flags say no."""
        return False

    def jump_if_low_bits_zero(self, r, mask, label):
        """Jump to label when register r AND mask (2^k - 1, k <= 12) is 0:
        the optimizing tier's counted poll on a loop counter."""
        raise NotImplementedError

    def zero_locals(self, first, count):
        """Locals first .. first+count-1 = 0."""
        raise NotImplementedError

    def count_down(self, offset, label):
        """The state block word at offset -= 1; jump to label below zero."""
        raise NotImplementedError

    def exit_at(self, pc, reason):
        """Note this function and pc in exit_func / exit_pc; leave with reason."""
        raise NotImplementedError

    # optional, for the optimizing tier: mul_high(dst, e_a, e_b) (signed high
    # half of the product) and binary3(m, d, e_a, e_b) (three-operand form)
