"""Intel-syntax text -> Builder calls (Capstone's syntax and common variants).

A thin parser: it turns each operand into a register, ``Mem``, int or label
and calls the Builder method of the mnemonic; every encoding decision is the
Builder's.  Statements are separated by newlines or ``;``; ``name:`` binds a
label; ``#`` starts a comment; branch operands are labels or absolute
addresses (relative to the ``address`` given to :func:`assemble`).
Directives: ``.byte`` b, ... and ``.align`` n.
"""

from __future__ import annotations

import inspect
import re

from ..buffer import AsmError
from ..memo import second_sighting as _second_sighting
from .encode import CONDITIONS, Builder
from .operands import Mem
from .regs import REGS, RIP, RIZ

__all__ = ["assemble", "parse_into", "MNEMONICS"]

_SIZES = {"byte": 8, "word": 16, "dword": 32, "qword": 64}
_CACHE_LIMIT = 4096       # entries per text cache; a full cache starts over


def _number(text: str):
    """The value of a number (``0x1f``, ``31``, ``-8``, ``1fh``, ``007``), or
    None.  A number starts with a digit or a sign, so an identifier such as
    ``beh`` is a label (MASM's rule: write ``0beh``)."""
    if not text or not (text[0].isdigit() or text[0] in "+-"):
        return None
    t = text.replace("_", "") if "_" in text else text
    try:
        return int(t, 0)
    except ValueError:
        pass
    try:
        if t[-1] in "hH":
            return int(t[:-1], 16)
        return int(t, 10)             # decimal with leading zeros
    except ValueError:
        return None


_is_ident = re.compile(r"[A-Za-z._$][\w.$@]*\Z", re.ASCII).match


_INDEX_REGS = dict(REGS, riz=RIZ)     # riz is an index, never a register


def _parse_address(body: str, size):
    base = index = label = None
    scale, disp = 1, 0
    text = body.replace(" ", "").replace("-", "+-")
    for term in text.split("+"):
        if not term:
            continue
        neg = term[0] == "-"
        t = term[1:] if neg else term
        if "*" in t:
            a, _, b = t.partition("*")
            reg, num = _INDEX_REGS.get(a.lower()), _number(b)
            if reg is None:
                reg, num = _INDEX_REGS.get(b.lower()), _number(a)
            if reg is None or num is None or neg or index is not None:
                raise AsmError(f"bad index term {term!r} in [{body}]")
            index, scale = reg, num
            continue
        reg = REGS.get(t.lower())
        if reg is None and t.lower() == "riz":
            if neg or index is not None:
                raise AsmError(f"riz must be the only index in [{body}]")
            index = RIZ               # Capstone's [rax + riz + 8]: scale 1
            continue
        if reg is not None:
            if neg:
                raise AsmError(f"cannot subtract register {t} in [{body}]")
            if base is None:
                base = reg
            elif index is None:
                index = reg
            else:
                raise AsmError(f"too many registers in [{body}]")
            continue
        num = _number(t)
        if num is not None:
            disp += -num if neg else num
            continue
        if _is_ident(t) and not neg and label is None:
            label = t
            continue
        raise AsmError(f"cannot parse {term!r} in [{body}]")
    if label is not None and base is not RIP:
        raise AsmError(f"label {label} in [{body}] needs rip as base")
    return Mem(base, index, scale, disp, size), label


def _parse_operand(text: str):
    """(value, label name or None) for one operand text.  With a label name
    the value is None (a label operand) or a Mem to add the label to."""
    low = text.lower()
    reg = REGS.get(low)
    if reg is not None:
        return reg, None
    if "[" in text:
        head, _, rest = text.partition("[")
        if not rest.endswith("]"):
            raise AsmError(f"unterminated memory operand {text!r}")
        words = head.lower().split()
        size = None
        if words:
            if words[-1] == "ptr":
                words.pop()
                if not words:     # Capstone's text for the far forms FF /3, FF /5
                    raise AsmError(f"'ptr' without a size in {text!r} (far "
                                   f"pointers are not supported)")
            if len(words) > 1 or (words and words[0] not in _SIZES):
                raise AsmError(f"unknown size {head.strip()!r} in {text!r}")
            size = _SIZES[words[0]] if words else None
        return _parse_address(rest[:-1], size)
    num = _number(text)
    if num is not None:
        return num, None
    if _is_ident(text):
        return None, text
    raise AsmError(f"cannot parse operand {text!r}")


_CACHE: dict = {}
# Hashes of texts seen once.  A text is cached only when it comes again, so
# a line that never repeats (new displacements, new immediates) leaves
# nothing behind for the garbage collector to scan (ints are not tracked).
# One set per cache: a line is often also its instruction text.
_SEEN_OPERANDS: set = set()
_SEEN_INSNS: set = set()
_SEEN_LINES: set = set()
_SEEN_LIMIT = 1 << 16


def _operand(text: str):
    hit = _CACHE.get(text)
    if hit is None:
        hit = _parse_operand(text.strip())
        if _second_sighting(_SEEN_OPERANDS, text):
            if len(_CACHE) >= _CACHE_LIMIT:
                _CACHE.clear()
            _CACHE[text] = hit
    return hit


def _handlers():
    table = {}
    simple = ["mov", "movabs", "movzx", "movsx", "movsxd", "lea", "push", "pop",
              "add", "adc", "sbb", "sub", "xor", "cmp", "test", "imul", "mul",
              "div", "idiv", "neg", "inc", "dec", "shl", "sal", "shr", "sar",
              "rol", "ror", "cqo", "cdq", "cdqe", "xchg", "jmp", "call", "ret",
              "nop", "int3", "ud2"]
    for name in simple:
        table[name] = getattr(Builder, name)
    table["and"] = Builder.and_
    table["or"] = Builder.or_
    table["not"] = Builder.not_
    for cond in CONDITIONS:
        for prefix in ("j", "set", "cmov"):
            table[prefix + cond] = getattr(Builder, prefix + cond)
    arity = {}
    for name, fn in table.items():
        params = list(inspect.signature(fn).parameters.values())[1:]
        need = sum(1 for p in params if p.default is inspect.Parameter.empty)
        arity[name] = (need, len(params))
    return table, arity


MNEMONICS, _ARITY = _handlers()
# Mnemonics whose single operand may be a label (branches and call).
_LABEL_TAKERS = frozenset(m for m in MNEMONICS if m[0] == "j" or m == "call")


def _directive(b: Builder, name: str, ops):
    if name == ".byte":
        vals = [o for o in ops]
        if not all(isinstance(v, int) and -128 <= v <= 255 for v in vals):
            raise AsmError(".byte takes values -128..255")
        b.data(bytes(v & 0xFF for v in vals))
    elif name == ".align":
        if len(ops) != 1 or not isinstance(ops[0], int):
            raise AsmError(".align takes one power of two")
        b.align(ops[0])
    else:
        raise AsmError(f"unknown directive {name!r}")


# ------------------------------------------------------------ statements
#
# Each line compiles once to a tuple of steps ``(fn, args, statement)``,
# run as ``fn(builder, *args)``: a Builder method with its operands, a
# label binding, or a directive.  Label operands stay names and are looked
# up in each builder, so a compiled line is reusable across builders.
# Lines and statements are cached by their text; a program repeats most of
# its lines, and the Builder memoises the instructions behind them.

_LINES: dict = {}
_INSNS: dict = {}


def parse_into(b: Builder, text: str) -> Builder:
    """Append the instructions of ``text`` to builder ``b``.

    One pass over the lines: a cached line runs its steps; a plain line
    (see ``_plain_line``) is read here, inline, and its Encoder method
    called directly (a line not cached is a first or second sighting, whose
    operands the Builder's memo would not know either); anything else
    takes the general parser (``_compile_line``)."""
    lines = _LINES
    plain = _PLAIN
    regs = REGS
    number_start = _NUMBER_START
    heads = _MEM_HEADS
    digits = _DIGITS
    layouts = _MEM_LAYOUTS
    seen = _SEEN_LINES
    lineno = 0
    for line in text.split("\n"):
        lineno += 1
        steps = lines.get(line)
        if steps is None:
            mnem, _, rest = line.partition(" ")
            entry = plain.get(mnem)
            if entry is not None:
                fn, direct, need, most, takes_label = entry
                ops = []
                if rest:
                    for t in rest.split(", "):
                        reg = regs.get(t)
                        if reg is not None:
                            ops.append(reg)
                            continue
                        if t[:1] in number_start:
                            try:
                                num = int(t, 0)
                            except ValueError:
                                num = _number(t)
                                if num is None:
                                    break
                            ops.append(num)
                            continue
                        if t[-1:] == "]":
                            # [base + index*scale +/- disp] as Capstone
                            # prints it: the text before the number names
                            # the layout, looked up in _MEM_LAYOUTS.
                            head, _, inner = t[:-1].partition("[")
                            size = heads.get(head, 0)
                            if size == 0:
                                break
                            head, _, num = inner.rpartition(" ")
                            if num[:1] not in digits:      # no displacement
                                lay = layouts.get(inner)
                                if lay is None:
                                    lay = _mem_layout(inner)
                                    if lay is None:
                                        break
                                if lay[3]:
                                    break
                                ops.append(Mem(lay[0], lay[1], lay[2], 0, size))
                                continue
                            lay = layouts.get(head)
                            if lay is None:
                                lay = _mem_layout(head)
                                if lay is None:
                                    break
                            if not lay[3]:
                                break
                            if num[:2] == "0x":
                                try:
                                    disp = int(num, 16)
                                except ValueError:
                                    break
                            elif num.isdigit() and num.isascii():
                                disp = int(num)        # "010" is decimal
                            else:
                                break
                            ops.append(Mem(lay[0], lay[1], lay[2],
                                           disp if lay[3] > 0 else -disp, size))
                            continue
                        if takes_label and not ops and t == rest \
                                and _is_ident(t) and t.lower() not in regs:
                            ops = None           # jne name
                            try:
                                direct(b, b.get_label(t))
                            except AsmError as exc:
                                raise AsmError(f"line {lineno}: {line.strip()!r}: "
                                               f"{exc}") from None
                        break
                    else:
                        if need <= len(ops) <= most:
                            try:
                                direct(b, *ops)
                            except AsmError as exc:
                                raise AsmError(f"line {lineno}: {line.strip()!r}: "
                                               f"{exc}") from None
                            h = hash(line)
                            if h in seen:
                                if len(lines) >= _CACHE_LIMIT:
                                    lines.clear()
                                lines[line] = ((fn, tuple(ops), line.strip()),)
                            else:
                                if len(seen) >= _SEEN_LIMIT:
                                    seen.clear()
                                seen.add(h)
                            continue
                    if ops is None:
                        continue
                elif not need and line == mnem:
                    try:
                        direct(b)
                    except AsmError as exc:
                        raise AsmError(f"line {lineno}: {line!r}: {exc}") from None
                    continue
            elif line[-1:] == ":" and _is_ident(line[:-1]):
                try:
                    b.bind(line[:-1])
                except AsmError as exc:
                    raise AsmError(f"line {lineno}: {line!r}: {exc}") from None
                continue
            steps = _compile_line(line, lineno)
        try:
            for fn, args, stmt in steps:
                fn(b, *args)
        except AsmError as exc:
            raise AsmError(f"line {lineno}: {stmt!r}: {exc}") from None
    return b


def clear_caches():
    """Forget every compiled line, instruction and operand."""
    _LINES.clear()
    _INSNS.clear()
    _CACHE.clear()
    for seen in (_SEEN_OPERANDS, _SEEN_INSNS, _SEEN_LINES):
        seen.clear()


# A memory operand as Capstone spells it: [base + index*scale +/- disp].
_PLAIN_MEM = re.compile(r"(?:(byte|dword|qword) ptr )?\[([a-z0-9]+)"
                        r"(?: \+ ([a-z0-9]+)\*([1248]))?"
                        r"(?: ([+-]) (0x[0-9a-f]+|[0-9]+))?\]\Z").match
_MEM_SIZES = {"byte": 8, "dword": 32, "qword": 64, None: None}


def _plain_line(line: str):
    """The step ``(fn, args, stmt)`` of a line holding one instruction whose
    operands are registers, numbers and memory operands as Capstone prints
    them, or None for anything else (the general path then parses it and
    names any error).  Each operand is read by one lookup or one match."""
    stmt = line.strip()
    mnem, _, rest = stmt.partition(" ")
    fn = MNEMONICS.get(mnem)
    if fn is None:
        return None
    ops = []
    if rest:
        for text in rest.split(", "):
            reg = REGS.get(text)
            if reg is not None:
                ops.append(reg)
                continue
            first = text[:1]
            if first in _NUMBER_START:
                num = _number(text)
                if num is None:
                    return None
                ops.append(num)
                continue
            m = _PLAIN_MEM(text)
            if m is None:
                if mnem in _LABEL_TAKERS and not ops and text == rest \
                        and _is_ident(text) and text.lower() not in REGS:
                    return (_to_label, (fn, text), stmt)    # jne name
                return None
            size, base, index, scale, sign, disp = m.groups()
            regs = _base_index(base, index, scale)
            if regs is None:
                return None
            base, index, scale = regs
            if disp is not None:
                disp = _number(disp)           # "010" is decimal, as elsewhere
                if sign == "-":
                    disp = -disp
            else:
                disp = 0
            ops.append(Mem(base, index, scale, disp, _MEM_SIZES[size]))
    need, most = _ARITY[mnem]
    if not need <= len(ops) <= most:
        return None
    return (fn, tuple(ops), stmt)


def _base_index(base: str, index, scale):
    """(base, index or None, scale) as registers and an int, from the names
    a plain memory operand gives, or None when they are not registers or
    the base is rip (the general parser then reads the line)."""
    base = REGS.get(base)
    if base is None or base is RIP:
        return None
    if index is None:
        return (base, None, 1)
    index = REGS.get(index)
    if index is None:
        return None
    return (base, index, int(scale))


_NUMBER_START = frozenset("0123456789-+")

# parse_into's memory operands: the text before "[" gives the size, the
# text inside before the displacement names the layout: "rax + rcx*4"
# (no displacement) or "rax + rcx*4 +" / "rbp -" (one follows) ->
# (base, index, scale, sign of the displacement or 0).
_MEM_HEADS = {"": None, "byte ptr ": 8, "dword ptr ": 32, "qword ptr ": 64}
_LAYOUT = re.compile(r"([a-z0-9]+)(?: \+ ([a-z0-9]+)\*([1248]))?( [+-])?\Z").match
_MEM_LAYOUTS: dict = {}
_DIGITS = frozenset("0123456789")


def _mem_layout(text: str):
    """The _MEM_LAYOUTS entry of ``text``, or None when it is not one (a
    name that is not a register, rip as the base): the general parser then
    reads the line.  Registers only, so the table stays small."""
    m = _LAYOUT(text)
    if m is None:
        return None
    base, index, scale, sign = m.groups()
    regs = _base_index(base, index, scale)
    if regs is None:
        return None
    lay = regs + (0 if sign is None else 1 if sign == " +" else -1,)
    if len(_MEM_LAYOUTS) >= _CACHE_LIMIT:
        _MEM_LAYOUTS.clear()
    _MEM_LAYOUTS[text] = lay
    return lay


def _direct_table():
    """mnemonic -> (Builder method, method for a line not cached, required
    and most operands, takes a label).  The second is the Encoder's method
    where the Builder's is the memo in front of it."""
    from .encode import Encoder
    own = {"cqo", "ret", "call", "jmp"}
    table = {}
    for mnem, fn in MNEMONICS.items():
        direct = fn
        if mnem[0] != "j" and mnem not in own:
            direct = getattr(Encoder, fn.__name__, fn)
        need, most = _ARITY[mnem]
        table[mnem] = (fn, direct, need, most, mnem in _LABEL_TAKERS)
    return table


_PLAIN = _direct_table()


def _compile_line(line: str, lineno: int):
    if "#" not in line and ";" not in line:
        if ":" in line:
            name = line.strip()[:-1]
            if line.rstrip()[-1:] == ":" and _is_ident(name):
                return ((_bind, (name,), line.strip()),)       # name:
            step = None
        else:
            step = _plain_line(line)
        if step is not None:
            steps = (step,)
            if step[0] is not _to_label and _second_sighting(_SEEN_LINES, line):
                if len(_LINES) >= _CACHE_LIMIT:
                    _LINES.clear()
                _LINES[line] = steps
            return steps
    if "#" in line:
        line = line[:line.index("#")]
    steps = []
    defines = False
    for stmt in line.split(";") if ";" in line else (line,):
        stmt = stmt.strip()
        if not stmt:
            continue
        try:
            text = stmt
            while ":" in text:
                head, _, rest = text.partition(":")
                name = head.strip()
                if not _is_ident(name):
                    break
                steps.append((_bind, (name,), stmt))
                defines = True
                text = rest.strip()
            if text:
                step = _INSNS.get(text)
                if step is None:
                    step = _compile_instruction(text)
                    defines |= step[0] is _to_label
                steps.append((step[0], step[1], stmt))
        except AsmError as exc:
            raise AsmError(f"line {lineno}: {stmt!r}: {exc}") from None
    steps = tuple(steps)
    # Lines naming labels rarely repeat: not kept.
    if not defines and _second_sighting(_SEEN_LINES, line):
        if len(_LINES) >= _CACHE_LIMIT:
            _LINES.clear()
        _LINES[line] = steps
    return steps


def _compile_instruction(text: str):
    """(fn, args) for one instruction or directive text, cached by text."""
    key = text
    if "\t" in text:
        text = text.replace("\t", " ")
    mnem, _, rest = text.partition(" ")
    mnem = mnem.lower()
    target = rest.strip()
    if mnem in _LABEL_TAKERS and _is_ident(target) and target.lower() not in REGS:
        # jne top, call f: cheap to redo, and label names rarely repeat
        return (_to_label, (MNEMONICS[mnem], target))
    step = _compile_operands(mnem, rest)
    if _second_sighting(_SEEN_INSNS, key):
        if len(_INSNS) >= _CACHE_LIMIT:
            _INSNS.clear()
        _INSNS[key] = step
    return step


def _compile_operands(mnem: str, rest: str):
    ops, labels = [], []
    if rest:
        for i, op_text in enumerate(rest.split(",")):
            value, label = _operand(op_text)
            if label is not None:
                labels.append((i, label))
            ops.append(value)
    if mnem[0] == ".":
        if labels:
            raise AsmError(f"{mnem} takes numbers, not labels")
        return (_directive, (mnem, ops))
    fn = MNEMONICS.get(mnem)
    if fn is None:
        raise AsmError(f"unknown or unsupported instruction {mnem!r}")
    need, most = _ARITY[mnem]
    if not need <= len(ops) <= most:
        want = str(need) if need == most else f"{need} to {most}"
        raise AsmError(f"{mnem} takes {want} operand(s), got {len(ops)}")
    if labels:
        return (_with_labels, (fn, tuple(ops), tuple(labels)))
    return (fn, tuple(ops))


def _to_label(b, fn, name):
    fn(b, b.get_label(name))


def _bind(b, name):
    b.bind(name)


def _with_labels(b, fn, ops, labels):
    """Run ``fn`` with the label operands looked up in builder ``b``."""
    ops = list(ops)
    for i, name in labels:
        lab = b.get_label(name)
        ops[i] = lab if ops[i] is None else ops[i] + lab
    fn(b, *ops)


def assemble(text: str, address: int = 0) -> bytes:
    """Bytes of ``text`` placed at ``address``."""
    b = Builder()
    parse_into(b, text)
    return b.finish(address)
