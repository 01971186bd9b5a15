"""The verifier: every rule of spec section 3, its phrase, function, offset
and source line; the facts handed to the interpreter and the JIT."""
import pytest

from vm.errors import VerifyError
from vm.opcodes import BY_NAME, MAX_STACK, encode
from vm.program import Function, Program
from vm.textasm import assemble
from vm.verifier import verify


def ins(mnemonic, arg=None):
    return encode(BY_NAME[mnemonic], arg)


def rejection(text, filename='v.asm'):
    with pytest.raises(VerifyError) as info:
        verify(assemble(text, filename))
    return info.value


def raw_program(code, nargs=0, nlocals=0, memory=4096, more=()):
    return Program([Function('main', nargs, nlocals, code), *more], memory_cells=memory)


def raw_rejection(program):
    with pytest.raises(VerifyError) as info:
        verify(program)
    return info.value


@pytest.mark.parametrize('text, phrase, offset, line', [
    # jump targets: outside, mid-instruction, into another function's range
    ('JMP 100', 'bad jump target', 0, 1),
    ('PUSH 1\nJMP -4\nHALT', 'bad jump target', 9, 2),
    ('JMP -1', 'bad jump target', 0, 1),
    ('JZ 3\nHALT', 'bad jump target', 0, 1),
    ('NOP\nJNZ end\nend:', 'bad jump target', 1, 2),
    # heights
    ('PUSH 1\nJZ l\nPUSH 2\nl: HALT', 'inconsistent stack height', 23, 4),
    ('l: PUSH 1\nJMP l', 'inconsistent stack height', 0, 1),
    ('POP\nHALT', 'stack underflow', 0, 1),
    ('PUSH 1\nADD\nHALT', 'stack underflow', 9, 2),
    ('PUSH 1\nSWAP\nHALT', 'stack underflow', 9, 2),
    ('PUSH 1\nOVER\nHALT', 'stack underflow', 9, 2),
    ('DUP\nHALT', 'stack underflow', 0, 1),
    ('PRINT\nHALT', 'stack underflow', 0, 1),
    ('STOREI\nHALT', 'stack underflow', 0, 1),
    ('LOADI\nHALT', 'stack underflow', 0, 1),
    ('JZ 5\nHALT', 'stack underflow', 0, 1),
    ('STORE 0\nHALT', 'stack underflow', 0, 1),
    # memory, locals, functions
    ('.memory 16\nLOAD 16\nHALT', 'memory address out of range', 0, 2),
    ('.memory 16\nPUSH 1\nSTORE 4294967295\nHALT', 'memory address out of range', 9, 3),
    ('LLOAD 0\nHALT', 'bad local index', 0, 1),
    ('.func main 0 2\nPUSH 1\nLSTORE 2\nHALT\n.end', 'bad local index', 9, 3),
    ('CALL 1\nHALT', 'bad function index', 0, 1),
    # return height
    ('.func main\nHALT\n.end\n.func f\nRET\n.end', 'bad return height', 0, 5),
    ('.func main\nHALT\n.end\n.func f\nPUSH 1\nPUSH 2\nRET\n.end', 'bad return height', 18, 7),
    # falling off the end
    ('PUSH 1', 'falls off the end', 0, 1),
    ('PUSH 0\nJZ -9', 'falls off the end', 9, 2),
    ('.func main\n.end', 'falls off the end', 0, None),
    ('PUSH 1\nCALL main', 'falls off the end', 9, 2),
    # entry
    ('.entry f\n.func f 1\nPUSH 0\nRET\n.end', 'bad entry function', 0, 3),
])
def test_each_rule_with_phrase_offset_and_line(text, phrase, offset, line):
    e = rejection(text)
    assert (e.phrase, e.offset, e.lineno) == (phrase, offset, line), e.message
    assert e.exit_code == 2
    assert e.line().startswith(f'error: {phrase} in function ')


def test_error_message_names_function_and_source_line():
    e = rejection('.func main\nCALL helper\nHALT\n.end\n.func helper 0 0\n  PUSH 1\n  ADD\n  RET\n.end',
                  'prog.asm')
    assert e.line() == "error: stack underflow in function 'helper' at offset 9 (prog.asm:7)"
    assert e.func == 'helper'


def test_decode_errors():
    e = raw_rejection(raw_program(ins('NOP') + b'\x07' + ins('HALT')))
    assert (e.phrase, e.offset, e.lineno) == ('invalid opcode', 1, None)
    assert e.line() == "error: invalid opcode in function 'main' at offset 1"
    e = raw_rejection(raw_program(ins('NOP') + ins('PUSH', 5)[:6]))
    assert (e.phrase, e.offset) == ('truncated instruction', 1)
    for op in ('LOAD', 'STORE', 'LLOAD', 'LSTORE', 'JMP', 'JZ', 'JNZ', 'CALL'):
        cut = encode(BY_NAME[op], 0)[:-1]
        assert raw_rejection(raw_program(cut)).phrase == 'truncated instruction'


def test_decode_errors_from_asm_carry_lines():
    e = rejection('NOP\n.byte 0x99\nHALT')
    assert (e.phrase, e.offset, e.lineno) == ('invalid opcode', 1, 2)


def test_unreachable_code_must_decode_but_has_no_height():
    verify(assemble('HALT\nPOP\nPOP\nADD\nRET'))          # heights never checked
    assert rejection('HALT\n.byte 0x77').phrase == 'invalid opcode'
    assert rejection('HALT\n.byte 1 2').phrase == 'truncated instruction'


def test_unreachable_code_still_needs_valid_immediates():
    assert rejection('HALT\nJMP 1000').phrase == 'bad jump target'
    assert rejection('HALT\nLLOAD 3').phrase == 'bad local index'
    assert rejection('HALT\nCALL 4').phrase == 'bad function index'
    assert rejection('.memory 2\nHALT\nLOAD 2').phrase == 'memory address out of range'


def test_stack_overflow_above_1024():
    verify(assemble('PUSH 1\n' * MAX_STACK + 'HALT'))
    e = rejection('PUSH 1\n' * (MAX_STACK + 1) + 'HALT')
    assert (e.phrase, e.offset, e.lineno) == ('stack overflow', MAX_STACK * 9, MAX_STACK + 1)
    e = rejection('PUSH 1\n' * MAX_STACK + 'DUP\nHALT')
    assert e.phrase == 'stack overflow'
    verify(assemble('PUSH 1\n' * (MAX_STACK - 1) + 'OVER\nHALT'))
    assert rejection('PUSH 1\n' * MAX_STACK + 'OVER\nHALT').phrase == 'stack overflow'


def test_overflow_in_a_loop_is_an_inconsistent_height():
    assert rejection('top: PUSH 1\nJMP top').phrase == 'inconsistent stack height'


def test_call_pops_the_callee_args_and_pushes_one():
    ok = '.func main\nPUSH 1\nPUSH 2\nCALL f\nPRINT\nHALT\n.end\n.func f 2\nLLOAD 0\nRET\n.end'
    facts = verify(assemble(ok))
    assert facts[0].heights[18] == 2 and facts[0].heights[21] == 1
    e = rejection('.func main\nPUSH 1\nCALL f\nHALT\n.end\n.func f 2\nPUSH 0\nRET\n.end')
    assert (e.phrase, e.offset, e.func) == ('stack underflow', 9, 'main')


def test_recursive_and_forward_calls_verify():
    text = ('.func main\nPUSH 10\nCALL fib\nPRINT\nHALT\n.end\n'
            '.func fib 1\nLLOAD 0\nPUSH 2\nLT\nJZ rec\nLLOAD 0\nRET\n'
            'rec: LLOAD 0\nPUSH 1\nSUB\nCALL fib\nLLOAD 0\nPUSH 2\nSUB\nCALL fib\nADD\nRET\n.end')
    facts = verify(assemble(text))
    assert facts[1].max_height == 3


def test_rule_order_decode_before_immediates_before_heights():
    # an underflow at 0, a bad local later, an invalid opcode at the end
    assert rejection('POP\nLLOAD 5\n.byte 0x77').phrase == 'invalid opcode'
    assert rejection('POP\nLLOAD 5\nHALT').phrase == 'bad local index'
    # functions in index order
    e = rejection('.func main\nPOP\nHALT\n.end\n.func g\nJMP 99\n.end')
    assert (e.func, e.phrase) == ('main', 'stack underflow')
    # the entry rule comes first
    assert rejection('.entry f\n.func f 1\nPOP\nRET\n.end').phrase == 'bad entry function'


def test_lowest_offset_is_reported_first():
    e = rejection('PUSH 0\nJZ far\nPOP\nHALT\nfar: POP\nHALT')
    assert (e.phrase, e.offset) == ('stack underflow', 14)


def test_facts():
    p = assemble('PUSH 3\nloop: DUP\nJZ done\nPUSH 1\nSUB\nJMP loop\ndone: PRINT\nHALT\nNOP')
    facts = verify(p)
    assert p.facts is facts and len(facts) == 1
    f = facts[0]
    offsets = [i.offset for i in f.instrs]
    assert offsets == [0, 9, 10, 15, 24, 25, 30, 31, 32]
    assert f.heights == {0: 0, 9: 1, 10: 2, 15: 1, 24: 2, 25: 1, 30: 1, 31: 0}
    assert f.reachable == set(f.heights) and 32 not in f.reachable
    assert f.loop_headers == {9}
    assert f.max_height == 2
    assert f.at[25].op.mnemonic == 'JMP'


def test_self_loop_is_a_loop_header():
    f = verify(assemble('JMP 0'))[0]
    assert f.loop_headers == {0} and f.heights == {0: 0}


def test_ret_in_main_and_halt_with_values():
    verify(assemble('PUSH 5\nRET'))
    verify(assemble('PUSH 1\nPUSH 2\nHALT'))


def test_bad_entry_index_is_rejected():
    p = raw_program(ins('HALT'))
    p.entry = 3
    assert raw_rejection(p).phrase == 'bad entry function'
