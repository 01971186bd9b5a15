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
    An anonymous label is named ``L<n>`` only when a listing or an error
    shows it; it cannot be looked up by that name.
    """

    __slots__ = ("_name", "pos", "nvar", "owner")

    def __init__(self, name: str | None, owner: "CodeBuffer", pos=-1, nvar=0):
        self._name = name
        self.pos = pos         # raw position once bound, else -1
        self.nvar = nvar       # variable items emitted before the binding
        self.owner = owner

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = self.owner._anonymous_name()
        return self._name

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
        """A new unbound label; without a name it is anonymous (``L<n>``
        in listings)."""
        if name is not None:
            if name in self._labels:
                raise LabelError(f"label {name!r} already exists")
            lab = self._labels[name] = Label(name, self)
            return lab
        return Label(None, self)

    def _anonymous_name(self) -> str:
        self._anon = n = getattr(self, "_anon", -1) + 1
        name = f"L{n}"
        while name in self._labels:
            name += "_"
        return name

    def get_label(self, name: str) -> Label:
        """The label called ``name``, created unbound on first use."""
        lab = self._labels.get(name)
        return lab if lab is not None else self.label(name)

    def bind(self, label: Label | str) -> Label:
        """Bind ``label`` to the current position (binding twice is an error)."""
        if label.__class__ is not Label:
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
        if name is None:
            return Label(None, self, len(self._code), len(self._var))
        lab = self.label(name)
        lab.pos = len(self._code)
        lab.nvar = len(self._var)
        return lab

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
        self._var.append((len(self._code), _ALIGN, n, fill, len(self._recs) - 1))

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

        A backward branch to a label has a known size when no variable item
        lies between them, or when its short form fits even with every
        item between at its largest (relaxation would keep it short too);
        it is then emitted at once, its displacement patched by finish()
        if items lie between.  Everything else is laid out by finish()
        (short where the final layout allows).
        """
        code = self._code
        pos = len(code)
        nvar = len(self._var)
        recs = self._recs
        recs.append((pos, nvar, name) + ops)
        if not self.relax:
            code += bytes(forms.long_size)
            self._fixups.append((pos, nvar, target, _patch_long, forms,
                                 len(recs) - 1))
        elif target.__class__ is not Label or target.pos < 0:
            self._var.append((pos, _BRANCH, target, forms, len(recs) - 1))
        else:
            self._backward(target, forms, pos, nvar)

    # The entry an architecture's jcc/b.cond methods call with a Label of
    # this buffer (the caller checks the owner): the same code, public.
    branch_to_label = branch

    def _backward(self, target, forms, pos, nvar):
        """The rest of branch() for a bound label, its record just noted."""
        var = self._var
        rec = len(self._recs) - 1
        if target.nvar == nvar:
            enc = forms.short(pos, target.pos) or forms.long(pos, target.pos)
            if enc is None:
                raise RangeError(f"{self._text(rec)}: target out of range")
            self._code += enc
            return
        rng = forms.short_range
        if rng is not None and nvar - target.nvar <= 64:
            dist = target.pos - pos
            for item in var[target.nvar:]:
                dist -= item[2] - 1 if item[1] == _ALIGN else item[3].long_size
            if dist >= rng[0]:
                self._code += bytes(forms.short_size)
                self._fixups.append((pos, nvar, target, _patch_short, forms, rec))
                return
        var.append((pos, _BRANCH, target, forms, rec))

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

    def finish_with_labels(self, labels, address: int = 0):
        """``(bytes, [final offset of each label])``: one layout for both, so
        a JIT can learn where its entry points and return sites ended up."""
        out, cum = self._layout(address)
        offsets = []
        for lab in labels:
            if lab.pos < 0:
                raise LabelError(f"label {lab.name!r} is never bound")
            offsets.append(lab.pos + cum[lab.nvar])
        return bytes(out), offsets

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
            cum, sizes, tpos, tnvar = self._sizes(address)
            parts = []
            append = parts.append
            raw_at = 0
            for i, ((pos, kind, target, forms, rec), size, tp, tn) in \
                    enumerate(zip(var, sizes, tpos, tnvar)):
                if pos != raw_at:
                    append(code[raw_at:pos])
                    raw_at = pos
                if kind == _ALIGN:
                    append(self._padding(cum[i + 1] - cum[i], forms))
                    continue
                target = address + tp + cum[tn]
                pc = address + pos + cum[i]
                enc = (forms.short(pc, target) if size == forms.short_size
                       else forms.long(pc, target))
                if enc is None:
                    raise RangeError(f"{self._text(rec)}: target "
                                     f"{target:#x} out of range")
                append(enc)
            append(code[raw_at:])
            out = bytearray(b"".join(parts))
        for pos, nvar, target, patch, arg, rec in self._fixups:
            start = pos + cum[nvar]
            if target.__class__ is Label:
                if target.pos < 0:
                    self._target_of(target, cum, address, rec)     # raises
                target = address + target.pos + cum[target.nvar]
            if patch is _patch_short:            # inline: the common case
                enc = arg.short(address + start, target)
                if enc is None:
                    raise RangeError(f"{self._text(rec)}: target {target:#x} "
                                     f"out of range")
                out[start:start + len(enc)] = enc
            elif patch(out, start, address + start, target, arg) is False:
                raise RangeError(f"{self._text(rec)}: target {target:#x} "
                                 f"out of range")
        return out, cum

    def _sizes(self, address: int):
        """Sizes of the variable items, relaxed to a fixpoint: (cum table,
        size per item, target pos per item, target nvar per item).

        Every branch starts short and only ever grows to long, so the loop
        ends after at most one pass per branch.  A branch's distance is
        ``target - pc`` with both sides written as raw position + cum[nvar]
        (an absolute target is ``target - address`` at nvar 0), so only the
        cum table changes from pass to pass.
        """
        plain = self._sizes_plain(address)
        if plain is not None:
            return plain
        var = self._var
        n = len(var)
        sizes = [0] * n
        tpos, tnvar = [0] * n, [0] * n
        short = []            # (i, pos, target pos, target nvar, lo, hi, forms)
        has_align = False
        for i, (pos, kind, target, forms, rec) in enumerate(var):
            if kind == _ALIGN:
                has_align = True
                continue
            sizes[i] = forms.short_size
            if target.__class__ is Label:
                tp = target.pos
                if tp < 0:
                    self._target_of(target, None, address, rec)    # raises
                tn = target.nvar
            else:
                tp, tn = target - address, 0
            tpos[i], tnvar[i] = tp, tn
            rng = forms.short_range
            if rng is None:
                short.append((i, pos, tp, tn, None, None, forms))
            else:
                short.append((i, pos, tp, tn, rng[0], rng[1], forms))
        while True:
            cum = (self._cum_aligned(sizes, address) if has_align
                   else list(accumulate(sizes, initial=0)))
            still = []
            for entry in short:
                i, pos, tp, tn, lo, hi, forms = entry
                d = tp + cum[tn] - pos - cum[i]
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
                return cum, sizes, tpos, tnvar
            short = still

    def _sizes_plain(self, address: int):
        """_sizes() for the usual buffer: only branches, each with a
        short_range, and no alignment (None otherwise).

        Without alignment a branch's distance only grows (in magnitude) as
        other branches grow, and to an absolute target it moves one way, so
        a branch that fits short both when every other branch is short and
        when every other branch is long is short in the result; one that
        does not fit when all are short is long (the loop's first pass would
        make it so).  Only the rest need the fixpoint loop.
        """
        var = self._var
        tpos, tnvar, ranges, sizes = [], [], [], []
        base, most = [0], [0]       # cum if every branch short / extra if long
        b_total = m_total = 0
        for pos, kind, target, forms, rec in var:
            rng = forms.short_range if kind == _BRANCH else None
            if rng is None:
                return None
            if target.__class__ is Label:
                if target.pos < 0:
                    self._target_of(target, None, address, rec)    # raises
                tpos.append(target.pos)
                tnvar.append(target.nvar)
            else:
                tpos.append(target - address)
                tnvar.append(0)
            ranges.append(rng)
            size = forms.short_size
            sizes.append(size)
            b_total += size
            base.append(b_total)
            m_total += forms.long_size - size
            most.append(m_total)
        short = []
        for i, (pos, _, _, forms, _) in enumerate(var):
            lo, hi = ranges[i]
            k = tnvar[i]
            d = tpos[i] + base[k] - pos - base[i]
            if not lo <= d <= hi:
                sizes[i] = forms.long_size
                continue
            if k > i:                  # forward: the branch itself stays short
                d += most[k] - most[i + 1]
            else:
                d -= most[i] - most[k]
            if not lo <= d <= hi:
                short.append((i, pos, tpos[i], k, lo, hi, forms))
        while True:
            cum = list(accumulate(sizes, initial=0))
            still = []
            for entry in short:
                i, pos, tp, k, lo, hi, forms = entry
                if lo <= tp + cum[k] - pos - cum[i] <= hi:
                    still.append(entry)
                else:
                    sizes[i] = forms.long_size
            if len(still) == len(short):
                return cum, sizes, tpos, tnvar
            short = still

    def _cum_aligned(self, sizes, address):
        """The cum table when alignment padding depends on the layout."""
        cum = [0]
        total = 0
        for i, item in enumerate(self._var):
            if item[1] == _ALIGN:
                total += -(address + item[0] + total) % item[2]
            else:
                total += sizes[i]
            cum.append(total)
        return cum

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


def _patch_short(code, start, pc, target, forms):
    """Fixup for a backward branch known to stay short."""
    enc = forms.short(pc, target)
    if enc is None:
        return False
    code[start:start + len(enc)] = enc
    return True


def _patch_long(code, start, pc, target, forms):
    """Fixup for a relaxable branch forced to its long form (relax=False)."""
    enc = forms.long(pc, target)
    if enc is None:
        return False
    code[start:start + len(enc)] = enc
    return True
