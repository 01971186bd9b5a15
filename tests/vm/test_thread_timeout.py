"""`vm.api` run with a time limit from a thread that is not the main thread
(where SIGALRM cannot be used): a timer thread ends the run, through the
interpreter's calls and backward jumps and through the stop flag compiled
code polls. It used to be ignored silently."""
from __future__ import annotations

import threading
import time

import pytest

from vm.api import RunConfig, execute

# prints, then loops forever in a loop that calls a function (both poll points)
FOREVER = """\
.func main 0 1
    PUSH 65
    PRINTC
loop:
    LLOAD 0
    CALL step
    LSTORE 0
    JMP loop
.end
.func step 1 0
    LLOAD 0
    PUSH 1
    ADD
    RET
.end
"""

# the same, with no calls in the loop: only backward jumps
SPIN = """\
.func main 0 1
    PUSH 66
    PRINTC
loop:
    LLOAD 0
    PUSH 1
    ADD
    LSTORE 0
    JMP loop
.end
"""

# deep recursion forever-ish: no loop at all, only calls
RECURSE = """\
.func main
    PUSH 67
    PRINTC
    PUSH 0
    CALL f
    RET
.end
.func f 1 0
    LLOAD 0
    PUSH 1
    ADD
    DUP
    CALL f
    ADD
    CALL f
    RET
.end
"""

CONFIGS = {
    'interpreter': dict(jit=False),
    'jit-threshold-0': dict(jit=True, jit_threshold=0),
    'jit-default': dict(jit=True),
    'jit-no-room': dict(jit=True, jit_threshold=2, code_cache=0),
}


def run_in_thread(source: str, **options):
    box = {}

    def body():
        started = time.monotonic()
        box['outcome'] = execute(source, RunConfig(timeout=0.3, **options), 'forever.asm')
        box['elapsed'] = time.monotonic() - started
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), 'the time limit was ignored'
    return box['outcome'], box['elapsed']


@pytest.mark.parametrize('name', sorted(CONFIGS))
@pytest.mark.parametrize('source,first', [(FOREVER, b'A'), (SPIN, b'B'), (RECURSE, b'C')])
def test_a_time_limit_works_outside_the_main_thread(name, source, first):
    got, elapsed = run_in_thread(source, max_call_depth=1_000_000, **CONFIGS[name])
    if got.phrase == 'call stack overflow':      # RECURSE may get there first natively
        assert source is RECURSE
    else:
        assert (got.exit_code, got.error) == (1, 'error: time limit exceeded'), got
    assert got.stdout == first
    assert elapsed < 5, elapsed


def test_a_run_that_ends_in_time_is_not_disturbed_by_its_timer():
    box = {}

    def body():
        box['got'] = execute(FOREVER.replace('JMP loop', 'LLOAD 0\n    PUSH 1000\n    LT\n'
                                             '    JNZ loop\n    PUSH 0\n    RET'),
                             RunConfig(timeout=0.2, jit=True, jit_threshold=5))
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(30)
    assert box['got'].exit_code == 0 and box['got'].stdout == b'A'
    time.sleep(0.4)         # the timer, cancelled, must not touch released memory
