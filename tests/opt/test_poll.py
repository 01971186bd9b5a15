"""The optimizing tier's counted poll: a loop whose counter steps by 1
reads the stop flag only when the counter's low bits are zero. A
--timeout must still end such loops promptly, whatever the counter's
start, direction and the loop's size, and loops without such a counter
keep the plain poll."""
from __future__ import annotations

import time

import pytest

from backends import host_arch, load_backend
from backends.opt.codegen import MAX_POLL_PERIOD, POLL_WORK, counted_loop, loop_size, natural_loop
from backends.opt.tier import optimize
from vm.api import RunConfig, execute, load


def loop_program(start: int, step: int, body: int = 0) -> str:
    """A loop that would take 2^64 / |step| iterations (it stops at the
    value just before start) with `body` extra additions per iteration."""
    stop = (start - step + (1 << 63)) % (1 << 64) - (1 << 63)
    work = '\n'.join('    LLOAD 1\n    LLOAD 0\n    XOR\n    PUSH 3\n    ADD\n    LSTORE 1'
                     for _ in range(body))
    return f"""\
.func main 0 2
    PUSH {start}
    LSTORE 0
top:
{work}
    LLOAD 0
    PUSH {step}
    ADD
    DUP
    LSTORE 0
    PUSH {stop}
    NE
    JNZ top
    LLOAD 1
    RET
.end
"""


ENGINES = [('native', False)] + [('aarch64', True)] * (host_arch() != 'aarch64') + \
    [('x86_64', True)] * (host_arch() != 'x86_64')


@pytest.mark.parametrize('start, step, body', [
    (8, 1, 0), (8, -1, 0), (-(1 << 63), 1, 0), ((1 << 63) - 1, -1, 0), (12345, 1, 40),
    (8, 3, 0), (8, 2, 0)])
@pytest.mark.parametrize('engine, emulate', ENGINES)
def test_a_timeout_ends_every_loop_shape_promptly(start, step, body, engine, emulate):
    config = RunConfig(jit_threshold=0, opt=2, timeout=0.1, emulate=emulate,
                       backend='auto' if engine == 'native' else engine)
    started = time.monotonic()
    got = execute(loop_program(start, step, body), config)
    elapsed = time.monotonic() - started
    assert got.error == 'error: time limit exceeded' and got.exit_code == 1, got
    assert elapsed < 5, elapsed          # generous: stopping at all is the point; slow hosts


def counter_of(source: str):
    program = load(source)
    fn = optimize(program, 0, 2)
    header = next(b for b in fn.blocks if b.start in program.facts[0].loop_headers)
    body = natural_loop(fn, header)
    return counted_loop(header, body), loop_size(body)


def test_only_unit_steps_count():
    assert counter_of(loop_program(8, 1))[0] is not None
    assert counter_of(loop_program(8, -1))[0] is not None
    assert counter_of(loop_program(8, 2))[0] is None
    assert counter_of(loop_program(8, 3))[0] is None


def test_the_period_keeps_the_work_between_polls_bounded():
    _, small = counter_of(loop_program(8, 1))
    _, big = counter_of(loop_program(8, 1, body=400))
    assert small < big
    for size in (small, big):
        period = 1
        while period * 2 <= MAX_POLL_PERIOD and period * 2 * size <= POLL_WORK:
            period *= 2
        assert period * size <= max(POLL_WORK, size)


@pytest.mark.parametrize('arch', ['x86_64', 'aarch64'])
def test_the_counted_poll_is_in_the_code(arch):
    """One flag read in the loop's cold stub, none on the loop's path."""
    from vm.dump import dump_lines
    lines = dump_lines(load(loop_program(8, 1)), load_backend(arch), opt=2)
    text = '\n'.join(lines)
    assert ('test ' in text and '0xfff' in text) if arch == 'x86_64' else 'tst ' in text
