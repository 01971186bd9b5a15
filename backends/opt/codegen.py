"""Machine code from the optimized SSA, through a backend's emit operations.

The optimizing tier produces the same `CompiledCode` as the baseline (an
entry, OSR entries at loop headers, return sites at calls), so the code
cache, executors, exits and hand-backs do not know which tier made it.
It drives the very emitter class of the target (`Target.emitter`), giving
it register entries instead of the baseline's virtual stack: ('r', reg),
('s', j) for a frame slot (spill slots sit above the operand stack) and
('i', n) for constants.

What native code must keep in memory is what a hand-back reads: at each
call the `frame` instruction names the bytecode variables still live and
their values, which are stored to their homes (unless they are there
already), and every value live across the call is reloaded from one of
those homes afterwards (the callee may use every register). Print routines
may yield to the host, so values live across a print are saved in spill
slots. Block layout rotates loops (the test at the bottom) and a compare
that only feeds its block's branch is fused with it.
"""
from __future__ import annotations

from .. import abi
from ..lowering import NEGATE, CompiledCode
from .ir import reachable
from .loopforest import body_reaching as loop_body_to
from .regalloc import allocate, root

MAX_SPILLS = 256            # frame slots above the operand stack (the value stack keeps a page spare)
COMMUTATIVE = frozenset(('add', 'mul', 'and', 'or', 'xor'))
ARITH = {'add': 'ADD', 'sub': 'SUB', 'mul': 'MUL', 'and': 'AND', 'or': 'OR', 'xor': 'XOR',
         'shl': 'SHL', 'shr': 'SHR', 'sar': 'SAR'}
COMPARE = {'eq': 'EQ', 'ne': 'NE', 'lt': 'LT', 'le': 'LE', 'gt': 'GT', 'ge': 'GE'}


class CannotCompile(Exception):
    """The optimizing tier cannot compile this function (the baseline stays)."""


def layout(fn) -> list:
    """Blocks in emission order: reverse postorder with each simple loop
    rotated (its header, when it ends in a branch and has one latch ending
    in a jump, moves after that latch), then the OSR entry blocks."""
    osr = set(fn.osr.values())
    order = [b for b in reachable(fn) if b not in osr]
    index = {b: i for i, b in enumerate(order)}
    for h in list(order[1:]):
        if h.terminator.op != 'br':
            continue
        latches = [p for p in h.preds if p in index and index[p] >= index[h]]
        if len(latches) != 1 or latches[0] is h or latches[0].terminator.op != 'jmp':
            continue
        order.remove(h)
        order.insert(order.index(latches[0]) + 1, h)
        index = {b: i for i, b in enumerate(order)}
    return order + [b for b in reachable(fn) if b in osr]


class Codegen:
    def __init__(self, target, program, fn, vstack_checks=True):
        self.target = target
        self.program = program
        self.fn = fn
        self.facts = program.facts[fn.index]
        self.em = em = target.emitter(target, program, fn.index, target.builder())
        em.promoted = {}
        # the allocator owns every register: an emit op's release() of an
        # operand must not hand that register to its own alloc()
        em.release = lambda e: None
        em.vstack_checks = vstack_checks
        em.ops = sum(1 for i in self.facts.instrs if i.offset in self.facts.heights)
        pool = target.registers.allocatable
        self.temp = pool[-1]
        self.blocks = layout(fn)
        sink_compares(self.blocks)
        self.loops = natural_loops(fn)          # header -> body, for spills and polls
        self.alloc = allocate(self.blocks, pool[:-1], loop_depths(self.loops))
        if self.alloc.nslots > MAX_SPILLS:
            raise CannotCompile(f'{self.alloc.nslots} spill slots')
        self.spill_base = self.facts.max_height
        self.saves: dict = {}
        self.labels = {}
        self.uses = {}
        for v in fn.values():
            for a in v.args:
                self.uses[a] = self.uses.get(a, 0) + 1
        self.frames = {}
        self.native_home = self._native_homes()

    # -- locations ---------------------------------------------------------
    def loc(self, v):
        v = root(v)
        if v.op == 'const':
            return ('i', v.imm)
        reg = self.alloc.reg.get(v)
        if reg is not None:
            return ('r', reg)
        k = self.alloc.slot.get(v)
        if k is None:
            raise CannotCompile(f'{v} ({v.op}) has no location')
        return ('s', self.spill_base + k)

    def label(self, block):
        lab = self.labels.get(block)
        if lab is None:
            lab = self.labels[block] = self.em.b.label(f'b{block.id}')
        return lab

    def put(self, d, e):
        """Location d = entry e (registers, slots or constants; no flags touched)."""
        if d == e:
            return
        if d[0] == 'r':
            self.em.load(d[1], e)
        else:
            self.em.store_home(d[1], e)

    def scratch_for(self, d):
        """The register an op computes into for destination d."""
        return d[1] if d[0] == 'r' else self.temp

    def give(self, r):
        """Let an emit op that allocates get exactly register r."""
        self.em.free = [r]

    # -- the walk ----------------------------------------------------------
    def run(self) -> CompiledCode:
        em, b = self.em, self.em.b
        em.stop = b.label('stop')
        self.entry_label = b.label('entry')      # also the target of recursive calls
        em.osr_stubs = []
        headers = self.facts.loop_headers
        self._live_across()
        entry = None
        for i, blk in enumerate(self.blocks):
            self.next_block = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
            b.bind(self.label(blk))
            self.in_home = {}       # frame slot name -> the value it is known to hold
            if blk is self.fn.entry:
                b.bind(self.entry_label)
                entry = self.entry_label
                em.enter_frame()
                em.poll(em.stop)
            elif blk in self.osr_blocks:
                em.osr_labels[self.osr_blocks[blk]] = b.here()
                em.enter_frame()
            elif blk.start in headers:
                self.loop_poll(blk)
            insts = blk.insts
            for k, ins in enumerate(insts):
                getattr(self, 'op_' + ins.op)(ins, blk, k)
        em.out_of_line()
        return em.finish_code(entry)

    def loop_poll(self, header):
        """The stop-flag poll of a loop header. Where the loop has a counter
        stepping by 1 in a register, the flag is read only when the
        counter's low bits are all zero, at least once every `period`
        iterations: one test and a branch not taken instead of a load.
        The period shrinks with the loop's size, so the work between two
        polls stays under POLL_WORK instructions (a --timeout still stops
        within well under 0.1 s)."""
        body = self.loops.get(header, set())
        counter, size = counted_loop(header, body), loop_size(body)
        period = 1
        while period * 2 <= MAX_POLL_PERIOD and period * 2 * size <= POLL_WORK:
            period *= 2
        loc = self.loc(counter) if counter is not None else None
        if counter is None or period < 2 or loc[0] != 'r':
            self.em.poll(self.em.stop)
            return
        em = self.em
        check, back = em.b.label(), em.b.label()
        em.jump_if_low_bits_zero(loc[1], period - 1, check)
        em.b.bind(back)

        def stub():
            em.poll(em.stop)
            em.jump(back)
        em.cold.append((check, stub))

    @property
    def osr_blocks(self):
        table = getattr(self, '_osr_blocks', None)
        if table is None:
            table = self._osr_blocks = {blk: pc for pc, blk in self.fn.osr.items()}
        return table

    # -- edges -------------------------------------------------------------
    def copies(self, pred, succ):
        """The parallel copy that gives succ's phis their values on this edge."""
        if not succ.phis:
            return []
        k = succ.preds.index(pred)
        moves = []
        for phi in succ.phis:
            if phi.var == 'M':
                continue
            d, s = self.loc(phi), self.loc(phi.args[k])
            if d != s:
                moves.append((d, s))
        return moves

    def emit_moves(self, moves):
        """Sequentialize a parallel move (a cycle goes through the temp)."""
        moves = list(moves)
        while moves:
            sources = {s for _, s in moves}
            ready = [m for m in moves if m[0] not in sources]
            if ready:
                for m in ready:
                    self.put(*m)
                    moves.remove(m)
                continue
            d, s = moves[0]
            t = ('r', self.temp)
            self.put(t, s)
            moves = [(dd, t if ss == s else ss) for dd, ss in moves]
        return

    def goto(self, pred, succ):
        self.emit_moves(self.copies(pred, succ))
        if succ is not self.next_block:
            self.em.jump(self.label(succ))

    def edge_label(self, pred, succ):
        """Where a branch from pred to succ lands: succ itself, or a cold stub
        doing the edge's copies first."""
        moves = self.copies(pred, succ)
        if not moves:
            return self.label(succ)
        lab = self.em.b.label()

        def stub():
            self.emit_moves(moves)
            self.em.jump(self.label(succ))
        self.em.cold.append((lab, stub))
        return lab

    # -- terminators -------------------------------------------------------
    def op_jmp(self, ins, blk, k):
        self.goto(blk, blk.succs[0])

    op_enter = op_jmp

    def op_br(self, ins, blk, k):
        em = self.em
        taken, fall = blk.succs
        c = root(ins.args[0])
        fused = c.op in COMPARE and k >= 1 and blk.insts[k - 1] is c and self.uses.get(c) == 1
        if fused:
            self.give(self.temp)
            em.compare(self.loc(c.args[0]), self.loc(c.args[1]))
            cond = COMPARE[c.op]
            if self.next_block is taken and not self.copies(blk, taken):
                em.branch_if(NEGATE[cond], self.edge_label(blk, fall))
                return
            em.branch_if(cond, self.edge_label(blk, taken))
            self.goto(blk, fall)
            return
        e = self.loc(c)
        if e[0] == 'i':
            self.goto(blk, taken if e[1] else fall)
            return
        if e[0] == 'r' and k >= 1 and blk.insts[k - 1] is c and em.flags_hold(e[1]):
            # the flags of computing c already say whether it is zero
            if self.next_block is taken and not self.copies(blk, taken):
                em.branch_if('EQ', self.edge_label(blk, fall))
                return
            em.branch_if('NE', self.edge_label(blk, taken))
            self.goto(blk, fall)
            return
        if self.next_block is taken and not self.copies(blk, taken):
            em.branch_on(e, False, self.edge_label(blk, fall))
            return
        em.branch_on(e, True, self.edge_label(blk, taken))
        self.goto(blk, fall)

    def op_ret(self, ins, blk, k):
        self.em.store_result(self.loc(ins.args[0]))
        self.em.leave_frame()

    def op_halt(self, ins, blk, k):
        self.em.set_exit_value(self.loc(ins.args[0]))
        self.em.leave(abi.EXIT_HALT)

    # -- values ------------------------------------------------------------
    def op_const(self, ins, blk, k):
        pass

    op_mem0 = op_phi = op_copy = op_const

    def op_param(self, ins, blk, k):
        self.load_into(ins, lambda r: self.em.load_var(r, ('L', ins.imm)))

    def op_osrload(self, ins, blk, k):
        var = ins.imm
        j = int(var[1:])
        if var[0] == 'L':
            self.load_into(ins, lambda r: self.em.load_var(r, ('L', j)))
        else:
            self.load_into(ins, lambda r: self.em.load(r, ('s', j)))

    def op_load(self, ins, blk, k):
        self.load_into(ins, lambda r: self.em.load_var(r, ('M', ins.imm)))

    def op_store(self, ins, blk, k):
        self.em.store_var(('M', ins.imm), self.loc(ins.args[0]))

    def load_into(self, ins, emit):
        if ins not in self.alloc.reg and ins not in self.alloc.slot:
            return                  # dead (no passes ran)
        d = self.loc(ins)
        r = self.scratch_for(d)
        emit(r)
        if d[0] == 's':
            self.em.store_home(d[1], ('r', r))

    def binary_op(self, ins, apply, commutative):
        """d = a OP b through a two-address apply(reg, entry) (reg = reg OP entry)."""
        d = self.loc(ins)
        ea, eb = self.loc(ins.args[0]), self.loc(ins.args[1])
        if d[0] == 'r':
            rd = d[1]
            if ea == d:
                apply(rd, eb)
            elif eb == d:
                if commutative:
                    apply(rd, ea)
                else:
                    self.em.load(self.temp, ea)
                    apply(self.temp, eb)
                    self.em.move(rd, self.temp)
            else:
                self.em.load(rd, ea)
                apply(rd, eb)
            return
        self.em.load(self.temp, ea)
        apply(self.temp, eb)
        self.em.store_home(d[1], ('r', self.temp))

    def _arith(self, ins, blk, k):
        if self._dead(ins):
            return
        m = ARITH[ins.op]
        em = self.em
        three = getattr(em, 'binary3', None)
        d = self.loc(ins)
        if three is not None and d[0] == 'r':
            three(m, d[1], self.loc(ins.args[0]), self.loc(ins.args[1]))
            return
        self.binary_op(ins, lambda r, e: em.binary(m, r, e), ins.op in COMMUTATIVE)

    op_add = op_sub = op_mul = op_and = op_or = op_xor = op_shl = op_shr = op_sar = _arith

    def _compare(self, ins, blk, k):
        if self._dead(ins):
            return
        nxt = blk.insts[k + 1] if k + 1 < len(blk.insts) else None
        if nxt is not None and nxt.op == 'br' and root(nxt.args[0]) is ins and self.uses.get(ins) == 1:
            return                  # fused with the branch
        cond = COMPARE[ins.op]
        self.give(self.temp)
        self.binary_op(ins, lambda r, e: self.em.compare_set(cond, r, e), False)

    op_eq = op_ne = op_lt = op_le = op_gt = op_ge = _compare

    def _unary(self, ins, blk, k):
        if self._dead(ins):
            return
        d = self.loc(ins)
        r = self.scratch_for(d)
        self.em.load(r, self.loc(ins.args[0]))
        self.em.unary(ins.op.upper(), r)
        if d[0] == 's':
            self.em.store_home(d[1], ('r', r))

    op_neg = op_not = _unary

    def _dead(self, ins):
        return ins not in self.alloc.reg and ins not in self.alloc.slot

    def _divmod(self, ins, blk, k):
        if self._dead(ins):
            return
        d = self.loc(ins)
        r = self.scratch_for(d)
        self.give(r)
        got = self.em.divide(ins.op == 'div', self.loc(ins.args[0]), self.loc(ins.args[1]), ins.pc)
        if d[0] == 's':
            self.em.store_home(d[1], ('r', got))
        elif got is not r:
            self.em.move(r, got)

    op_div = op_mod = _divmod

    def op_mulhs(self, ins, blk, k):
        if self._dead(ins):
            return
        d = self.loc(ins)
        r = self.scratch_for(d)
        self.em.mul_high(r, self.loc(ins.args[0]), self.loc(ins.args[1]))
        if d[0] == 's':
            self.em.store_home(d[1], ('r', r))

    # -- checks ------------------------------------------------------------
    def op_chkzero(self, ins, blk, k):
        e = self.loc(ins.args[0])
        nxt = blk.insts[k + 1] if k + 1 < len(blk.insts) else None
        if e[0] == 'i':
            if e[1] == 0:
                self.em.jump(self.em.trap('division by zero', ins.pc))
            return
        if (nxt is not None and nxt.op in ('div', 'mod') and nxt.args[1] is ins
                and nxt.pc == ins.pc and self.uses.get(ins) == 1 and not self._dead(nxt)):
            return                  # the divide tests its divisor itself
        self.em.branch_on(e, False, self.em.trap('division by zero', ins.pc))

    def op_chkaddr(self, ins, blk, k):
        e = self.loc(ins.args[0])
        trap = self.em.trap('memory address out of range', ins.pc)
        if e[0] == 'i':
            if not 0 <= e[1] < self.fn.memory_cells:
                self.em.jump(trap)
            return
        self.em.check_address(self.in_register(e), trap)

    def in_register(self, e):
        if e[0] == 'r':
            return e[1]
        self.em.load(self.temp, e)
        return self.temp

    def op_loadi(self, ins, blk, k):
        if self._dead(ins):
            return
        d = self.loc(ins)
        a = self.loc(ins.args[0])
        if a[0] == 'i':
            if 0 <= a[1] < self.fn.memory_cells:    # else its check jumped to the trap
                self.load_into(ins, lambda r: self.em.load_var(r, ('M', a[1])))
            return
        areg = self.in_register(a)
        r = self.scratch_for(d)
        self.em.load_cell(r, areg)
        if d[0] == 's':
            self.em.store_home(d[1], ('r', r))

    def op_storei(self, ins, blk, k):
        a = self.loc(ins.args[0])
        e = self.loc(ins.args[1])
        if a[0] == 'i':
            if 0 <= a[1] < self.fn.memory_cells:
                self.em.store_var(('M', a[1]), e)
            return
        self.em.store_cell(self.in_register(a), e)

    # -- prints and calls --------------------------------------------------
    def _live_across(self):
        """For every call and print: the values live right after it (not its
        own result), in locations the callee or a yield would clobber."""
        self.across = {}
        live_out = self.alloc.live_out
        for blk in self.blocks:
            live = set(live_out[blk])
            for ins in reversed(blk.insts):
                if ins.op in ('call', 'print', 'printc'):
                    self.across[ins] = [v for v in live if v is not ins]
                if ins in live:
                    live.discard(ins)
                for a in ins.args:
                    a = root(a)
                    if a in self.alloc.reg or a in self.alloc.slot:
                        live.add(a)
            for i, ins in enumerate(blk.insts):
                if ins.op == 'call':
                    f = blk.insts[i - 2] if i >= 2 else None
                    if f is None or f.op != 'frame':
                        raise CannotCompile('a call without its frame state')
                    self.frames[ins] = f

    def _print(self, ins, blk, k):
        em = self.em
        saved = []
        for v in self.across[ins]:
            e = self.loc(v)
            if e[0] == 'r':
                slot = self.saves.get(v)
                if slot is None:
                    slot = self.saves[v] = self.spill_base + self.alloc.nslots + len(self.saves)
                    if slot - self.spill_base >= MAX_SPILLS:
                        raise CannotCompile('too many values live across prints')
                em.store_home(slot, e)
                saved.append((e, slot))
        em.load(self.target.registers.print_value, self.loc(ins.args[0]))
        em.call_routine('rt_print' if ins.op == 'print' else 'rt_printc')
        for e, slot in saved:
            em.load(e[1], ('s', slot))

    op_print = op_printc = _print

    def op_frame(self, ins, blk, k):
        pass                        # stored by the call that follows

    def op_chkdepth(self, ins, blk, k):
        pass                        # the call takes from the budget itself

    def _native_homes(self) -> set:
        """Locals whose home is never written with another value than the
        one it had at entry (a param, or what an OSR entry loaded): storing
        those at calls is needless."""
        seen: dict = {}
        for v in self.fn.values():
            if v.op != 'frame':
                continue
            for name, a in zip(v.imm, v.args):
                if name[0] != 'L':
                    continue
                a = root(a)
                native = (a.op == 'param' and f'L{a.imm}' == name) or \
                         (a.op == 'osrload' and a.imm == name)
                seen[name] = seen.get(name, True) and native
        return {name for name, ok in seen.items() if ok}

    def op_call(self, ins, blk, k):
        em, b = self.em, self.em.b
        frame = self.frames[ins]
        callee = self.program.functions[ins.imm]
        n = callee.nargs
        kept = sum(1 for name in frame.imm if name[0] == 'S')
        h = kept + n
        homes = {}
        known = {}                  # what the slots hold once the callee returns
        for name, a in zip(frame.imm, frame.args):
            e = self.loc(a)
            # a value already in its home (stored at an earlier call of this
            # block, or a call's result) is not stored again
            if name not in self.native_home and self.in_home.get(name) is not root(a):
                if name[0] == 'L':
                    em.store_var(('L', int(name[1:])), e)
                else:
                    em.store_home(int(name[1:]), e)
            homes.setdefault(root(a), name)
            if name[0] == 'L' or int(name[1:]) < h - n:
                known[name] = root(a)
        for i, a in enumerate(ins.args):
            em.store_home(h - n + i, self.loc(a))
        delta = abi.WORD * (self.fn.nslots + h - n)
        pc = ins.pc
        no_room = None
        if em.vstack_checks:
            size = abi.WORD * (callee.nslots + self.program.facts[ins.imm].max_height)
            no_room = b.label()
            em.check_vstack(delta + size, no_room)
        em.take_call(em.trap('call stack overflow', pc))
        em.move_base(delta)
        if ins.imm == self.fn.index:
            em.call_local(self.entry_label)     # recursion: this very code, no table
        else:
            em.call_function(ins.imm)
        em.return_labels.append((b.here(), pc, delta, h))
        em.move_base(-delta)
        em.give_call()
        known[f'S{h - n}'] = root(ins)
        self.in_home = known

        def cold(delta=delta, pc=pc, h=h):
            em.move_base(delta)
            em.call_routine('rt_uncompiled')
            em.return_labels.append((b.here(), pc, delta, h))
            em.unreachable()
        if no_room is not None:
            em.cold.append((no_room, cold))
        for v in self.across[ins]:
            name = homes.get(v)
            if name is None:
                raise CannotCompile(f'{v} is live across a call but no bytecode variable holds it')
            d = self.loc(v)
            r = self.scratch_for(d)
            if name[0] == 'L':
                em.load_var(r, ('L', int(name[1:])))
            else:
                em.load(r, ('s', int(name[1:])))
            if d[0] == 's':
                em.store_home(d[1], ('r', r))
        if not self._dead(ins):
            d = self.loc(ins)
            r = self.scratch_for(d)
            em.load(r, ('s', h - n))
            if d[0] == 's':
                em.store_home(d[1], ('r', r))


MAX_POLL_PERIOD = 4096      # iterations between two reads of the stop flag, at most
POLL_WORK = 1 << 16         # SSA instructions of a loop body run between two reads, at most


def natural_loop(fn, header, index=None) -> set:
    """The natural loop of header: the blocks that reach one of its back
    edges without passing through it (loopforest's rule, here without
    giving the loop a preheader: the code is laid out already). Empty
    when header heads no natural loop. index: block -> reverse-postorder
    position, when the caller has it already."""
    if index is None:
        index = {b: i for i, b in enumerate(reachable(fn))}
    if header not in index:
        return set()
    body = set()
    for p in header.preds:
        if p in index and index[header] <= index[p]:
            part = loop_body_to(p, header, index, fn.entry)
            if part is None:
                return set()
            body |= part
    return body


def sink_compares(blocks) -> None:
    """Move a compare that only feeds its block's branch to just before
    the branch, past what the block computes after it (an induction
    variable's update, say), so that the two fuse into one compare-and-jump
    instead of setcc, movzx, test, jump."""
    uses: dict = {}
    for b in blocks:
        for ins in (*b.phis, *b.insts):
            for a in ins.args:
                uses[a] = uses.get(a, 0) + 1
    for b in blocks:
        insts = b.insts
        if len(insts) < 3 or insts[-1].op != 'br':
            continue
        c = insts[-1].args[0]
        if c.op in COMPARE and uses.get(c) == 1 and c in insts[:-2]:
            insts.remove(c)
            insts.insert(len(insts) - 1, c)


def natural_loops(fn) -> dict:
    """Header -> natural loop, for every block that some back edge enters."""
    index = {b: i for i, b in enumerate(reachable(fn))}
    loops = {}
    for h in index:
        if any(p in index and index[h] <= index[p] for p in h.preds):
            body = natural_loop(fn, h, index)
            if body:
                loops[h] = body
    return loops


def loop_depths(loops: dict) -> dict:
    """Block -> how many natural loops hold it (the register allocator
    keeps what inner loops use in registers first)."""
    depth: dict = {}
    for body in loops.values():
        for b in body:
            depth[b] = depth.get(b, 0) + 1
    return depth


def loop_size(body) -> int:
    return sum(len(b.insts) + 1 for b in body)


def counted_loop(header, body):
    """A phi of header that every edge from inside the loop steps by +1 or
    -1, entered from outside only: it passes through every value, so its
    low bits are all zero once every 2^k iterations. None if there is none."""
    for phi in header.phis:
        if phi.var == 'M':
            continue
        inside = [a for p, a in zip(header.preds, phi.args) if p in body]
        if inside and all(_unit_step(root(a), phi) for a in inside):
            return phi
    return None


def _unit_step(a, phi) -> bool:
    if a.op not in ('add', 'sub') or len(a.args) != 2:
        return False
    x, y = (root(v) for v in a.args)
    if a.op == 'add' and y is phi and x.op == 'const':
        x, y = y, x
    return x is phi and y.op == 'const' and y.imm in (1, -1, (1 << 64) - 1)


def compile_function(target, program, fn, vstack_checks=True) -> CompiledCode:
    """Machine code for one optimized SSA function."""
    return Codegen(target, program, fn, vstack_checks).run()
