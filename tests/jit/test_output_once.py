"""Output is written exactly once when --timeout or SIGINT lands while the
output buffer is being flushed. A program printing 0, 1, 2, ... forever is
stopped at random moments, in real `jitvm run` child processes, on the
interpreter and the JIT: what it printed must be a clean prefix of
0\\n1\\n2\\n... every time (before the fix the last buffer, up to 128 KiB,
was sometimes written twice: 4 of 24 runs with --timeout 0.3)."""
from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time

from .tiering_support import ROOT

COUNT = """\
.func main 0 1
loop:
    LLOAD 0
    PRINT
    LLOAD 0
    PUSH 1
    ADD
    LSTORE 0
    JMP loop
.end
"""

MODES = [['--no-jit'], ['--jit-threshold', '0'], []]
PARALLEL = 3


def clean_prefix(out: bytes) -> str | None:
    """None when out is 0\\n1\\n...\\nN\\n (or empty), else what is wrong."""
    if not out:
        return None
    if not out.endswith(b'\n'):
        return f'ends mid-line: {out[-30:]!r}'
    lines = out.split(b'\n')[:-1]
    for i, line in enumerate(lines):
        if line != b'%d' % i:
            return f'line {i} is {line!r} (of {len(lines)})'
    return None


def start(args):
    def default_sigint():       # a background test runner may have it ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    return subprocess.Popen([sys.executable, '-m', 'vm.cli', 'run', *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint)


def collect(child, sigint_after: float | None, limit: float = 20.0):
    """Read the child's stdout to the end (sending SIGINT sigint_after
    seconds after its first output); (stdout, stderr, exit status)."""
    out, fd = bytearray(), child.stdout.fileno()
    first = None
    deadline = time.monotonic() + limit
    sent = sigint_after is None
    while True:
        now = time.monotonic()
        assert now < deadline, 'the child never stopped'
        wait = 0.5
        if not sent and first is not None:
            wait = max(0.0, first + sigint_after - now)
            if wait == 0:
                child.send_signal(signal.SIGINT)
                sent = True
                continue
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            out += chunk
            if first is None:
                first = time.monotonic()
    err = child.stderr.read()
    return bytes(out), err, child.wait()


def run_batch(jobs):
    """jobs: (args, sigint_after); run PARALLEL at a time."""
    results = []
    for i in range(0, len(jobs), PARALLEL):
        batch = [(start(args), after, args) for args, after in jobs[i:i + PARALLEL]]
        # one reader at a time is enough: the others' pipes just fill and wait
        for child, after, args in batch:
            try:
                results.append((args, after, *collect(child, after)))
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
    return results


def test_output_is_a_clean_prefix_when_stopped_at_random_moments(tmp_path):
    path = str(tmp_path / 'count.asm')
    with open(path, 'w') as f:
        f.write(COUNT)
    rng = random.Random(int(os.environ.get('JITVM_STRESS_SEED', '9')))
    jobs = []
    for _ in range(4):
        for mode in MODES:
            jobs.append(([path, '--timeout', f'{rng.uniform(0.05, 0.3):.3f}', *mode], None))
    for _ in range(3):
        for mode in MODES:
            jobs.append(([path, *mode], rng.uniform(0.0, 0.25)))
    rng.shuffle(jobs)
    started = time.monotonic()
    results = run_batch(jobs)
    bad = []
    for args, after, out, err, status in results:
        want = (130, b'error: interrupted\n') if after is not None else \
            (1, b'error: time limit exceeded\n')
        problem = clean_prefix(out)
        if problem or (status, err) != want:
            bad.append(f'{" ".join(args[1:])} sigint={after}: {problem}, status {status}, '
                       f'stderr {err[-300:]!r}')
    assert not bad, '\n'.join(bad)
    assert sum(len(r[2]) > 200_000 for r in results) > len(results) // 3   # flushes happened
    assert time.monotonic() - started < 60, 'keep this test modest'
