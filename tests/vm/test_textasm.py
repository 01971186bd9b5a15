"""The text assembler: syntax of spec section 5, its extensions, every error."""
import struct

import pytest

from vm.errors import AsmError, VMError
from vm.opcodes import BY_NAME, encode
from vm.textasm import assemble, parse_int, parse_string, tokenize

SPEC_EXAMPLE = """\
; sum 1..100 -- comments run from ';' or '#' to the end of the line
.memory 16                 ; memory_cells
.const SUM 0               ; a named number
.const I   1
.data 8 1 2 3              ; M[8]=1, M[9]=2, M[10]=3 (repeatable)

.func main                 ; .func NAME [NARGS [NLOCALS]]
        PUSH 0
        STORE SUM
        PUSH 100
        STORE I
loop:   LOAD SUM           ; a label: NAME ':' , local to its function
        LOAD I
        ADD
        STORE SUM
        LOAD I
        PUSH 1
        SUB
        DUP
        STORE I
        JNZ loop           ; a label, or a number: a byte offset from this instruction
        LOAD SUM
        PRINT              ; 5050
        HALT
.end

.func add3 3 1             ; three args (locals 0..2) and one more local (3)
        LLOAD 0
        LLOAD 1
        ADD
        LLOAD 2
        ADD
        RET
.end
"""


def ins(mnemonic, arg=None):
    return encode(BY_NAME[mnemonic], arg)


def code_of(text, index=0):
    return assemble(text).functions[index].code


def asm_error(text, filename='t.asm'):
    with pytest.raises(AsmError) as info:
        assemble(text, filename)
    return info.value


# -- the spec's example --------------------------------------------------------

def test_spec_example_assembles_to_the_expected_program():
    p = assemble(SPEC_EXAMPLE, 'sum.asm')
    assert [f.name for f in p.functions] == ['main', 'add3']
    assert (p.functions[1].nargs, p.functions[1].nlocals) == (3, 1)
    assert p.memory_cells == 16 and p.data == [(8, [1, 2, 3])] and p.entry == 0
    assert p.source_name == 'sum.asm'
    main = p.functions[0].code
    loop = 28                                  # after PUSH, STORE, PUSH, STORE
    assert main[:loop] == ins('PUSH', 0) + ins('STORE', 0) + ins('PUSH', 100) + ins('STORE', 1)
    jnz_at = main.index(ins('JNZ', 0)[:1], 60)
    assert struct.unpack_from('<i', main, jnz_at + 1)[0] == loop - jnz_at
    assert main.endswith(ins('LOAD', 0) + ins('PRINT') + ins('HALT'))
    assert p.functions[1].code == (ins('LLOAD', 0) + ins('LLOAD', 1) + ins('ADD') + ins('LLOAD', 2)
                                   + ins('ADD') + ins('RET'))


def test_every_instruction_records_its_source_line():
    p = assemble(SPEC_EXAMPLE)
    main = p.functions[0]
    assert main.lines[0] == 8 and main.lines[9] == 9 and main.lines[28] == 12
    assert len(main.lines) == 17
    assert p.functions[1].lines == {0: 28, 3: 29, 6: 30, 7: 31, 10: 32, 11: 33}


def test_a_file_without_func_is_the_body_of_main():
    p = assemble('PUSH 7\nPRINT\nHALT\n')
    assert len(p.functions) == 1
    f = p.functions[0]
    assert (f.name, f.nargs, f.nlocals) == ('main', 0, 0)
    assert f.code == ins('PUSH', 7) + ins('PRINT') + ins('HALT')


def test_an_empty_file_is_an_empty_main():
    p = assemble('; nothing\n')
    assert [(f.name, f.code) for f in p.functions] == [('main', b'')]
    assert p.memory_cells == 4096


def test_mnemonics_and_directives_are_case_insensitive_names_are_not():
    p = assemble('.FUNC main\n  push 1\n  Jz Loop\nLoop: halt\n.END\n')
    assert p.functions[0].code == ins('PUSH', 1) + ins('JZ', 5) + ins('HALT')
    assert 'undefined label' in asm_error('.func main\nJMP loop\nLoop: HALT\n.end').problem


# -- numbers -------------------------------------------------------------------

@pytest.mark.parametrize('text, value', [
    ('0', 0), ('42', 42), ('-42', -42), ('+7', 7), ('0x1F', 31), ('0XfF', 255), ('-0x10', -16),
    ('0b101', 5), ('-0B11', -3), ('007', 7), ("'a'", 97), ("'\\n'", 10), ("'\\t'", 9),
    ("'\\r'", 13), ("'\\0'", 0), ("'\\\\'", 92), ("'\\''", 39), ("';'", 59), ("' '", 32),
])
def test_number_literals(text, value):
    assert parse_int(text) == value
    assert code_of(f'PUSH {text}') == ins('PUSH', value)


@pytest.mark.parametrize('text', ['0x', '0b2', '1_000', '12a', '--1', "'ab'", "''", "'\\q'", "'a"])
def test_malformed_numbers_are_not_numbers(text):
    assert parse_int(text) is None


def test_push_range_and_wrapping():
    assert code_of('PUSH 18446744073709551615') == ins('PUSH', -1)
    assert code_of('PUSH 9223372036854775808') == ins('PUSH', -(1 << 63))
    assert code_of('PUSH -9223372036854775808') == ins('PUSH', -(1 << 63))
    assert code_of('PUSH 9223372036854775807') == ins('PUSH', (1 << 63) - 1)
    for bad in ('18446744073709551616', '-9223372036854775809'):
        assert 'number out of range' in asm_error(f'PUSH {bad}').problem


def test_constants_in_push_load_store_and_data():
    p = assemble('.const A 5\n.const BIG 0xFFFFFFFFFFFFFFFF\n.data A BIG 1\n'
                 'PUSH BIG\nLOAD A\nSTORE A\nHALT')
    assert p.functions[0].code == ins('PUSH', -1) + ins('LOAD', 5) + ins('STORE', 5) + ins('HALT')
    assert p.data == [(5, [-1, 1])]


def test_data_records_repeat_and_keep_their_order():
    p = assemble('.memory 32\n.data 8 1 2 3\n.data 0 -1\n.data 20\nHALT')
    assert p.data == [(8, [1, 2, 3]), (0, [-1]), (20, [])]


def test_jump_operands_label_or_relative_number():
    assert code_of('top: NOP\nJMP top') == ins('NOP') + ins('JMP', -1)
    assert code_of('JMP 0') == ins('JMP', 0)
    assert code_of('JNZ -5\nJZ +12') == ins('JNZ', -5) + ins('JZ', 12)
    assert code_of('JMP end\nNOP\nend: HALT') == ins('JMP', 6) + ins('NOP') + ins('HALT')


def test_labels_are_local_to_their_function():
    p = assemble('.func main\nx: PUSH 0\nJZ x\nHALT\n.end\n.func g\nx: PUSH 0\nRET\n.end')
    assert p.functions[0].code[9:] == ins('JZ', -9) + ins('HALT')


def test_several_labels_on_one_line_and_label_alone():
    assert code_of('a: b:\nc: JMP a\nJMP b\nJMP c') == ins('JMP', 0) + ins('JMP', -5) + ins('JMP', -10)


def test_call_by_name_forward_and_by_index():
    p = assemble('.func main\nCALL f\nCALL 0\nCALL 9\nHALT\n.end\n.func f\nPUSH 1\nRET\n.end')
    assert p.functions[0].code == ins('CALL', 1) + ins('CALL', 0) + ins('CALL', 9) + ins('HALT')


def test_entry_picks_the_entry_function():
    p = assemble('.entry start\n.func f\nPUSH 0\nRET\n.end\n.func start\nHALT\n.end')
    assert p.entry == 1
    assert assemble('.func g\nHALT\n.end\n.func main\nHALT\n.end').entry == 1


def test_comments_with_hash_and_semicolon_and_quotes():
    assert code_of("PUSH '#' # a comment\nPUSH ';' ; another") == ins('PUSH', 35) + ins('PUSH', 59)
    assert code_of('# whole-line comment\n   ; indented\n\tHALT\t# tab') == ins('HALT')


def test_crlf_and_bom_are_accepted():
    assert code_of('\ufeffPUSH 1\r\nHALT\r\n') == ins('PUSH', 1) + ins('HALT')


def test_names_follow_the_name_grammar():
    p = assemble('.const $x.y_1 3\n.func .f$ 0 0\n_a.b: JMP _a.b\n.end\n.entry .f$')
    assert p.functions[0].name == '.f$'


# -- extensions used by the disassembler -----------------------------------------

def test_quoted_function_names():
    p = assemble('.entry "main fn"\n.func "main fn"\nCALL "x\\ty\\u00e9"\nHALT\n.end\n'
                 '.func "x\\ty\\u00e9" 0 0\nPUSH 1\nRET\n.end\n')
    assert [f.name for f in p.functions] == ['main fn', 'x\tyé']
    assert p.functions[0].code[:3] == ins('CALL', 1)


def test_byte_directive_emits_raw_bytes_with_a_line():
    f = assemble('.byte 0x07\n.byte 1 2 255\nHALT').functions[0]
    assert f.code == b'\x07\x01\x02\xff\xff'
    assert f.lines == {0: 1, 1: 2, 4: 3}


def test_line_directive_modes_and_source():
    p = assemble('.source "orig.asm"\n.line 40\nNOP\nNOP\n.line off\nNOP\n.line auto\nHALT', 'x.asm')
    assert p.source_name == 'orig.asm'
    assert p.functions[0].lines == {0: 40, 1: 40, 3: 8}


@pytest.mark.parametrize('text, value', [
    ('"abc"', 'abc'), ('""', ''), ('"a\\"b"', 'a"b'), ('"\\\\"', '\\'), ('"\\x41\\u00e9\\U0001F600"', 'Aé\U0001F600'),
    ('"a;b#c"', 'a;b#c'),
])
def test_string_literals(text, value):
    assert parse_string(text) == value


@pytest.mark.parametrize('text', ['"abc', '"\\q"', '"\\x4"', '"\\uD800"', '"a"b"', 'abc'])
def test_malformed_strings(text):
    assert parse_string(text) is None


def test_tokenize_columns():
    assert tokenize("  loop: PUSH ';' ; c") == [('loop', 3), (':', 7), ('PUSH', 9), ("';'", 14)]
    assert tokenize('a:b') == [('a', 1), (':', 2), ('b', 3)]


# -- errors --------------------------------------------------------------------

@pytest.mark.parametrize('text, where, problem', [
    ('NOP\n  ADDD', (2, 3), "unknown mnemonic 'ADDD'"),
    ('PUSH', (1, 5), 'missing operand for PUSH'),
    ('PUSH 1 2', (1, 8), 'too many operands for PUSH'),
    ('ADD 1', (1, 5), 'too many operands for ADD'),
    ('JMP nowhere\nHALT', (1, 5), "undefined label 'nowhere'"),
    ('a: NOP\na: HALT', (2, 1), "duplicate label 'a'"),
    ('.func f\nHALT', (1, 1), "missing .end for function 'f'"),
    ('.end', (1, 1), '.end without .func'),
    ('.end\n', (1, 1), '.end without .func'),
    ('.func main\nHALT\n.end x', (3, 6), 'too many operands for .end'),
    ('PUSH 0x', (1, 6), "expected a number, got '0x'"),
    ('LLOAD 65536', (1, 7), 'number out of range: 65536 (expected 0..65535)'),
    ('LSTORE -1', (1, 8), 'number out of range: -1'),
    ('LOAD 4294967296', (1, 6), 'number out of range'),
    ('STORE -1', (1, 7), 'number out of range'),
    ('JMP 2147483648', (1, 5), 'number out of range'),
    ('CALL 65536', (1, 6), 'number out of range'),
    ('LLOAD x', (1, 7), "expected a number, got 'x'"),
    ('LOAD NOPE', (1, 6), "undefined constant 'NOPE'"),
    ('.foo 1', (1, 1), "unknown directive '.foo'"),
    ('HALT\n.func main\nHALT\n.end', (1, 1), 'instruction outside .func'),
    ('x: HALT\n.func main\nHALT\n.end', (1, 1), 'label outside .func'),
    ('.func main\nHALT\n.end\nNOP', (4, 1), 'instruction outside .func'),
    ('.func main\nHALT\n.end\nx:', (4, 1), 'label outside .func'),
    ('.func main\nHALT\n.end\n.byte 1', (4, 1), 'instruction outside .func'),
    ('.func main\nCALL g\n.end', (2, 6), "unknown function 'g'"),
    ('.func main\n.end\n.func main\n.end', (3, 7), "duplicate function 'main'"),
    ('.func main\n.func g\n.end', (2, 1), ".func inside function 'main' (missing .end)"),
    ('.func', (1, 6), 'missing function name after .func'),
    ('.func 1x', (1, 7), "bad function name '1x'"),
    ('.func main 1 2 3\n.end', (1, 16), 'too many operands for .func'),
    ('.func main 65536\n.end', (1, 12), 'number out of range'),
    ('.func main x\n.end', (1, 12), "expected a number, got 'x'"),
    ('.entry foo\nHALT', (1, 8), "unknown entry function 'foo'"),
    ('.entry main\n.entry main\nHALT', (2, 1), 'duplicate .entry'),
    ('.entry', (1, 7), 'missing operand for .entry'),
    ("PUSH 'ab'", (1, 6), 'bad character literal'),
    ("PUSH 'a", (1, 6), 'bad character literal'),
    ('.data 4090 1 2 3 4 5 6 7', (1, 7), 'data outside memory: cells 4090..4096 of 4096'),
    ('.memory 4\n.data 4', (2, 7), 'data outside memory'),
    ('.data', (1, 6), 'missing operand for .data'),
    ('.data 0 x', (1, 9), "undefined constant 'x'"),
    ('.memory 0', (1, 9), 'number out of range: 0 (expected 1..67108864)'),
    ('.memory 67108865', (1, 9), 'number out of range'),
    ('.memory 5\n.memory 6', (2, 1), 'duplicate .memory'),
    ('.memory', (1, 8), 'missing operand for .memory'),
    ('.const A 1\n.const A 2', (2, 8), "duplicate constant 'A'"),
    ('.const 9A 1', (1, 8), "bad constant name '9A'"),
    ('.const A', (1, 9), 'missing operand for .const'),
    ('.const A 1 2', (1, 12), 'too many operands for .const'),
    ('  @', (1, 3), "expected a mnemonic, got '@'"),
    (': NOP', (1, 1), "unexpected ':'"),
    ('9x: NOP', (1, 1), "bad label name '9x'"),
    ('JMP "x"', (1, 5), 'expected a label or an offset'),
    ('.byte 256', (1, 7), 'number out of range'),
    ('.byte', (1, 6), 'missing operand for .byte'),
    ('.line x', (1, 7), "expected a number, got 'x'"),
    ('.source "a\\q"', (1, 9), 'bad string'),
    ('.source a\n.source b', (2, 1), 'duplicate .source'),
    ('.func "a\\0b"\n.end', (1, 7), 'may not contain NUL'),
    ('CALL "x', (1, 6), 'bad string'),
])
def test_errors_name_file_line_column_and_problem(text, where, problem):
    e = asm_error(text)
    assert (e.lineno, e.col) == where, e.message
    assert problem in e.problem
    assert e.line() == f'error: t.asm:{where[0]}:{where[1]}: {e.problem}'
    assert e.exit_code == 2


def test_spec_error_format():
    e = asm_error('\n' * 11 + '        ADDD', 'prog.asm')
    assert e.line() == "error: prog.asm:12:9: unknown mnemonic 'ADDD'"


def test_missing_main_without_entry():
    e = asm_error('.func f\nHALT\n.end')
    assert 'main' in e.problem and e.line().startswith('error: t.asm: ')


def test_too_many_functions():
    text = ''.join(f'.func f{i}\n.end\n' for i in range(65537))
    e = asm_error(text)
    assert 'too many functions' in e.problem and e.lineno == 2 * 65536 + 1


def test_long_tokens_are_shortened_in_messages():
    e = asm_error('X' * 10000)
    assert len(e.message) < 200


@pytest.mark.parametrize('text', [
    '"', "'", '"\\', "PUSH '\\", ':::', 'a::', '.', '..', '.func "', '.func main\n.end\n.entry "',
    'PUSH \x00', '\x0b\x0c', 'CALL', 'JMP', 'PUSH +', 'PUSH -', '.line', '\u2028PUSH 1', 'ĦALT',
    'PUSH ٣', 'PUSH ²', '.data 0 ²',
])
def test_odd_text_gives_an_asm_error_or_a_program(text):
    try:
        assemble(text)
    except VMError:
        pass


def test_large_input_is_linear_enough():
    body = '\n'.join(f'l{i}: PUSH {i}\nJNZ l{i}' for i in range(50000))
    p = assemble(f'.func main\n{body}\nHALT\n.end')
    assert len(p.functions[0].code) == 50000 * 14 + 1
