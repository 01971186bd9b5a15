"""Limits that only a real process shows: recursion to --max-call-depth
1000000 in native code, --timeout and SIGINT stopping compiled infinite
loops, and output kept in order across the native output buffer's flushes
when a run traps or times out."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.support.backend_engines import cli_args, jit_targets

from .tiering_support import ROOT, jitvm, same_as_interp

LIMIT = 1_000_000

# main calls rec(n); rec(0) is frame n + 2, so n = LIMIT - 2 is exactly the limit
RECURSION = """\
.func main
    PUSH {n}
    PUSH 0
    CALL rec
    PRINT
    PUSH 0
    RET
.end
.func rec 2 1
    LLOAD 0
    JZ base
    LLOAD 0
    PUSH 1
    SUB
    LLOAD 1
    PUSH 3
    ADD
    CALL rec
    RET
base:
    LLOAD 1
    RET
.end
"""

# main prints, then calls spin, which counts forever (flag polled at headers)
SPIN = """\
.func main
    PUSH 65
    PRINTC
    PUSH 10
    PRINTC
    PUSH 1
    CALL spin
    RET
.end
.func spin 1 1
loop:
    LLOAD 1
    LLOAD 0
    ADD
    LSTORE 1
    JMP loop
.end
"""

# prints 0 .. 19999 (109 KiB: more than the 64 KiB native output buffer),
# then spins until the time limit
PRINT_THEN_SPIN = """\
.func main 0 1
loop:
    LLOAD 0
    PRINT
    LLOAD 0
    PUSH 1
    ADD
    DUP
    LSTORE 0
    PUSH 20000
    LT
    JNZ loop
spin:
    LLOAD 0
    PUSH 1
    ADD
    LSTORE 0
    JMP spin
.end
"""

# `jitvm run` options per way of running compiled code (from the registry):
# the host's backend natively at threshold 0 and mixed, every backend under
# Unicorn at threshold 0
MODES = {}
for _name, _options in jit_targets():
    if _name == 'native':
        MODES['native-jit0'] = ['--jit-threshold', '0', *cli_args(_options)]
        MODES['native-mixed'] = ['--jit-threshold', '50', *cli_args(_options)]
    else:
        MODES[f'{_name}-jit0'] = ['--jit-threshold', '0', *cli_args(_options)]
EMULATED = [name for name in MODES if name.endswith('-emu-jit0')]
NATIVE = [name for name in MODES if name.startswith('native-')]


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


RECURSION_MODES = {**({'native-jit0': MODES['native-jit0'],
                       'native-default': MODES['native-jit0'][2:]} if NATIVE else {}),
                   **{name.replace('-jit0', '-mixed'): ['--jit-threshold', '5', *MODES[name][2:]]
                      for name in EMULATED}}


@pytest.mark.parametrize('mode', sorted(RECURSION_MODES))
def test_recursion_to_exactly_the_call_depth_limit(tmp_path, mode):
    args = RECURSION_MODES[mode]
    path = write(tmp_path, 'deep.asm', RECURSION.format(n=LIMIT - 2))
    proc = jitvm('run', path, '--max-call-depth', str(LIMIT), '--result', *args, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, b'')
    assert proc.stdout == b'%d\nresult: 0\n' % (3 * (LIMIT - 2))


def test_one_frame_more_overflows_where_the_interpreter_does(tmp_path):
    path = write(tmp_path, 'deeper.asm', RECURSION.format(n=LIMIT - 1))
    ref = jitvm('run', path, '--max-call-depth', str(LIMIT), '--no-jit', timeout=120)
    assert ref.returncode == 1
    assert ref.stderr.decode() == (f"error: call stack overflow in function 'rec' at offset 34 "
                                   f"({path}:18)\n")
    default = [MODES['native-jit0'][2:]] if NATIVE else []
    for args in [MODES[name] for name in sorted(MODES)] + default:
        proc = jitvm('run', path, '--max-call-depth', str(LIMIT), *args, timeout=120)
        assert (proc.returncode, proc.stdout, proc.stderr) == (1, ref.stdout, ref.stderr), args


@pytest.mark.parametrize('depth', [1, 2, 3, 17, 10000])
def test_small_limits_trap_at_the_same_place(depth, jit_target):
    for n in (depth - 3, depth - 2, depth - 1):
        if n >= 0:
            for threshold in (0, 1, 1000):
                same_as_interp(RECURSION.format(n=n), jit_threshold=threshold,
                               max_call_depth=depth)


@pytest.mark.parametrize('mode', sorted(MODES))
def test_timeout_stops_a_compiled_infinite_loop(tmp_path, mode):
    path = write(tmp_path, 'spin.asm', SPIN)
    started = time.monotonic()
    proc = jitvm('run', path, '--timeout', '0.5', *MODES[mode], timeout=30)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert proc.stderr == b'error: time limit exceeded\n'
    assert proc.stdout == b'A\n'
    assert elapsed < 5, f'{mode}: stopped after {elapsed:.1f} s'


def _start(args, tmp_path):
    """A jitvm child with SIGINT at its default (a background test runner
    may have it ignored, and children inherit that)."""
    def restore():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    return subprocess.Popen([sys.executable, '-m', 'vm.cli', *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=restore)


def _wait_for(stream, needle: bytes, seconds: float) -> bytes:
    """Read stream until needle shows up (the -v line saying native code
    is about to run)."""
    seen, deadline = b'', time.monotonic() + seconds
    fd = stream.fileno()
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f'never saw {needle!r}: {seen!r}'
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f'stream closed before {needle!r}: {seen!r}'
            seen += chunk
    return seen


@pytest.mark.parametrize('mode', sorted(MODES))
def test_sigint_stops_a_compiled_infinite_loop(tmp_path, mode):
    path = write(tmp_path, 'spin.asm', SPIN)
    child = _start(['run', path, '-v', *MODES[mode]], tmp_path)
    try:
        err = _wait_for(child.stderr, b'compiled spin', 30)
        time.sleep(0.3)                     # well inside the native loop by now
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, rest = child.communicate(timeout=10)
        stopped = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert (err + rest).decode().splitlines()[-1] == 'error: interrupted'
    assert out == b'A\n'
    assert stopped < 3, f'{mode}: stopped {stopped:.1f} s after SIGINT'


@pytest.mark.parametrize('threshold', [0, 1, 500])
def test_output_past_64k_is_kept_in_order_before_a_trap(threshold, jit_target):
    source = """\
.func main 0 1
    PUSH 30000
    LSTORE 0
loop:
    LLOAD 0
    PRINT
    LLOAD 0
    PUSH 7
    MOD
    PUSH 65
    ADD
    PRINTC
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ loop
    PUSH 1
    LLOAD 0
    DIV
    RET
.end
"""
    got = same_as_interp(source, jit_threshold=threshold)
    assert got.phrase == 'division by zero' and got.exit_code == 1
    assert len(got.stdout) > 150_000
    assert got.stdout.startswith(b'30000\nF29999\nE') and got.stdout.endswith(b'1\nB')


@pytest.mark.parametrize('mode', sorted(MODES))
def test_output_past_64k_is_kept_in_order_at_a_timeout(tmp_path, mode):
    path = write(tmp_path, 'print-then-spin.asm', PRINT_THEN_SPIN)
    proc = jitvm('run', path, '--timeout', '0.7', *MODES[mode], timeout=30)
    assert proc.returncode == 1 and proc.stderr == b'error: time limit exceeded\n'
    assert proc.stdout == b''.join(b'%d\n' % i for i in range(20000))
    assert len(proc.stdout) > 65536
