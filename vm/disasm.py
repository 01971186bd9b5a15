"""The disassembler: Program -> `.asm` text that assembles back to the same
`.bc` bytes (spec section 5), even for a program the verifier rejects.

What the bytes hold and plain text cannot say is written with the
assembler's extensions: `.source` and `.line` for the LINE section, quoted
names for function names that are not asm names, `CALL N` for a function
index that names no function, a relative number for a jump that does not
land on an instruction, and `.byte` for bytes that do not decode.
"""
from __future__ import annotations

from .opcodes import BY_CODE, Instr
from .program import Function, Program
from .textasm import is_name

_ESCAPES = {'\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r'}
COMMENT_COLUMN = 40


def string_literal(text: str) -> str:
    """A double-quoted string the text assembler reads back as text."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f'\\x{ord(ch):02x}')
        elif ord(ch) < 0x10000:
            out.append(f'\\u{ord(ch):04x}')
        else:
            out.append(f'\\U{ord(ch):08x}')
    return '"' + ''.join(out) + '"'


def name_token(name: str) -> str:
    """A function name as written in `.func`, `.entry` and `CALL`."""
    return name if is_name(name) else string_literal(name)


def items(code: bytes, starts: frozenset[int] | set[int] = frozenset()) -> list[Instr | tuple[int, int]]:
    """Instructions in order; a byte that starts no valid instruction is an
    (offset, byte) pair, and so is every byte of a truncated tail.  An
    instruction that would straddle one of `starts` (an offset that must
    begin an item, e.g. because a LINE record names it) is given as bytes."""
    out: list[Instr | tuple[int, int]] = []
    pos, n = 0, len(code)
    while pos < n:
        op = BY_CODE.get(code[pos])
        if op is None or (starts and any(at in starts for at in range(pos + 1, pos + op.size))):
            out.append((pos, code[pos]))
            pos += 1
        elif pos + op.size > n:
            out.extend((at, code[at]) for at in range(pos, n))
            pos = n
        else:
            out.append(Instr(pos, op, op.imm.unpack(code, pos + 1) if op.imm else None))
            pos += op.size
    return out


def _offset(item) -> int:
    return item.offset if isinstance(item, Instr) else item[0]


MAX_PAD = 3            # blank lines worth padding with rather than a `.line from N`


class _Writer:
    def __init__(self, program: Program):
        self.program = program
        self.out: list[str] = []
        self.line_mode: int | str = 'count'    # as the assembler starts: .line auto
        self.line_delta = 0                    # count: source line = text line + delta

    def emit(self, text: str, offset: int | None = None) -> None:
        if offset is not None:
            text = f'{text:<{COMMENT_COLUMN - 1}} ; {offset}'
        self.out.append(text)

    def header(self) -> None:
        p = self.program
        self.emit('; jitvm disassembly')
        self.emit(f'.memory {p.memory_cells}')
        if 0 <= p.entry < len(p.functions):
            self.emit(f'.entry {name_token(p.functions[p.entry].name)}')
        if any(f.lines for f in p.functions):
            self.emit(f'.source {string_literal(p.source_name)}')
        for addr, values in p.data:
            self.emit(' '.join(['.data', str(addr), *map(str, values)]))

    def function(self, func: Function) -> None:
        self.emit('')
        self.emit(f'.func {name_token(func.name)} {func.nargs} {func.nlocals}')
        listing = items(func.code, set(func.lines))
        starts = {_offset(item) for item in listing}
        labels = {item.target for item in listing
                  if isinstance(item, Instr) and item.op.imm and item.op.imm.name == 'rel'
                  and item.target in starts}
        for i, item in enumerate(listing):
            offset = _offset(item)
            after = func.lines.get(_offset(listing[i + 1]), 'off') if i + 1 < len(listing) else None
            self.set_line(func.lines.get(offset, 'off'), after)
            label = f'L{offset}: ' if offset in labels else ''
            self.emit(f'{label:<8}' + self.render(item, labels), offset)
        self.emit('.end')

    def set_line(self, wanted: int | str, after: int | str | None) -> None:
        """Say the source line of the next instruction only where counting
        text lines does not give it: instructions stand on their own source
        lines (padded with up to MAX_PAD blank lines), `.line from N` restarts
        the count after a jump, `.line N` holds a line several instructions
        share, `.line off` where there is none."""
        mode, here = self.line_mode, len(self.out) + 1
        if wanted == 'off':
            if mode != 'off':
                self.emit('.line off')
                self.line_mode = 'off'
            return
        if mode == wanted:
            return
        if after == wanted:
            self.emit(f'.line {wanted}')
            self.line_mode = wanted
            return
        if mode == 'count' and 0 <= wanted - (here + self.line_delta) <= MAX_PAD:
            self.out.extend([''] * (wanted - (here + self.line_delta)))
            return
        self.emit(f'.line from {wanted}')
        self.line_mode, self.line_delta = 'count', wanted - (here + 1)

    def render(self, item, labels: set[int]) -> str:
        if not isinstance(item, Instr):
            return f'.byte 0x{item[1]:02x}'
        op, arg = item.op, item.arg
        if op.imm is None:
            return op.mnemonic
        kind = op.imm.name
        if kind == 'rel':
            operand = f'L{item.target}' if item.target in labels else f'{arg:+d}'
        elif kind == 'func':
            funcs = self.program.functions
            operand = name_token(funcs[arg].name) if arg < len(funcs) else str(arg)
        else:
            operand = str(arg)
        return f'{op.mnemonic:<7}{operand}'


def disassemble(program: Program) -> str:
    """Text that `vm.textasm.assemble` turns back into the same program
    (and so, through `write_bc`, into the same bytes)."""
    writer = _Writer(program)
    writer.header()
    for func in program.functions:
        writer.function(func)
    return '\n'.join(writer.out) + '\n'


def instruction_text(program: Program, ins: Instr, labels: set[int] = frozenset()) -> str:
    """One instruction as `disassemble` writes it (jump targets in labels
    as `L<offset>`): the bytecode column of `jitvm dump`."""
    return _Writer(program).render(ins, labels)
