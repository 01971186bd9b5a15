"""Random VALID, TERMINATING programs made of loop nests, as `.asm` text:
the shapes the loop passes (backends/opt/loops.py) look for, which the
general generator (progen.py) rarely makes.

Each loop has an induction variable stepped by a constant (any int64, so
its products wrap) and ends either on its own trip counter or on the
variable itself; its body adds affine expressions of the counters (i*k,
k*i, i << s, i*v with v set outside, sums of those) and loop-invariant
expressions (of locals set outside the loop, constants, LOADs) into
accumulators, with now and then a STORE/STOREI (memory changes), a LOADI,
a DIV/MOD by a constant, a branch, a PRINT or a CALL (which keep a loop
as it is), a nested loop, or a new value for an invariant. Some loops are
entered from two places, some test at the top. The choices go through
progen's Chooser, so hypothesis can shrink a failure.

With `traps=True` a division may be by zero or by a variable, and an
address may be out of range.
"""
from __future__ import annotations

import random

from .progen import EDGE_VALUES, Chooser, DrawChooser, RandomChooser

CELLS = 64
INVARIANTS = (0, 1, 2)            # locals set before the nest (and sometimes in an outer body)
COUNTERS = (3, 4, 5)              # the induction variable of each nesting depth
TRIPS = (6, 7, 8)                 # the trip counter of each nesting depth
ACCUMULATORS = (9, 10)
NLOCALS = 11
STEPS = (1, 1, 1, 2, 3, -1, -2, 5, 7, 64, 1 << 40, (1 << 62) + 3, -(1 << 63))


class _Loops:
    def __init__(self, ch: Chooser, traps: bool):
        self.ch, self.traps = ch, traps
        self.lines: list[str] = []
        self.labels = 0
        self.depth = 0                # loops around the code being emitted

    def label(self) -> str:
        self.labels += 1
        return f'L{self.labels}'

    def emit(self, *lines: str) -> None:
        self.lines.extend(lines)

    def constant(self) -> int:
        ch = self.ch
        return ch.choice(EDGE_VALUES) if ch.chance(30) else ch.randint(-20, 20)

    # ---------------------------------------------------------- expressions
    def counter(self) -> str:
        return f'LLOAD {COUNTERS[self.ch.randint(0, self.depth - 1)]}'

    def leaf(self) -> None:
        ch = self.ch
        kind = ch.randint(0, 9)
        if kind <= 3 and self.depth:
            self.emit(self.counter())
        elif kind <= 5:
            self.emit(f'LLOAD {ch.choice(INVARIANTS)}')
        elif kind <= 7:
            self.emit(f'PUSH {self.constant()}')
        elif kind == 8:
            self.emit(f'LOAD {ch.randint(0, CELLS - 1)}')
        else:
            self.emit(f'LLOAD {ch.choice(ACCUMULATORS)}')

    def expr(self, depth: int) -> None:
        """Code that pushes one value."""
        ch = self.ch
        kind = ch.randint(0, 11) if depth > 0 else 0
        if kind == 0:
            self.leaf()
        elif kind <= 3 and self.depth:      # an affine term of a counter
            self.emit(self.counter())
            form = ch.randint(0, 3)
            if form == 0:
                self.emit(f'PUSH {self.constant()}', 'MUL')
            elif form == 1:
                self.emit(f'PUSH {ch.randint(0, 70)}', 'SHL')
            elif form == 2:
                self.emit(f'LLOAD {ch.choice(INVARIANTS)}', 'MUL')
            else:
                self.emit(f'PUSH {self.constant()}', 'SWAP', 'MUL')
        elif kind <= 6:
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.emit(ch.choice(('ADD', 'ADD', 'SUB', 'SUB', 'MUL', 'SHL', 'AND', 'XOR',
                                 'SAR', 'SHR', 'LT', 'EQ')))
        elif kind == 7:
            self.expr(depth - 1)
            self.emit('NEG')
        elif kind == 8:
            self.expr(depth - 1)
            if self.traps and ch.chance(25):
                self.expr(0)                # maybe zero
            else:
                self.emit(f'PUSH {ch.choice((1, -1, 2, 3, 7, -8, 1 << 62, -(1 << 63)))}')
            self.emit(ch.choice(('DIV', 'MOD')))
        elif kind == 9:
            self.address()
            self.emit('LOADI')
        else:
            self.leaf()

    def address(self) -> None:
        self.expr(1)
        if not (self.traps and self.ch.chance(15)):
            self.emit(f'PUSH {CELLS - 1}', 'AND')

    # ---------------------------------------------------------- statements
    def statement(self) -> None:
        ch = self.ch
        kind = ch.randint(0, 19)
        if kind <= 7:
            acc = ch.choice(ACCUMULATORS)
            self.emit(f'LLOAD {acc}')
            self.expr(ch.randint(1, 3))
            self.emit(ch.choice(('ADD', 'ADD', 'XOR', 'SUB')), f'LSTORE {acc}')
        elif kind <= 9 and self.depth < len(COUNTERS):
            self.loop()
        elif kind == 10:
            self.expr(2)
            self.emit(f'STORE {ch.randint(0, CELLS - 1)}')
        elif kind == 11:
            self.address()
            self.expr(2)
            self.emit('STOREI')
        elif kind == 12:
            skip = self.label()
            self.expr(2)
            self.emit(ch.choice(('JZ', 'JNZ')) + f' {skip}')
            self.statement()
            self.emit(f'{skip}:')
        elif kind == 13 and ch.chance(40):
            self.expr(1)
            self.emit('PRINT')
        elif kind == 14 and ch.chance(40):
            self.expr(1)
            self.emit('CALL twice', f'LSTORE {ch.choice(ACCUMULATORS)}')
        elif kind == 15 and self.depth:
            self.expr(1)                    # an invariant of the loops inside this one
            self.emit(f'LSTORE {ch.choice(INVARIANTS)}')
        else:
            acc = ch.choice(ACCUMULATORS)
            self.emit(f'LLOAD {acc}', self.counter() if self.depth else 'PUSH 1', 'ADD',
                      f'LSTORE {acc}')

    def body(self) -> None:
        for _ in range(self.ch.randint(1, 4)):
            self.statement()

    def step(self, counter: int, by: int) -> None:
        op = 'ADD' if self.ch.chance(70) else 'SUB'
        self.emit(f'LLOAD {counter}', f'PUSH {by}', op, f'LSTORE {counter}')

    def loop(self) -> None:
        ch = self.ch
        counter, trips = COUNTERS[self.depth], TRIPS[self.depth]
        top, done = self.label(), self.label()
        shape, n = ch.randint(0, 2), ch.randint(1, 4)
        if shape == 0:                      # any start and step: the trip counter ends it
            starts = (self.constant(), self.constant())
        else:                               # small starts, steps 1..3: the variable ends it
            starts = (ch.randint(-3, 3), ch.randint(-3, 3))
            s = ch.randint(1, 3)

        def start(value):
            self.emit(f'PUSH {value}', f'LSTORE {counter}')
            if shape == 0:
                self.emit(f'PUSH {n}', f'LSTORE {trips}')

        if ch.chance(25):                   # entered from two places
            other = self.label()
            self.expr(1)
            self.emit(f'JZ {other}')
            start(starts[0])
            self.emit(f'JMP {top}', f'{other}:')
            start(starts[1])
        else:
            start(starts[0])
        self.emit(f'{top}:')
        if shape == 0:                      # do-while on a trip counter
            self.nest()
            self.step(counter, ch.choice(STEPS))
            self.emit(f'LLOAD {trips}', 'PUSH 1', 'SUB', 'DUP', f'LSTORE {trips}', f'JNZ {top}')
        elif shape == 1:                    # do-while on the variable: i < start + n*s
            self.nest()
            self.emit(f'LLOAD {counter}', f'PUSH {s}', 'ADD', 'DUP', f'LSTORE {counter}',
                      f'PUSH {starts[0] + n * s}', 'LT', f'JNZ {top}')
        else:                               # the test at the top: may run zero times
            self.emit(f'LLOAD {counter}', f'PUSH {starts[0] + ch.randint(0, n) * s}', 'LT',
                      f'JZ {done}')
            self.nest()
            self.emit(f'LLOAD {counter}', f'PUSH {s}', 'ADD', f'LSTORE {counter}', f'JMP {top}')
        self.emit(f'{done}:')

    def nest(self) -> None:
        self.depth += 1
        self.body()
        self.depth -= 1

    def program(self) -> str:
        ch = self.ch
        for v in INVARIANTS + ACCUMULATORS:
            if ch.chance(70):
                self.emit(f'PUSH {self.constant()}', f'LSTORE {v}')
        for _ in range(ch.randint(1, 3)):
            self.loop()
        for v in ACCUMULATORS + COUNTERS:
            self.emit(f'LLOAD {v}', 'PRINT')
        self.emit('HALT')
        out = [f'.memory {CELLS}', f'.func main 0 {NLOCALS}']
        out += [x if x.endswith(':') else '    ' + x for x in self.lines]
        out += ['.end', '.func twice 1 0', '    LLOAD 0', '    DUP', '    ADD', '    RET', '.end']
        return '\n'.join(out) + '\n'


def generate(chooser: Chooser | random.Random, traps: bool = False) -> str:
    if isinstance(chooser, random.Random):
        chooser = RandomChooser(chooser)
    return _Loops(chooser, traps).program()


def generate_from_seed(seed: int, traps: bool = False) -> str:
    return generate(random.Random(seed), traps)


def programs(traps: bool = False):
    """A hypothesis strategy of loop-nest program texts."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        return generate(DrawChooser(draw), traps)
    return build()
