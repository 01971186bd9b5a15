"""A memo in front of the Encoder: a repeated instruction costs one lookup.

An instruction's bytes depend only on its method and operands, except for
branches, literals and adr/adrp, whose bytes depend on the layout (they
leave a fixup or a variable-size item and are never remembered).  So the
Builder keeps, per method, a dict from the operand tuple to the buffer's
position-free record ``(bytes, name, *ops)`` (see ``asmkit/buffer.py``);
on a hit it appends that shared tuple and its bytes, allocating nothing.

Registers, memory operands and labels compare by identity; the key also
holds the class of the operand that may be an immediate or a condition, so
``True`` or ``1.0`` never hit the entry of the int ``1``.  Methods whose
remembered operands are all registers or memory operands (an int there is
a literal address, which leaves a fixup and is never remembered) key on the
operands alone.  A miss runs the
checked Encoder method, so encodings and errors are exactly the Encoder's.
"""

__all__ = ["MEMO_LIMIT", "clear_memo", "memo2", "memo3", "memo4", "memo_movewide",
           "memo_sequence", "memo_identity"]

MEMO_LIMIT = 1 << 12      # entries per method; a full memo starts over
_MEMOS = []               # every memo dict, for clear_memo()


def clear_memo():
    """Forget every remembered instruction (tests use it to compare the
    memo with the Encoder)."""
    for memo in _MEMOS:
        memo.clear()


def _new_memo():
    memo = {}
    _MEMOS.append(memo)
    return memo


def _remember(self, memo, key, slow, ops, many=False):
    """Run the Encoder method; keep its output when it is position free (no
    fixup, no variable item; one record, or several when ``many``)."""
    code, recs = self._code, self._recs
    nrec, nfix, nvar = len(recs), len(self._fixups), len(self._var)
    slow(self, *ops)
    added = len(recs) - nrec
    if added == 0 or len(self._fixups) != nfix or len(self._var) != nvar \
            or (added > 1 and not many):
        return
    new = recs[nrec:]
    if any(r[0].__class__ is not int for r in new):
        return
    ends = [r[0] for r in new[1:]] + [len(code)]
    entries = tuple((bytes(code[r[0]:end]),) + r[2:] for r, end in zip(new, ends))
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    try:
        memo[key] = (b"".join(e[0] for e in entries), entries) if many else entries[0]
    except TypeError:          # an unhashable operand the Encoder accepted
        pass


def _named(method, slow):
    method.__name__ = slow.__name__
    method.__qualname__ = "Builder." + slow.__name__
    method.__doc__ = slow.__doc__
    return method


def memo2(slow):
    """``method(self, a, b)``; ``b`` may be an immediate or condition."""
    memo = _new_memo()

    def method(self, a, b):
        key = (a, b, b.__class__)
        try:
            hit = memo[key]
        except (KeyError, TypeError):
            hit = None
        if hit is None:
            return _remember(self, memo, key, slow, (a, b))
        self._recs.append(hit)
        self._code += hit[0]

    return _named(method, slow)


def memo3(slow):
    """``method(self, a, b, c)``; ``c`` may be an immediate or condition."""
    memo = _new_memo()

    def method(self, a, b, c):
        key = (a, b, c, c.__class__)
        try:
            hit = memo[key]
        except (KeyError, TypeError):
            hit = None
        if hit is None:
            return _remember(self, memo, key, slow, (a, b, c))
        self._recs.append(hit)
        self._code += hit[0]

    return _named(method, slow)


def memo4(slow):
    """``method(self, a, b, c, d)``; ``d`` may be a condition."""
    memo = _new_memo()

    def method(self, a, b, c, d):
        key = (a, b, c, d, d.__class__)
        try:
            hit = memo[key]
        except (KeyError, TypeError):
            hit = None
        if hit is None:
            return _remember(self, memo, key, slow, (a, b, c, d))
        self._recs.append(hit)
        self._code += hit[0]

    return _named(method, slow)


def memo_movewide(slow):
    """movz/movn/movk ``(rd, imm, shift=0)``: two immediates."""
    memo = _new_memo()

    def method(self, rd, imm, shift=0):
        key = (rd, imm, imm.__class__, shift, shift.__class__)
        try:
            hit = memo[key]
        except (KeyError, TypeError):
            hit = None
        if hit is None:
            return _remember(self, memo, key, slow, (rd, imm, shift))
        self._recs.append(hit)
        self._code += hit[0]

    return _named(method, slow)


def memo_sequence(slow):
    """``method(self, a, b)`` that may emit several instructions (``mov`` of
    a wide constant): the memo holds all their records and bytes."""
    memo = _new_memo()

    def method(self, a, b):
        key = (a, b, b.__class__)
        try:
            hit = memo[key]
        except (KeyError, TypeError):
            hit = None
        if hit is None:
            return _remember(self, memo, key, slow, (a, b), many=True)
        self._recs += hit[1]
        self._code += hit[0]

    return _named(method, slow)


def memo_identity(slow, arity):
    """``method(self, *ops)`` of ``arity`` operands that are registers or
    memory operands whenever the result is remembered."""
    memo = _new_memo()
    if arity == 2:
        def method(self, a, b):
            try:
                hit = memo[(a, b)]
            except (KeyError, TypeError):
                hit = None
            if hit is None:
                return _remember(self, memo, (a, b), slow, (a, b))
            self._recs.append(hit)
            self._code += hit[0]
    elif arity == 3:
        def method(self, a, b, c):
            try:
                hit = memo[(a, b, c)]
            except (KeyError, TypeError):
                hit = None
            if hit is None:
                return _remember(self, memo, (a, b, c), slow, (a, b, c))
            self._recs.append(hit)
            self._code += hit[0]
    else:
        def method(self, a, b, c, d):
            try:
                hit = memo[(a, b, c, d)]
            except (KeyError, TypeError):
                hit = None
            if hit is None:
                return _remember(self, memo, (a, b, c, d), slow, (a, b, c, d))
            self._recs.append(hit)
            self._code += hit[0]
    return _named(method, slow)
