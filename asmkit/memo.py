"""The Builders' one speed layer: a memo in front of the checked Encoder.

An instruction's bytes depend only on its method and operands, except for
branches, literals and rip/pc-relative operands, which leave a fixup or a
variable-size item in the buffer.  So a Builder method wrapped here keeps,
per method, a dict from the operand tuple to the buffer's position-free
record ``(bytes, name, *ops)`` (see ``buffer.py``); a repeated instruction
appends that shared tuple and its bytes, allocating nothing.

A miss runs the Encoder method, so bytes and errors are exactly the
Encoder's, and then looks at what it appended: a position-free record is
kept as it is (the AArch64 Encoder appends those); a positional one (the
x86-64 Encoder's) is turned into one only when the instruction left no
fixup and no variable item, which the last fixup and variable item tell
(each names its record).  The buffer appends a positional record for every
branch, even a backward one it encodes at once, so a branch is never
remembered.

A key is kept only when it comes a second time (``_remember``), so a
never-seen program fills no memo, and a method that keeps missing skips
the memo for a while (``MISS_STREAK``, ``BYPASS``).  A miss therefore costs
the Encoder call, the key, a failed lookup and a set probe, or nothing
but a counter while bypassed; never a second encoding.

Registers, memory operands and labels compare by identity; the key also
holds the class of the operand that may be an immediate or a condition, so
``True`` or ``1.0`` never hit the entry of the int ``1``.  An unhashable
operand skips the memo and gets the Encoder's answer.  Each method's memo
starts over at ``MEMO_LIMIT`` entries (a big memo costs the garbage
collector more than it saves); ``clear_memo()`` empties them all.
"""

from __future__ import annotations

__all__ = ["MEMO_LIMIT", "clear_memo", "memoize", "memoize_defaults",
           "memoize_sequence"]

MEMO_LIMIT = 2048         # entries per method; a full memo starts over
SEEN_LIMIT = 1 << 14      # hashes of keys seen once; a full set starts over
_SEEN: set = set()
# A method whose memo missed MISS_STREAK times in a row calls the Encoder
# directly for its next BYPASS calls, then tries the memo again: on input
# that does not repeat, the key, the lookup and the set probe are skipped.
MISS_STREAK = 32
BYPASS = 512
_RESETS: list = []        # per method: forget its miss streak and bypass
_MEMOS: list = []         # every memo dict, for clear_memo()


def clear_memo() -> None:
    """Forget every remembered instruction (tests use it to compare misses,
    hits and the plain Encoder)."""
    for memo in _MEMOS:
        memo.clear()
    _SEEN.clear()
    for reset in _RESETS:
        reset()


def _new_memo() -> dict:
    memo = {}
    _MEMOS.append(memo)
    return memo


def _remember(self, memo, key, rec, n):
    """After a miss that appended the one record ``rec`` (at ``recs[n]``):
    keep it when its bytes are position free and ``key`` was seen before.

    The first sighting only notes the key's hash in ``_SEEN`` (a set of
    ints, which the garbage collector does not track); an instruction that
    never repeats (new operand values, a new Mem) therefore leaves nothing
    behind for the collector to scan.  A hash collision only admits a key
    one sighting early.
    """
    h = hash(key)
    if h not in _SEEN:
        if len(_SEEN) >= SEEN_LIMIT:
            _SEEN.clear()
        _SEEN.add(h)
        return
    if rec[0].__class__ is not bytes:
        # Positional (the x86-64 Encoder's): position free only when the
        # instruction left no fixup and no variable item; both name their
        # record's index last.
        fixups, var = self._fixups, self._var
        if (fixups and fixups[-1][-1] >= n) or (var and var[-1][-1] >= n):
            return
        rec = self._recs[n] = (bytes(self._code[rec[0]:]),) + rec[2:]
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = rec


def _named(method, slow):
    method.__name__ = slow.__name__
    method.__qualname__ = "Builder." + slow.__name__
    method.__doc__ = slow.__doc__
    return method


def _resettable(reset):
    _RESETS.append(reset)


def memoize(slow, arity: int):
    """``slow(self, *ops)`` with ``arity`` (1-4) operands behind a memo; the
    last operand may be an immediate or a condition."""
    memo = _new_memo()
    streak = skip = 0

    if arity == 1:
        def method(self, a):
            nonlocal streak, skip
            if skip:
                skip -= 1
                return slow(self, a)
            key = (a, a.__class__)
            try:
                hit = memo.get(key)
            except TypeError:
                return slow(self, a)
            recs = self._recs
            if hit is not None:
                streak = 0
                recs.append(hit)
                self._code += hit[0]
                return
            n = len(recs)
            slow(self, a)
            if len(recs) == n + 1:
                _remember(self, memo, key, recs[n], n)
            streak += 1
            if streak >= MISS_STREAK:
                streak, skip = 0, BYPASS
    elif arity == 2:
        def method(self, a, b):
            nonlocal streak, skip
            if skip:
                skip -= 1
                return slow(self, a, b)
            key = (a, b, b.__class__)
            try:
                hit = memo.get(key)
            except TypeError:
                return slow(self, a, b)
            recs = self._recs
            if hit is not None:
                streak = 0
                recs.append(hit)
                self._code += hit[0]
                return
            n = len(recs)
            slow(self, a, b)
            if len(recs) == n + 1:
                _remember(self, memo, key, recs[n], n)
            streak += 1
            if streak >= MISS_STREAK:
                streak, skip = 0, BYPASS
    elif arity == 3:
        def method(self, a, b, c):
            nonlocal streak, skip
            if skip:
                skip -= 1
                return slow(self, a, b, c)
            key = (a, b, c, c.__class__)
            try:
                hit = memo.get(key)
            except TypeError:
                return slow(self, a, b, c)
            recs = self._recs
            if hit is not None:
                streak = 0
                recs.append(hit)
                self._code += hit[0]
                return
            n = len(recs)
            slow(self, a, b, c)
            if len(recs) == n + 1:
                _remember(self, memo, key, recs[n], n)
            streak += 1
            if streak >= MISS_STREAK:
                streak, skip = 0, BYPASS
    elif arity == 4:
        def method(self, a, b, c, d):
            nonlocal streak, skip
            if skip:
                skip -= 1
                return slow(self, a, b, c, d)
            key = (a, b, c, d, d.__class__)
            try:
                hit = memo.get(key)
            except TypeError:
                return slow(self, a, b, c, d)
            recs = self._recs
            if hit is not None:
                streak = 0
                recs.append(hit)
                self._code += hit[0]
                return
            n = len(recs)
            slow(self, a, b, c, d)
            if len(recs) == n + 1:
                _remember(self, memo, key, recs[n], n)
            streak += 1
            if streak >= MISS_STREAK:
                streak, skip = 0, BYPASS
    else:
        raise ValueError(f"memoize: arity {arity} is not 1-4")

    def reset():
        nonlocal streak, skip
        streak = skip = 0
    _resettable(reset)
    return _named(method, slow)


def memoize_defaults(slow, optional: int, default=None):
    """``slow(self, a, b, c)`` whose last ``optional`` (1 or 2) operands
    default to ``default``: x86-64 ``imul`` (1-3 operands) and AArch64
    ``movz/movn/movk`` (``shift=0``).  Both of the last two operands may be
    immediates, so the key holds both classes."""
    memo = _new_memo()
    streak = skip = 0

    def run(self, a, b, c):
        nonlocal streak, skip
        if skip:
            skip -= 1
            return slow(self, a, b, c)
        key = (a, b, c, b.__class__, c.__class__)
        try:
            hit = memo.get(key)
        except TypeError:
            return slow(self, a, b, c)
        recs = self._recs
        if hit is not None:
            streak = 0
            recs.append(hit)
            self._code += hit[0]
            return
        n = len(recs)
        slow(self, a, b, c)
        if len(recs) == n + 1:
            _remember(self, memo, key, recs[n], n)
        streak += 1
        if streak >= MISS_STREAK:
            streak, skip = 0, BYPASS

    # The signature decides which operands may be left out.
    if optional == 2:
        def method(self, a, b=default, c=default):
            return run(self, a, b, c)
    elif optional == 1:
        def method(self, a, b, c=default):
            return run(self, a, b, c)
    else:
        raise ValueError(f"memoize_defaults: {optional} optional operands")

    def reset():
        nonlocal streak, skip
        streak = skip = 0
    _resettable(reset)
    return _named(method, slow)


def memoize_sequence(slow):
    """``slow(self, a, b)`` that may append several position-free records
    (AArch64 ``mov`` of a wide constant): the memo keeps all of them, on
    the key's second sighting."""
    memo = _new_memo()
    streak = skip = 0

    def method(self, a, b):
        nonlocal streak, skip
        if skip:
            skip -= 1
            return slow(self, a, b)
        key = (a, b, b.__class__)
        try:
            hit = memo.get(key)
        except TypeError:
            return slow(self, a, b)
        recs = self._recs
        if hit is not None:
            streak = 0
            recs += hit[1]
            self._code += hit[0]
            return
        n = len(recs)
        slow(self, a, b)
        streak += 1
        if streak >= MISS_STREAK:
            streak, skip = 0, BYPASS
        h = hash(key)
        if h not in _SEEN:
            if len(_SEEN) >= SEEN_LIMIT:
                _SEEN.clear()
            _SEEN.add(h)
            return
        new = recs[n:]
        for rec in new:
            if rec[0].__class__ is not bytes:
                return
        if new:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[key] = (b"".join([rec[0] for rec in new]), tuple(new))

    def reset():
        nonlocal streak, skip
        streak = skip = 0
    _resettable(reset)
    return _named(method, slow)
