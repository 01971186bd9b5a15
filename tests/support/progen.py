"""Random VALID, TERMINATING jitvm programs as `.asm` text.

Used by the property tests (hypothesis) and by tools/fuzz_jit.py (a plain
`random.Random`), so both drive the same generator through a tiny chooser
interface: `randint(lo, hi)` and `choice(seq)`.

Every program passes the verifier by construction: the generator tracks the
operand-stack height, so every statement is stack-neutral and every
expression pushes exactly one value. Termination is by construction too:
loops are counted with their own local, functions only call lower-numbered
functions, and the one recursive function counts an argument down to 0.
A running cost estimate (instructions executed) keeps each program cheap.

With `traps=True` some programs may trap: division by a value that can be
zero, LOADI/STOREI of an unchecked address, or recursion deeper than the
default call-depth limit.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

EDGE_VALUES = (0, 1, -1, 2, 3, 7, 63, 64, 65, 255, 0x141, -8, 1 << 31, -(1 << 31),
               (1 << 32) - 1, 1 << 32, (1 << 63) - 1, -(1 << 63), 0x5555555555555555,
               -0x123456789ABCDEF)
BINARY = ('ADD', 'SUB', 'MUL', 'AND', 'OR', 'XOR', 'SHL', 'SHR', 'SAR',
          'EQ', 'NE', 'LT', 'LE', 'GT', 'GE')
MEMORY_CELLS = 64            # a power of two: `AND MEMORY_CELLS-1` makes any value an address
MAX_ARGS = 8
COST_BUDGET = 20000          # estimated instructions executed per program
DEEP_RECURSION = 12000       # above the default max_call_depth of 10000


class Chooser:
    """The generator's only source of choices."""

    def randint(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def choice(self, seq):
        return seq[self.randint(0, len(seq) - 1)]

    def chance(self, percent: int) -> bool:
        return self.randint(0, 99) < percent


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def randint(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    """Choices from a hypothesis `draw`, so failures shrink."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self.draw, self.st = draw, st

    def randint(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))


@dataclass
class _Func:
    name: str
    nargs: int
    nlocals: int
    cost: int = 0                 # estimated instructions for one call
    lines: list[str] = field(default_factory=list)


class _Generator:
    def __init__(self, ch: Chooser, traps: bool):
        self.ch, self.traps = ch, traps
        self.funcs: list[_Func] = []
        self.labels = 0
        self.cost = 0             # cost of the function being generated
        self.mult = 1             # product of enclosing loop trip counts
        self.depth_left = 0       # nesting allowed for loops / ifs

    # ---------------------------------------------------------- helpers
    def label(self) -> str:
        self.labels += 1
        return f'L{self.labels}'

    def emit(self, *lines: str) -> None:
        self.cur.lines.extend(lines)
        self.cost += self.mult * len(lines)

    def affordable(self, cost: int) -> bool:
        return self.cost + self.mult * cost <= COST_BUDGET

    # ---------------------------------------------------------- expressions
    def expr(self, depth: int) -> None:
        """Code that pushes exactly one value."""
        ch = self.ch
        kind = ch.randint(0, 13) if depth > 0 else ch.randint(0, 2)
        if kind == 0:
            value = ch.choice(EDGE_VALUES) if ch.chance(50) else ch.randint(-100, 100)
            self.emit(f'PUSH {value}')
        elif kind == 1:
            self.emit(f'LLOAD {ch.randint(0, self.cur.nargs + self.cur.nlocals - 1)}'
                      if self.cur.nargs + self.cur.nlocals else f'PUSH {ch.randint(0, 9)}')
        elif kind == 2:
            self.emit(f'LOAD {ch.randint(0, MEMORY_CELLS - 1)}')
        elif kind in (3, 4, 5):
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.emit(ch.choice(BINARY))
        elif kind == 6:
            self.divide(depth)
        elif kind == 7:
            self.expr(depth - 1)
            self.emit(ch.choice(('NEG', 'NOT')))
        elif kind == 8:
            self.shuffle(depth)
        elif kind == 9:
            self.address(depth)
            self.emit('LOADI')
        elif kind in (10, 11):
            self.call(depth)
        elif kind == 12:
            self.expr(depth - 1)
            self.emit('NOP')
        else:
            self.select(depth)

    def divide(self, depth: int) -> None:
        self.expr(depth - 1)
        self.expr(depth - 1)
        if not (self.traps and self.ch.chance(12)):
            self.emit('PUSH 1', 'OR')             # odd, so never zero
        self.emit(self.ch.choice(('DIV', 'MOD')))

    def shuffle(self, depth: int) -> None:
        """DUP, SWAP, OVER and POP, each leaving one value."""
        form = self.ch.randint(0, 3)
        self.expr(depth - 1)
        if form == 0:
            self.emit('DUP', self.ch.choice(BINARY))
        elif form == 1:
            self.expr(depth - 1)
            self.emit('SWAP', self.ch.choice(BINARY))
        elif form == 2:
            self.expr(depth - 1)
            self.emit('OVER', self.ch.choice(BINARY), self.ch.choice(BINARY))
        else:
            self.expr(depth - 1)
            self.emit('POP')

    def address(self, depth: int) -> None:
        self.expr(depth - 1)
        if not (self.traps and self.ch.chance(8)):
            self.emit(f'PUSH {MEMORY_CELLS - 1}', 'AND')

    def call(self, depth: int) -> None:
        callable_ = [f for f in self.funcs if self.affordable(f.cost + 3 * f.nargs)]
        if not callable_:
            self.emit(f'PUSH {self.ch.randint(-5, 5)}')
            return
        f = self.ch.choice(callable_)
        if f.name == 'rec':
            self.emit(f'PUSH {self.ch.randint(0, 6)}')
            for _ in range(f.nargs - 1):
                self.expr(min(depth - 1, 1))
        else:
            for _ in range(f.nargs):
                self.expr(min(depth - 1, 1))
        self.emit(f'CALL {f.name}')
        self.cost += self.mult * f.cost

    def select(self, depth: int) -> None:
        """cond ? a : b, with JZ and JMP, height-balanced on both paths."""
        other, done = self.label(), self.label()
        self.expr(depth - 1)
        self.emit(f'JZ {other}')
        self.expr(depth - 1)
        self.emit(f'JMP {done}', f'{other}:')
        self.expr(depth - 1)
        self.emit(f'{done}:')

    # ---------------------------------------------------------- statements
    def statement(self) -> None:
        """Stack-neutral code."""
        ch = self.ch
        kind = ch.randint(0, 9)
        if kind <= 3 or self.depth_left == 0:
            self.expr(ch.randint(1, 3))
            self.consume()
        elif kind <= 5 and self.loop_slot() is not None:
            self.loop()
        elif kind <= 7:
            self.if_else()
        elif kind == 8:
            self.address(2)
            self.expr(2)
            self.emit('STOREI')
        else:
            self.expr(2)
            self.emit(f'STORE {ch.randint(0, MEMORY_CELLS - 1)}')

    def consume(self) -> None:
        ch = self.ch
        sink = ch.randint(0, 5)
        slots = self.cur.nargs + self.cur.nlocals
        if sink == 0:
            self.emit('PRINT')
        elif sink == 1:
            self.emit('PRINTC')
        elif sink == 2 and self.cur.nargs and ch.chance(50):
            self.emit(f'LSTORE {ch.randint(0, self.cur.nargs - 1)}')
        elif sink == 2 and self.cur.nlocals:
            self.emit(f'LSTORE {slots - 1}')        # the scratch local, never a loop counter
        elif sink == 3:
            self.emit(f'STORE {ch.randint(0, MEMORY_CELLS - 1)}')
        else:
            self.emit('POP')

    def block(self, count: int) -> None:
        for _ in range(count):
            self.statement()

    def loop_slot(self) -> int | None:
        """The local that counts the loop at this nesting depth."""
        level = self.loop_level
        return self.cur.nargs + level if level < self.cur.nlocals - 1 else None

    def loop(self) -> None:
        trips = self.ch.randint(1, 4)
        if not self.affordable(trips * 40):
            self.expr(1)
            self.consume()
            return
        slot, top = self.loop_slot(), self.label()
        self.emit(f'PUSH {trips}', f'LSTORE {slot}', f'{top}:')
        saved = self.mult, self.depth_left
        self.mult *= trips
        self.depth_left -= 1
        self.loop_level += 1
        self.block(self.ch.randint(1, 3))
        self.emit(f'LLOAD {slot}', 'PUSH 1', 'SUB', 'DUP', f'LSTORE {slot}', f'JNZ {top}')
        self.loop_level -= 1
        self.mult, self.depth_left = saved

    def if_else(self) -> None:
        other, done = self.label(), self.label()
        self.expr(2)
        self.emit(f'JZ {other}')
        self.depth_left -= 1
        self.block(self.ch.randint(1, 2))
        if self.ch.chance(15) and self.cur.name != 'main':
            self.expr(1)
            self.emit('RET')          # an early return; the JMP after it is unreachable
        self.emit(f'JMP {done}', f'{other}:')
        self.block(self.ch.randint(0, 2))
        self.emit(f'{done}:')
        self.depth_left += 1

    # ---------------------------------------------------------- functions
    def function(self, name: str, nargs: int, body: int) -> _Func:
        # locals: loop counters (one per nesting level), then one scratch local
        self.cur = _Func(name, nargs, self.ch.randint(0, 4))
        self.cost, self.mult, self.loop_level = 0, 1, 0
        self.depth_left = 3
        self.block(body)
        self.expr(2)
        self.emit('RET')
        self.cur.cost = self.cost
        return self.cur

    def recursive(self) -> _Func:
        """rec(n, ...) = n == 0 ? e : rec(n - 1, ...) + e', depth n + 1."""
        nargs = self.ch.randint(1, 3)
        f = self.cur = _Func('rec', nargs, 1)
        self.cost, self.mult, self.loop_level, self.depth_left = 0, 1, 0, 0
        base = self.label()
        self.emit('LLOAD 0', f'JZ {base}', 'LLOAD 0', 'PUSH 1', 'SUB')
        for i in range(1, nargs):
            self.emit(f'LLOAD {i}')
        self.emit('CALL rec')
        self.expr(1)
        self.emit('ADD', 'RET', f'{base}:')
        self.expr(1)
        self.emit('RET')
        f.cost = self.cost * 7        # called with n <= 6
        return f

    def program(self) -> str:
        ch = self.ch
        data = [ch.choice(EDGE_VALUES) for _ in range(ch.randint(0, 4))]
        if ch.chance(40):
            self.funcs.append(self.recursive())
        for i in range(ch.randint(0, 4)):
            self.funcs.append(self.function(f'f{i}', ch.randint(0, MAX_ARGS), ch.randint(1, 4)))
        main = self.function('main', 0, ch.randint(1, 6))
        if self.traps and ch.chance(10) and any(f.name == 'rec' for f in self.funcs):
            rec = next(f for f in self.funcs if f.name == 'rec')
            main.lines[-2:-2] = [f'PUSH {DEEP_RECURSION}'] + ['PUSH 0'] * (rec.nargs - 1) + \
                                ['CALL rec', 'POP']
        if ch.chance(50):
            main.lines[-1] = 'HALT'
        out = [f'.memory {MEMORY_CELLS}']
        if data:
            out.append(f'.data {ch.randint(0, MEMORY_CELLS - len(data))} ' + ' '.join(map(str, data)))
        for f in self.funcs + [main]:
            out.append(f'.func {f.name} {f.nargs} {f.nlocals}')
            out.extend(l if l.endswith(':') else '    ' + l for l in f.lines)
            out.append('.end')
        return '\n'.join(out) + '\n'


def generate(chooser: Chooser | random.Random, traps: bool = False) -> str:
    """One random valid program as `.asm` text."""
    if isinstance(chooser, random.Random):
        chooser = RandomChooser(chooser)
    return _Generator(chooser, traps).program()


def generate_from_seed(seed: int, traps: bool = False) -> str:
    return generate(random.Random(seed), traps)


def programs(traps: bool = False):
    """A hypothesis strategy of program texts (shrinks through its choices)."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        return generate(DrawChooser(draw), traps)
    return build()
