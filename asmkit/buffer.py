"""Arch-neutral code buffer: bytes, labels, fixups, relaxable branches, listing.

An architecture's Builder subclasses :class:`CodeBuffer` and appends encoded
bytes to ``self._code`` directly (the hot path), noting each instruction with
``self._recs.append((len(self._code) before, len(self._var), name, *ops))``
so a listing can be produced later without formatting text on the hot path.

Positions recorded while emitting are *raw* positions: offsets into
``_code``, which holds every fixed-size byte.  Variable-size items (relaxable
branches and alignment padding) occupy no raw bytes; they live in ``_var``
and are laid out by :meth:`finish`.  Any raw position plus "how many variable
items came before it" (``nvar``) maps to a final offset:
``final = raw + cum[nvar]`` where ``cum[k]`` is the total size of the first
``k`` variable items.
"""

from __future__ import annotations

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

    __slots__ = ("short_size", "long_size", "short", "long")

    def __init__(self, short_size, long_size, short, long):
        self.short_size = short_size
        self.long_size = long_size
        self.short = short
        self.long = long


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
        self._recs = []       # (raw pos, nvar, name, *ops) per instruction
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
            cum = self._sizes(address)
            out = bytearray()
            raw_at = 0
            for i, item in enumerate(var):
                pos = item[0]
                out += code[raw_at:pos]
                raw_at = pos
                start = pos + cum[i]
                size = cum[i + 1] - cum[i]
                if item[1] == _ALIGN:
                    out += self._padding(size, item[3])
                    continue
                forms = item[3]
                target = self._target_of(item[2], cum, address, item[4])
                pc = address + start
                enc = (forms.short(pc, target) if size == forms.short_size
                       else forms.long(pc, target))
                if enc is None:
                    raise RangeError(f"{self._text(item[4])}: target "
                                     f"{target:#x} out of range")
                out += enc
            out += code[raw_at:]
        for pos, nvar, target, patch, arg, rec in self._fixups:
            start = pos + cum[nvar]
            tgt = self._target_of(target, cum, address, rec)
            if patch(out, start, address + start, tgt, arg) is False:
                raise RangeError(f"{self._text(rec)}: target {tgt:#x} "
                                 f"out of range")
        return out, cum

    def _sizes(self, address: int) -> list:
        """Cumulative sizes of the variable items, relaxed to a fixpoint.

        Every branch starts short and only ever grows to long, so the loop
        ends after at most one pass per branch.
        """
        var = self._var
        long_ = [False] * len(var)
        while True:
            cum = [0]
            total = 0
            for i, item in enumerate(var):
                if item[1] == _ALIGN:
                    n = item[2]
                    total += -(address + item[0] + total) % n
                else:
                    total += item[3].long_size if long_[i] else item[3].short_size
                cum.append(total)
            changed = False
            for i, item in enumerate(var):
                if item[1] != _BRANCH or long_[i]:
                    continue
                target = self._target_of(item[2], cum, address, item[4])
                if item[3].short(address + item[0] + cum[i], target) is None:
                    long_[i] = True
                    changed = True
            if not changed:
                return cum

    # ---------------------------------------------------------------- listing
    def _text(self, rec: int) -> str:
        r = self._recs[rec]
        name = r[2]
        if name == ".byte":
            return ".byte " + ", ".join(f"{b:#04x}" for b in r[3])
        if name == ".align":
            return f".align {r[3]}"
        return self._format(name, r[3:])

    def listing(self, address: int = 0) -> list:
        """``[(address, bytes, text)]`` per instruction, data run and padding."""
        out, cum = self._layout(address)
        starts = [r[0] + cum[r[1]] for r in self._recs]
        starts.append(len(out))
        rows = []
        for i in range(len(self._recs)):
            a, b = starts[i], starts[i + 1]
            rows.append((address + a, bytes(out[a:b]), self._text(i)))
        return rows


def _patch_long(code, start, pc, target, forms):
    """Fixup for a relaxable branch forced to its long form (relax=False)."""
    enc = forms.long(pc, target)
    if enc is None:
        return False
    code[start:start + len(enc)] = enc
    return True
