"""AArch64 text -> Builder calls, in the syntax Capstone prints.

A thin parser: it turns each operand into a register, integer, shifted or
extended register, memory operand, condition/option name or label name and
calls the Builder method of the same name.  All encoding decisions stay in
the Builder.  Accepted variants: any letter case, ``#`` optional before
immediates, decimal or hex (``0x``), ``//`` comments, ``name:`` labels,
several ``;``-free lines.  Each distinct line is parsed once per process
(see ``_LINE_CACHE``).
"""

import re

from ..buffer import AsmError
from ..memo import second_sighting as _second_sighting
from .encode import Builder
from .operands import (
    COND, SHIFTS, ExtendedReg, Imm12, Mem, OperandError, RegOffset,
    ShiftedReg, OFFSET, POST, PRE,
)
from .regs import Reg, by_name

__all__ = ["assemble", "parse_into", "ParseError"]


class ParseError(AsmError):
    """Text that is not a supported AArch64 instruction."""


_LABEL = re.compile(r"^\s*([A-Za-z_.$][\w.$]*)\s*:")
_MODIFIER = re.compile(r"^(lsl|lsr|asr|ror|uxtb|uxth|uxtw|uxtx|sxtb|sxth|sxtw|sxtx)"
                       r"(?:\s+#?\s*(.+))?$")
_IDENT = re.compile(r"^[A-Za-z_.$][\w.$]*$")

# mnemonic -> builder method, where the two differ
_RENAME = {"and": "and_", ".inst": "word", ".word": "word"}
_NO_OPERANDS_DEFAULT = {"isb": ("sy",)}


class _Modifier:
    """A trailing ``lsl #n`` / ``sxtw #n`` operand, attached to the one before."""

    __slots__ = ("kind", "amount")

    def __init__(self, kind, amount):
        self.kind, self.amount = kind, amount


def _int(text):
    t = text.strip().lstrip("#").strip().lower().replace(" ", "")
    try:
        return int(t, 0)
    except ValueError:
        try:
            return int(t, 10)
        except ValueError:
            raise ParseError(f"bad number {text!r}") from None


def _split(text):
    """Split operands at top-level commas (not inside [...])."""
    if "[" not in text:
        return [t.strip() for t in text.split(",")]
    head, _, rest = text.partition("[")
    inner, close, tail = rest.partition("]")
    if not close:
        raise ParseError(f"missing ']' in {text!r}")
    out = [t.strip() for t in head.split(",")[:-1]]
    tail_parts = tail.split(",")
    out.append("[" + inner + "]" + tail_parts[0].strip())
    out += [t.strip() for t in tail_parts[1:]]
    return out


def _reg(text):
    return by_name.get(text.strip().lower())


def _memory(text):
    """``[base]``, ``[base, #off]``, ``[base, #off]!``, ``[base, Rm{, ext #n}]``."""
    text = text.strip()
    writeback = text.endswith("!")
    if writeback:
        text = text[:-1].rstrip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ParseError(f"bad memory operand {text!r}")
    parts = [p.strip() for p in text[1:-1].split(",")]
    base = _reg(parts[0])
    if base is None:
        raise ParseError(f"bad base register {parts[0]!r}")
    if len(parts) == 1:
        return Mem(base, 0, PRE if writeback else OFFSET)
    index = _reg(parts[1])
    if index is None:
        if len(parts) != 2:
            raise ParseError(f"bad memory operand {text!r}")
        return Mem(base, _int(parts[1]), PRE if writeback else OFFSET)
    if writeback:
        raise ParseError("a register offset cannot write back")
    if len(parts) == 2:
        return RegOffset(base, index)
    m = _MODIFIER.match(parts[2].lower())
    if len(parts) != 3 or not m:
        raise ParseError(f"bad index extend {parts[2]!r}")
    amount = None if m.group(2) is None else _int(m.group(2))
    return RegOffset(base, index, m.group(1), amount)


def _operand(text):
    low = text.lower()
    if low.startswith("["):
        return _memory(text)
    reg = by_name.get(low)
    if reg is not None:
        return reg
    m = _MODIFIER.match(low)
    if m:
        return _Modifier(m.group(1), None if m.group(2) is None else _int(m.group(2)))
    if low.startswith("#") or low[:1].isdigit() or low[:1] in "-+":
        return _int(low)
    if _IDENT.match(text):
        return text   # condition, option or label name
    raise ParseError(f"bad operand {text!r}")


def _attach(mnemonic, ops):
    """Fold trailing modifiers and post-index offsets into their operands."""
    out = []
    for op in ops:
        if op.__class__ is _Modifier:
            if not out:
                raise ParseError(f"{op.kind} with nothing to modify")
            prev = out.pop()
            if prev.__class__ is Reg:
                amount = op.amount or 0
                if op.kind in SHIFTS:
                    out.append(ShiftedReg(prev, op.kind, amount))
                else:
                    out.append(ExtendedReg(prev, op.kind, amount))
            elif isinstance(prev, int) and op.kind == "lsl":
                if mnemonic in ("movz", "movn", "movk"):
                    out += [prev, op.amount or 0]
                else:
                    out.append(Imm12(prev, op.amount or 0))
            else:
                raise ParseError(f"cannot apply {op.kind} to {prev!r}")
        elif isinstance(op, int) and out and out[-1].__class__ is Mem \
                and out[-1].mode == OFFSET and out[-1].offset == 0:
            # Capstone prints a negative post-index offset as 64-bit unsigned
            out[-1] = Mem(out[-1].base, op - (1 << 64) if op >= 1 << 63 else op, POST)
        else:
            out.append(op)
    return out


_OPS_CACHE = {}
# Hashes of texts seen once (one set per cache).  A text is cached only when
# it comes again, so a line that never repeats leaves nothing behind for the
# garbage collector to scan (ints are not tracked).
_SEEN_OPERANDS = set()
_SEEN_LINES = set()
_SEEN_LIMIT = 1 << 16


def _operands(mnemonic, text):
    """The operand list of one instruction.  Operand objects are immutable
    (labels stay names until the Builder resolves them), so the parse of a
    repeated operand text is reused; the cache is bounded."""
    key = (mnemonic, text)
    ops = _OPS_CACHE.get(key)
    if ops is None:
        ops = tuple(_attach(mnemonic, [_operand(t) for t in _split(text)] if text else []))
        if _second_sighting(_SEEN_OPERANDS, text):
            if len(_OPS_CACHE) > 8192:
                _OPS_CACHE.clear()
            _OPS_CACHE[key] = ops
    return list(ops)


_METHODS = {}
_NOT_INSTRUCTIONS = {"finish", "listing", "label", "bind", "here", "fixup", "branch",
                     "align", "data", "db", "get_label", "max_size"}


def _methods():
    """Builder methods that are instructions, by name (built once)."""
    if not _METHODS:
        for name in dir(Builder):
            if not name.startswith("_") and name not in _NOT_INSTRUCTIONS:
                attr = getattr(Builder, name)
                if callable(attr):
                    _METHODS[name] = attr
    return _METHODS


def _bind_labels(builder, names):
    for name in names:
        builder.bind(name)


def _labels_then(builder, names, method, ops):
    for name in names:
        builder.bind(name)
    method(builder, *ops)


def _nothing(builder):
    pass


_NOTHING = (_nothing, ())


_COND_METHOD = {"b." + c: "b_" + c for c in COND}
_PLAIN_METHODS = {}
_INDEX_EXTENDS = frozenset(["lsl", "uxtw", "sxtw", "sxtx"])
# Operand texts that are names (condition, option or label) on the plain
# path; conditions from the start, label names as they come (bounded).
_NAMES = set(COND)
_NAMES_LIMIT = 1 << 14
_MEM_BASES = frozenset(r for r in by_name.values() if r.bits == 64 and not r.is_zr)


def _plain_methods():
    """mnemonic -> Builder method for the one-pass reader (built once): the
    same lookup as ``_methods().get(_COND_METHOD.get(m) or _RENAME.get(m, m))``."""
    if not _PLAIN_METHODS:
        methods = _methods()
        table = dict(methods)
        for text, name in list(_RENAME.items()) + list(_COND_METHOD.items()):
            if name in methods:
                table[text] = methods[name]
            else:
                table.pop(text, None)
        _PLAIN_METHODS.update(table)
    return _PLAIN_METHODS


def _plain(line):
    """``(method, args)`` for a line holding one instruction whose operands
    are registers, ``#numbers``, names, ``lsl #n``-style modifiers and
    ``[xn]``/``[xn, #off]``/``[xn, #off]!``/``[xn], #off``/``[xn, xm{, ext
    #n}]`` as Capstone prints them, or None for anything else (``_compile``
    then parses it and names any error)."""
    mnemonic, _, rest = line.strip().partition(" ")
    method = (_PLAIN_METHODS or _plain_methods()).get(mnemonic)
    if method is None or not rest:
        return None
    ops = []
    try:
        if "[" in rest:
            head, _, tail = rest.partition("[")
            inner, close, after = tail.partition("]")
            if not close or "[" in after or (head and head[-2:] != ", "):
                return None
            if head:
                for text in head[:-2].split(", "):
                    reg = by_name.get(text)
                    if reg is None:
                        return None
                    ops.append(reg)
            parts = inner.split(", ")
            base = by_name.get(parts[0])
            if base not in _MEM_BASES:
                return None
            n = len(parts)
            if after[:1] == "!":
                after = after[1:]
                mode = PRE
            else:
                mode = OFFSET
            if n == 1:
                ops.append(Mem(base, 0, mode))
            elif parts[1][:1] == "#":
                if n != 2:
                    return None
                ops.append(Mem(base, int(parts[1][1:], 0), mode))
            else:
                index = by_name.get(parts[1])
                if index is None or mode == PRE or n > 3:
                    return None
                if n == 2:
                    ops.append(RegOffset(base, index))
                else:
                    ext, hash_, amount = parts[2].partition(" #")
                    if ext not in _INDEX_EXTENDS:
                        return None
                    ops.append(RegOffset(base, index, ext,
                                         int(amount, 0) if hash_ else None))
            if not after:
                return method, tuple(ops)
            if after[:2] != ", ":
                return None
            rest = after[2:]
        for text in rest.split(", "):
            reg = by_name.get(text)
            if reg is not None:
                ops.append(reg)
            elif text[:1] == "#":
                value = int(text[1:], 0)
                if ops and ops[-1].__class__ is Mem and ops[-1].mode == OFFSET \
                        and ops[-1].offset == 0:
                    # Capstone prints a negative post-index offset as 64-bit unsigned
                    ops[-1] = Mem(ops[-1].base, value - (1 << 64) if value >= 1 << 63
                                  else value, POST)
                else:
                    ops.append(value)
            elif " #" in text:            # a trailing modifier: lsl #n, sxtw #n
                kind, _, amount = text.partition(" #")
                if not ops or _MODIFIER.match(kind) is None:
                    return None
                amount = int(amount, 0)
                prev = ops[-1]
                if prev.__class__ is Reg:
                    ops[-1] = (ShiftedReg if kind in SHIFTS else ExtendedReg)(
                        prev, kind, amount)
                elif prev.__class__ is int and kind == "lsl":
                    if mnemonic in ("movz", "movn", "movk"):
                        ops.append(amount)
                    else:
                        ops[-1] = Imm12(prev, amount)
                else:
                    return None
            elif text in _NAMES or (_IDENT.match(text) and by_name.get(text.lower()) is None
                                    and _MODIFIER.match(text.lower()) is None):
                ops.append(text)          # condition, option or label name
                if len(_NAMES) < _NAMES_LIMIT:
                    _NAMES.add(text)
            else:
                return None
    except ValueError:       # a bad number or operand: the general path names it
        return None
    return method, tuple(ops)


def _compile(line):
    """``(function, args)``: what ``function(builder, *args)`` must do for one
    line (bind its labels, call the Builder method with parsed operands)."""
    if "/" not in line:
        if ":" not in line:
            plain = _plain(line)
            if plain is not None:
                return plain
        elif line[-1:] == ":" and _IDENT.match(line[:-1]):
            return (_bind_labels, ((line[:-1],),))          # name:
    if "/" in line:
        line = line.split("//", 1)[0]
    line = line.strip()
    labels = []
    while ":" in line:
        m = _LABEL.match(line)
        if not m:
            break
        labels.append(m.group(1))
        line = line[m.end():].strip()
    if not line:
        return (_bind_labels, (tuple(labels),)) if labels else _NOTHING
    parts = line.split(None, 1)
    mnemonic = parts[0].lower()
    ops = _operands(mnemonic, parts[1] if len(parts) > 1 else "")
    if mnemonic.startswith("b.") and mnemonic[2:] in COND:
        ops.insert(0, mnemonic[2:])
        name = "b_cond"
    else:
        name = _RENAME.get(mnemonic, mnemonic)
    method = _methods().get(name)
    if method is None:
        raise ParseError(f"unsupported instruction {mnemonic!r}")
    if not ops and mnemonic in _NO_OPERANDS_DEFAULT:
        ops = list(_NO_OPERANDS_DEFAULT[mnemonic])
    if labels:
        return (_labels_then, (tuple(labels), method, tuple(ops)))
    return (method, tuple(ops))


def _mnemonic(line):
    """The mnemonic of a line, for the message of a wrong operand count."""
    line = line.split("//", 1)[0]
    while True:
        m = _LABEL.match(line)
        if not m:
            break
        line = line[m.end():]
    return line.split(None, 1)[0].lower()


# line text -> (record, function, args).  Programs repeat most lines, so a
# line is parsed once; a line that defines a label is not kept (each is
# unique).  ``record`` is the buffer's position-free record ``(bytes, name,
# *ops)`` when the line's instruction has no fixup or variable item (what
# the Builder's memo would append), else None.  Bounded: a full cache
# starts over.
_LINE_CACHE = {}
LINE_CACHE_LIMIT = 1 << 14


def clear_caches():
    """Forget every parsed line and operand (the benchmark's cold text line;
    tests compare the cold path with the cached one)."""
    _LINE_CACHE.clear()
    _OPS_CACHE.clear()
    _SEEN_OPERANDS.clear()
    _SEEN_LINES.clear()


clear_cache = clear_caches


def parse_line(builder, line):
    """Assemble one line (label and/or instruction) into ``builder``."""
    function, args = _compile(line)
    try:
        function(builder, *args)
    except TypeError:
        raise ParseError(f"{_mnemonic(line)}: wrong number or kind of operands") from None


# Builder methods whose bytes depend on where they are placed.  The buffer
# encodes a backward branch to a label bound with no variable item between
# at once, with no fixup and no variable item, so "no fixup was left" does
# not prove an instruction position free: these never keep a record.
_PC_RELATIVE = frozenset(["b", "bl", "b_cond", "cbz", "cbnz", "tbz", "tbnz", "adr",
                          "adrp", "b_cs", "b_cc"] + ["b_" + c for c in COND])
_LITERAL_CAPABLE = frozenset(["ldr", "ldrsw"])


def _position_free(function, args):
    """Whether the bytes of ``function(builder, *args)`` can be replayed at
    any position and in any program."""
    name = function.__name__
    if name in _PC_RELATIVE:
        return False
    if name in _LITERAL_CAPABLE:
        return bool(args) and args[-1].__class__ in (Mem, RegOffset)
    return True


def _first_time(builder, line, direct):
    """Parse and run a line not in the cache; cache it when it comes a
    second time (a label definition never)."""
    function, args = _compile(line)
    keep = function is not _bind_labels and function is not _labels_then \
        and _second_sighting(_SEEN_LINES, line)
    if not keep:
        try:
            function(builder, *args)
        except TypeError:
            raise ParseError(f"{_mnemonic(line)}: wrong number or kind of operands") from None
        return
    recs = builder._recs
    nrec, nfix, nvar = len(recs), len(builder._fixups), len(builder._var)
    try:
        function(builder, *args)
    except TypeError:
        raise ParseError(f"{_mnemonic(line)}: wrong number or kind of operands") from None
    record = None
    if direct and _position_free(function, args) and len(recs) == nrec + 1 and len(builder._fixups) == nfix \
            and len(builder._var) == nvar:
        last = recs[-1]
        if last[0].__class__ is bytes:
            record = last
        elif last[0].__class__ is int:
            record = (bytes(builder._code[last[0]:]),) + last[2:]
    if len(_LINE_CACHE) >= LINE_CACHE_LIMIT:
        _LINE_CACHE.clear()
    _LINE_CACHE[line] = (record, function, args)


def parse_into(builder, text):
    """Assemble every line of ``text`` into ``builder``; errors name the line.

    A cached line whose instruction is position free appends its record and
    bytes directly, as a Builder memo hit would (only for a plain Builder,
    whose methods are known).
    """
    cache = _LINE_CACHE
    seen = _SEEN_LINES
    direct = builder.__class__ is Builder
    number, line = 0, ""
    try:
        for number, line in enumerate(text.splitlines(), 1):
            entry = cache.get(line)
            if entry is None:
                if ":" in line or "/" in line:
                    if line[-1:] == ":" and _IDENT.match(line[:-1]):
                        builder.bind(line[:-1])        # name: (never cached)
                    else:
                        _first_time(builder, line, direct)
                    continue
                h = hash(line)
                if h in seen:           # a second sighting: parse and keep
                    _first_time(builder, line, direct)
                    continue
                if len(seen) >= _SEEN_LIMIT:
                    seen.clear()
                seen.add(h)
                # A first sighting: the one-pass reader, the general parser
                # for anything else; nothing kept (see _first_time).
                plain = _plain(line)
                function, args = plain if plain is not None else _compile(line)
                try:
                    function(builder, *args)
                except TypeError:
                    raise ParseError(f"{_mnemonic(line)}: wrong number or kind of "
                                     f"operands") from None
                continue
            record, function, args = entry
            if record is not None and direct:
                builder._recs.append(record)
                builder._code += record[0]
                continue
            try:
                function(builder, *args)
            except TypeError:
                raise ParseError(f"{_mnemonic(line)}: wrong number or kind of "
                                 f"operands") from None
    except (OperandError, AsmError) as exc:
        raise ParseError(f"line {number}: {line.strip()}: {exc}") from None
    return builder


def assemble(text, address=0):
    """The bytes of ``text`` placed at ``address``."""
    builder = parse_into(Builder(relax=True), text)
    return builder.finish(address)
