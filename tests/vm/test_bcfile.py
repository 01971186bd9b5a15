"""The `.bc` writer and reader: spec section 6 byte for byte, and every
malformation rejected with a message naming the problem."""
import struct
import zlib

import pytest

from vm.bcfile import read_bc, write_bc
from vm.errors import BCFormatError, VMError
from vm.program import Function, Program
from vm.textasm import assemble

SOURCE = """\
.memory 64
.data 8 1 -2 3
.data 40 9223372036854775807
.func main
        PUSH 2
        CALL twice
        PRINT
        HALT
.end
.func twice 1 1
        LLOAD 0
        DUP
        ADD
        RET
.end
"""


def sample():
    return assemble(SOURCE, 'sample.asm')


def section(tag, payload):
    return tag + struct.pack('<I', len(payload)) + payload


def build(sections, memory=16, entry=0, version=1, flags=0, crc=None, magic=b'JVBC'):
    """A .bc file from raw sections, with a correct CRC unless told."""
    body = b''.join(sections)
    crc = zlib.crc32(body) if crc is None else crc
    return struct.pack('<4sHHIII', magic, version, flags, memory, entry, crc) + body


def func_section(*records):
    return section(b'FUNC', struct.pack('<I', len(records))
                   + b''.join(struct.pack('<IIHHI', *r) for r in records))


def minimal(extra=(), code=b'\xff', funcs=None, names=b'main\0', memory=16, entry=0):
    funcs = funcs if funcs is not None else func_section((0, len(code), 0, 0, 0))
    return build([section(b'CODE', code), funcs, section(b'NAME', names), *extra],
                 memory=memory, entry=entry)


def rejected(data, filename='x.bc'):
    with pytest.raises(BCFormatError) as info:
        read_bc(data, filename)
    return info.value.message


# -- layout ----------------------------------------------------------------------

def test_header_layout():
    data = write_bc(sample())
    magic, version, flags, memory, entry, crc = struct.unpack_from('<4sHHIII', data)
    assert (magic, version, flags, memory, entry) == (b'JVBC', 1, 0, 64, 0)
    assert crc == zlib.crc32(data[20:])


def test_sections_and_payloads_exactly():
    p = sample()
    data = write_bc(p)
    pos, found = 20, {}
    while pos < len(data):
        tag, length = struct.unpack_from('<4sI', data, pos)
        found[tag] = data[pos + 8:pos + 8 + length]
        pos += 8 + length
    assert list(found) == [b'CODE', b'FUNC', b'NAME', b'DATA', b'LINE']
    main, twice = p.functions
    assert found[b'CODE'] == main.code + twice.code
    assert found[b'FUNC'] == (struct.pack('<I', 2)
                              + struct.pack('<IIHHI', 0, len(main.code), 0, 0, 0)
                              + struct.pack('<IIHHI', len(main.code), len(twice.code), 1, 1, 5))
    assert found[b'NAME'] == b'main\0twice\0sample.asm\0'
    assert found[b'DATA'] == (struct.pack('<II3q', 8, 3, 1, -2, 3)
                              + struct.pack('<IIq', 40, 1, (1 << 63) - 1))
    records = [struct.unpack_from('<III', found[b'LINE'], 4 + 12 * i)
               for i in range((len(found[b'LINE']) - 4) // 12)]
    assert struct.unpack_from('<I', found[b'LINE'])[0] == 11
    assert records[:2] == [(0, 0, 5), (0, 9, 6)] and records[-1] == (1, 5, 14)
    assert records == sorted(records)


def test_round_trip_and_determinism():
    p = sample()
    data = write_bc(p)
    q = read_bc(data, 'sample.bc')
    assert q == p
    assert write_bc(q) == data == write_bc(sample())


def test_optional_sections_are_left_out_when_empty():
    p = Program([Function('main', 0, 0, b'\xff')])
    data = write_bc(p)
    assert b'DATA' not in data and b'LINE' not in data
    q = read_bc(data)
    assert q.functions == p.functions and q.data == [] and q.source_name == ''


def test_shared_names_are_stored_once():
    p = assemble('.source "main"\n.func main\nHALT\n.end')
    assert write_bc(p).count(b'main\0') == 1
    assert read_bc(write_bc(p)).source_name == 'main'


def test_reader_accepts_any_section_order_unknown_tags_and_gaps():
    code = b'\x00\x00\xff\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x41'
    data = build([
        section(b'XTRA', b'anything at all'),
        section(b'NAME', b'\0f\0main\0src\0'),
        section(b'LINE', struct.pack('<I', 8) + struct.pack('<III', 0, 0, 3) + struct.pack('<III', 1, 9, 4)),
        section(b'CODE', code),
        func_section((2, 1, 0, 0, 3), (4, 10, 2, 0, 1)),
        section(b'DATA', struct.pack('<IIq', 15, 1, -5)),
        section(b'\x00\xff\x10z', b''),
    ])
    p = read_bc(data)
    assert [(f.name, f.nargs, f.code) for f in p.functions] == [('main', 0, b'\xff'), ('f', 2, code[4:])]
    assert p.functions[0].lines == {0: 3} and p.functions[1].lines == {9: 4}
    assert p.source_name == 'src' and p.data == [(15, [-5])]


def test_zero_length_functions_and_empty_data_records():
    data = minimal([section(b'DATA', struct.pack('<II', 3, 0))],
                   funcs=func_section((0, 1, 0, 0, 0), (0, 0, 0, 0, 5), (1, 0, 0, 0, 7)),
                   names=b'main\0aaa\0bbb\0')
    p = read_bc(data)
    assert [f.code for f in p.functions] == [b'\xff', b'', b''] and p.data == [(3, [])]


def test_non_ascii_names_round_trip():
    p = assemble('.func "héllo wörld"\nHALT\n.end\n.entry "héllo wörld"')
    assert read_bc(write_bc(p)).functions[0].name == 'héllo wörld'


# -- malformations -----------------------------------------------------------

def test_bad_magic():
    assert 'bad magic' in rejected(b'')
    assert 'bad magic' in rejected(b'JVB')
    assert 'bad magic' in rejected(b'XVBC' + minimal()[4:])


def test_truncated_header():
    assert 'truncated header' in rejected(minimal()[:19])


def test_unknown_version_and_flags():
    good = minimal()
    assert 'unknown version 2' in rejected(good[:4] + b'\x02\x00' + good[6:])
    assert 'unsupported flags' in rejected(good[:6] + b'\x01\x00' + good[8:])


@pytest.mark.parametrize('memory', [0, (1 << 26) + 1, 0xFFFFFFFF])
def test_memory_cells_out_of_range(memory):
    assert 'memory_cells' in rejected(minimal(memory=memory))


def test_memory_cells_limits_accepted():
    assert read_bc(minimal(memory=1)).memory_cells == 1
    assert read_bc(minimal(memory=1 << 26)).memory_cells == 1 << 26


def test_crc_mismatch():
    good = minimal()
    assert 'CRC mismatch' in rejected(good[:16] + b'\0\0\0\0' + good[20:])
    assert 'CRC mismatch' in rejected(good[:-1] + b'\x01')
    assert 'CRC mismatch' in rejected(good + b'\x00')


def test_filename_prefixes_the_message():
    e = pytest.raises(BCFormatError, read_bc, b'nope', 'prog.bc').value
    assert e.line() == 'error: prog.bc: bad magic (not a .bc file)' and e.exit_code == 2


def test_section_past_the_end():
    assert 'runs past the end' in rejected(build([section(b'CODE', b'\xff')[:-1]]))
    assert 'runs past the end' in rejected(build([b'CODE' + struct.pack('<I', 100)]))
    assert 'runs past the end' in rejected(minimal([b'ZZZZ' + struct.pack('<I', 0xFFFFFFFF)]))
    assert 'section header at byte 20 runs past the end' in rejected(build([b'COD']))


@pytest.mark.parametrize('drop', [b'CODE', b'FUNC', b'NAME'])
def test_missing_section(drop):
    parts = {b'CODE': section(b'CODE', b'\xff'), b'FUNC': func_section((0, 1, 0, 0, 0)),
             b'NAME': section(b'NAME', b'main\0')}
    del parts[drop]
    assert f'missing {drop.decode()} section' in rejected(build(list(parts.values())))


@pytest.mark.parametrize('tag', [b'CODE', b'NAME', b'DATA', b'LINE', b'FUNC'])
def test_duplicate_section(tag):
    payload = {b'CODE': b'\xff', b'NAME': b'main\0', b'DATA': b'', b'LINE': struct.pack('<I', 0),
               b'FUNC': struct.pack('<IIIHHI', 1, 0, 1, 0, 0, 0)}[tag]
    extra = [section(tag, payload), section(tag, payload)] if tag in (b'DATA', b'LINE') else [section(tag, payload)]
    assert f'duplicate {tag.decode()} section' in rejected(minimal(extra))


def test_function_count_and_func_length():
    assert 'function count 0' in rejected(minimal(funcs=section(b'FUNC', struct.pack('<I', 0))))
    assert 'function count 65537' in rejected(minimal(funcs=section(b'FUNC', struct.pack('<I', 65537))))
    assert 'FUNC section too short' in rejected(minimal(funcs=section(b'FUNC', b'\x01\x00')))
    short = section(b'FUNC', struct.pack('<I', 2) + struct.pack('<IIHHI', 0, 1, 0, 0, 0))
    assert 'does not match 2 functions' in rejected(minimal(funcs=short))


def test_function_range_outside_code():
    assert 'lies outside CODE' in rejected(minimal(funcs=func_section((0, 2, 0, 0, 0))))
    assert 'lies outside CODE' in rejected(minimal(funcs=func_section((5, 0, 0, 0, 0))))
    assert 'lies outside CODE' in rejected(minimal(funcs=func_section((0xFFFFFFFF, 2, 0, 0, 0))))


def test_overlapping_functions():
    funcs = func_section((0, 3, 0, 0, 0), (2, 2, 0, 0, 5))
    message = rejected(minimal(code=b'\x00\x00\x00\xff', funcs=funcs, names=b'main\0f\0'))
    assert 'functions 0 and 1 overlap' in message


def test_bad_name_offset_and_encoding():
    assert 'bad name offset 99' in rejected(minimal(funcs=func_section((0, 1, 0, 0, 99))))
    assert 'bad name offset' in rejected(minimal(names=b'main'))         # no terminator
    assert 'not valid UTF-8' in rejected(minimal(names=b'\xff\xfe\0'))


def test_duplicate_function_names():
    funcs = func_section((0, 1, 0, 0, 0), (0, 1, 0, 0, 0))
    assert "duplicate function name 'main'" in rejected(minimal(funcs=funcs))


def test_bad_entry_index():
    assert 'bad entry index 1' in rejected(minimal(entry=1))


def test_data_malformations():
    assert 'outside memory' in rejected(minimal([section(b'DATA', struct.pack('<IIq', 16, 1, 0))]))
    assert 'outside memory' in rejected(minimal([section(b'DATA', struct.pack('<IIqq', 15, 2, 0, 0))]))
    assert 'outside memory' in rejected(minimal([section(b'DATA', struct.pack('<II', 0xFFFFFFFF, 0))]))
    assert 'runs past the end of the section' in rejected(
        minimal([section(b'DATA', struct.pack('<IIq', 0, 2, 0))]))
    assert 'truncated DATA record' in rejected(minimal([section(b'DATA', b'\0\0\0\0\0')]))


def test_line_malformations():
    head = struct.pack('<I', 0)
    assert 'LINE section length' in rejected(minimal([section(b'LINE', b'')]))
    assert 'LINE section length' in rejected(minimal([section(b'LINE', head + b'\0' * 5)]))
    assert 'bad name offset' in rejected(minimal([section(b'LINE', struct.pack('<I', 50))]))
    rec = lambda f, o, l: struct.pack('<III', f, o, l)  # noqa: E731
    assert 'names function 1' in rejected(minimal([section(b'LINE', head + rec(1, 0, 1))]))
    assert 'offset 1 lies outside' in rejected(minimal([section(b'LINE', head + rec(0, 1, 1))]))
    code = b'\x00\x00\xff'
    lines = head + rec(0, 2, 1) + rec(0, 1, 1)
    assert 'unsorted LINE record' in rejected(minimal([section(b'LINE', lines)], code=code,
                                                      funcs=func_section((0, 3, 0, 0, 0))))
    lines = head + rec(0, 1, 1) + rec(0, 1, 2)
    assert 'duplicate LINE record' in rejected(minimal([section(b'LINE', lines)], code=code,
                                                       funcs=func_section((0, 3, 0, 0, 0))))


def test_writer_refuses_programs_it_cannot_encode():
    ok = Function('main', 0, 0, b'\xff')
    for bad in (Program([]), Program([ok], memory_cells=0), Program([ok], entry=2),
                Program([Function('main', 70000, 0, b'')]), Program([ok], data=[(4096, [1])]),
                Program([Function('a\0b', 0, 0, b'')])):
        with pytest.raises(BCFormatError):
            write_bc(bad)


def test_every_truncation_and_byte_flip_is_a_vm_error():
    data = write_bc(sample())
    for cut in range(len(data)):
        with pytest.raises(BCFormatError):
            read_bc(data[:cut])
    for i in range(20, len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x5A
        body = bytes(flipped[20:])
        fixed = bytes(flipped[:16]) + struct.pack('<I', zlib.crc32(body)) + body
        try:
            read_bc(fixed)
        except VMError:
            pass
