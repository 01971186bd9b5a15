"""Build the SSA of one verified function from its bytecode.

Construction follows Braun et al. (2013), "Simple and Efficient
Construction of Static Single Assignment Form": every bytecode variable
(local i 'L<i>', operand-stack slot j 'S<j>', memory 'M') is looked up on
demand, walking up single-predecessor chains and placing a phi where
blocks join, so only values that are read get phis. Stack slots are
ordinary variables because the verifier proved one height per offset.
All blocks are known up front, so no block needs sealing; a phi's operands
are filled from a worklist once every block is filled (no recursion, so
long chains of joins cannot exhaust Python's stack), then trivial phis are
removed to a fixpoint.

Blocks start where the baseline starts them (offset 0, jump targets, after
JMP/JZ/JNZ/RET/HALT); CALL stays inside its block. A synthetic entry block
defines the arguments, zeroed locals and the initial memory state.
"""
from __future__ import annotations

from vm.opcodes import BRANCH, CALL, HALT, JUMP, RETURN

from .ir import Block, Function, remove_trivial_phis, reverse_postorder

_BINARY = {'ADD': 'add', 'SUB': 'sub', 'MUL': 'mul', 'AND': 'and', 'OR': 'or', 'XOR': 'xor',
           'SHL': 'shl', 'SHR': 'shr', 'SAR': 'sar', 'EQ': 'eq', 'NE': 'ne', 'LT': 'lt',
           'LE': 'le', 'GT': 'gt', 'GE': 'ge'}


def leaders(facts) -> list[int]:
    """Block starts as the baseline lowering finds them, reachable only."""
    heights = facts.heights
    starts = {0}
    for ins in facts.instrs:
        if ins.offset not in heights:
            continue
        flow = ins.op.flow
        if flow in (JUMP, BRANCH):
            starts.add(ins.target)
        if flow not in ('next', CALL):
            starts.add(ins.end)
    return sorted(s for s in starts if s in heights)


class _Slot:
    """An operand-stack entry still holding its value from block entry."""
    __slots__ = ('j',)

    def __init__(self, j):
        self.j = j


def promotable_cells(facts) -> bool:
    """Whether LOAD/STORE cells may live in SSA values for the whole
    function: nothing else reads or writes memory while it runs (no
    LOADI/STOREI that could alias them, no CALL whose callee could, or
    whose hand-back would need memory up to date)."""
    return not any(ins.op.mnemonic in ('LOADI', 'STOREI', 'CALL')
                   for ins in facts.instrs if ins.offset in facts.heights)


def live_locals_after_calls(nslots: int, bodies: dict) -> dict[int, list[int]]:
    """CALL offset -> the locals the bytecode may still read after it
    returns (a hand-back there needs exactly these in the frame); bodies
    maps each block start to its instructions."""
    succ = {}
    for s, body in bodies.items():
        last = body[-1]
        flow = last.op.flow
        out = []
        if flow in (JUMP, BRANCH):
            out.append(last.target)
        if flow not in (JUMP, RETURN, HALT):
            out.append(last.end)
        succ[s] = [t for t in out if t in bodies]

    def transfer(body, live):
        for ins in reversed(body):
            m = ins.op.mnemonic
            if m == 'LLOAD':
                live |= 1 << ins.arg
            elif m == 'LSTORE':
                live &= ~(1 << ins.arg)
        return live

    live_in = {s: 0 for s in bodies}
    changed = True
    while changed:
        changed = False
        for s in reversed(list(bodies)):
            out = 0
            for t in succ[s]:
                out |= live_in[t]
            new = transfer(bodies[s], out)
            if new != live_in[s]:
                live_in[s] = new
                changed = True
    result = {}
    for s, body in bodies.items():
        live = 0
        for t in succ[s]:
            live |= live_in[t]
        for ins in reversed(body):
            m = ins.op.mnemonic
            if m == 'CALL':
                result[ins.offset] = [i for i in range(nslots) if live >> i & 1]
            elif m == 'LLOAD':
                live |= 1 << ins.arg
            elif m == 'LSTORE':
                live &= ~(1 << ins.arg)
    return result


class _Builder:
    def __init__(self, program, fidx: int, osr: bool = False, cells: bool = False):
        self.program = program
        func = program.functions[fidx]
        self.func = func
        self.facts = program.facts[fidx]
        self.fn = Function(func.name, fidx, func.nargs, func.nslots, program.memory_cells)
        self.defs: dict = {}              # (variable, block) -> value at the block's end
        self.pending: list = []           # phis whose operands are not filled yet
        self.zero = None
        self.with_osr = osr
        self.osr_blocks: set = set()
        self.cells = cells and promotable_cells(self.facts)
        self.fn.cells_promoted = self.cells

    # -- variables (Braun et al.) ---------------------------------------------
    def write(self, var, block: Block, value) -> None:
        self.defs[(var, block)] = value

    def read(self, var, block: Block):
        chain = []
        while True:
            d = self.defs.get((var, block))
            if d is not None:
                break
            if block in self.osr_blocks:
                d = self.define_at_osr(var, block)
                break
            preds = block.preds
            if len(preds) == 1:
                chain.append(block)
                block = preds[0]
                continue
            if not preds:
                d = self.define_at_entry(var)
                break
            d = self.fn.new_inst('phi', pc=block.start, var=var)
            d.block = block
            block.phis.append(d)
            self.defs[(var, block)] = d
            self.pending.append(d)
            break
        for b in chain:
            self.defs[(var, b)] = d
        return d

    def define_at_osr(self, var, block):
        """A variable at an OSR entry: its frame slot (a local or stack
        slot) or, for a promoted cell, memory; made when first read."""
        if var[0] == 'C':
            d = self.fn.new_inst('load', imm=int(var[1:]), mem=self.defs[('M', block)])
        else:
            d = self.fn.new_inst('osrload', imm=var, var=var)
        d.block = block
        block.insts.insert(len(block.insts) - 1, d)
        self.defs[(var, block)] = d
        return d

    def define_at_entry(self, var):
        """Arguments, zeroed locals and promoted cells' first values, made in
        the entry block when first read."""
        kind, i = var[0], int(var[1:])
        if kind == 'C':
            entry = self.fn.entry
            d = self.fn.new_inst('load', imm=i, mem=self.defs[('M', entry)])
            d.block = entry
            entry.insts.insert(len(entry.insts) - 1, d)
            return self._cache(var, d)
        if kind != 'L':
            raise AssertionError(f'{self.fn.name}: {var} read where it is undefined')
        entry = self.fn.entry
        if i < self.fn.nargs:
            d = self.fn.new_inst('param', imm=i, var=var)
        else:
            if self.zero is None:
                self.zero = self.fn.new_inst('const', imm=0)
                self.zero.block = entry
                entry.insts.insert(len(entry.insts) - 1, self.zero)
            return self._cache(var, self.zero)
        d.block = entry
        entry.insts.insert(len(entry.insts) - 1, d)
        return self._cache(var, d)

    def _cache(self, var, d):
        self.defs[(var, self.fn.entry)] = d
        return d

    def fill_phis(self) -> None:
        while self.pending:
            phi = self.pending.pop()
            phi.args = [self.read(phi.var, p) for p in phi.block.preds]

    # -- the CFG ------------------------------------------------------------------
    def build(self) -> Function:
        fn, facts = self.fn, self.facts
        at, heights = facts.at, facts.heights
        entry = fn.new_block(None)
        starts = leaders(facts)
        blocks = {s: fn.new_block(s) for s in starts}
        bodies = {}
        for s in starts:
            body, pc = [], s
            while True:
                ins = at[pc]
                body.append(ins)
                if ins.op.flow in (JUMP, BRANCH, RETURN, HALT):
                    break
                pc = ins.end
                if pc in blocks:
                    break
            bodies[s] = body
        entry.succs = [blocks[0]]
        if self.with_osr:
            for h in sorted(facts.loop_headers):
                if h in blocks:
                    ob = fn.new_block(None)
                    ob.succs = [blocks[h]]
                    fn.osr[h] = ob
                    self.osr_blocks.add(ob)
                    entry.succs.append(ob)
        for s, body in bodies.items():
            last = body[-1]
            flow = last.op.flow
            if flow == JUMP:
                succs = [blocks[last.target]]
            elif flow == BRANCH:
                fall, target = blocks[last.end], blocks[last.target]
                if fall is target:
                    succs = [fall]             # both ways lead to one block: a jump
                else:
                    succs = [fall, target] if last.op.mnemonic == 'JZ' else [target, fall]
            elif flow in (RETURN, HALT):
                succs = []
            else:
                succs = [blocks[last.end]]
            blocks[s].succs = succs
        order = reverse_postorder(entry)
        for b in order:
            for sc in b.succs:
                sc.preds.append(b)
        fn.blocks = order
        mem0 = fn.append(entry, fn.new_inst('mem0', var='M'))
        fn.append(entry, fn.new_inst('enter' if len(entry.succs) > 1 else 'jmp'))
        self.write('M', entry, mem0)
        calls = any(i.op.mnemonic == 'CALL' for body in bodies.values() for i in body)
        self.live_after_call = live_locals_after_calls(fn.nslots, bodies) if calls else {}
        self.stored_cells_all = sorted({i.arg for body in bodies.values() for i in body
                                        if i.op.mnemonic == 'STORE'}) if self.cells else ()
        for ob in fn.osr.values():
            fn.append(ob, fn.new_inst('mem0', var='M'))
            fn.append(ob, fn.new_inst('jmp'))
            self.write('M', ob, ob.insts[0])
        for b in order[1:]:
            if b in self.osr_blocks:
                continue
            self.fill(b, bodies[b.start], heights[b.start])
        self.fill_phis()
        remove_trivial_phis(fn)
        return fn

    # -- one block ----------------------------------------------------------------
    def fill(self, block: Block, body, height: int) -> None:
        fn = self.fn
        stack: list = [_Slot(j) for j in range(height)]

        def val(x):
            return self.read(f'S{x.j}', block) if isinstance(x, _Slot) else x

        def pop():
            return val(stack.pop())

        def emit(op, args=(), imm=None, pc=None, mem=None):
            return fn.append(block, fn.new_inst(op, args, imm, pc, mem))

        def memory():
            return self.read('M', block)

        term = None
        for ins in body:
            m, pc, arg = ins.op.mnemonic, ins.offset, ins.arg
            if m == 'NOP':
                pass
            elif m == 'PUSH':
                stack.append(emit('const', imm=arg, pc=pc))
            elif m == 'POP':
                stack.pop()
            elif m == 'DUP':
                stack.append(stack[-1])
            elif m == 'SWAP':
                stack[-1], stack[-2] = stack[-2], stack[-1]
            elif m == 'OVER':
                stack.append(stack[-2])
            elif m in _BINARY:
                b = pop()
                a = pop()
                stack.append(emit(_BINARY[m], (a, b), pc=pc))
            elif m in ('DIV', 'MOD'):
                b = pop()
                a = pop()
                checked = emit('chkzero', (b,), pc=pc)
                stack.append(emit(m.lower(), (a, checked), pc=pc))
            elif m in ('NEG', 'NOT'):
                stack.append(emit(m.lower(), (pop(),), pc=pc))
            elif m == 'LOAD':
                if self.cells:
                    stack.append(self.read(f'C{arg}', block))
                else:
                    stack.append(emit('load', imm=arg, pc=pc, mem=memory()))
            elif m == 'STORE':
                v = pop()
                if self.cells:
                    self.write(f'C{arg}', block, v)
                else:
                    self.write('M', block, emit('store', (v,), imm=arg, pc=pc, mem=memory()))
            elif m == 'LOADI':
                a = emit('chkaddr', (pop(),), pc=pc)
                stack.append(emit('loadi', (a,), pc=pc, mem=memory()))
            elif m == 'STOREI':
                v = pop()
                a = emit('chkaddr', (pop(),), pc=pc)
                self.write('M', block, emit('storei', (a, v), pc=pc, mem=memory()))
            elif m == 'LLOAD':
                stack.append(self.read(f'L{arg}', block))
            elif m == 'LSTORE':
                self.write(f'L{arg}', block, pop())
            elif m in ('PRINT', 'PRINTC'):
                emit(m.lower(), (pop(),), pc=pc)
            elif m == 'CALL':
                n = self.program.functions[arg].nargs
                args = [val(x) for x in stack[len(stack) - n:]]
                del stack[len(stack) - n:]
                names = [f'L{i}' for i in self.live_after_call.get(pc, ())]
                state = [self.read(v, block) for v in names]
                names += [f'S{j}' for j in range(len(stack))]
                state += [val(x) for x in stack]
                emit('frame', state, imm=tuple(names), pc=pc)
                emit('chkdepth', pc=pc)
                call = emit('call', args, imm=arg, pc=pc, mem=memory())
                self.write('M', block, call)
                stack.append(call)
            elif m == 'JMP':
                term = ('jmp', (), pc)
            elif m in ('JZ', 'JNZ'):
                cond = pop()
                term = ('br', (cond,), pc) if len(block.succs) == 2 else ('jmp', (), pc)
            elif m == 'RET':
                result = pop()
                for c in self.stored_cells_all:
                    v = self.read(f'C{c}', block)
                    self.write('M', block, emit('store', (v,), imm=c, pc=pc, mem=memory()))
                term = ('ret', (result,), pc)
            elif m == 'HALT':
                top = val(stack[-1]) if stack else None
                if top is None:
                    top = emit('const', imm=0, pc=pc)
                term = ('halt', (top,), pc)
            else:  # pragma: no cover - the opcode table and this switch must agree
                raise AssertionError(f'no SSA rule for {m}')
        if term is None:
            term = ('jmp', (), None)
        if block.succs:
            # the values the successors see: resolve every slot before writing any
            ends = [(j, val(x)) for j, x in enumerate(stack)
                    if not (isinstance(x, _Slot) and x.j == j)]
            for j, v in ends:
                self.write(f'S{j}', block, v)
        op, args, pc = term
        emit(op, args, pc=pc)


def build_function(program, fidx: int, osr: bool = False, cells: bool = False) -> Function:
    """The SSA of function fidx of a verified program. With osr, the entry
    block ends in `enter` and every loop header gets an OSR entry block
    (fn.osr); with cells, a function that no LOADI/STOREI/CALL can disturb
    keeps its LOAD/STORE cells in SSA values and stores the ones it wrote
    at RET (HALT, traps and stops end the run: nobody reads memory then)."""
    return _Builder(program, fidx, osr, cells).build()


def build_program(program) -> list[Function]:
    """The SSA of every function of a verified program, by index."""
    return [build_function(program, i) for i in range(len(program.functions))]
