"""Code cache packing: regions are packed by bytes (several to a page, W^X
kept on pages shared by live code), and a hot function placed apart from
its callees never has them evict it (each region used to take a whole 4 KiB
page, so `--code-cache 4096` held one region, and the callees of a group
that did not fit evicted the function that called them)."""
from __future__ import annotations

import re

from asmkit.memory import PAGE, CodeArena

from .test_codecache import LRU, evictions
from .tiering_support import same_as_interp, stats


def test_arena_packs_blobs_by_bytes_and_keeps_wx():
    with CodeArena(PAGE, granule=16) as arena:
        ret = b'\xc3'                          # x86-64 `ret`; only read, never run here
        blobs = [arena.load(ret * (20 + i)) for i in range(8)]
        assert len({b.address // PAGE for b in blobs}) == 1     # all on one page
        assert all(b.span % 16 == 0 and b.span < 64 for b in blobs)
        assert arena.protection(blobs[0].address) == 'r-xp'
        blobs[3].free()
        assert arena.protection(blobs[0].address) == 'r-xp'    # the page still holds code
        again = arena.load(ret * 30)
        assert again.address == blobs[3].address and again.read() == ret * 30
        assert blobs[2].read() == ret * 22 and blobs[4].read() == ret * 24
        for b in blobs[:3] + blobs[4:] + [again]:
            b.free()
        assert arena.protection(blobs[0].address) == '---p'    # no code left: no access
        assert arena.capacity == PAGE and CodeArena(100, granule=16).capacity == 112


def test_a_one_page_cache_holds_several_small_regions():
    got = same_as_interp(LRU, jit_threshold=2, code_cache=4096)
    s = stats(got.log)
    assert (s['functions'], s['live_regions'], s['evicted']) == (3, 3, 0)
    addresses = [int(a, 16) for a in re.findall(r' bytes at (0x[0-9a-f]+)', got.log)]
    assert len({a // 4096 for a in addresses}) == 1


# `top` has a hot loop calling a, b and c every fourth time round (so the
# loop gets hot before they do); the four do not fit the cache
# together, so each is placed on its own: top first, then its callees while
# there is room, never by evicting top or one another
CALLEE = """\
.func {name} 1 1
{body}
    LLOAD 0
    RET
.end
"""
STEP = '\n'.join(['    LLOAD 0', '    PUSH 5', '    MUL', '    PUSH 3', '    XOR', '    LSTORE 0'])


def group_program(steps: int) -> str:
    body = '\n'.join([STEP] * steps)
    callees = ''.join(CALLEE.format(name=n, body=body) for n in 'abc')
    return f"""\
.func main
    CALL top
    PRINT
    PUSH 0
    RET
.end
.func top 0 2
    PUSH 300
    LSTORE 0
loop:
    LLOAD 0
    PUSH 4
    MOD
    JNZ skip
    LLOAD 0
    CALL a
    CALL b
    CALL c
    LLOAD 1
    XOR
    LSTORE 1
skip:
    LLOAD 0
    PUSH 1
    SUB
    DUP
    LSTORE 0
    JNZ loop
    LLOAD 1
    RET
.end
{callees}"""


def sizes(log: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'^\[JIT\] compiled (\w+) \([a-z 0-9]+\): \d+ ops -> (\d+) bytes',
                                 log, re.M)}


def test_a_group_never_evicts_its_own_members():
    source = group_program(40)
    size = sizes(same_as_interp(source, jit_threshold=5).log)
    # room for top and two callees, not for the third beside them
    align = lambda n: -(-n // 16) * 16
    cache = align(size['top']) + align(size['a']) + align(size['b']) + size['c'] // 2
    for threshold in (0, 3, 10):
        got = same_as_interp(source, jit_threshold=threshold, code_cache=cache)
        assert evictions(got.log) == [], got.log
        compiled = re.findall(r'^\[JIT\] compiled (\w+) ', got.log, re.M)
        assert 'top' in compiled and len(compiled) == len(set(compiled)), got.log
        assert 'backing off' in got.log
