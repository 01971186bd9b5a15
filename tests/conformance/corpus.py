"""The conformance corpus: load `.case` files, run them on an engine, and
compare what the user would see with what the case expects.

The format is defined in tests/conformance/README.md; this module is its
only reader, so the README and this file change together.
"""
from __future__ import annotations

import re
import shlex
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from vm.api import Outcome, RunConfig, execute

CASES_DIR = Path(__file__).parent / 'cases'
SOURCE_NAME = 'prog.asm'
BC_NAME = 'prog.bc'
HEADER_SIZE = 20

# sections whose value sits on the header line itself
INLINE = {'result', 'exit', 'error', 'offset'}
# sections whose value is the block of lines below the header
BLOCK = {'asm', 'bc', 'patch', 'options', 'stdout', 'message'}


class CaseFormatError(Exception):
    """A `.case` file that does not follow the README: a bug in the corpus."""


@dataclass
class Case:
    name: str
    asm: str | None = None
    bc: bytes | None = None
    patch: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    stdout: bytes = b''
    result: int | None = None
    exit: int = 0
    error: str | None = None
    offset: int | None = None
    message: list[str] = field(default_factory=list)

    def program_input(self) -> tuple[bytes | str, str]:
        """What is handed to the VM, and under which file name."""
        if self.bc is None and not self.patch:
            return self.asm, SOURCE_NAME
        data = self.bc if self.bc is not None else _assemble_to_bc(self.asm)
        for line in self.patch:
            data = apply_patch(data, line)
        return data, BC_NAME


# ----------------------------------------------------------------- parsing

def parse_case(text: str, name: str = '<case>') -> Case:
    case = Case(name)
    seen: set[str] = set()
    current, body = None, []

    def close():
        if current is not None:
            _store_block(case, current, body)

    for lineno, line in enumerate(text.split('\n'), 1):
        m = re.match(r'^-- ([a-z]+)(?:[ \t]+(.*))?$', line)
        if not m:
            if current is None:
                if line.strip() and not line.startswith('#'):
                    raise CaseFormatError(f'{name}:{lineno}: text before the first section')
            else:
                body.append(line)
            continue
        close()
        key, value = m.group(1), (m.group(2) or '').rstrip()
        if key in seen:
            raise CaseFormatError(f'{name}:{lineno}: section -- {key} given twice')
        seen.add(key)
        if key in INLINE:
            if not value:
                raise CaseFormatError(f'{name}:{lineno}: -- {key} needs a value')
            _store_inline(case, key, value, f'{name}:{lineno}')
            current, body = None, []
        elif key in BLOCK:
            if value:
                raise CaseFormatError(f'{name}:{lineno}: -- {key} takes a block, not a value')
            current, body = key, []
        else:
            raise CaseFormatError(f'{name}:{lineno}: unknown section -- {key}')
    close()
    _check_complete(case, seen)
    return case


def _store_inline(case: Case, key: str, value: str, where: str) -> None:
    if key == 'error':
        case.error = value
        return
    try:
        number = int(value, 0)
    except ValueError:
        raise CaseFormatError(f'{where}: -- {key} needs a number, got {value!r}') from None
    setattr(case, key, number)


def _store_block(case: Case, key: str, lines: list[str]) -> None:
    while lines and lines[-1] == '':
        lines = lines[:-1]           # blank lines before the next section are layout
    if key == 'asm':
        case.asm = '\n'.join(lines) + '\n'
    elif key == 'bc':
        case.bc = parse_hex(' '.join(_strip_comment(l) for l in lines))
    elif key == 'patch':
        case.patch = [p for p in (_strip_comment(l).strip() for l in lines) if p]
    elif key == 'options':
        case.options = shlex.split(' '.join(lines))
    elif key == 'stdout':
        case.stdout = decode_stdout(lines)
    elif key == 'message':
        case.message = [l.strip() for l in lines if l.strip()]


def _check_complete(case: Case, seen: set[str]) -> None:
    if case.asm is None and case.bc is None:
        raise CaseFormatError(f'{case.name}: needs -- asm or -- bc')
    if case.asm is not None and case.bc is not None:
        raise CaseFormatError(f'{case.name}: -- asm and -- bc exclude each other')
    if case.exit == 0:
        if case.result is None:
            raise CaseFormatError(f'{case.name}: a case that ends normally needs -- result')
        if case.error or case.offset is not None or case.message:
            raise CaseFormatError(f'{case.name}: exit 0 cannot have an error')
    else:
        if case.error is None:
            raise CaseFormatError(f'{case.name}: exit {case.exit} needs -- error')
        if case.result is not None:
            raise CaseFormatError(f'{case.name}: only exit 0 has a result')


def _strip_comment(line: str) -> str:
    return line.split('#', 1)[0]


def decode_stdout(lines: list[str]) -> bytes:
    """Each body line is one output line plus b'\\n'; `\\c` at the end of the
    last line drops that newline; `\\xHH` is any byte; `\\\\` is a backslash."""
    out = bytearray()
    for i, line in enumerate(lines):
        text, newline = line, True
        if text.endswith('\\c') and not text.endswith('\\\\c'):
            if i != len(lines) - 1:
                raise CaseFormatError('\\c is only allowed at the end of the last stdout line')
            text, newline = text[:-2], False
        out += _unescape(text)
        if newline:
            out += b'\n'
    return bytes(out)


def _unescape(text: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(text):
        ch = text[i]
        if ch != '\\':
            out += ch.encode('utf-8')
            i += 1
        elif text[i + 1:i + 2] == '\\':
            out += b'\\'
            i += 2
        elif text[i + 1:i + 2] == 'x' and re.fullmatch(r'[0-9a-fA-F]{2}', text[i + 2:i + 4]):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raise CaseFormatError(f'bad escape in stdout: {text[i:i + 4]!r}')
    return bytes(out)


def parse_hex(text: str) -> bytes:
    """Bytes from hex pairs and typed literals: `4a 56`, `"JVBC"`,
    `u16:1`, `u32:5`, `i32:-3`, `i64:-1` (little-endian)."""
    out = bytearray()
    for token in re.findall(r'"[^"]*"|\S+', text):
        if token.startswith('"'):
            out += token[1:-1].encode('ascii')
        elif ':' in token:
            kind, _, value = token.partition(':')
            fmt = {'u8': '<B', 'u16': '<H', 'u32': '<I', 'i32': '<i', 'i64': '<q', 'u64': '<Q'}.get(kind)
            if fmt is None:
                raise CaseFormatError(f'unknown typed literal {token!r}')
            out += struct.pack(fmt, int(value, 0))
        else:
            if not re.fullmatch(r'([0-9a-fA-F]{2})+', token):
                raise CaseFormatError(f'bad hex token {token!r}')
            out += bytes.fromhex(token)
    return bytes(out)


# ----------------------------------------------------------------- .bc patches

def _assemble_to_bc(asm: str) -> bytes:
    from vm.bcfile import write_bc
    from vm.textasm import assemble
    return write_bc(assemble(asm, SOURCE_NAME))


def split_sections(data: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, payload) of a well-formed file's sections, in file order."""
    sections, pos = [], HEADER_SIZE
    while pos < len(data):
        tag = data[pos:pos + 4]
        (length,) = struct.unpack_from('<I', data, pos + 4)
        sections.append((tag, data[pos + 8:pos + 8 + length]))
        pos += 8 + length
    return sections


def join_sections(header: bytes, sections: list[tuple[bytes, bytes]]) -> bytes:
    return header + b''.join(t + struct.pack('<I', len(p)) + p for t, p in sections)


def _section_at(data: bytes, tag: bytes) -> int:
    """File offset of the first section with this tag (its tag field)."""
    pos = HEADER_SIZE
    while pos < len(data):
        if data[pos:pos + 4] == tag:
            return pos
        pos += 8 + struct.unpack_from('<I', data, pos + 4)[0]
    raise CaseFormatError(f'no section {tag!r} to patch')


_HEADER_FIELDS = {'magic': (0, None), 'version': (4, '<H'), 'flags': (6, '<H'),
                  'memory': (8, '<I'), 'entry': (12, '<I'), 'crc': (16, '<I')}
_FUNC_FIELDS = {'offset': (0, '<I'), 'length': (4, '<I'), 'nargs': (8, '<H'),
                'nlocals': (10, '<H'), 'name': (12, '<I')}


def _overwrite(data: bytes, at: int, new: bytes) -> bytes:
    if at < 0 or at + len(new) > len(data):
        raise CaseFormatError(f'patch at {at} is outside the file')
    return data[:at] + new + data[at + len(new):]


def apply_patch(data: bytes, line: str) -> bytes:
    """One patch line of the README's `-- patch` language."""
    words = line.split(None, 3)
    op = words[0]
    if op == 'crc':
        return data[:16] + struct.pack('<I', zlib.crc32(data[HEADER_SIZE:]) & 0xFFFFFFFF) + data[HEADER_SIZE:]
    if op == 'header':
        fname, value = words[1], line.split(None, 2)[2]
        at, fmt = _HEADER_FIELDS[fname]
        new = parse_hex(value) if fmt is None else struct.pack(fmt, int(value, 0))
        return _overwrite(data, at, new)
    if op == 'set':
        return _overwrite(data, int(words[1], 0), parse_hex(line.split(None, 2)[2]))
    if op == 'truncate':
        return data[:int(words[1], 0)]
    if op == 'append':
        return data + parse_hex(line.split(None, 1)[1])
    if op == 'code':
        at = _section_at(data, b'CODE') + 8 + int(words[1], 0)
        return _overwrite(data, at, parse_hex(line.split(None, 2)[2]))
    if op == 'func':
        index, fname, value = int(words[1], 0), words[2], int(words[3], 0)
        at, fmt = _FUNC_FIELDS[fname]
        return _overwrite(data, _section_at(data, b'FUNC') + 8 + 4 + 16 * index + at,
                          struct.pack(fmt, value))
    if op == 'section':
        return _patch_section(data, words[1].encode('ascii'), words[2],
                              words[3] if len(words) > 3 else '')
    raise CaseFormatError(f'unknown patch {line!r}')


def _patch_section(data: bytes, tag: bytes, action: str, arg: str) -> bytes:
    if action == 'length':            # raw: only the length field changes
        return _overwrite(data, _section_at(data, tag) + 4, struct.pack('<I', int(arg, 0)))
    header, sections = data[:HEADER_SIZE], split_sections(data)
    if action == 'add':
        sections.append((tag, parse_hex(arg)))
        return join_sections(header, sections)
    index = next((i for i, (t, _) in enumerate(sections) if t == tag), None)
    if index is None:
        raise CaseFormatError(f'no section {tag!r} to patch')
    if action == 'drop':
        del sections[index]
    elif action == 'dup':
        sections.append(sections[index])
    elif action == 'rename':
        sections[index] = (arg.encode('ascii'), sections[index][1])
    elif action == 'payload':
        sections[index] = (tag, parse_hex(arg))
    elif action == 'extend':
        sections[index] = (tag, sections[index][1] + parse_hex(arg))
    elif action == 'first':
        sections.insert(0, sections.pop(index))
    else:
        raise CaseFormatError(f'unknown section action {action!r}')
    return join_sections(header, sections)


# ----------------------------------------------------------------- running

_OPTIONS = {'--max-call-depth': ('max_call_depth', int), '--timeout': ('timeout', float),
            '--code-cache': ('code_cache', int)}


def config_for(case: Case, base: RunConfig) -> RunConfig:
    """The engine's RunConfig with the case's `-- options` applied."""
    changes, words = {}, list(case.options)
    while words:
        opt = words.pop(0)
        if opt not in _OPTIONS or not words:
            raise CaseFormatError(f'{case.name}: unsupported option {opt!r}')
        fname, conv = _OPTIONS[opt]
        changes[fname] = conv(words.pop(0))
    return base.replace(**changes)


def run_case(case: Case, base: RunConfig) -> Outcome:
    data, filename = case.program_input()
    return execute(data, config_for(case, base), filename)


def mismatches(case: Case, got: Outcome) -> list[str]:
    """Every way in which an Outcome differs from the case; empty if it passes."""
    problems = []

    def differ(what, want, have):
        problems.append(f'{what}: expected {want!r}, got {have!r}')

    if got.stdout != case.stdout:
        differ('stdout', case.stdout, got.stdout)
    if got.exit_code != case.exit:
        differ('exit', case.exit, got.exit_code)
    if case.exit == 0:
        if got.result != case.result:
            differ('result', case.result, got.result)
        if got.error is not None:
            differ('error', None, got.error)
        return problems
    line = got.error or ''
    if not line.startswith('error: ') or '\n' in line:
        differ('error line', 'one line starting "error: "', line)
    if case.error.lower() not in line.lower():
        differ('error phrase', case.error, line)
    if got.phrase is not None and got.phrase != case.error:
        differ('phrase', case.error, got.phrase)
    for text in case.message:
        if text not in line:
            differ('message', text, line)
    if case.offset is not None and got.offset != case.offset:
        differ('offset', case.offset, got.offset)
    return problems


def same_as_reference(ref: Outcome, got: Outcome) -> list[str]:
    """Where another engine's Outcome differs from the interpreter's."""
    fields = ('stdout', 'result', 'exit_code', 'phrase', 'offset', 'error')
    return [f'{f}: interpreter {getattr(ref, f)!r}, engine {getattr(got, f)!r}'
            for f in fields if getattr(ref, f) != getattr(got, f)]


def load_corpus(directory: Path = CASES_DIR) -> list[Case]:
    return [parse_case(p.read_text(encoding='utf-8'), p.stem)
            for p in sorted(directory.glob('*.case'))]
