"""Translate a verified function into Python source, one closure per basic
block: the reference interpreter's speed comes from here.

Inside a block the operand stack lives in Python locals (a virtual stack of
temporaries); only at block boundaries is it the frame's real list `S`.
Results of +, -, *, neg and << are kept "raw" (congruent mod 2^64) and wrapped
to int64 only where the value is observed or escapes: a store, a compare, a
division, a print, an address, a right shift. That is the whole trick behind
exact int64 semantics at Python speed.

A block function takes (L, S) -- the frame's locals and operand stack -- and
returns the next pc in the same function, or a negative action code `~k`
whose meaning is `actions[k]` (call, return, halt, hot loop).
"""
from __future__ import annotations

from .record import record

from .opcodes import BRANCH, CALL, HALT, JUMP, RETURN, Instr

MASK = 0xFFFFFFFFFFFFFFFF
SIGN = 1 << 63

# action kinds, returned to the dispatcher as ~index into Translation.actions
ACT_CALL, ACT_RET, ACT_HALT, ACT_HOT = range(4)


def wrap(x: int) -> int:
    """The int64 that x is congruent to mod 2^64."""
    return ((x + SIGN) & MASK) - SIGN


@record
class Translation:
    source: str
    block_starts: list[int]
    actions: list[tuple]          # (kind, ...) per action index
    loop_headers: list[int]       # pcs counted for hotness, by counter index


class _Val:
    """A virtual-stack entry: a Python expression and whether it may be raw."""
    __slots__ = ('expr', 'raw')

    def __init__(self, expr: str, raw: bool = False):
        self.expr, self.raw = expr, raw

    def norm(self) -> str:
        if not self.raw:
            return self.expr
        return f'((({self.expr}) + {SIGN}) & {MASK}) - {SIGN}'


def block_leaders(instrs: list[Instr], reachable) -> list[int]:
    """Block starts: entry, jump targets, after every control transfer, and
    every CALL (so an exit from native code can resume the interpreter at a
    call)."""
    starts = {0}
    for ins in instrs:
        if ins.offset not in reachable:
            continue
        flow = ins.op.flow
        if flow in (JUMP, BRANCH):
            starts.add(ins.target)
        if flow != 'next':
            starts.add(ins.end)
        if flow == CALL:
            starts.add(ins.offset)
    return sorted(s for s in starts if s in reachable)


class FunctionTranslator:
    def __init__(self, program, fidx: int, facts, *, hot_counters: bool, count: bool):
        self.program = program
        self.fidx = fidx
        self.func = program.functions[fidx]
        self.facts = facts
        self.hot = hot_counters
        self.count = count
        self.actions: list[tuple] = []
        self.loop_headers: list[int] = []
        self.by_offset = {ins.offset: ins for ins in facts.instrs}
        self.reachable = set(facts.heights)

    # -- helpers ---------------------------------------------------------
    def _action(self, *act) -> int:
        self.actions.append(act)
        return ~(len(self.actions) - 1)

    def _hot_index(self, header: int) -> int:
        if header not in self.loop_headers:
            self.loop_headers.append(header)
        return self.loop_headers.index(header)

    def translate(self) -> Translation:
        starts = block_leaders(self.facts.instrs, self.reachable)
        self.starts = set(starts)
        blocks = [self._block(s) for s in starts]
        return Translation('\n'.join(blocks), starts, self.actions, self.loop_headers)

    # -- one block -------------------------------------------------------
    def _block(self, start: int) -> str:
        out: list[str] = []
        stack: list[_Val] = []
        ntemp = [0]
        ind = '    '
        # a block whose terminator jumps back to its own start runs as a while loop
        end_ins = self._last_instr(start)
        self_loop = end_ins.op.flow in (JUMP, BRANCH) and end_ins.target == start
        if self_loop:
            ind = '        '
        body_len = sum(1 for _ in self._instrs_of(start))

        def emit(line: str):
            out.append(ind + line)

        def temp(expr: str, raw: bool = False) -> _Val:
            name = f't{ntemp[0]}'
            ntemp[0] += 1
            emit(f'{name} = {expr}')
            return _Val(name, raw)

        def pop() -> _Val:
            if stack:
                return stack.pop()
            return temp('S.pop()')

        def norm_val(v: _Val) -> _Val:
            return temp(v.norm()) if v.raw else v

        def flush():
            vals = [v.norm() for v in stack]
            stack.clear()
            if len(vals) == 1:
                emit(f'S.append({vals[0]})')
            elif vals:
                emit(f'S.extend(({", ".join(vals)},))')

        def trap(cond: str, phrase: str, pc: int):
            emit(f'if {cond}: raise _Trap({phrase!r}, {pc})')

        if self.count:
            emit(f'_CNT[0] += {body_len}')
        terminated = False
        for ins in self._instrs_of(start):
            pc, m, arg = ins.offset, ins.op.mnemonic, ins.arg
            if m == 'NOP':
                pass
            elif m == 'PUSH':
                stack.append(_Val(repr(arg)))
            elif m == 'POP':
                if stack:
                    stack.pop()
                else:
                    emit('S.pop()')
            elif m == 'DUP':
                a = pop()
                if a.raw:
                    a = norm_val(a)
                stack += [a, a]
            elif m == 'SWAP':
                b, a = pop(), pop()
                stack += [b, a]
            elif m == 'OVER':
                b, a = pop(), pop()
                stack += [a, b, a]
            elif m in ('ADD', 'SUB', 'MUL', 'AND', 'OR', 'XOR'):
                b, a = pop(), pop()
                sym = {'ADD': '+', 'SUB': '-', 'MUL': '*', 'AND': '&', 'OR': '|', 'XOR': '^'}[m]
                if m == 'MUL':   # keep products small: wrap the factors first
                    a, b = norm_val(a), norm_val(b)
                raw = m in ('ADD', 'SUB', 'MUL') or a.raw or b.raw
                stack.append(temp(f'{a.expr} {sym} {b.expr}', raw))
            elif m == 'NEG':
                a = pop()
                stack.append(temp(f'-{a.expr}', True))
            elif m == 'NOT':
                a = pop()
                stack.append(temp(f'~{a.expr}', a.raw))
            elif m in ('DIV', 'MOD'):
                b, a = norm_val(pop()), norm_val(pop())
                trap(f'not {b.expr}', 'division by zero', pc)
                if m == 'DIV':
                    q = temp(f'abs({a.expr}) // abs({b.expr})')
                    emit(f'if ({a.expr} < 0) != ({b.expr} < 0): {q.expr} = -{q.expr}')
                    q.raw = True          # INT64_MIN / -1 = 2^63 wraps
                    stack.append(q)
                else:
                    r = temp(f'abs({a.expr}) % abs({b.expr})')
                    emit(f'if {a.expr} < 0: {r.expr} = -{r.expr}')
                    stack.append(r)
            elif m == 'SHL':
                b, a = pop(), pop()
                stack.append(temp(f'{a.expr} << ({b.expr} & 63)', True))
            elif m == 'SHR':
                b, a = pop(), pop()
                stack.append(temp(f'({a.expr} & {MASK}) >> ({b.expr} & 63)', True))
            elif m == 'SAR':
                b, a = pop(), norm_val(pop())
                stack.append(temp(f'{a.expr} >> ({b.expr} & 63)'))
            elif m in ('EQ', 'NE', 'LT', 'LE', 'GT', 'GE'):
                b, a = norm_val(pop()), norm_val(pop())
                sym = {'EQ': '==', 'NE': '!=', 'LT': '<', 'LE': '<=', 'GT': '>', 'GE': '>='}[m]
                stack.append(temp(f'1 if {a.expr} {sym} {b.expr} else 0'))
            elif m == 'LOAD':
                stack.append(temp(f'M[{arg}]'))
            elif m == 'STORE':
                a = pop()
                emit(f'M[{arg}] = {a.norm()}')
            elif m == 'LOADI':
                a = norm_val(pop())
                trap(f'not 0 <= {a.expr} < _NCELLS', 'memory address out of range', pc)
                stack.append(temp(f'M[{a.expr}]'))
            elif m == 'STOREI':
                v, a = pop(), norm_val(pop())
                trap(f'not 0 <= {a.expr} < _NCELLS', 'memory address out of range', pc)
                emit(f'M[{a.expr}] = {v.norm()}')
            elif m == 'LLOAD':
                stack.append(temp(f'L[{arg}]'))
            elif m == 'LSTORE':
                a = pop()
                emit(f'L[{arg}] = {a.norm()}')
            elif m == 'PRINT':
                a = pop()
                emit(f'_W(b"%d\\n" % ({a.norm()}))')
                emit('if len(_OB) > 65536: _FLUSH()')
            elif m == 'PRINTC':
                a = pop()
                emit(f'_A({a.expr} & 255)')
                emit('if len(_OB) > 65536: _FLUSH()')
            elif m == 'JMP':
                flush()
                self._goto(emit, ins, start, self_loop)
                terminated = True
            elif m in ('JZ', 'JNZ'):
                a = pop()
                flush()
                test = f'{a.expr} & {MASK}' if a.raw else a.expr
                cond = test if m == 'JNZ' else f'not ({test})'
                emit(f'if {cond}:')
                self._goto(lambda line: emit('    ' + line), ins, start, self_loop)
                emit(f'return {self._fallthrough(ins.end)}')
                terminated = True
            elif m == 'CALL':
                flush()
                emit(f'return {self._action(ACT_CALL, arg, ins.end, pc)}')
                terminated = True
            elif m == 'RET':
                a = pop()
                flush()
                emit(f'S.append({a.norm()})')
                emit(f'return {self._action(ACT_RET, pc)}')
                terminated = True
            elif m == 'HALT':
                flush()
                emit(f'return {self._action(ACT_HALT, pc)}')
                terminated = True
            else:  # pragma: no cover - the opcode table and this switch must agree
                raise AssertionError(f'no interpreter rule for {m}')
            if terminated:
                break
        if not terminated:      # falls into the next block
            flush()
            emit(f'return {self._fallthrough(end_ins.end)}')
        head = f'def b_{start}(L, S):'
        if self_loop:
            return head + '\n    while True:\n' + '\n'.join(out)
        return head + '\n' + '\n'.join(out)

    def _goto(self, emit, ins: Instr, start: int, self_loop: bool):
        target = ins.target
        if target <= ins.offset and self.hot:
            k = self._hot_index(target)
            emit(f'_HOT[{k}] -= 1')
            emit(f'if _HOT[{k}] <= 0: return {self._action(ACT_HOT, target, k)}')
        if self_loop and target == start:
            emit('continue')
        else:
            emit(f'return {self._fallthrough(target)}')

    def _fallthrough(self, pc: int) -> int:
        """The value a block returns to go to pc: the pc itself, or, when pc
        is a lone CALL, that call's action (saving one dispatch)."""
        ins = self.by_offset.get(pc)
        if ins is not None and ins.op.flow == CALL:
            return self._action(ACT_CALL, ins.arg, ins.end, pc)
        return pc

    def _instrs_of(self, start: int):
        ins = self.by_offset[start]
        while True:
            yield ins
            if ins.op.flow in (JUMP, BRANCH, CALL, RETURN, HALT):
                return
            nxt = self.by_offset.get(ins.end)
            if nxt is None or nxt.offset in self.starts:
                return
            ins = nxt

    def _last_instr(self, start: int) -> Instr:
        last = None
        for last in self._instrs_of(start):
            pass
        return last
