"""`jitvm dump`: bytecode interleaved with the machine code it became, on
both backends from any host (compiling runs nothing)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from backends import load_backend
from backends.lowering import CompiledCode
from vm.api import load
from vm.dump import compile_all, dump_lines, machine_listing

ROOT = Path(__file__).resolve().parents[2]
SUM = ROOT / 'bytecode' / 'sum.asm'
ARCHES = ['x86_64', 'aarch64']
BYTECODE = re.compile(r'^(\d+) +(\S+)')              # `28      LOAD   0`
MACHINE = re.compile(r'^    ([0-9a-f]{4,})  ([0-9a-f]+) +(.*)$')


def jitvm(*args):
    return subprocess.run([sys.executable, '-m', 'vm.cli', *map(str, args)], cwd=ROOT,
                          capture_output=True, timeout=60)


def program(path=SUM):
    return load(Path(path).read_text(), str(path))


def parse(lines):
    """[('bc', pc, mnemonic)] and [('mc', offset, bytes, text)] in listing order."""
    out = []
    for line in lines:
        if m := BYTECODE.match(line):
            out.append(('bc', int(m[1]), m[2]))
        elif m := MACHINE.match(line):
            out.append(('mc', int(m[1], 16), bytes.fromhex(m[2]), m[3]))
    return out


def mnemonics(rows):
    return [r[3].split()[0] for r in rows if r[0] == 'mc']


@pytest.mark.parametrize('arch', ARCHES)
def test_sum_listing_holds_all_code_and_every_instruction_in_order(arch):
    p = program()
    rows = parse(dump_lines(p, load_backend(arch)))
    (code,), _ = compile_all(p, load_backend(arch))
    # every byte of the function, once, in order
    assert b''.join(r[2] for r in rows if r[0] == 'mc') == code.code
    offsets = [r[1] for r in rows if r[0] == 'mc']
    assert offsets == sorted(offsets)
    # every bytecode instruction, in pc order, right before its code
    pcs = [r[1] for r in rows if r[0] == 'bc']
    assert pcs == [ins.offset for ins in p.facts[0].instrs]
    for i, row in enumerate(rows):
        if row[0] == 'bc':
            following = next((r for r in rows[i + 1:] if r[0] == 'mc'), None)
            if following is not None and row[1] in code.pc_offsets:
                assert following[1] >= code.pc_offsets[row[1]]


@pytest.mark.parametrize('arch', ARCHES)
@pytest.mark.parametrize('path', sorted((ROOT / 'bytecode').glob('*.asm')), ids=lambda p: p.stem)
def test_every_example_listing_covers_every_byte_and_instruction(path, arch):
    """For each function: its bytes once and in order, its instructions in
    pc order, the out-of-line heading after the last instruction."""
    p = program(path)
    target = load_backend(arch)
    codes, _ = compile_all(p, target)
    text = '\n'.join(dump_lines(p, target))
    parts = text.split('\n.func ')[1:]
    assert len(parts) == len(p.functions)
    for part, code, facts in zip(parts, codes, p.facts):
        rows = parse(part.splitlines())
        assert b''.join(r[2] for r in rows if r[0] == 'mc') == code.code
        assert [r[1] for r in rows if r[0] == 'bc'] == [ins.offset for ins in facts.instrs]
        body = part.partition('; out of line')[0]
        assert [r[1] for r in parse(body.splitlines()) if r[0] == 'mc'][-1] < code.out_of_line


def test_sum_mnemonics_x86_64():
    rows = parse(dump_lines(program(), load_backend('x86_64')))
    names = mnemonics(rows)
    assert 'add' in names and 'sub' in names
    assert {'cmp', 'test'} & set(names)
    assert any(n.startswith('j') for n in names)
    # the loop's JNZ became a conditional jump right after it
    at = next(i for i, r in enumerate(rows) if r[0] == 'bc' and r[2] == 'JNZ')
    after = [r for r in rows[at + 1:] if r[0] == 'mc']
    assert any(r[3].startswith('jne') for r in after[:2])


def test_sum_mnemonics_aarch64():
    rows = parse(dump_lines(program(), load_backend('aarch64')))
    names = mnemonics(rows)
    assert 'add' in names and 'sub' in names
    assert 'cbnz' in names or any(n.startswith('b.') for n in names)
    at = next(i for i, r in enumerate(rows) if r[0] == 'bc' and r[2] == 'ADD')
    assert next(r for r in rows[at + 1:] if r[0] == 'mc' and r[3].startswith('add'))


CALLS_AND_TRAPS = """
.func main
        PUSH 7
        CALL half
        PRINT
        PUSH 0
        HALT
        PUSH 99          ; unreachable
        HALT
.end
.func half 1 0
        LLOAD 0
        PUSH 0
        DIV              ; may trap: a stub out of line
        RET
.end
"""


@pytest.mark.parametrize('arch', ARCHES)
def test_out_of_line_code_has_its_own_heading(arch):
    p = load(CALLS_AND_TRAPS, 'calls.asm')
    lines = dump_lines(p, load_backend(arch))
    text = '\n'.join(lines)
    assert text.count('.func ') == 2
    assert 'unreachable: not compiled' in text
    assert 'the CALL at 9 returns here' in text
    # in each function, the out-of-line heading comes after every bytecode line
    for part in text.split('\n.func ')[1:]:
        body, _, tail = part.partition('; out of line')
        assert tail, part
        assert not any(BYTECODE.match(line) for line in tail.splitlines())
        assert any(MACHINE.match(line) for line in tail.splitlines())


def test_a_backend_without_offsets_gets_bytecode_then_code():
    p = program()
    target = load_backend('x86_64')
    (code,), _ = compile_all(p, target)
    bare = CompiledCode(code.func_index, code.code, code.entry, ops=code.ops)

    class NoOffsets:
        name = 'x86_64'

        def compile_function(self, program, fidx, vstack_checks=True):
            return bare
    rows = parse(dump_lines(p, NoOffsets()))
    kinds = [r[0] for r in rows]
    assert kinds == sorted(kinds)                  # all 'bc' rows, then all 'mc' rows
    assert b''.join(r[2] for r in rows if r[0] == 'mc') == code.code


def test_opt_calls_the_optimizing_tier_when_there_is_one():
    p = program()
    base = load_backend('aarch64')
    asked = []

    class WithOpt:
        name = 'aarch64'

        def compile_function(self, program, fidx, vstack_checks=True):
            raise AssertionError('the baseline is not used when opt > 0')

        def compile_optimized(self, program, fidx, level):
            asked.append((fidx, level))
            return base.compile_function(program, fidx)
    lines = dump_lines(p, WithOpt(), opt=2)
    assert asked == [(0, 2)]
    assert 'optimizing tier, opt 2' in lines[0]

    class BaselineOnly:
        name = 'aarch64'
        compile_function = staticmethod(base.compile_function)
    assert 'no optimizing tier' in '\n'.join(dump_lines(p, BaselineOnly(), opt=1))


def test_undecodable_bytes_are_data_and_decoding_resumes():
    rows = machine_listing(b'\x06\x90\xc3', 'x86_64')        # 0x06 is not an x86-64 instruction
    assert [r[2] for r in rows] == ['.byte 0x06', 'nop', 'ret']
    rows = machine_listing(bytes(4) + bytes.fromhex('c0035fd6'), 'aarch64')   # udf-ish word, then ret
    assert rows[-1][2] == 'ret' and sum(len(r[1]) for r in rows) == 8


@pytest.mark.parametrize('arch', ARCHES)
def test_command_plain_when_piped_colour_when_asked(arch):
    plain = jitvm('dump', SUM, '--backend', arch)
    assert plain.returncode == 0, plain.stderr
    assert b'\x1b[' not in plain.stdout
    assert plain.stdout.decode().splitlines()[0].endswith(f'{arch} backend, baseline')
    coloured = jitvm('dump', SUM, '--backend', arch, '--color')
    assert coloured.returncode == 0 and b'\x1b[' in coloured.stdout
    assert re.sub(rb'\x1b\[[0-9;]*m', b'', coloured.stdout) == plain.stdout


@pytest.mark.parametrize('args, phrase', [
    (['dump', 'no-such-file.asm'], 'cannot read'),
    (['dump', SUM, '--backend', 'riscv'], 'is not a backend'),
    (['dump', SUM, '--opt', '3'], '--opt'),
])
def test_bad_input_is_one_error_line(args, phrase):
    proc = jitvm(*args)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert 'Traceback' not in err and len(err.splitlines()) == 1
    assert err.startswith('error: ') and phrase in err, err
