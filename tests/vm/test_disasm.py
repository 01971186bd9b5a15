"""The disassembler: its text assembles back to byte-identical `.bc`, for
ordinary programs, for odd ones the verifier rejects, and for random bytes."""
import random
import struct
import zlib
from pathlib import Path

import pytest

from vm.bcfile import read_bc, write_bc
from vm.errors import BCFormatError
from vm.disasm import disassemble, items, name_token, string_literal
from vm.opcodes import BY_NAME, OPS, encode
from vm.program import Function, Program
from vm.textasm import assemble, parse_string

ROOT = Path(__file__).resolve().parents[2]


def round_trip(program):
    """bytes -> read -> dis -> asm -> bytes must give the same bytes."""
    data = write_bc(program)
    text = disassemble(read_bc(data, 'in.bc'))
    again = write_bc(assemble(text, 'dis.asm'))
    assert again == data, text
    return text


def ins(mnemonic, arg=None):
    return encode(BY_NAME[mnemonic], arg)


def test_listing_shape():
    text = round_trip(assemble('.memory 64\n.data 8 1 -2\n.func main\nPUSH 2\nCALL twice\n'
                               'loop: DUP\nJNZ loop\nHALT\n.end\n'
                               '.func twice 1 1\nLLOAD 0\nRET\n.end\n', 'p.asm'))
    lines = text.splitlines()
    assert lines[1:5] == ['.memory 64', '.entry main', '.source "p.asm"', '.data 8 1 -2']
    assert '.func main 0 0' in lines and '.func twice 1 1' in lines
    assert any(line.split()[:2] == ['L12:', 'DUP'] for line in lines)
    jnz = next(line for line in lines if 'JNZ' in line)
    assert jnz.split() == ['JNZ', 'L12', ';', '13']
    assert any(line.split()[:2] == ['CALL', 'twice'] for line in lines)
    assert [line for line in lines if line.startswith('.line')] == ['.line from 4', '.line from 11']


def test_line_directives_only_where_counting_text_lines_does_not_give_the_line():
    """Instructions stand on their source lines (short gaps padded with blank
    lines), so a listing of ordinary source has a `.line` only where lines jump."""
    source = ('.func main\n  PUSH 1\n\n  PRINT\nloop:\n  PUSH 0\n  JNZ loop\n'
              + '\n' * 20 + '  HALT\n.end\n')
    text = round_trip(assemble(source, 'p.asm'))
    directives = [line for line in text.splitlines() if line.startswith('.line')]
    assert directives == ['.line from 2', '.line from 28']
    shared = round_trip(assemble('.line 7\nNOP\nNOP\n.line 9\nNOP\nHALT\n', 'p.asm'))
    assert [line for line in shared.splitlines() if line.startswith('.line')] == \
        ['.line 7', '.line 9']


def test_line_from_counts_on_like_c_hash_line():
    p = assemble('NOP\n.line from 100\nNOP\n\nNOP\n.line auto\nHALT\n', 'p.asm')
    assert p.functions[0].lines == {0: 1, 1: 100, 2: 102, 3: 7}


def test_spec_example_round_trips():
    from .test_textasm import SPEC_EXAMPLE
    round_trip(assemble(SPEC_EXAMPLE, 'sum.asm'))


def test_program_without_lines():
    p = Program([Function('main', 0, 0, ins('PUSH', -5) + ins('PRINT') + ins('HALT'))])
    text = round_trip(p)
    assert '.line off' in text and '.source' not in text


def test_sparse_lines_line_zero_and_shared_lines():
    code = ins('NOP') * 4 + ins('HALT')
    p = Program([Function('main', 0, 0, code, {0: 7, 1: 7, 3: 0, 4: 1 << 31})], source_name='')
    text = round_trip(p)
    assert '.source ""' in text


def test_undecodable_bytes_and_truncated_tails():
    code = b'\x00\x07\x01\x02\x03' + ins('JMP', -3) + b'\x01\x01\x02'
    p = Program([Function('main', 0, 0, code, {1: 1, 2: 2, 11: 3})])
    text = round_trip(p)
    assert '.byte 0x07' in text and '.byte 0x02' in text
    assert [type(i).__name__ for i in items(code)] == ['Instr', 'tuple', 'Instr', 'tuple', 'tuple']


def test_jumps_that_land_nowhere_use_numbers():
    code = ins('JMP', 1) + ins('JZ', 1000) + ins('JNZ', -2147483648) + ins('JMP', -5) + ins('HALT')
    text = round_trip(Program([Function('main', 0, 0, code)]))
    assert 'JMP    +1' in text and 'JNZ    -2147483648' in text and 'JMP    L10' in text


def test_calls_to_missing_functions_and_odd_names():
    names = ['main', 'with space', 'tab\there', 'quote"and\\back', '', 'é€😀', '\x01\u2028', '9lives', '.ok$']
    funcs = [Function(n, i % 3, i, ins('CALL', i) + ins('CALL', 65535) + ins('RET'))
             for i, n in enumerate(names)]
    funcs[0] = Function('main', 0, 0, ins('CALL', 3) + ins('HALT'))
    text = round_trip(Program(funcs, entry=2, memory_cells=1))
    assert 'CALL   65535' in text and '.entry "tab\\there"' in text and 'CALL   .ok$' in text


def test_empty_functions_empty_data_and_big_values():
    p = Program([Function('main', 0, 0, b''), Function('f', 65535, 65535, b'')], memory_cells=1 << 26,
                data=[(0, []), ((1 << 26) - 2, [-(1 << 63), (1 << 63) - 1])])
    round_trip(p)


def test_every_opcode_at_edge_values():
    code = b''
    for op in OPS:
        if op.imm is None:
            code += encode(op)
        elif op.imm.name == 'rel':
            code += encode(op, 0)
        else:
            code += encode(op, op.imm.lo) + encode(op, op.imm.hi)
    round_trip(Program([Function('main', 0, 0, code)]))


@pytest.mark.parametrize('text', ['', 'plain', 'a"b', 'back\\slash', 'nl\nx', '\r\t\x00\x7f', '\u2028',
                                  '😀', 'é', ';#:'])
def test_string_literal_reads_back(text):
    assert parse_string(string_literal(text)) == text


def test_name_token():
    assert name_token('main') == 'main' and name_token('a b') == '"a b"'


def random_program(rng):
    """Random bytes that lean towards real instructions, random lines."""
    funcs = []
    for i in range(rng.randint(1, 4)):
        code = bytearray()
        for _ in range(rng.randint(0, 30)):
            roll = rng.random()
            if roll < 0.1:
                code.append(rng.randrange(256))
            else:
                op = rng.choice(OPS)
                arg = rng.randint(op.imm.lo, op.imm.hi) if op.imm else None
                if op.imm and rng.random() < 0.5:
                    arg = rng.randint(max(op.imm.lo, -20), min(op.imm.hi, 20))
                code += encode(op, arg)
        if code and rng.random() < 0.2:
            code = code[:rng.randrange(len(code))]
        lines = {}
        if rng.random() < 0.7:
            offsets = [it.offset if hasattr(it, 'offset') else it[0] for it in items(bytes(code))]
            lines = {o: rng.choice([rng.randint(0, 50), rng.randint(0, (1 << 32) - 1)])
                     for o in offsets if rng.random() < 0.8}
        name = 'main' if i == 0 else rng.choice([f'f{i}', f'g {i}', f'h"{i}', f'.{i}'])
        funcs.append(Function(name, rng.randint(0, 3), rng.randint(0, 3), bytes(code), lines))
    memory = rng.choice([1, 16, 4096])
    data = [(0, [rng.randint(-(1 << 63), (1 << 63) - 1)])] if rng.random() < 0.5 else []
    return Program(funcs, rng.randrange(len(funcs)), memory, data, rng.choice(['', 'x.asm', 'a "q"']))


def test_random_programs_round_trip():
    rng = random.Random(1234)
    for _ in range(300):
        round_trip(random_program(rng))


def example_sources():
    paths = sorted((ROOT / 'bytecode').glob('*.asm'))
    return paths or [None]


@pytest.mark.parametrize('path', example_sources(), ids=lambda p: p.name if p else 'none')
def test_example_programs_round_trip(path):
    if path is None:
        round_trip(assemble('PUSH 1\nPRINT\nHALT'))        # no examples written yet
        return
    round_trip(assemble(path.read_text(), path.name))


def test_line_records_inside_an_instruction_split_it_into_bytes():
    code = ins('PUSH', 0x0102) + ins('HALT')
    p = Program([Function('main', 0, 0, code, {0: 1, 3: 2, 9: 3})])
    text = round_trip(p)
    assert 'PUSH' not in text
    assert [_offset_of(item) for item in items(code, {3})][:4] == [0, 1, 2, 3]


def _offset_of(item):
    return item.offset if hasattr(item, 'offset') else item[0]


def mutate(rng, data):
    """A few random bytes changed after the header, the CRC made right again."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(20, len(data))] = rng.randrange(256)
    body = bytes(data[20:])
    return bytes(data[:16]) + struct.pack('<I', zlib.crc32(body)) + body


def test_any_readable_mutation_disassembles_and_round_trips():
    rng = random.Random(99)
    read = 0
    for _ in range(400):
        data = mutate(rng, write_bc(random_program(rng)))
        try:
            program = read_bc(data)
        except BCFormatError:
            continue
        read += 1
        assert write_bc(assemble(disassemble(program))) == write_bc(program)
    assert read > 50
