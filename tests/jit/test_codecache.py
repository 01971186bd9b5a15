"""The code cache: least-recently-used eviction of whole regions, evicted
code rerun in the interpreter (including a native caller whose callee was
evicted: frames handed back), code that never fits, and a sweep of tiny
caches that must never crash or change an answer."""
from __future__ import annotations

import re

import pytest

from tests.support.progen import generate_from_seed

from .tiering_support import same_as_interp, stats

# every test once per way of running compiled code (tests/jit/conftest.py)
pytestmark = pytest.mark.usefixtures('jit_target')


def straight_calls(*names: str) -> str:
    """main calls each name in turn (no loop, so main stays interpreted)."""
    body = ''.join(f'    CALL {n}\n    PRINT\n' for n in names)
    return f'.func main\n{body}    PUSH 0\n    RET\n.end\n'


def leaf(name: str, value: int) -> str:
    return f'.func {name}\n    PUSH {value}\n    DUP\n    PRINTC\n    RET\n.end\n'


LRU = straight_calls('f0', 'f0', 'f1', 'f1', 'f0', 'f2', 'f2', 'f1', 'f1') + \
    leaf('f0', 65) + leaf('f1', 66) + leaf('f2', 67)

# g calls f natively; compiling h then evicts f (least recently entered),
# so the next native g reaches an uncompiled f and hands its frame back
EVICTED_CALLEE = straight_calls('f', 'f', 'g', 'g', 'h', 'h', 'g', 'g', 'g') + \
    leaf('f', 70) + leaf('h', 72) + """\
.func g 0 1
    PUSH 100
    CALL f
    MUL
    DUP
    LSTORE 0
    PRINT
    LLOAD 0
    RET
.end
"""


def evictions(log: str) -> list[str]:
    return re.findall(r'^\[JIT\] evicted (.+) \(\d+ bytes\) to make room$', log, re.M)


def test_least_recently_used_region_is_evicted():
    got = same_as_interp(LRU, jit_threshold=2, code_cache=8192)   # room for two regions
    # f0 was entered again after f1 was compiled, so f1 goes first, then f0
    assert evictions(got.log) == ['f1', 'f0']
    s = stats(got.log)
    assert (s['evicted'], s['live_regions'], s['functions']) == (2, 2, 4)
    assert got.stdout == b'A65\nA65\nB66\nB66\nA65\nC67\nC67\nB66\nB66\n'


def test_evicted_code_runs_in_the_interpreter_until_hot_again():
    got = same_as_interp(LRU, jit_threshold=2, code_cache=8192)
    compiled = re.findall(r'^\[JIT\] compiled (\w+) ', got.log, re.M)
    assert compiled == ['f0', 'f1', 'f2', 'f1']      # f1 compiled again after its eviction


def test_native_caller_of_an_evicted_callee_hands_back():
    got = same_as_interp(EVICTED_CALLEE, jit_threshold=2, code_cache=8192)
    assert evictions(got.log)[0] == 'f'
    handbacks = re.findall(r'^\[JIT\] fallback to the interpreter at (\w+)\+(\d+) ', got.log, re.M)
    assert handbacks and all(func == 'g' and pc == '9' for func, pc in handbacks)
    assert stats(got.log)['handbacks'] == len(handbacks)


def test_a_zero_byte_cache_runs_everything_in_the_interpreter():
    got = same_as_interp(EVICTED_CALLEE, jit_threshold=0, code_cache=0)
    assert 'fallback: main stays interpreted' in got.log
    s = stats(got.log)
    assert (s['functions'], s['entries'], s['evicted']) == (0, 0, 0)


@pytest.mark.parametrize('cache', [0, 1, 4096, 8192, 12288, 1 << 20])
@pytest.mark.parametrize('threshold', [0, 1, 3])
def test_tiny_caches_never_crash_or_change_an_answer(cache, threshold):
    for source in (LRU, EVICTED_CALLEE):
        same_as_interp(source, jit_threshold=threshold, code_cache=cache)
    for seed in range(8):
        same_as_interp(generate_from_seed(9000 + seed, traps=seed % 2 == 1),
                       jit_threshold=threshold, code_cache=cache)


def test_code_placed_over_evicted_code_is_the_new_code():
    """Regions reuse the space of evicted ones: natively the arena makes the
    new bytes coherent (icache flush on AArch64), and Unicorn must not run
    stale translations of the old bytes."""
    for threshold in (1, 2):
        got = same_as_interp(EVICTED_CALLEE, jit_threshold=threshold, code_cache=8192)
        assert evictions(got.log)
