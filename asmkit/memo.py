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
           "memoize_sequence", "second_sighting"]

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


def second_sighting(seen: set, key, limit: int = 1 << 16) -> bool:
    """Whether ``key`` was seen before; if not, note its hash in ``seen``
    (a set of ints, which the garbage collector does not track; a full set
    starts over).  A hash collision only admits a key one sighting early.
    The memo and both text readers' caches admit a key on its second
    sighting, so input that never repeats fills none of them."""
    h = hash(key)
    if h in seen:
        return True
    if len(seen) >= limit:
        seen.clear()
    seen.add(h)
    return False


def _keep(memo, key, value):
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def _remember(self, memo, key, n):
    """After a miss that appended records from ``recs[n]`` on: when exactly
    one was appended, it is position free and ``key`` was seen before, keep
    it."""
    recs = self._recs
    if len(recs) != n + 1 or not second_sighting(_SEEN, key, SEEN_LIMIT):
        return
    rec = recs[n]
    if rec[0].__class__ is not bytes:
        # Positional (the x86-64 Encoder's): position free only when the
        # instruction left no fixup and no variable item; both name their
        # record's index last.
        fixups, var = self._fixups, self._var
        if (fixups and fixups[-1][-1] >= n) or (var and var[-1][-1] >= n):
            return
        rec = recs[n] = (bytes(self._code[rec[0]:]),) + rec[2:]
    _keep(memo, key, rec)


def _remember_sequence(self, memo, key, n):
    """After a miss that appended records from ``recs[n]`` on: keep all of
    them when they are all position free and ``key`` was seen before."""
    if not second_sighting(_SEEN, key, SEEN_LIMIT):
        return
    new = self._recs[n:]
    for rec in new:
        if rec[0].__class__ is not bytes:
            return
    if new:
        _keep(memo, key, (b"".join([rec[0] for rec in new]), tuple(new)))


# Every wrapper is this one body, compiled per operand signature so a call
# pays no *args packing: the bypass, the key, the lookup, the hit's appends
# (one record, or a remembered sequence), the miss through the Encoder.
_WRAPPER = """
def make(slow, memo, remember, default):
    streak = skip = 0

    def method(self, {params}):
        nonlocal streak, skip
        if skip:
            skip -= 1
            return slow(self, {args})
        key = ({key})
        try:
            hit = memo.get(key)
        except TypeError:
            return slow(self, {args})
        recs = self._recs
        if hit is not None:
            streak = 0
            {append_hit}
            self._code += hit[0]
            return
        n = len(recs)
        slow(self, {args})
        remember(self, memo, key, n)
        streak += 1
        if streak >= MISS_STREAK:
            streak, skip = 0, BYPASS

    def reset():
        nonlocal streak, skip
        streak = skip = 0
    return method, reset
"""
_MAKERS: dict = {}


def _wrap(slow, params: str, key: str, sequence: bool = False, default=None):
    shape = (params, key, sequence)
    make = _MAKERS.get(shape)
    if make is None:
        args = ", ".join(p.split("=")[0] for p in params.split(", "))
        source = _WRAPPER.format(
            params=params, args=args, key=key,
            append_hit="recs += hit[1]" if sequence else "recs.append(hit)")
        # this module's globals: MISS_STREAK and BYPASS are read at run time
        space: dict = {}
        exec(compile(source, f"<asmkit.memo {params}>", "exec"), globals(), space)  # noqa: S102 (our own template)
        make = _MAKERS[shape] = space["make"]
    memo = _new_memo()
    method, reset = make(slow, memo, _remember_sequence if sequence else _remember, default)
    _RESETS.append(reset)
    method.__name__ = slow.__name__
    method.__qualname__ = "Builder." + slow.__name__
    method.__doc__ = slow.__doc__
    return method


_ARITY = {1: "a", 2: "a, b", 3: "a, b, c", 4: "a, b, c, d"}


def memoize(slow, arity: int):
    """``slow(self, *ops)`` with ``arity`` (1-4) operands behind a memo; the
    last operand may be an immediate or a condition."""
    params = _ARITY.get(arity)
    if params is None:
        raise ValueError(f"memoize: arity {arity} is not 1-4")
    last = params[-1]
    return _wrap(slow, params, f"{params}, {last}.__class__")


def memoize_defaults(slow, optional: int, default=None):
    """``slow(self, a, b, c)`` whose last ``optional`` (1 or 2) operands
    default to ``default``: x86-64 ``imul`` (1-3 operands) and AArch64
    ``movz/movn/movk`` (``shift=0``).  Both of the last two operands may be
    immediates, so the key holds both classes."""
    if optional == 2:
        params = "a, b=default, c=default"
    elif optional == 1:
        params = "a, b, c=default"
    else:
        raise ValueError(f"memoize_defaults: {optional} optional operands")
    return _wrap(slow, params, "a, b, c, b.__class__, c.__class__", default=default)


def memoize_sequence(slow):
    """``slow(self, a, b)`` that may append several position-free records
    (AArch64 ``mov`` of a wide constant): the memo keeps all of them, on
    the key's second sighting."""
    return _wrap(slow, "a, b", "a, b, b.__class__", sequence=True)
