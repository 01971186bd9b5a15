"""Every conformance case on every engine; non-reference engines must also
match the interpreter's Outcome field by field."""
from __future__ import annotations

import pytest

from .corpus import load_corpus, mismatches, run_case, same_as_reference
from .engines import ENGINES, REFERENCE

CASES = load_corpus()


def test_corpus_is_big_enough():
    assert len(CASES) >= 170


@pytest.mark.parametrize('engine', sorted(ENGINES))
@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_case(case, engine):
    got = run_case(case, ENGINES[engine]())
    problems = mismatches(case, got)
    assert not problems, f'{case.name} on {engine}:\n  ' + '\n  '.join(problems)
    if engine != REFERENCE:
        ref = run_case(case, ENGINES[REFERENCE]())
        diff = same_as_reference(ref, got)
        assert not diff, f'{case.name}: {engine} differs from {REFERENCE}:\n  ' + '\n  '.join(diff)


# ------------------------------------------------------------------ the format itself

def test_stdout_escapes():
    from .corpus import decode_stdout
    assert decode_stdout(['a\\x00b', 'c\\\\d']) == b'a\x00b\nc\\d\n'
    assert decode_stdout(['x', 'y\\c']) == b'x\ny'
    assert decode_stdout(['\\xff\\c']) == b'\xff'


@pytest.mark.parametrize('text', [
    '-- asm\nHALT\n',                                  # exit 0 without a result
    '-- asm\nHALT\n-- exit 1\n',                       # a failure without an error
    '-- asm\nHALT\n-- result 0\n-- result 0\n',        # a section twice
    '-- asm\nHALT\n-- result 0\n-- bogus\n',           # an unknown section
    'HALT\n-- asm\nHALT\n-- result 0\n',               # text before the first section
    '-- asm\nHALT\n-- stdout\n\\q\n-- result 0\n',     # a bad escape
    '-- asm\nHALT\n-- result 0\n-- error x\n',         # an error on a normal end
])
def test_malformed_cases_are_refused(text):
    from .corpus import CaseFormatError, parse_case
    with pytest.raises(CaseFormatError):
        parse_case(text)


def test_patches_edit_the_named_parts():
    import struct
    import zlib
    from .corpus import apply_patch, parse_hex, split_sections
    data = parse_hex('"JVBC" u16:1 u16:0 u32:16 u32:0 u32:0 "CODE" u32:2 00 ff '
                     '"FUNC" u32:20 u32:1 u32:0 u32:2 u16:0 u16:0 u32:0 "NAME" u32:5 "main" 00')
    data = apply_patch(data, 'crc')
    assert struct.unpack_from('<I', data, 16)[0] == zlib.crc32(data[20:])
    assert split_sections(apply_patch(data, 'code 1 41'))[0] == (b'CODE', b'\x00\x41')
    assert struct.unpack_from('<I', apply_patch(data, 'func 0 length 7'), 20 + 10 + 8 + 8)[0] == 7
    tags = [t for t, _ in split_sections(apply_patch(apply_patch(data, 'section XTRA add 01'), 'section XTRA first'))]
    assert tags == [b'XTRA', b'CODE', b'FUNC', b'NAME']
    assert [t for t, _ in split_sections(apply_patch(data, 'section FUNC drop'))] == [b'CODE', b'NAME']
    assert apply_patch(data, 'header flags 1')[6:8] == b'\x01\x00'


def test_corpus_covers_every_opcode_and_every_phrase():
    import re
    from vm.opcodes import OPS
    used = set()
    for case in CASES:
        for line in (case.asm or '').splitlines():
            words = re.sub(r'^\s*[A-Za-z_.$][\w.$]*:', '', line.split(';')[0]).split()
            if words:
                used.add(words[0].upper())
    assert {op.mnemonic for op in OPS} <= used
    phrases = {c.error for c in CASES if c.error}
    spec = {'invalid opcode', 'truncated instruction', 'bad jump target', 'inconsistent stack height',
            'stack underflow', 'stack overflow', 'memory address out of range', 'bad local index',
            'bad function index', 'bad return height', 'falls off the end', 'bad entry function',
            'division by zero', 'call stack overflow', 'time limit exceeded', 'unsupported flags'}
    assert spec <= phrases
