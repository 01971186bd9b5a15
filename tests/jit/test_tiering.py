"""Tiering: hot-loop and hot-function detection, entry into a compiled loop
at its header from the live interpreter frame (OSR), hot code calling cold
code staying native, hand-back to the interpreter, and the `-v` / `--stats`
lines that report it all."""
from __future__ import annotations

import re

import pytest

from tests.support.backend_engines import cli_args
from vm.api import load

from .tiering_support import interp, jitvm, same_as_interp, stats

# every test once per way of running compiled code (tests/jit/conftest.py)
pytestmark = pytest.mark.usefixtures('jit_target')

# A loop entered with a value under it on the operand stack (1000), live
# locals (counter, running sum, a constant), and memory the loop rewrites;
# it prints every tenth counter, so output order across the switch shows.
OSR = """\
.memory 8
.func main 0 3
    PUSH 11
    PRINT               ; once, before the loop: nothing is redone at the switch
    PUSH 1000           ; stays on the operand stack through the loop
    PUSH 5
    STORE 3
    PUSH 100
    LSTORE 0
    PUSH 7
    LSTORE 2
loop:
    LLOAD 1
    LLOAD 0
    LLOAD 2
    MUL
    ADD
    LSTORE 1
    LOAD 3
    LLOAD 0
    XOR
    STORE 3
    LLOAD 0
    PUSH 10
    MOD
    JNZ skip
    LLOAD 0
    PRINT
skip:
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ loop
    LLOAD 1
    ADD
    PRINT
    LOAD 3
    PRINT
    LLOAD 1
    HALT
.end
"""

# A hot loop calling `rare` only every 1000th iteration: `rare` never gets
# hot by itself, so it must be compiled with the loop for the loop to stay
# native.
HOT_CALLS_COLD = """\
.func main 0 2
    PUSH 20000
    LSTORE 0
loop:
    LLOAD 0
    PUSH 1000
    MOD
    JNZ next
    LLOAD 0
    PUSH 3
    PUSH 4
    PUSH 5
    CALL rare
    LLOAD 1
    ADD
    LSTORE 1
next:
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ loop
    LLOAD 1
    PRINT
    LLOAD 1
    RET
.end
.func rare 4 1
    LLOAD 0
    LLOAD 1
    MUL
    LLOAD 2
    LLOAD 3
    SUB
    ADD
    DUP
    LSTORE 4
    PRINT
    LLOAD 4
    RET
.end
"""

# `big` is too large for a one-page code cache, so native code calling it
# hands its frames back; the callers have operands pending under each call.
BIG_BODY = '\n'.join(['    LLOAD 0', '    PUSH 3', '    MUL', '    PUSH 1', '    ADD',
                      '    LSTORE 0'] * 800)
HANDBACK = f"""\
.func main 0 2
    PUSH 30
    LSTORE 0
loop:
    PUSH 1
    LLOAD 0
    CALL outer
    ADD
    LLOAD 1
    XOR
    LSTORE 1
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ loop
    LLOAD 1
    PRINT
    LLOAD 1
    RET
.end
.func outer 1 1
    PUSH 7
    LLOAD 0
    PUSH 2
    CALL inner
    MUL
    DUP
    LSTORE 1
    PRINT
    LLOAD 1
    RET
.end
.func inner 2 0
    LLOAD 1
    LLOAD 0
    CALL big
    ADD
    RET
.end
.func big 1 0
{BIG_BODY}
    LLOAD 0
    RET
.end
"""

COMPILED = re.compile(r'^\[JIT\] compiled (\S+) \(([a-z 0-9]+)\): (\d+) ops -> (\d+) bytes '
                      r'at 0x[0-9a-f]+, \d+ us$')


def header_of(source: str, function: str = 'main') -> tuple[int, int]:
    """The loop header of a function and the operand-stack height there."""
    program = load(source)
    facts = program.facts[program.function_index(function)]
    (header,) = facts.loop_headers
    return header, facts.heights[header]


def jit_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith('[JIT] ')]


def test_hot_loop_is_detected_compiled_and_entered_at_its_header():
    header, height = header_of(OSR)
    assert height == 1                       # a non-empty operand stack at the header
    got = same_as_interp(OSR, jit_threshold=5)
    lines = jit_lines(got.log)
    assert f'[JIT] hot loop main+{header} after 5 backward jumps' in lines
    compiled = [COMPILED.match(line) for line in lines if ' compiled ' in line]
    assert len(compiled) == 1 and compiled[0], lines
    name, why, ops, size = compiled[0].groups()
    assert (name, why) == ('main', 'hot loop') and int(ops) > 30 and int(size) > int(ops)
    s = stats(got.log)
    assert s['entries'] == 1 and s['handbacks'] == 0 and s['functions'] == 1
    assert got.stdout.startswith(b'11\n100\n90\n') and got.stdout.count(b'11\n') == 1


@pytest.mark.parametrize('threshold', [0, 1, 2, 3, 5, 50, 98, 99, 100, 1000])
def test_osr_at_any_iteration_gives_the_interpreters_answer(threshold):
    got = same_as_interp(OSR, jit_threshold=threshold)
    assert got.result == sum(i * 7 for i in range(1, 101))
    entered = stats(got.log)['entries']
    # 99 backward jumps in all; whether the 99th is "at" a threshold of 99
    # is the JIT's choice, so only the unambiguous ends are pinned down
    if threshold <= 98:
        assert entered == 1
    elif threshold >= 100:
        assert entered == 0


def test_nested_loop_switches_at_the_inner_header():
    source = """\
.func main 0 3
    PUSH 9
    PUSH 40
    LSTORE 0
outer:
    PUSH 25
    LSTORE 1
inner:
    LLOAD 2
    LLOAD 0
    LLOAD 1
    MUL
    XOR
    LSTORE 2
    LLOAD 1
    PUSH 1
    SUB
    DUP
    LSTORE 1
    JNZ inner
    LLOAD 2
    PRINTC
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ outer
    LLOAD 2
    ADD
    RET
.end
"""
    for threshold in (1, 7, 24, 25, 26, 60):
        got = same_as_interp(source, jit_threshold=threshold)
        assert stats(got.log)['entries'] <= 1


def test_hot_function_is_detected_after_threshold_calls():
    source = '.func main\n' + '    PUSH 4\n    CALL sq\n    PRINT\n' * 6 + \
        '    PUSH 0\n    RET\n.end\n.func sq 1\n    LLOAD 0\n    DUP\n    MUL\n    RET\n.end\n'
    got = same_as_interp(source, jit_threshold=3)
    assert got.stdout == b'16\n' * 6
    assert '[JIT] hot function sq after 3 calls' in got.log
    assert any(COMPILED.match(l) and 'compiled sq (hot function)' in l
               for l in jit_lines(got.log))
    assert 0 < stats(got.log)['entries'] <= 4


def test_hot_loop_calling_a_cold_function_stays_native():
    got = same_as_interp(HOT_CALLS_COLD, jit_threshold=100)
    lines = jit_lines(got.log)
    assert any(l.startswith('[JIT] hot loop main+') for l in lines)
    assert not any('hot function' in l for l in lines)      # rare was called 2 times only
    compiled = {COMPILED.match(l).group(1): COMPILED.match(l).group(2)
                for l in lines if COMPILED.match(l)}
    assert compiled == {'main': 'hot loop', 'rare': 'hot loop'}   # compiled with the loop
    s = stats(got.log)
    assert s['entries'] == 1 and s['handbacks'] == 0     # 18 calls of rare, one native entry
    assert got.stdout.count(b'\n') == 21


@pytest.mark.parametrize('threshold', [1, 3])
def test_callee_that_does_not_fit_hands_frames_back(threshold):
    got = same_as_interp(HANDBACK, jit_threshold=threshold, code_cache=8192)
    assert re.search(r'\[JIT\] fallback: big stays interpreted \(\d+ bytes do not fit '
                     r'the 8192-byte code cache\)', got.log), got.log
    handbacks = re.findall(r'\[JIT\] fallback to the interpreter at (\w+)\+(\d+) '
                           r'\((\d+) frames? handed back\)', got.log)
    assert handbacks and stats(got.log)['handbacks'] == len(handbacks)
    # each hand-back stops at a CALL: main+24 (outer), outer+21 (inner), inner+6 (big)
    assert {(f, int(pc)) for f, pc, _ in handbacks} <= {('main', 24), ('outer', 21), ('inner', 6)}
    # and some hand back native callers too (outer's frame under inner's, and
    # main's under both once main's loop runs natively)
    assert max(int(n) for _, _, n in handbacks) >= 2


@pytest.mark.parametrize('threshold', [0, 2, 29])
def test_hand_back_at_every_threshold_matches(threshold):
    for cache in (4096, 1 << 20):
        same_as_interp(HANDBACK, jit_threshold=threshold, code_cache=cache)


def test_threshold_0_compiles_before_the_first_instruction():
    got = same_as_interp(HOT_CALLS_COLD, jit_threshold=0)
    first = jit_lines(got.log)[1]
    assert COMPILED.match(first) and 'compiled main (threshold 0)' in first
    s = stats(got.log)
    assert s['entries'] == 1 and s['functions'] == 2


def test_no_jit_and_no_verbose_print_no_jit_lines():
    assert interp(OSR).log == ''
    quiet = same_as_interp(OSR, jit_threshold=5, verbose=False, stats=False)
    assert quiet.log == ''


def test_cli_verbose_and_stats_go_to_stderr(tmp_path, jit_target):
    path = tmp_path / 'osr.asm'
    path.write_text(OSR)
    ref = jitvm('run', str(path), '--no-jit', '--result')
    proc = jitvm('run', str(path), '--jit-threshold', '5', '-v', '--stats', '--result',
                 *cli_args(jit_target))
    assert proc.returncode == ref.returncode == 0
    assert proc.stdout == ref.stdout and proc.stdout.endswith(b'result: 35350\n')
    err = proc.stderr.decode()
    lines = err.splitlines()
    assert all(l.startswith('[JIT] ') or l.startswith('[JIT stats] ') for l in lines), err
    summary = [l for l in lines if l.startswith('[JIT stats] ')]
    for needle in ('compiled regions', 'code bytes', 'compile time', 'us/op',
                   'time in interpreter', 'in compiled code'):
        assert any(needle in l for l in summary), (needle, summary)
    only_stats = jitvm('run', str(path), '--jit-threshold', '5', '--stats',
                       *cli_args(jit_target)).stderr.decode()
    assert only_stats.splitlines() and all(l.startswith('[JIT stats] ')
                                           for l in only_stats.splitlines())
