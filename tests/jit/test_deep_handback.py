"""Handing back a deep recursion of big frames must cost about what the
interpreter pays for those frames anyway: the frames are sliced out of the
value stack in bulk (one list per frame), not read one word at a time.
Before that, 10^5 frames of 200 locals took about 4x the interpreter's CPU
time; 10^6 took 174 s against 17 s."""
from __future__ import annotations

import re
import time

import pytest

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


# measures CPU-time ratios and holds about 2 GB: never beside another timing test (make test: --dist loadgroup)
@pytest.mark.xdist_group('timing')
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


def test_a_deep_hand_back_gives_the_value_stack_pages_back(monkeypatch):
    """The frames live in the interpreter after a hand-back: the pages the
    native frames touched (here about 48 MB) go back to the system instead
    of staying resident for the rest of the run."""
    import vm.jit
    given = []
    original = vm.jit.Tiering._hand_back

    def watched(self):
        before = self.discarded
        frames = original(self)
        given.append(self.discarded - before)
        return frames
    monkeypatch.setattr(vm.jit.Tiering, '_hand_back', watched)
    got = jit(DEEP, max_call_depth=1_000_000, code_cache=8192, stats=False)
    assert got.stdout == interp(DEEP, max_call_depth=1_000_000).stdout
    assert max(given) >= DEPTH * LOCALS * 8 * 9 // 10, given


def test_discarded_pages_read_as_zero_and_are_not_resident():
    import ctypes
    from vm.memory import PAGE, Region, _libc
    region = Region(64 * PAGE, noreserve=True)
    try:
        words = region.words(0, 64 * PAGE // 8)
        for i in range(0, 64 * PAGE // 8, PAGE // 8):
            words[i] = 7
        assert region.discard(100, 40 * PAGE) == 40 * PAGE - PAGE   # whole pages only
        vec = (ctypes.c_ubyte * 64)()
        _libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
        assert _libc.mincore(region.address, 64 * PAGE, vec) == 0
        assert [v & 1 for v in vec[1:40]] == [0] * 39 and vec[0] & 1 and vec[40] & 1
        assert words[PAGE // 8] == 0 and words[0] == 7 and words[40 * PAGE // 8] == 7
    finally:
        del words
        region.close()
