"""Handing back a deep recursion of big frames must cost about what the
interpreter pays for those frames anyway: the frames are sliced out of the
value stack in bulk (one list per frame), not read one word at a time.
Before that, 10^5 frames of 200 locals took about 4x the interpreter's CPU
time; 10^6 took 174 s against 17 s."""
from __future__ import annotations

import re
import time

from .diffengines import report
from .tiering_support import interp, jit

DEPTH = 30_000
LOCALS = 200

BIG_BODY = '\n'.join(['    LLOAD 0', '    PUSH 3', '    MUL', '    PUSH 1', '    ADD',
                      '    LSTORE 0'] * 800)

# rec recurses DEPTH deep (compiled once hot, so natively); at the bottom it
# calls `big`, which does not fit the cache: every native frame is handed back
DEEP = f"""\
.func main
    PUSH {DEPTH}
    CALL rec
    PRINT
    PUSH 0
    RET
.end
.func rec 1 {LOCALS}
    LLOAD 0
    DUP
    LSTORE {LOCALS}
    JZ base
    LLOAD 0
    PUSH 1
    SUB
    CALL rec
    LLOAD {LOCALS}
    ADD
    RET
base:
    PUSH 1
    CALL big
    RET
.end
.func big 1 0
{BIG_BODY}
    LLOAD 0
    RET
.end
"""


def cpu(run) -> tuple[float, object]:
    t0 = time.process_time()
    got = run()
    return time.process_time() - t0, got


def test_deep_big_frames_hand_back_in_bulk(request):
    options = dict(max_call_depth=1_000_000, code_cache=8192, stats=False)
    ref_times, jit_times = [], []
    for _ in range(3):
        t, ref = cpu(lambda: interp(DEEP, max_call_depth=1_000_000))
        ref_times.append(t)
        t, got = cpu(lambda: jit(DEEP, **options))
        jit_times.append(t)
        assert (got.stdout, got.exit_code) == (ref.stdout, ref.exit_code)
        handed = [int(n) for n in re.findall(r'\((\d+) frames handed back\)', got.log)]
        assert handed and max(handed) > DEPTH * 9 // 10, got.log[-500:]
    ratio = min(jit_times) / min(ref_times)
    report(request, f'deep hand-back: {DEPTH} frames of {LOCALS + 1} slots, JIT/interpreter '
                    f'CPU time {ratio:.2f}x')
    assert ratio < 2.0, (jit_times, ref_times)
