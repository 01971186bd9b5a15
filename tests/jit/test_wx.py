"""W^X while native code runs: no mapping of the process is writable and
executable at once, sampled from another thread while compiled code runs
(ctypes releases the GIL) and while regions are compiled and evicted.
Runs in a child process so that nothing else in the test session (Unicorn's
own translation buffer, for one) is in the address space."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from backends import engine_backends

from .tiering_support import ROOT

CHILD = textwrap.dedent('''
    import json, re, sys, threading, time
    from vm.api import RunConfig, execute
    BACKEND = sys.argv[1]

    def executable():
        out = []
        with open('/proc/self/maps') as f:
            for line in f:
                fields = line.split()
                if 'x' in fields[1]:
                    lo, hi = (int(v, 16) for v in fields[0].split('-'))
                    out.append((lo, hi, fields[1]))
        return out

    SPIN = """
    .func main 0 1
        PUSH 1
        CALL work
        POP
    loop:
        LLOAD 0
        PUSH 1
        ADD
        LSTORE 0
        JMP loop
    .end
    .func work 1 0
        LLOAD 0
        PUSH 3
        MUL
        RET
    .end
    """
    # many small functions hot in turn in a cache of a few of them: compile,
    # evict, reuse (regions share a page: every write flips it RX -> RW -> RX)
    CHURN = '.func main\\n' + ''.join(
        '    CALL f%d\\n    POP\\n' % (i % 12) for i in range(400)) + '    PUSH 0\\n    RET\\n.end\\n' + \\
        ''.join('.func f%d\\n    PUSH %d\\n    RET\\n.end\\n' % (i, i) for i in range(12))

    before = executable()
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(executable())
            time.sleep(0.002)

    thread = threading.Thread(target=sample)
    thread.start()
    # long enough that code runs a while after the JIT's set-up (made at the
    # first compile: slow as an aarch64 process under qemu)
    spin = execute(SPIN, RunConfig(jit_threshold=0, backend=BACKEND, timeout=1.5, verbose=True))
    churn = execute(CHURN, RunConfig(jit_threshold=2, backend=BACKEND, code_cache=160,
                                     verbose=True))
    stop.set()
    thread.join()
    after = executable()
    code_at = [int(a, 16) for a in re.findall(r'bytes at (0x[0-9a-f]+)', spin.log)]
    print(json.dumps({
        'spin': [spin.exit_code, spin.phrase], 'churn': [churn.exit_code, churn.log.count('evicted')],
        'samples': len(samples),
        'rwx': sorted({f'{lo:x}-{hi:x} {p}' for s in [before, after] + samples
                       for lo, hi, p in s if 'w' in p}),
        'code_seen_rx': sum(any(lo <= a < hi and p.startswith('r-x') for lo, hi, p in s)
                            for s in samples for a in code_at[:1]),
    }))
''')


# Natively only: under --emulate, Unicorn's own translation buffer is a
# writable and executable mapping of the process (not one of ours).
NATIVE = [name for name, native in engine_backends() if native]


@pytest.mark.parametrize('backend', NATIVE)
def test_no_mapping_is_writable_and_executable_while_code_runs(backend):
    proc = subprocess.run([sys.executable, '-c', CHILD, backend], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report['spin'] == [1, 'time limit exceeded']
    assert report['churn'][0] == 0 and report['churn'][1] > 10     # regions were evicted
    assert report['samples'] > 20
    assert report['rwx'] == []
    # the sampler really looked while compiled code was mapped (and it was r-x)
    assert report['code_seen_rx'] > 5
