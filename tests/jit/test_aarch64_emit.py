"""The AArch64 emitters under Unicorn, on programs aimed at what differs
from x86-64: `sdiv` does not trap (zero divisors, INT64_MIN / -1, %),
immediates that do not encode (wide constants, non-bitmask logic values),
offsets past the scaled 12-bit load/store range (many locals, high memory
cells, a function table past 32 KiB), shift counts of 64 and more, and
register pressure. Each program is compared with the interpreter on the
aarch64 engines; and every function the backend compiles re-assembles,
from Capstone's text, to the same bytes through asmkit (so every emitted
instruction is a form asmkit encodes and proves)."""
from __future__ import annotations

from pathlib import Path

import pytest

import asmkit
from backends.aarch64.target import TARGET
from tests.jit.diffengines import ENGINES, compare
from vm.api import load

ROOT = Path(__file__).resolve().parents[2]
A64 = {k: v for k, v in ENGINES.items() if k == 'interp' or k.endswith('-aarch64-emu')}
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def agree(source: str):
    assert any(k.startswith('o2-') for k in A64) and len(A64) >= 4, sorted(A64)
    outcomes, bad = compare(source, A64)
    assert not bad, '\n'.join(f'{name}: {d}' for name, diffs in bad.items() for d in diffs) \
        + '\n' + source
    return outcomes['interp']


# -- division ------------------------------------------------------------------
DIVIDENDS = [INT64_MIN, INT64_MIN + 1, -7, -1, 0, 1, 7, INT64_MAX]
DIVISORS = [INT64_MIN, -7, -2, -1, 1, 2, 7, INT64_MAX]


@pytest.mark.parametrize('op', ['DIV', 'MOD'])
@pytest.mark.parametrize('divisor_from', ['constant', 'local', 'memory'])
def test_division_edge_cases(op, divisor_from):
    """Every pair as a constant divisor (its own code path per value) or a
    register divisor from a local or a memory cell."""
    lines = ['.memory 4', '.func main 0 2']
    for a in DIVIDENDS:
        for d in DIVISORS:
            lines += [f'PUSH {a}', 'LSTORE 0']
            if divisor_from == 'constant':
                lines += ['LLOAD 0', f'PUSH {d}']
            elif divisor_from == 'local':
                lines += [f'PUSH {d}', 'LSTORE 1', 'LLOAD 0', 'LLOAD 1']
            else:
                lines += [f'PUSH {d}', 'STORE 3', 'LLOAD 0', 'LOAD 3']
            lines += [op, 'PRINT']
    lines += ['PUSH 0', 'RET', '.end']
    out = agree('\n'.join(lines))
    assert out.exit_code == 0 and out.stdout.count(b'\n') == len(DIVIDENDS) * len(DIVISORS)


@pytest.mark.parametrize('op', ['DIV', 'MOD'])
@pytest.mark.parametrize('zero_from', ['constant', 'local', 'stack'])
def test_zero_divisor_traps_at_its_offset(op, zero_from):
    divisor = {'constant': 'PUSH 0', 'local': 'LLOAD 0',
               'stack': 'LLOAD 0\nPUSH 5\nMUL'}[zero_from]
    out = agree(f""".func main 0 1
    PUSH 1
    PRINT
    PUSH {INT64_MIN}
    {divisor}
    {op}
    PRINT
    PUSH 0
    RET
.end""")
    assert out.phrase == 'division by zero' and out.exit_code == 1


# -- immediates ----------------------------------------------------------------------
WIDE = [0, 1, -1, 4095, 4096, -4096, 4097, 0xFFF000, 0x1000000, 0xFFFF, 0x10000, -0x10000,
        0x5555555555555555, 0x00FF00FF00FF00FF, 0x123456789ABCDEF, INT64_MIN, INT64_MAX,
        0xFFFF0000FFFF0000 - (1 << 64), 63, 64, 65, 127, -63]


@pytest.mark.parametrize('op', ['ADD', 'SUB', 'MUL', 'AND', 'OR', 'XOR', 'SHL', 'SHR', 'SAR',
                                'EQ', 'NE', 'LT', 'LE', 'GT', 'GE'])
def test_wide_and_unencodable_immediates(op):
    """x OP constant, for constants that do and do not fit an add/sub or
    bitmask immediate, and shift counts past 63; also fused with JNZ."""
    lines = ['.func main 0 1']
    for x in (INT64_MIN, -3, 0, 5, 0x0F0F0F0F0F0F0F0F):
        for c in WIDE:
            lines += [f'PUSH {x}', 'LSTORE 0', 'LLOAD 0', f'PUSH {c}', op, 'PRINT',
                      f'PUSH {c}', 'LLOAD 0', op, 'PRINT']
    for i, c in enumerate(WIDE):
        if op in ('EQ', 'NE', 'LT', 'LE', 'GT', 'GE'):
            lines += ['LLOAD 0', f'PUSH {c}', op, f'JNZ yes{i}', 'PUSH 0', 'PRINT', f'yes{i}:']
    lines += ['PUSH 0', 'RET', '.end']
    agree('\n'.join(lines))


def test_shift_counts_from_registers_use_the_low_six_bits():
    lines = ['.func main 0 2']
    for x in (INT64_MIN, -5, 1, INT64_MAX):
        for n in (0, 1, 63, 64, 65, 127, 128, -1, -64, INT64_MIN):
            for op in ('SHL', 'SHR', 'SAR'):
                lines += [f'PUSH {x}', 'LSTORE 0', f'PUSH {n}', 'LSTORE 1',
                          'LLOAD 0', 'LLOAD 1', op, 'PRINT']
    lines += ['PUSH 0', 'RET', '.end']
    agree('\n'.join(lines))


# -- offsets past the immediate range -----------------------------------------------------
def test_many_locals_and_high_memory_cells():
    """Locals 0..4999 (offsets to 40 KiB: past ldr's 32760), memory cells
    past 4095 through LOAD/STORE and LOADI/STOREI, and > 16 locals zeroed
    by the loop."""
    out = agree(""".memory 70000
.func main
    PUSH 11
    PUSH 22
    CALL big
    PRINT
    PUSH 69999
    LOADI
    PRINT
    LOAD 4100
    PRINT
    PUSH 0
    RET
.end
.func big 2 4998
    LLOAD 4999
    PRINT
    LLOAD 0
    LSTORE 4999
    LLOAD 1
    LSTORE 4096
    LLOAD 4999
    LLOAD 4096
    ADD
    DUP
    STORE 4100
    DUP
    PUSH 69999
    SWAP
    STOREI
    LLOAD 4999
    LLOAD 4096
    MUL
    ADD
    RET
.end""")
    assert out.exit_code == 0 and out.stdout.count(b'\n') == 4


def test_function_table_past_the_immediate_range():
    """A call through function-table entry 4500 (its offset is past 32 KiB)."""
    funcs = [f'.func f{i} 1\n    LLOAD 0\n    PUSH {i}\n    ADD\n    RET\n.end' for i in range(4500)]
    source = '.func main\n    PUSH 1\n    CALL f4499\n    CALL f4498\n    PRINT\n    PUSH 0\n' \
             '    RET\n.end\n' + '\n'.join(funcs)
    assert agree(source).exit_code == 0


def test_deep_operand_stack_spills():
    """More live values than registers (40 on the operand stack), then
    combined back to one, also across a call and a print."""
    body = ['.func main 0 1', 'PUSH 3', 'LSTORE 0']
    body += [x for i in range(40) for x in ('LLOAD 0', f'PUSH {i}', 'ADD')]
    body += ['PUSH 7', 'CALL twice', 'PUSH 9', 'PRINT']
    body += (['MUL', 'SUB', 'XOR', 'ADD'] * 10)[:40]
    body += ['PRINT', 'PUSH 0', 'RET', '.end', '.func twice 1', 'LLOAD 0', 'DUP', 'ADD', 'RET',
             '.end']
    agree('\n'.join(body))


# -- what the backend emits is what asmkit proves -------------------------------------------
def _programs():
    for path in sorted((ROOT / 'bytecode').glob('*.asm')):
        yield path.name, path.read_text()
    from tests.support.progen import generate_from_seed
    for seed in range(40):
        yield f'random{seed}', generate_from_seed(seed, traps=seed % 2 == 0)


def test_every_emitted_instruction_reassembles_through_asmkit():
    """Capstone's text of every compiled function, assembled by asmkit at
    the same address, gives the same bytes (branch targets included)."""
    functions = words = 0
    for name, source in _programs():
        program = load(source, name)
        for fidx in range(len(program.functions)):
            for checks in (True, False):
                code = TARGET.compile_function(program, fidx, vstack_checks=checks).code
                text = asmkit.disassemble(code, 'aarch64', address=0x10000)
                assert len(text) * 4 == len(code), f'{name}: Capstone stopped early'
                again = asmkit.assemble('\n'.join(text), 'aarch64', address=0x10000)
                assert again == code, f'{name} function {fidx}'
                functions += 1
                words += len(text)
    assert functions > 100 and words > 10_000


def test_the_runtime_routines_reassemble_through_asmkit():
    code, _ = TARGET.runtime_routines()
    text = asmkit.disassemble(code, 'aarch64', address=0x40000)
    assert len(text) * 4 == len(code)
    assert asmkit.assemble('\n'.join(text), 'aarch64', address=0x40000) == code
