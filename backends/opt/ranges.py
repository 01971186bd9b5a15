"""Value ranges, and the checks they prove needless (`remove_checks`).

Every integer value gets an interval [lo, hi] of int64 (plus a flag for
"zero excluded" when lo < 0 < hi, which `or x, 1` proves). The intervals
are computed with exact, unwrapped arithmetic: a result that could leave
int64 (so that the machine would wrap) becomes the full range, which is
how the analysis proves that an induction variable never overflows.

Branches refine: on the edges of `br (lt x y)` x < y holds on one side
and x >= y on the other (likewise le, gt, ge, eq, ne), and on the edges of
`br c` c != 0 / c == 0. A fact holds in the block the edge enters when that
block has no other predecessor, and in everything that block dominates;
a phi operand sees the facts of its edge. Checks refine their own result:
after `chkaddr a`, the value is inside memory; after `chkzero b`, nonzero.

Loops: the iteration starts from "no value yet" and grows; a phi that
changed twice is widened to the next threshold (the constants that
compares test against, plus or minus one, 0, +-1 and memory_cells), and
after a few more to the full range, so it terminates. A narrowing pass
then re-evaluates the widened phis and what depends on them; that is how
`i < K` bounds an induction variable that widening took to the top.

`remove_checks` replaces `chkaddr a` when 0 <= a < memory_cells and
`chkzero b` when b != 0 by their operand, and a check of a value that a
dominating check of the same kind already passed. Nothing is hoisted: a
check moved to a loop's preheader would trap before the effects of the
iterations that run first, or at a different pc.
Unknown ops (new ones included) give the full range and no facts.
"""
from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right

from .divide import divide_by_constants
from .ir import Function, dominators, reachable, resolve

MIN, MAX = -(1 << 63), (1 << 63) - 1
MASK = (1 << 64) - 1
FULL = (MIN, MAX, False)
WIDEN_AFTER = 2          # changes of one phi joined plainly before widening
GIVE_UP_AFTER = 16       # ... then to thresholds, then to the full range
NARROW_STEPS = 3         # re-evaluations of one value while narrowing

COMPARES = ('eq', 'ne', 'lt', 'le', 'gt', 'ge')
NEGATED = {'eq': 'ne', 'ne': 'eq', 'lt': 'ge', 'ge': 'lt', 'le': 'gt', 'gt': 'le'}
SWAPPED = {'eq': 'eq', 'ne': 'ne', 'lt': 'gt', 'gt': 'lt', 'le': 'ge', 'ge': 'le'}
# where a variable tested `x rel c` settles: inside the test's bound, or one
# step past it (the increment after an `i < c` at the top of a loop)
BOUND_OFFSETS = {'lt': (-1, 0), 'le': (0, 1), 'gt': (1, 0), 'ge': (0, -1), 'eq': (0,),
                 'ne': (-1, 0, 1)}


# ------------------------------------------------------------------ intervals

def make(lo: int, hi: int, nonzero: bool = False):
    """The canonical range, or None when it is empty (never executed)."""
    if nonzero:
        if lo == 0:
            lo = 1
        if hi == 0:
            hi = -1
    if lo > hi:
        return None
    return (lo, hi, nonzero and lo < 0 < hi)


def exact(lo: int, hi: int, nonzero: bool = False):
    """A range from unwrapped arithmetic: the full range if it can wrap."""
    if lo < MIN or hi > MAX:
        return FULL
    return make(lo, hi, nonzero)


def excludes_zero(r) -> bool:
    return r[0] > 0 or r[1] < 0 or r[2]


def join(r, s):
    if r is None:
        return s
    if s is None:
        return r
    return make(min(r[0], s[0]), max(r[1], s[1]), excludes_zero(r) and excludes_zero(s))


def meet(r, s):
    if r is None or s is None:
        return None
    return make(max(r[0], s[0]), min(r[1], s[1]), excludes_zero(r) or excludes_zero(s))


def constrain(r, rel: str, s):
    """r, knowing that (r rel s) holds for a value of s."""
    lo, hi, nz = r[0], r[1], excludes_zero(r)
    if rel == 'lt':
        hi = min(hi, s[1] - 1)
    elif rel == 'le':
        hi = min(hi, s[1])
    elif rel == 'gt':
        lo = max(lo, s[0] + 1)
    elif rel == 'ge':
        lo = max(lo, s[0])
    elif rel == 'eq':
        return meet(r, s)
    elif s[0] == s[1]:                  # ne a single value: shave it off an end
        c = s[0]
        if lo == c:
            lo += 1
        if hi == c:
            hi -= 1
        nz = nz or c == 0
    return make(lo, hi, nz)


# ------------------------------------------------------------------ transfer functions

def _add(a, b):
    return exact(a[0] + b[0], a[1] + b[1])


def _sub(a, b):
    return exact(a[0] - b[1], a[1] - b[0])


def _mul(a, b):
    p = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    return exact(min(p), max(p), excludes_zero(a) and excludes_zero(b))


def _mulhs(a, b):
    p = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])   # floor is monotone
    return make(min(p) >> 64, max(p) >> 64)


def _trunc_div(x: int, c: int) -> int:
    q = abs(x) // abs(c)
    return -q if (x < 0) != (c < 0) else q


def _div(a, b):
    if b[0] == b[1] and b[0] not in (0, -1):
        q1, q2 = _trunc_div(a[0], b[0]), _trunc_div(a[1], b[0])   # monotone in a
        return make(min(q1, q2), max(q1, q2))
    if b[0] == b[1] == -1:
        return _neg(a)
    m = max(-a[0], a[1])
    if m > MAX:                          # INT64_MIN / -1 wraps
        return FULL
    if a[0] >= 0 and b[0] > 0:
        return make(0, a[1])
    return make(-m, m)


def _mod(a, b):
    bound = max(-b[0], b[1]) - 1          # |r| < |b|, the sign of a
    lo = 0 if a[0] >= 0 else max(a[0], -bound)
    hi = 0 if a[1] <= 0 else min(a[1], bound)
    return make(lo, hi)


def _and(a, b):
    if a[0] >= 0 and b[0] >= 0:
        return make(0, min(a[1], b[1]))
    if a[0] >= 0:
        return make(0, a[1])
    if b[0] >= 0:
        return make(0, b[1])
    if a[1] < 0 and b[1] < 0:            # clearing bits of two negatives
        return make(MIN, min(a[1], b[1]))
    return FULL


def _or(a, b):
    nz = excludes_zero(a) or excludes_zero(b)
    if a[0] >= 0 and b[0] >= 0:
        return make(max(a[0], b[0]), (1 << max(a[1], b[1]).bit_length()) - 1, nz)
    if a[1] < 0 and b[1] < 0:
        return make(max(a[0], b[0]), -1)
    if a[1] < 0:
        return make(a[0], -1)
    if b[1] < 0:
        return make(b[0], -1)
    return make(MIN, MAX, nz)


def _xor(a, b):
    nz = a[1] < b[0] or b[1] < a[0]       # disjoint: never equal
    if a[0] >= 0 and b[0] >= 0:
        return make(0, (1 << max(a[1], b[1]).bit_length()) - 1, nz)
    if a[1] < 0 and b[1] < 0:
        return make(0, MAX, nz)
    if (a[1] < 0 and b[0] >= 0) or (b[1] < 0 and a[0] >= 0):
        return make(MIN, -1)
    return make(MIN, MAX, nz)


def _shl(a, b):
    if b[0] != b[1]:
        return FULL
    k = b[0] & 63
    return exact(a[0] << k, a[1] << k)


def _shr(a, b):
    if b[0] != b[1]:
        return make(0, a[1]) if a[0] >= 0 else FULL
    k = b[0] & 63
    if k == 0:
        return a
    if a[0] >= 0:
        return make(a[0] >> k, a[1] >> k)
    if a[1] < 0:
        return make((a[0] & MASK) >> k, (a[1] & MASK) >> k)
    return make(0, MASK >> k)


def _sar(a, b):
    if b[0] == b[1]:
        k = b[0] & 63
        return make(a[0] >> k, a[1] >> k)
    return make(min(a[0], 0) if a[1] >= 0 else a[0], max(a[1], 0) if a[0] < 0 else a[1])


def _compare(always, never):
    """A compare that is 1 when always(a, b), 0 when never(a, b), else 0 or 1."""
    def transfer(a, b):
        if always(a, b):
            return (1, 1, False)
        if never(a, b):
            return (0, 0, False)
        return (0, 1, False)
    return transfer


def _disjoint(a, b):
    return a[1] < b[0] or b[1] < a[0]


def _same_constant(a, b):
    return a[0] == a[1] == b[0] == b[1]


def _neg(a):
    if a[0] == MIN:
        return (MIN, MIN, False) if a[1] == MIN else FULL
    return make(-a[1], -a[0], excludes_zero(a))


def _not(a):
    return make(~a[1], ~a[0], not a[0] <= -1 <= a[1])


BINARY = {
    'add': _add, 'sub': _sub, 'mul': _mul, 'mulhs': _mulhs, 'div': _div, 'mod': _mod,
    'and': _and, 'or': _or, 'xor': _xor, 'shl': _shl, 'shr': _shr, 'sar': _sar,
    'eq': _compare(_same_constant, _disjoint),
    'ne': _compare(_disjoint, _same_constant),
    'lt': _compare(lambda a, b: a[1] < b[0], lambda a, b: a[0] >= b[1]),
    'le': _compare(lambda a, b: a[1] <= b[0], lambda a, b: a[0] > b[1]),
    'gt': _compare(lambda a, b: a[0] > b[1], lambda a, b: a[1] <= b[0]),
    'ge': _compare(lambda a, b: a[0] >= b[1], lambda a, b: a[1] < b[0]),
}
UNARY = {'neg': _neg, 'not': _not, 'copy': lambda a: a}
TRACKED = frozenset(BINARY) | frozenset(UNARY) | {'const', 'chkaddr', 'chkzero'}


# ------------------------------------------------------------------ the analysis

class Ranges:
    """The ranges of one function's values; `at(v, block)` is v's range as
    seen in block (refined by the facts that hold there)."""

    def __init__(self, fn: Function, roots=None):
        """roots: the values whose ranges are wanted (with everything they
        depend on); None for every value."""
        self.fn = fn
        self.cells = fn.memory_cells
        self.order = reachable(fn)
        self.idom = dominators(fn)
        self.ranges: dict = {}
        self.edge_facts: dict = {}
        self.facts: dict = {}
        self._collect_facts()
        self._solve(roots)

    # -- facts -------------------------------------------------------------------
    def _facts_of_edge(self, p, b) -> dict:
        """value -> ((rel, other), ...) known on the edge p -> b."""
        term = p.insts[-1] if p.insts else None
        if term is None or term.op != 'br' or len(p.succs) != 2 or p.succs[0] is p.succs[1]:
            return {}
        c = term.args[0]
        taken = b is p.succs[0]
        facts: dict = {}
        if c.op in COMPARES:
            x, y = c.args
            rel = c.op if taken else NEGATED[c.op]
            facts.setdefault(x, []).append((rel, y))
            facts.setdefault(y, []).append((SWAPPED[rel], x))
        facts.setdefault(c, []).append(('ne' if taken else 'eq', (0, 0, False)))
        return {v: tuple(fs) for v, fs in facts.items()}

    def _collect_facts(self) -> None:
        empty: dict = {}
        for p in self.order:
            if p.insts and p.insts[-1].op == 'br':
                for b in p.succs:
                    ef = self._facts_of_edge(p, b)
                    if ef:
                        self.edge_facts[(p, b)] = ef
        for b in self.order:
            up = self.idom.get(b)
            inherited = empty if up is None or up is b else self.facts[up]
            own = self.edge_facts.get((b.preds[0], b)) if len(b.preds) == 1 else None
            if own:
                merged = dict(inherited)
                for v, fs in own.items():
                    merged[v] = merged.get(v, ()) + fs
                self.facts[b] = merged
            else:
                self.facts[b] = inherited

    def _apply(self, r, facts):
        for rel, other in facts:
            s = other if isinstance(other, tuple) else self.ranges.get(other)
            if s is None:       # nothing compared yet: nothing passes the test yet
                return None
            r = constrain(r, rel, s)
            if r is None:
                return None
        return r

    def at(self, v, block):
        """v's range in block, or None if no execution reaches it with a value."""
        r = self.ranges.get(v)
        if r is None:
            return None
        facts = self.facts.get(block)       # None: a block the entry cannot reach
        fs = facts.get(v) if facts else None
        return self._apply(r, fs) if fs else r

    def _on_edge(self, v, p, b):
        r = self.at(v, p)
        if r is None:
            return None
        ef = self.edge_facts.get((p, b))
        fs = ef.get(v) if ef else None
        return self._apply(r, fs) if fs else r

    # -- transfer ----------------------------------------------------------------
    def _evaluate(self, ins):
        op, b = ins.op, ins.block
        if op == 'phi':
            out = None
            for p, a in zip(b.preds, ins.args):
                out = join(out, self._on_edge(a, p, b))
            return out
        if op == 'const':
            return make(ins.imm, ins.imm)
        args = [self.at(a, b) for a in ins.args]
        if any(r is None for r in args):
            return None
        if op in BINARY:
            return BINARY[op](*args)
        if op in UNARY:
            return UNARY[op](args[0])
        if op == 'chkaddr':
            return meet(args[0], (0, self.cells - 1, False)) if self.cells else None
        if op == 'chkzero':
            a = args[0]
            return make(a[0], a[1], True)
        return FULL  # pragma: no cover - TRACKED decides which ops come here

    @staticmethod
    def _tracked(ins) -> bool:
        op = ins.op
        if op == 'phi':
            return ins.var != 'M'
        return op in TRACKED

    def _thresholds(self) -> list[int]:
        t = {MIN, MAX, -1, 0, 1, self.cells - 1, self.cells}
        for b in self.order:
            for ins in b.insts:
                if ins.op in COMPARES:
                    x, y = ins.args
                    if y.op == 'const':
                        t.update(c + y.imm for c in BOUND_OFFSETS[ins.op])
                    if x.op == 'const':
                        t.update(c + x.imm for c in BOUND_OFFSETS[SWAPPED[ins.op]])
        return sorted(x for x in t if MIN <= x <= MAX)

    def _needed(self, roots) -> set:
        """roots and everything their ranges depend on: the operands of
        tracked values and the other sides of the facts about them."""
        others: dict = {}
        for facts in self.edge_facts.values():
            for x, fs in facts.items():
                for _, other in fs:
                    if not isinstance(other, tuple):
                        others.setdefault(x, []).append(other)
        need: set = set()
        stack = list(roots)
        tracked = self._tracked
        while stack:
            v = stack.pop()
            if v in need:
                continue
            need.add(v)
            if tracked(v):
                stack.extend(v.args)
            stack.extend(others.get(v, ()))
        return need

    def _solve(self, roots) -> None:
        if roots is None:
            values = [ins for b in self.order for ins in b.phis + b.insts]
        else:
            # the order only speeds convergence: blocks in reverse postorder,
            # phis first, then by id (mostly definition order)
            rank = {b: k for k, b in enumerate(self.order)}
            values = []
            for v in self._needed(roots):
                if v.block in rank:
                    values.append(v)
                else:
                    self.ranges[v] = FULL    # in a block the entry cannot reach
            values.sort(key=lambda v: (rank[v.block], v.op != 'phi', v.id))
        seq = []
        tracked = self._tracked
        for ins in values:
            if tracked(ins):
                seq.append(ins)
            else:
                self.ranges[ins] = FULL      # params, loads, calls, unknown ops
        position = {ins: k for k, ins in enumerate(seq)}
        users: dict = {}
        for k, ins in enumerate(seq):
            for a in ins.args:
                users.setdefault(a, []).append(k)
        # a fact (x rel y) makes x's users depend on y as well
        for facts in self.edge_facts.values():
            for x, fs in facts.items():
                for _, other in fs:
                    if not isinstance(other, tuple) and x in users:
                        users.setdefault(other, []).extend(users[x])
        thresholds = self._thresholds()
        changes: dict = {}
        ranges = self.ranges

        def widen(old, new):
            lo, hi = new[0], new[1]
            if lo < old[0]:
                lo = thresholds[bisect_right(thresholds, lo) - 1]
            if hi > old[1]:
                hi = thresholds[bisect_left(thresholds, hi)]
            return make(lo, hi, new[2])

        work = list(range(len(seq)))
        queued = set(work)
        while work:
            k = heapq.heappop(work)
            queued.discard(k)
            ins = seq[k]
            old = ranges.get(ins)
            new = join(old, self._evaluate(ins))
            if new == old:
                continue
            if ins.op == 'phi' and old is not None:
                n = changes[ins] = changes.get(ins, 0) + 1
                if n > GIVE_UP_AFTER:
                    new = make(MIN if new[0] < old[0] else old[0],
                               MAX if new[1] > old[1] else old[1], new[2])
                elif n > WIDEN_AFTER:
                    new = widen(old, new)
            ranges[ins] = new
            for u in users.get(ins, ()):
                if u not in queued:
                    queued.add(u)
                    heapq.heappush(work, u)
        # narrowing: from the post-fixpoint, every re-evaluation stays sound
        work = sorted(position[p] for p, n in changes.items() if n > WIDEN_AFTER)
        queued = set(work)
        steps: dict = {}
        while work:
            k = heapq.heappop(work)
            queued.discard(k)
            ins = seq[k]
            old = ranges.get(ins)
            new = meet(old, self._evaluate(ins))
            if new == old:
                continue
            n = steps[ins] = steps.get(ins, 0) + 1
            if n > NARROW_STEPS:
                continue
            ranges[ins] = new
            for u in users.get(ins, ()):
                if u not in queued:
                    queued.add(u)
                    heapq.heappush(work, u)


# ------------------------------------------------------------------ the pass

def cannot_fail(check, r, cells: int) -> bool:
    if r is None:
        return False          # not reached with a value: leave it as it is
    if check.op == 'chkaddr':
        return 0 <= r[0] and r[1] < cells
    return excludes_zero(r)


def remove_checks(fn: Function) -> Function:
    """Replace every chkaddr/chkzero that cannot fail by its operand."""
    checks = [i for b in fn.blocks for i in b.insts if i.op in ('chkaddr', 'chkzero')]
    if not checks:
        return fn
    ranges = Ranges(fn, [c.args[0] for c in checks])
    forward = {}
    for chk in checks:
        if cannot_fail(chk, ranges.at(chk.args[0], chk.block), fn.memory_cells):
            forward[chk] = chk.args[0]
    _drop_dominated_repeats(fn, ranges, forward)
    if forward:
        _forward(fn, forward)
    return fn


def _forward(fn: Function, forward: dict) -> None:
    """Drop the forwarded checks and rewrite their uses, in one sweep."""
    for b in fn.blocks:
        for phi in b.phis:
            if any(a in forward for a in phi.args):
                phi.args = [resolve(forward, a) for a in phi.args]
        keep = []
        for ins in b.insts:
            if ins in forward:
                continue
            args = ins.args
            for k, a in enumerate(args):
                if a in forward:
                    args[k] = resolve(forward, a)
            keep.append(ins)
        b.insts = keep


def _drop_dominated_repeats(fn: Function, ranges: Ranges, forward: dict) -> None:
    """A check of a value that a dominating check of the same kind passed
    cannot fail: it becomes the earlier check's result."""
    seen: dict = {}
    for b in ranges.order:
        up = ranges.idom.get(b)
        here = seen[up] if up is not None and up is not b else {}
        copied = False
        for ins in b.insts:
            if ins.op not in ('chkaddr', 'chkzero'):
                continue
            key = (ins.op, ins.args[0])
            earlier = here.get(key)
            if earlier is not None:
                forward.setdefault(ins, earlier)
                continue
            if not copied:
                here, copied = dict(here), True
            here[key] = ins
        seen[b] = here


# The two passes of this step; run 'checks' before 'divide': the range of
# `mod a, K` is |r| < K, sharper than that of its rewritten sequence.
ARITH_PASSES = {'divide': divide_by_constants, 'checks': remove_checks}
ARITH_ORDER = ('checks', 'divide')
