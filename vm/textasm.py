"""The text assembler: `.asm` text -> Program (spec section 5).

One pass over the lines, in linear time: instructions are encoded as they
are read, jumps to labels are patched at each `.end`, calls by name once the
whole file is read.  Every error names `file:line:col`.

Extensions to the spec's syntax (documented in vm/README.md), all used by
the disassembler so that its text assembles back to the same bytes:
  - `"..."` quoted function names, for names that are not asm names;
  - `CALL N` with a function index;
  - `.byte B ...` raw bytes inside a function;
  - `.source "NAME"` the source name recorded in the LINE section;
  - `.line N | off | auto` the source line recorded for what follows.
"""
from __future__ import annotations

import struct
from .record import field, record

from .errors import AsmError
from .opcodes import BY_NAME, DEFAULT_MEMORY_CELLS, MAX_MEMORY_CELLS, Op
from .program import Function, Program

# The lexical rules are scanned with str methods rather than `re`: `re`
# imports `enum`, together a third of a bare Python start-up, and `jitvm
# run` of a small program has to stay within 2x of that. The regular
# expressions they implement are written beside each rule, and
# tests/vm/test_lexer.py checks the scanners against them on random text.
_NAME_FIRST = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.$')
_NAME_REST = str.maketrans('', '', 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$')
_DEC = str.maketrans('', '', '0123456789')
_HEX = str.maketrans('', '', '0123456789abcdefABCDEF')
_BIN = str.maketrans('', '', '01')
_NOT_PLAIN = frozenset(';#\'":')       # what ends an unquoted token, besides blanks


def is_name(tok: str) -> bool:
    """An asm name: [A-Za-z_.$][A-Za-z0-9_.$]*"""
    return bool(tok) and tok[0] in _NAME_FIRST and not tok.translate(_NAME_REST)


def _all_in(digits: str, table) -> bool:
    return bool(digits) and not digits.translate(table)


_CHAR_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '0': '\0', '\\': '\\', "'": "'"}
_STRING_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '0': '\0', '\\': '\\', '"': '"'}

I64_LO, U64_HI = -(1 << 63), (1 << 64) - 1
U16_HI, U32_HI = (1 << 16) - 1, (1 << 32) - 1
MAX_FUNCTIONS = 1 << 16


def quote(text: str, limit: int = 60) -> str:
    """A token as shown in an error message."""
    return repr(text if len(text) <= limit else text[:limit] + '...')


def wrap_i64(value: int) -> int:
    """Values at or above 2^63 wrap to their two's-complement meaning."""
    return value - (1 << 64) if value >= (1 << 63) else value


def parse_int(tok: str) -> int | None:
    """A number literal (decimal, 0x, 0b, signed, or 'c'), else None:
    [+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)"""
    body = tok[1:] if tok[:1] in ('+', '-') else tok
    prefix = body[:2]
    if prefix in ('0x', '0X') and _all_in(body[2:], _HEX):
        digits, base = body[2:], 16
    elif prefix in ('0b', '0B') and _all_in(body[2:], _BIN):
        digits, base = body[2:], 2
    elif _all_in(body, _DEC):
        digits, base = body, 10
    else:
        return parse_char(tok) if tok[:1] == "'" else None
    if len(digits.lstrip('0')) > 80:        # beyond any range; int() would refuse it
        value = 1 << 300
    else:
        value = int(digits, base)
    return -value if tok[:1] == '-' else value


def parse_char(tok: str) -> int | None:
    """`'c'` or an escape like `'\\n'`; None when malformed."""
    body = tok[1:-1] if len(tok) >= 2 and tok[-1] == "'" else None
    if body is None or not body:
        return None
    if body[0] == '\\':
        ch = _CHAR_ESCAPES.get(body[1:]) if len(body) == 2 else None
        return ord(ch) if ch is not None else None
    return ord(body) if len(body) == 1 else None


def parse_string(tok: str) -> str | None:
    """A double-quoted string with \\\\ \\" \\n \\t \\r \\0 \\xHH \\uHHHH
    \\UHHHHHHHH escapes; None when malformed."""
    if len(tok) < 2 or tok[0] != '"' or tok[-1] != '"':
        return None
    body, out, i = tok[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            return None
        if ch != '\\':
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1:i + 2]
        if esc in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[esc])
            i += 2
            continue
        width = {'x': 2, 'u': 4, 'U': 8}.get(esc)
        digits = body[i + 2:i + 2 + width] if width else ''
        if not width or len(digits) != width or not _all_in(digits, _HEX):
            return None
        code = int(digits, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        out.append(chr(code))
        i += 2 + width
    return ''.join(out)


def words(line: str) -> list[str]:
    """The tokens of one line without their columns: the fast path."""
    if '"' in line or "'" in line:
        return [tok for tok, _ in tokenize(line)]
    return _cut_comment(line).replace(':', ' : ').split()


def _cut_comment(line: str) -> str:
    for ch in ';#':
        at = line.find(ch)
        if at >= 0:
            line = line[:at]
    return line


def tokenize(line: str) -> list[tuple[str, int]]:
    """(token, 1-based column) pairs of one line, comments dropped.
    A quoted token is kept whole, quotes included; an unterminated one
    is kept as is and rejected by whoever parses it. The rule, as one
    regular expression matched again and again from the end of the last:
    \\s*(?:("(?:[^"\\\\]|\\\\.)*"?)|('(?:[^'\\\\]|\\\\.)*'?)|[;#].*|(:)|([^\\s;#'":]+))"""
    quoted = '"' in line or "'" in line
    if not quoted:
        line = _cut_comment(line)
    tokens, pos, n = [], 0, len(line)
    while pos < n:
        ch = line[pos]
        if ch.isspace():
            pos += 1
        elif ch == ':':
            tokens.append((':', pos + 1))
            pos += 1
        elif ch in '"\'':
            end = _quoted_end(line, pos)
            tokens.append((line[pos:end], pos + 1))
            pos = end
        elif ch in ';#':
            break
        else:
            end = pos + 1
            while end < n and not line[end].isspace() and line[end] not in _NOT_PLAIN:
                end += 1
            tokens.append((line[pos:end], pos + 1))
            pos = end
    return tokens


def _quoted_end(line: str, start: int) -> int:
    """Where the quoted token at start ends: after its closing quote, or
    where the line ends, or before a backslash that ends the line (the
    escape needs a character after it, as `\\\\.` does)."""
    quote_ch, pos, n = line[start], start + 1, len(line)
    while pos < n:
        ch = line[pos]
        if ch == quote_ch:
            return pos + 1
        if ch == '\\':
            if pos + 1 >= n or line[pos + 1] == '\n':
                return pos
            pos += 2
        else:
            pos += 1
    return n


@record
class _Func:
    """A function being assembled."""
    name: str
    nargs: int
    nlocals: int
    where: tuple                                  # (line, token index) of its start
    code: bytearray = field(default_factory=bytearray)
    lines: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    fixups: list = field(default_factory=list)   # (imm pos, instr offset, label, where)


class _Assembler:
    def __init__(self, filename: str):
        self.filename = filename
        self.text_lines: list[str] = []
        self.functions: list[_Func] = []
        self.by_name: dict[str, int] = {}
        self.current: _Func | None = None
        self.implicit: _Func | None = None      # main of a file without .func
        self.implicit_what = 'instruction'
        self.seen_func = False
        self.consts: dict[str, int] = {}
        self.memory: int | None = None
        self.data: list = []                   # (addr, values, where)
        self.entry: tuple | None = None        # (name, where)
        self.source: str | None = None
        self.line_mode: int | str = 'auto'     # 'auto', 'off' or a fixed line
        self.line_delta = 0                    # auto: source line = text line + delta (.line from N)
        self.calls: list = []                  # (func, imm pos, name|index, where)
        self.lineno = 0
        self.toks: list[str] = []

    # -- errors -------------------------------------------------------------
    def column(self, line: int, index: int) -> int:
        """1-based column of token `index` of a line (past the end: after
        the last token)."""
        toks = tokenize(self.text_lines[line - 1]) if 0 < line <= len(self.text_lines) else []
        if index < len(toks):
            return toks[index][1]
        return toks[-1][1] + len(toks[-1][0]) if toks else 1

    def error(self, problem: str, index: int = 0, where: tuple | None = None) -> AsmError:
        line, index = where or (self.lineno, index)
        return AsmError(problem, self.filename, line, self.column(line, index))

    # -- the pass over the text ---------------------------------------------
    def run(self, text: str) -> Program:
        if text.startswith('\ufeff'):
            text = text[1:]
        self.text_lines = text.split('\n')
        statement = self.statement
        for lineno, raw in enumerate(self.text_lines, 1):
            toks = words(raw)
            if toks:
                self.lineno = lineno
                self.toks = toks
                statement(toks)
        self.lineno = len(self.text_lines)
        return self.finish()

    def statement(self, toks: list[str]) -> None:
        i, n = 0, len(toks)
        while i + 1 < n and toks[i + 1] == ':':
            self.define_label(toks[i], i)
            i += 2
        if i == n:
            return
        head = toks[i]
        op = BY_NAME.get(head) or BY_NAME.get(head.upper())
        if op is not None:
            self.instruction(op, i)
        elif head[0] == '.':
            self.directive(head.lower(), i)
        elif head == ':':
            raise self.error("unexpected ':'", i)
        elif head[0] in '"\'' or not is_name(head):
            raise self.error(f'expected a mnemonic, got {quote(head)}', i)
        else:
            raise self.error(f'unknown mnemonic {quote(head)}', i)

    # -- functions ------------------------------------------------------------
    def what(self, index: int) -> str:
        is_label = index + 1 < len(self.toks) and self.toks[index + 1] == ':'
        return 'label' if is_label else 'instruction'

    def body(self, index: int) -> _Func:
        """The function an instruction or label at toks[index] belongs to."""
        if self.current is not None:
            return self.current
        if self.seen_func:
            raise self.error(f'{self.what(index)} outside .func', index)
        if self.implicit is None:
            self.implicit = _Func('main', 0, 0, (self.lineno, index))
            self.implicit_what = self.what(index)
        return self.implicit

    def define_label(self, name: str, index: int) -> None:
        func = self.body(index)
        if not is_name(name):
            raise self.error(f'bad label name {quote(name)}', index)
        if name in func.labels:
            raise self.error(f'duplicate label {quote(name)}', index)
        func.labels[name] = len(func.code)

    def record_line(self, func: _Func) -> None:
        mode = self.line_mode
        if mode == 'auto':
            func.lines[len(func.code)] = self.counted_line()
        elif mode != 'off':
            func.lines[len(func.code)] = mode

    def counted_line(self, index: int = 0) -> int:
        """The source line of an instruction in auto mode: its text line,
        shifted by the last `.line from N`."""
        line = self.lineno + self.line_delta
        if line > U32_HI:
            raise self.error(f'source line {line} out of range (.line from counts past {U32_HI})', index)
        return line

    def open_function(self, index: int) -> None:
        toks = self.toks
        if self.current is not None:
            raise self.error(f'.func inside function {quote(self.current.name)} (missing .end)', index)
        if self.implicit is not None:
            raise self.error(f'{self.implicit_what} outside .func', where=self.implicit.where)
        if index + 1 >= len(toks):
            raise self.error('missing function name after .func', index + 1)
        name = self.function_name(index + 1)
        if name in self.by_name:
            raise self.error(f'duplicate function {quote(name)}', index + 1)
        if len(self.functions) >= MAX_FUNCTIONS:
            raise self.error(f'too many functions (at most {MAX_FUNCTIONS})', index)
        if len(toks) > index + 4:
            raise self.error('too many operands for .func (NAME [NARGS [NLOCALS]])', index + 4)
        counts = [self.number(j, 0, U16_HI, consts=False) for j in range(index + 2, len(toks))]
        counts += [0] * (2 - len(counts))
        self.seen_func = True
        self.current = _Func(name, counts[0], counts[1], (self.lineno, index))

    def close_function(self, func: _Func) -> None:
        code = func.code
        for pos, origin, label, where in func.fixups:
            target = func.labels.get(label)
            if target is None:
                raise self.error(f'undefined label {quote(label)}', where=where)
            struct.pack_into('<i', code, pos, target - origin)
        self.by_name[func.name] = len(self.functions)
        self.functions.append(func)

    def function_name(self, index: int) -> str:
        tok = self.toks[index]
        if tok[0] == '"':
            name = parse_string(tok)
            if name is None:
                raise self.error(f'bad string {quote(tok)}', index)
            if '\0' in name:
                raise self.error('a function name may not contain NUL', index)
            return name
        if not is_name(tok):
            raise self.error(f'bad function name {quote(tok)}', index)
        return tok

    # -- operands -------------------------------------------------------------
    def number(self, index: int, lo: int, hi: int, consts: bool = True) -> int:
        """toks[index] as a number (or an earlier .const) in lo..hi."""
        tok = self.toks[index]
        if len(tok) < 19 and tok.isdigit() and tok.isascii():
            value = int(tok)
        else:
            value = parse_int(tok)
        if value is None:
            if consts and is_name(tok):
                value = self.consts.get(tok)
                if value is None:
                    raise self.error(f'undefined constant {quote(tok)}', index)
            elif tok[0] == "'":
                raise self.error(f'bad character literal {quote(tok)}', index)
            else:
                raise self.error(f'expected a number, got {quote(tok)}', index)
        if not lo <= value <= hi:
            shown = tok if len(tok) <= 40 else tok[:40] + '...'
            if shown != str(value):
                shown += f' = {value}' if abs(value) < 1 << 256 else ''
            raise self.error(f'number out of range: {shown} (expected {lo}..{hi})', index)
        return value

    def operands(self, index: int, want: int, what: str) -> None:
        """Exactly `want` operands follow toks[index]."""
        have = len(self.toks) - index - 1
        if have < want:
            raise self.error(f'missing operand for {what}', len(self.toks))
        if have > want:
            raise self.error(f'too many operands for {what}', index + 1 + want)

    # -- instructions ---------------------------------------------------------
    def instruction(self, op: Op, index: int) -> None:
        func = self.current or self.body(index)
        imm = op.imm
        if len(self.toks) != index + (2 if imm else 1):
            self.operands(index, 1 if imm else 0, op.mnemonic)
        code = func.code
        origin = len(code)
        mode = self.line_mode
        if mode == 'auto':
            func.lines[origin] = self.lineno if not self.line_delta else self.counted_line(index)
        elif mode != 'off':
            func.lines[origin] = mode
        code.append(op.code)
        if imm is None:
            return
        kind = imm.name
        at = index + 1
        if kind == 'i64':
            code += imm.pack(wrap_i64(self.number(at, I64_LO, U64_HI)))
        elif kind == 'addr':
            code += imm.pack(self.number(at, 0, U32_HI))
        elif kind == 'local':
            code += imm.pack(self.number(at, 0, U16_HI, consts=False))
        elif kind == 'rel':
            tok = self.toks[at]
            value = parse_int(tok)
            if value is None:
                if not is_name(tok):
                    raise self.error(f'expected a label or an offset, got {quote(tok)}', at)
                func.fixups.append((len(code), origin, tok, (self.lineno, at)))
                value = 0
            elif not imm.lo <= value <= imm.hi:
                self.number(at, imm.lo, imm.hi, consts=False)     # raises the range error
            code += imm.pack(value)
        else:   # a function, by name or by index
            tok = self.toks[at]
            if tok[0] == '"' or is_name(tok):
                target: int | str = self.function_name(at)
            else:
                target = self.number(at, 0, U16_HI, consts=False)
            self.calls.append((func, len(code), target, (self.lineno, at)))
            code += imm.pack(0)

    # -- directives -----------------------------------------------------------
    def directive(self, name: str, index: int) -> None:
        handler = _DIRECTIVES.get(name)
        if handler is None:
            raise self.error(f'unknown directive {quote(self.toks[index])}', index)
        handler(self, index)

    def d_func(self, index: int) -> None:
        self.open_function(index)

    def d_end(self, index: int) -> None:
        self.operands(index, 0, '.end')
        if self.current is None:
            raise self.error('.end without .func', index)
        self.close_function(self.current)
        self.current = None

    def d_memory(self, index: int) -> None:
        self.operands(index, 1, '.memory')
        if self.memory is not None:
            raise self.error('duplicate .memory', index)
        self.memory = self.number(index + 1, 1, MAX_MEMORY_CELLS)

    def d_const(self, index: int) -> None:
        self.operands(index, 2, '.const')
        name = self.toks[index + 1]
        if not is_name(name):
            raise self.error(f'bad constant name {quote(name)}', index + 1)
        if name in self.consts:
            raise self.error(f'duplicate constant {quote(name)}', index + 1)
        self.consts[name] = self.number(index + 2, I64_LO, U64_HI)

    def d_data(self, index: int) -> None:
        if len(self.toks) < index + 2:
            raise self.error('missing operand for .data', index + 1)
        addr = self.number(index + 1, 0, U32_HI)
        values = [wrap_i64(self.number(j, I64_LO, U64_HI)) for j in range(index + 2, len(self.toks))]
        self.data.append((addr, values, (self.lineno, index + 1)))

    def d_entry(self, index: int) -> None:
        self.operands(index, 1, '.entry')
        if self.entry is not None:
            raise self.error('duplicate .entry', index)
        self.entry = (self.function_name(index + 1), (self.lineno, index + 1))

    def d_source(self, index: int) -> None:
        self.operands(index, 1, '.source')
        if self.source is not None:
            raise self.error('duplicate .source', index)
        tok = self.toks[index + 1]
        text = parse_string(tok) if tok[0] == '"' else tok
        if text is None or '\0' in text:
            raise self.error(f'bad string {quote(tok)}', index + 1)
        self.source = text

    def d_line(self, index: int) -> None:
        if len(self.toks) > index + 1 and self.toks[index + 1].lower() == 'from':
            # .line from N: C's #line -- the next text line is source line N, and counting on
            self.operands(index, 2, '.line from')
            self.line_mode = 'auto'
            self.line_delta = self.number(index + 2, 0, U32_HI, consts=False) - (self.lineno + 1)
            return
        self.operands(index, 1, '.line')
        word = self.toks[index + 1].lower()
        if word in ('off', 'auto'):
            self.line_mode = word
            self.line_delta = 0
        else:
            self.line_mode = self.number(index + 1, 0, U32_HI, consts=False)

    def d_byte(self, index: int) -> None:
        func = self.body(index)
        if len(self.toks) < index + 2:
            raise self.error('missing operand for .byte', index + 1)
        values = [self.number(j, 0, 255) for j in range(index + 1, len(self.toks))]
        self.record_line(func)
        func.code += bytes(values)

    # -- the end of the file ------------------------------------------------
    def finish(self) -> Program:
        if self.current is not None:
            f = self.current
            raise self.error(f'missing .end for function {quote(f.name)}', where=f.where)
        if not self.seen_func:
            self.close_function(self.implicit or _Func('main', 0, 0, (1, 0)))
        for func, pos, target, where in self.calls:
            if isinstance(target, str):
                index = self.by_name.get(target)
                if index is None:
                    raise self.error(f'unknown function {quote(target)}', where=where)
            else:
                index = target
            struct.pack_into('<H', func.code, pos, index)
        memory = self.memory if self.memory is not None else DEFAULT_MEMORY_CELLS
        for addr, values, where in self.data:
            if addr >= memory or addr + len(values) > memory:
                last = addr + max(len(values), 1) - 1
                raise self.error(f'data outside memory: cells {addr}..{last} of {memory}', where=where)
        entry = self.entry_index()
        functions = [Function(f.name, f.nargs, f.nlocals, bytes(f.code), f.lines) for f in self.functions]
        return Program(functions, entry, memory, [(a, v) for a, v, _ in self.data],
                       self.source if self.source is not None else self.filename)

    def entry_index(self) -> int:
        if self.entry is not None:
            name, where = self.entry
            index = self.by_name.get(name)
            if index is None:
                raise self.error(f'unknown entry function {quote(name)}', where=where)
            return index
        index = self.by_name.get('main')
        if index is None:
            raise AsmError("no function 'main' (name the entry function with .entry)", self.filename)
        return index


_DIRECTIVES = {
    '.func': _Assembler.d_func, '.end': _Assembler.d_end, '.memory': _Assembler.d_memory,
    '.const': _Assembler.d_const, '.data': _Assembler.d_data, '.entry': _Assembler.d_entry,
    '.source': _Assembler.d_source, '.line': _Assembler.d_line, '.byte': _Assembler.d_byte,
}


def assemble(text: str, filename: str = '<input>') -> Program:
    """Assemble `.asm` text; raises AsmError naming file:line:col."""
    return _Assembler(filename).run(text)
