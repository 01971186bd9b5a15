"""The binary form `.bc` (spec section 6): Program <-> bytes.

The writer is deterministic: sections in the order CODE FUNC NAME [DATA]
[LINE], functions' code laid out back to back in index order, names stored
once each in order of first use.  DATA is written when the program has data
records, LINE when any function has line information.  The reader accepts
any layout the spec allows (sections in any order, unknown tags, gaps
between functions) and rejects everything else with a BCFormatError naming
the problem.
"""
from __future__ import annotations

import struct
import zlib

from .errors import BCFormatError, shown
from .opcodes import MAX_MEMORY_CELLS
from .program import Function, Program

MAGIC = b'JVBC'
VERSION = 1
HEADER = struct.Struct('<4sHHIII')          # magic, version, flags, memory, entry, crc
SECTION = struct.Struct('<4sI')
FUNC_RECORD = struct.Struct('<IIHHI')        # code offset, length, nargs, nlocals, name
DATA_HEAD = struct.Struct('<II')             # addr, count
LINE_RECORD = struct.Struct('<III')          # function, offset, line
MAX_FUNCTIONS = 1 << 16
KNOWN = (b'CODE', b'FUNC', b'NAME', b'DATA', b'LINE')
REQUIRED = (b'CODE', b'FUNC', b'NAME')


# -- writing ---------------------------------------------------------------------

class _Names:
    """The NAME section: NUL-terminated UTF-8 strings, each stored once."""

    def __init__(self):
        self.blob = bytearray()
        self.offsets: dict[str, int] = {}

    def add(self, name: str) -> int:
        if name not in self.offsets:
            try:
                raw = name.encode('utf-8')
            except UnicodeEncodeError:
                raise BCFormatError(f'cannot write the name {name!r}: not encodable as UTF-8') from None
            if b'\0' in raw:
                raise BCFormatError(f'cannot write the name {name!r}: it contains NUL')
            self.offsets[name] = len(self.blob)
            self.blob += raw + b'\0'
        return self.offsets[name]


def _check_writable(program: Program) -> None:
    funcs = program.functions
    if not 1 <= len(funcs) <= MAX_FUNCTIONS:
        raise BCFormatError(f'cannot write {len(funcs)} functions (1..{MAX_FUNCTIONS})')
    if not 1 <= program.memory_cells <= MAX_MEMORY_CELLS:
        raise BCFormatError(f'cannot write memory_cells {program.memory_cells}')
    if not 0 <= program.entry < len(funcs):
        raise BCFormatError(f'cannot write entry function index {program.entry}')
    for f in funcs:
        if not (0 <= f.nargs <= 0xFFFF and 0 <= f.nlocals <= 0xFFFF):
            raise BCFormatError(f'cannot write function {f.name!r}: nargs/nlocals beyond u16')
    for addr, values in program.data:
        if addr < 0 or addr >= program.memory_cells or addr + len(values) > program.memory_cells:
            raise BCFormatError(f'cannot write a data record at {addr}: outside memory')


def _section(tag: bytes, payload: bytes) -> bytes:
    return SECTION.pack(tag, len(payload)) + payload


def write_bc(program: Program) -> bytes:
    """The `.bc` bytes of a program; the same program gives the same bytes."""
    _check_writable(program)
    names = _Names()
    code = bytearray()
    funcs = bytearray(struct.pack('<I', len(program.functions)))
    for f in program.functions:
        funcs += FUNC_RECORD.pack(len(code), len(f.code), f.nargs, f.nlocals, names.add(f.name))
        code += f.code
    lines = bytearray()
    has_lines = any(f.lines for f in program.functions)
    if has_lines:
        lines += struct.pack('<I', names.add(program.source_name))
        for index, f in enumerate(program.functions):
            for offset in sorted(f.lines):
                lines += LINE_RECORD.pack(index, offset, f.lines[offset])
    body = _section(b'CODE', bytes(code)) + _section(b'FUNC', bytes(funcs)) \
        + _section(b'NAME', bytes(names.blob))
    if program.data:
        data = bytearray()
        for addr, values in program.data:
            data += DATA_HEAD.pack(addr, len(values))
            data += struct.pack(f'<{len(values)}q', *values)
        body += _section(b'DATA', bytes(data))
    if has_lines:
        body += _section(b'LINE', bytes(lines))
    header = HEADER.pack(MAGIC, VERSION, 0, program.memory_cells, program.entry, zlib.crc32(body))
    return header + body


# -- reading ---------------------------------------------------------------------

class _Reader:
    def __init__(self, data: bytes, filename: str):
        self.data = bytes(data)
        self.filename = filename

    def fail(self, problem: str) -> BCFormatError:
        return BCFormatError(f'{shown(self.filename)}: {problem}' if self.filename else problem)

    def read(self) -> Program:
        memory, entry = self.header()
        sections = self.sections()
        code = sections[b'CODE']
        functions = self.functions(sections[b'FUNC'], sections[b'NAME'], code)
        if entry >= len(functions):
            raise self.fail(f'bad entry index {entry} ({len(functions)} functions)')
        data = self.data_records(sections.get(b'DATA'), memory)
        source = ''
        if b'LINE' in sections:
            source = self.lines(sections[b'LINE'], sections[b'NAME'], functions)
        return Program(functions, entry, memory, data, source)

    def header(self) -> tuple[int, int]:
        data = self.data
        if len(data) < 4 or data[:4] != MAGIC:
            raise self.fail('bad magic (not a .bc file)')
        if len(data) < HEADER.size:
            raise self.fail(f'truncated header ({len(data)} of {HEADER.size} bytes)')
        _, version, flags, memory, entry, crc = HEADER.unpack_from(data)
        if version != VERSION:
            raise self.fail(f'unknown version {version} (expected {VERSION})')
        if flags != 0:
            raise self.fail(f'unsupported flags 0x{flags:04x}')
        if not 1 <= memory <= MAX_MEMORY_CELLS:
            raise self.fail(f'memory_cells {memory} out of range (1..{MAX_MEMORY_CELLS})')
        actual = zlib.crc32(data[HEADER.size:])
        if actual != crc:
            self.check_cut_short()
            raise self.fail(f'CRC mismatch (header says 0x{crc:08x}, contents give 0x{actual:08x})')
        return memory, entry

    def check_cut_short(self) -> None:
        """A file whose CRC does not match and whose sections run past its
        end (or that stops before its required sections) was most likely
        cut short: say that rather than `CRC mismatch`. A few bytes after
        complete sections are junk, not a cut: they stay a CRC mismatch."""
        data, pos, seen = self.data, HEADER.size, set()
        if len(data) == HEADER.size:
            raise self.fail(f'truncated file: nothing after the {HEADER.size}-byte header')
        while pos < len(data):
            if pos + SECTION.size > len(data):
                if seen.issuperset(REQUIRED):
                    return
                raise self.fail(f'truncated file: the section header at byte {pos} runs past '
                                f'the end of the file ({len(data)} bytes)')
            tag, length = SECTION.unpack_from(data, pos)
            seen.add(tag)
            end = pos + SECTION.size + length
            if end > len(data):
                raise self.fail(f'truncated file: section {_tag(tag)} at byte {pos} needs '
                                f'{end} bytes, the file has {len(data)}')
            pos = end

    def sections(self) -> dict[bytes, bytes]:
        data, pos, found = self.data, HEADER.size, {}
        while pos < len(data):
            if pos + SECTION.size > len(data):
                raise self.fail(f'section header at byte {pos} runs past the end of the file')
            tag, length = SECTION.unpack_from(data, pos)
            start = pos + SECTION.size
            if start + length > len(data):
                raise self.fail(f'section {_tag(tag)} at byte {pos} runs past the end of the file')
            if tag in KNOWN:
                if tag in found:
                    raise self.fail(f'duplicate {_tag(tag)} section')
                found[tag] = data[start:start + length]
            pos = start + length
        for tag in REQUIRED:
            if tag not in found:
                raise self.fail(f'missing {_tag(tag)} section')
        return found

    def name_at(self, names: bytes, offset: int, what: str) -> str:
        end = names.find(b'\0', offset) if offset < len(names) else -1
        if end < 0:
            raise self.fail(f'bad name offset {offset} for {what}')
        try:
            return names[offset:end].decode('utf-8')
        except UnicodeDecodeError:
            raise self.fail(f'the name of {what} is not valid UTF-8') from None

    def functions(self, payload: bytes, names: bytes, code: bytes) -> list[Function]:
        if len(payload) < 4:
            raise self.fail('FUNC section too short')
        (count,) = struct.unpack_from('<I', payload)
        if not 1 <= count <= MAX_FUNCTIONS:
            raise self.fail(f'function count {count} out of range (1..{MAX_FUNCTIONS})')
        if len(payload) != 4 + count * FUNC_RECORD.size:
            raise self.fail(f'FUNC section length {len(payload)} does not match {count} functions')
        functions, ranges, seen = [], [], set()
        for i in range(count):
            start, length, nargs, nlocals, name_off = FUNC_RECORD.unpack_from(payload, 4 + i * FUNC_RECORD.size)
            if start + length > len(code):
                raise self.fail(f'function {i} code range {start}..{start + length} lies outside CODE'
                                f' ({len(code)} bytes)')
            name = self.name_at(names, name_off, f'function {i}')
            if name in seen:
                raise self.fail(f'duplicate function name {name!r}')
            seen.add(name)
            if length:
                ranges.append((start, start + length, i))
            functions.append(Function(name, nargs, nlocals, code[start:start + length]))
        ranges.sort()
        for (_, end_a, a), (start_b, _, b) in zip(ranges, ranges[1:]):
            if start_b < end_a:
                raise self.fail(f'functions {min(a, b)} and {max(a, b)} overlap in CODE')
        return functions

    def data_records(self, payload: bytes | None, memory: int) -> list[tuple[int, list[int]]]:
        records, pos = [], 0
        while payload is not None and pos < len(payload):
            if pos + DATA_HEAD.size > len(payload):
                raise self.fail(f'truncated DATA record at byte {pos} of the section')
            addr, count = DATA_HEAD.unpack_from(payload, pos)
            pos += DATA_HEAD.size
            if pos + 8 * count > len(payload):
                raise self.fail(f'DATA record at cell {addr} runs past the end of the section')
            if addr >= memory or addr + count > memory:
                raise self.fail(f'data record {addr}..{addr + count - 1} lies outside memory ({memory} cells)')
            records.append((addr, list(struct.unpack_from(f'<{count}q', payload, pos))))
            pos += 8 * count
        return records

    def lines(self, payload: bytes, names: bytes, functions: list[Function]) -> str:
        if len(payload) < 4 or (len(payload) - 4) % LINE_RECORD.size:
            raise self.fail(f'LINE section length {len(payload)} is not a name and whole records')
        (name_off,) = struct.unpack_from('<I', payload)
        source = self.name_at(names, name_off, 'the source')
        last = (-1, -1)
        for func, offset, line in LINE_RECORD.iter_unpack(payload[4:]):
            if func >= len(functions):
                raise self.fail(f'LINE record names function {func} of {len(functions)}')
            if offset >= len(functions[func].code):
                raise self.fail(f'LINE record offset {offset} lies outside function {func}')
            if (func, offset) <= last:
                what = 'duplicate' if (func, offset) == last else 'unsorted'
                raise self.fail(f'{what} LINE record (function {func}, offset {offset})')
            last = (func, offset)
            functions[func].lines[offset] = line
        return source


def _tag(tag: bytes) -> str:
    text = tag.decode('ascii', errors='replace')
    return text if text.isalnum() else repr(tag)


def read_bc(data: bytes, filename: str = '') -> Program:
    """A Program from `.bc` bytes (not yet verified); BCFormatError names
    the problem with anything malformed."""
    return _Reader(data, filename).read()
