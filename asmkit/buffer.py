"""Arch-neutral code buffer: bytes, labels, fixups, relaxable branches, listing.

An architecture's Builder subclasses :class:`CodeBuffer` and appends encoded
bytes to ``self._code`` directly (the hot path), noting each instruction in
``self._recs`` so a listing can be produced later without formatting text on
the hot path.  A record is one of two shapes:

* ``(raw pos, nvar, name, *ops)``: ``len(self._code)`` and
  ``len(self._var)`` before the instruction;
* ``(encoded bytes, name, *ops)``: an instruction of fixed bytes that
  needs no fixup.  It carries no position, so one shared tuple can be
  appended every time the same instruction is emitted (no allocation);
  its position is where the next record starts minus its length, which
  :meth:`CodeBuffer._record_starts` works out backwards from the end.

Positions recorded while emitting are *raw* positions: offsets into
``_code``, which holds every fixed-size byte.  Variable-size items (relaxable
branches and alignment padding) occupy no raw bytes; they live in ``_var``
and are laid out by :meth:`finish`.  Any raw position plus "how many variable
items came before it" (``nvar``) maps to a final offset:
``final = raw + cum[nvar]`` where ``cum[k]`` is the total size of the first
``k`` variable items.
"""

from __future__ import annotations

from itertools import accumulate

__all__ = [
    "AsmError", "LabelError", "RangeError", "Label", "BranchForms",
    "CodeBuffer",
]


class AsmError(ValueError):
    """Anything that cannot be assembled: bad operand, unknown instruction."""


class LabelError(AsmError):
    """A label bound twice, or never bound by finish()."""


class RangeError(AsmError):
    """A branch or fixup target does not fit its field."""


class Label:
    """A position in a buffer, possibly not known yet.

    Create with ``CodeBuffer.label()`` and bind with ``CodeBuffer.bind()``.
    """

    __slots__ = ("name", "pos", "nvar", "owner")

    def __init__(self, name: str, owner: "CodeBuffer"):
        self.name = name
        self.pos = -1          # raw position once bound
        self.nvar = 0          # variable items emitted before the binding
        self.owner = owner

    @property
    def bound(self) -> bool:
        return self.pos >= 0

    def __repr__(self) -> str:
        state = f"@{self.pos}" if self.pos >= 0 else "unbound"
        return f"Label({self.name!r}, {state})"

    def __str__(self) -> str:
        return self.name


class BranchForms:
    """The short and long encodings of one relaxable branch kind.

    ``short(pc, target)`` returns the bytes or None when the displacement does
    not fit; ``long(pc, target)`` likewise (None means out of range even for
    the long form).  ``pc`` is the absolute address of the instruction start.
    One object is shared by every branch of a kind: nothing per instruction.
    """

    __slots__ = ("short_size", "long_size", "short", "long", "short_range")

    def __init__(self, short_size, long_size, short, long, short_range=None):
        self.short_size = short_size
        self.long_size = long_size
        self.short = short
        self.long = long
        # (lo, hi): the short form fits exactly when lo <= target - pc <= hi.
        # Optional; it lets finish() size branches without encoding them.
        self.short_range = short_range


# Kinds of variable items in CodeBuffer._var (first tuple element after pos).
_BRANCH = 0
_ALIGN = 1


def _default_format(name, ops) -> str:
    return name + (" " + ", ".join(map(str, ops)) if ops else "")


class CodeBuffer:
    """Bytes under construction with labels, fixups and relaxable branches.

    ``relax=False`` makes every relaxable branch use its long form (a fixed
    layout: each instruction's offset is known when it is emitted).
    """

    def __init__(self, formatter=None, relax: bool = True):
        self._code = bytearray()
        self._var = []        # (raw pos, kind, ...) variable-size items
        self._fixups = []     # (raw pos, nvar, target, patch, arg, rec index)
        self._recs = []       # one record per instruction (see above)
        self._labels = {}     # name -> Label (names are unique per buffer)
        self._format = formatter or _default_format
        self.relax = relax

    # ----------------------------------------------------------------- labels
    def label(self, name: str | None = None) -> Label:
        """A new unbound label; ``name`` defaults to ``L<n>``."""
        if name is None:
            name = f"L{len(self._labels)}"
            while name in self._labels:
                name += "_"
        elif name in self._labels:
            raise LabelError(f"label {name!r} already exists")
        lab = Label(name, self)
        self._labels[name] = lab
        return lab

    def get_label(self, name: str) -> Label:
        """The label called ``name``, created unbound on first use."""
        lab = self._labels.get(name)
        return lab if lab is not None else self.label(name)

    def bind(self, label: Label | str) -> Label:
        """Bind ``label`` to the current position (binding twice is an error)."""
        if isinstance(label, str):
            label = self.get_label(label)
        if label.owner is not self:
            raise LabelError(f"label {label.name!r} belongs to another buffer")
        if label.pos >= 0:
            raise LabelError(f"label {label.name!r} is already bound")
        label.pos = len(self._code)
        label.nvar = len(self._var)
        return label

    def here(self, name: str | None = None) -> Label:
        """A new label bound at the current position."""
        return self.bind(self.label(name))

    # ------------------------------------------------------------------- data
    def data(self, raw: bytes) -> None:
        """Raw data bytes (shown as ``.byte`` in the listing)."""
        raw = bytes(raw)
        self._recs.append((len(self._code), len(self._var), ".byte", raw))
        self._code += raw

    db = data

    def align(self, n: int, fill: bytes | None = None) -> None:
        """Pad with ``fill`` (repeated; default zero bytes, or the arch's
        nop filler when the builder supplies one) to a multiple of ``n``
        of the absolute address."""
        if n <= 0 or n & (n - 1):
            raise AsmError(f"align: {n} is not a power of two")
        fill = self._align_fill(fill)
        self._recs.append((len(self._code), len(self._var), ".align", n))
        self._var.append((len(self._code), _ALIGN, n, fill))

    def _align_fill(self, fill):
        return fill if fill is not None else b"\x00"

    def _padding(self, size: int, fill) -> bytes:
        if callable(fill):
            return fill(size)
        return (fill * (size // len(fill) + 1))[:size]

    # ----------------------------------------------------------------- fixups
    def fixup(self, target, patch, arg=None) -> None:
        """Patch the instruction just noted in ``_recs`` once ``target`` (a
        Label or an absolute address) is known.

        ``patch(code, start, pc, target, arg)`` writes into ``code`` (the final
        bytearray) at ``start`` (the instruction's final offset, whose address
        is ``pc``); it returns False when ``target`` is out of range.
        """
        rec = len(self._recs) - 1
        pos, nvar = self._recs[rec][0], self._recs[rec][1]
        self._fixups.append((pos, nvar, target, patch, arg, rec))

    def branch(self, target, forms: BranchForms, name: str, *ops) -> None:
        """Emit a branch with a short and a long form.

        A backward branch to a label with no variable item in between has a
        known distance and is emitted at once; everything else is laid out
        by finish() (short where the final layout allows).
        """
        code = self._code
        pos = len(code)
        nvar = len(self._var)
        if not self.relax:
            self._recs.append((pos, nvar, name) + ops)
            code += bytes(forms.long_size)
            self._fixups.append((pos, nvar, target, _patch_long, forms,
                                 len(self._recs) - 1))
            return
        if target.__class__ is Label and target.pos >= 0 and target.nvar == nvar:
            self._recs.append((pos, nvar, name) + ops)
            enc = forms.short(pos, target.pos) or forms.long(pos, target.pos)
            if enc is None:
                raise RangeError(f"{self._text(len(self._recs) - 1)}: "
                                 f"target out of range")
            code += enc
            return
        self._recs.append((pos, nvar, name) + ops)
        self._var.append((pos, _BRANCH, target, forms, len(self._recs) - 1))

    # ----------------------------------------------------------------- finish
    def __len__(self) -> int:
        """Raw size so far (variable items not counted)."""
        return len(self._code)

    def max_size(self) -> int:
        """An upper bound on the finished size (every branch long, every
        alignment at its worst)."""
        extra = 0
        for item in self._var:
            extra += item[3].long_size if item[1] == _BRANCH else item[2] - 1
        return len(self._code) + extra

    def finish(self, address: int = 0) -> bytes:
        """The finished bytes, placed at ``address``."""
        return bytes(self._layout(address)[0])

    def _target_of(self, target, cum, address, rec):
        if target.__class__ is Label:
            if target.pos < 0:
                raise LabelError(f"label {target.name!r} is never bound "
                                 f"(used by '{self._text(rec)}')")
            return address + target.pos + cum[target.nvar]
        return target

    def _layout(self, address: int):
        """Lay out variable items; return (final bytearray, cum table)."""
        var = self._var
        code = self._code
        if not var:
            cum = [0]
            out = bytearray(code)
        else:
            cum, sizes, targets = self._sizes(address)
            parts = []
            raw_at = 0
            for i, item in enumerate(var):
                pos = item[0]
                if pos != raw_at:
                    parts.append(code[raw_at:pos])
                    raw_at = pos
                if item[1] == _ALIGN:
                    parts.append(self._padding(cum[i + 1] - cum[i], item[3]))
                    continue
                forms = item[3]
                tpos, tnvar = targets[i]
                target = address + tpos + cum[tnvar]
                pc = address + pos + cum[i]
                enc = (forms.short(pc, target) if sizes[i] == forms.short_size
                       else forms.long(pc, target))
                if enc is None:
                    raise RangeError(f"{self._text(item[4])}: target "
                                     f"{target:#x} out of range")
                parts.append(enc)
            parts.append(code[raw_at:])
            out = bytearray(b"".join(parts))
        for pos, nvar, target, patch, arg, rec in self._fixups:
            start = pos + cum[nvar]
            tgt = self._target_of(target, cum, address, rec)
            if patch(out, start, address + start, tgt, arg) is False:
                raise RangeError(f"{self._text(rec)}: target {tgt:#x} "
                                 f"out of range")
        return out, cum

    def _sizes(self, address: int):
        """Sizes of the variable items, relaxed to a fixpoint: (cum table,
        size per item, (target pos, target nvar) per branch).

        Every branch starts short and only ever grows to long, so the loop
        ends after at most one pass per branch.  A branch's distance is
        ``target - pc`` with both sides written as raw position + cum[nvar]
        (an absolute target is ``target - address`` at nvar 0), so only the
        cum table changes from pass to pass.
        """
        var = self._var
        sizes = [0] * len(var)
        targets = [None] * len(var)
        short = []            # (i, pos, target pos, target nvar, lo, hi, forms)
        has_align = False
        for i, item in enumerate(var):
            if item[1] == _ALIGN:
                has_align = True
                continue
            forms = item[3]
            sizes[i] = forms.short_size
            target = item[2]
            if target.__class__ is Label:
                if target.pos < 0:
                    self._target_of(target, None, address, item[4])   # raises
                tpos, tnvar = target.pos, target.nvar
            else:
                tpos, tnvar = target - address, 0
            targets[i] = (tpos, tnvar)
            lo, hi = forms.short_range or (None, None)
            short.append((i, item[0], tpos, tnvar, lo, hi, forms))
        if not has_align and all(e[4] is not None for e in short):
            short = _first_pass(short, var, sizes)
        while True:
            if has_align:
                cum = [0]
                total = 0
                for i, item in enumerate(var):
                    if item[1] == _ALIGN:
                        total += -(address + item[0] + total) % item[2]
                    else:
                        total += sizes[i]
                    cum.append(total)
            else:
                cum = list(accumulate(sizes, initial=0))
            still = []
            for entry in short:
                i, pos, tpos, tnvar, lo, hi, forms = entry
                d = tpos + cum[tnvar] - pos - cum[i]
                if lo is not None:
                    if lo <= d <= hi:
                        still.append(entry)
                        continue
                else:
                    pc = address + pos + cum[i]
                    if forms.short(pc, pc + d) is not None:
                        still.append(entry)
                        continue
                sizes[i] = forms.long_size
            if len(still) == len(short):
                return cum, sizes, targets
            short = still

    # ---------------------------------------------------------------- listing
    def _text(self, rec: int) -> str:
        r = self._recs[rec]
        if r[0].__class__ is bytes:
            return self._format(r[1], r[2:])
        name = r[2]
        if name == ".byte":
            return ".byte " + ", ".join(f"{b:#04x}" for b in r[3])
        if name == ".align":
            return f".align {r[3]}"
        return self._format(name, r[3:])

    def _record_starts(self):
        """(raw start, nvar) of every record, walking back from the end: a
        record's bytes end where the next record's begin."""
        recs = self._recs
        out = [None] * len(recs)
        end, nvar = len(self._code), len(self._var)
        for i in range(len(recs) - 1, -1, -1):
            r = recs[i]
            if r[0].__class__ is bytes:
                end -= len(r[0])
            else:
                end, nvar = r[0], r[1]
            out[i] = (end, nvar)
        return out

    def listing(self, address: int = 0) -> list:
        """``[(address, bytes, text)]`` per instruction, data run and padding."""
        out, cum = self._layout(address)
        starts = [pos + cum[nvar] for pos, nvar in self._record_starts()]
        starts.append(len(out))
        rows = []
        for i in range(len(self._recs)):
            a, b = starts[i], starts[i + 1]
            rows.append((address + a, bytes(out[a:b]), self._text(i)))
        return rows


def _first_pass(short, var, sizes):
    """The first relaxation pass (every branch short) for a buffer without
    alignment, which also drops the branches that can never become long.

    Without alignment a branch's distance only grows (in magnitude) as
    other branches grow, and to an absolute target it moves one way, so a
    branch whose short form fits both when every other branch is short and
    when every other branch is long fits in every layout the loop can
    visit.  Branches that do not fit now become long, exactly as the first
    pass of the loop would make them.  Returns the branches left to check.
    """
    grow = [0] * len(var)
    for entry in short:
        forms = entry[6]
        grow[entry[0]] = forms.long_size - forms.short_size
    most = list(accumulate(grow, initial=0))     # extra size if all long
    base = list(accumulate(sizes, initial=0))    # sizes are all short now
    keep = []
    for entry in short:
        i, pos, tpos, tnvar, lo, hi, forms = entry
        d = tpos + base[tnvar] - pos - base[i]
        if not lo <= d <= hi:
            sizes[i] = forms.long_size
            continue
        if tnvar > i:                 # forward: the branch itself stays short
            d_long = d + most[tnvar] - most[i + 1]
        else:
            d_long = d - (most[i] - most[tnvar])
        if not lo <= d_long <= hi:
            keep.append(entry)
    return keep


def _patch_long(code, start, pc, target, forms):
    """Fixup for a relaxable branch forced to its long form (relax=False)."""
    enc = forms.long(pc, target)
    if enc is None:
        return False
    code[start:start + len(enc)] = enc
    return True
