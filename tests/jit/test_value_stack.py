"""When the value stack cannot hold max_call_depth of the largest frames,
compiled calls check for room and, when it runs out, hand their frames back
to the interpreter, which carries on with the same result."""
from __future__ import annotations

import pytest

import vm.state
from vm.api import RunConfig, execute

DEEP = """
.func main
    PUSH 3000
    CALL down
    PRINT
    HALT
.end
.func down 1 8
    LLOAD 0
    JZ base
    LLOAD 0
    DUP
    LSTORE 5
    PUSH 1
    SUB
    CALL down
    LLOAD 5
    ADD
    RET
base:
    PUSH 0
    RET
.end
"""


@pytest.mark.parametrize('threshold', [0, 5])
def test_value_stack_exhaustion_hands_back(monkeypatch, jit_target, threshold):
    reference = execute(DEEP, RunConfig(jit=False))
    assert reference.stdout == b'%d\n' % (3000 * 3001 // 2)
    monkeypatch.setattr(vm.state, 'VSTACK_LIMIT', 64 * 1024)    # ~800 frames of `down`
    got = execute(DEEP, RunConfig(jit_threshold=threshold, verbose=True, **jit_target))
    assert (got.stdout, got.result, got.exit_code) == (reference.stdout, reference.result, 0)
    assert '[JIT] fallback to the interpreter at down+' in got.log
