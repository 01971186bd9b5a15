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

from ..buffer import AsmError
from .encode import CONDITIONS, Builder
from .operands import Mem
from .regs import REGS, RIP

__all__ = ["assemble", "parse_into", "MNEMONICS"]

_SIZES = {"byte": 8, "word": 16, "dword": 32, "qword": 64}


def _number(text: str):
    t = text.replace("_", "") if "_" in text else text
    try:
        return int(t, 0)
    except ValueError:
        pass
    try:
        if t.lower().endswith("h"):
            return int(t[:-1], 16)
        return int(t, 10)             # decimal with leading zeros
    except ValueError:
        return None


def _is_ident(text: str) -> bool:
    return bool(text) and (text[0].isalpha() or text[0] in "._$") and \
        all(c.isalnum() or c in "._$@" for c in text)


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
            reg, num = REGS.get(a.lower()), _number(b)
            if reg is None:
                reg, num = REGS.get(b.lower()), _number(a)
            if reg is None or num is None or neg or index is not None:
                raise AsmError(f"bad index term {term!r} in [{body}]")
            index, scale = reg, num
            continue
        reg = REGS.get(t.lower())
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


def _operand(text: str):
    hit = _CACHE.get(text)
    if hit is None:
        hit = _parse_operand(text.strip())
        if len(_CACHE) > 4096:
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


def parse_into(b: Builder, text: str) -> Builder:
    """Append the instructions of ``text`` to builder ``b``."""
    table, arity, operand = MNEMONICS, _ARITY, _operand
    for lineno, line in enumerate(text.split("\n"), 1):
        if "#" in line:
            line = line[:line.index("#")]
        for stmt in line.split(";"):
            stmt = stmt.strip()
            if not stmt:
                continue
            try:
                _statement(b, stmt, table, arity, operand)
            except AsmError as exc:
                raise AsmError(f"line {lineno}: {stmt!r}: {exc}") from None
    return b


def _statement(b, stmt, table, arity, operand):
    while ":" in stmt:
        head, sep, rest = stmt.partition(":")
        if not sep or not _is_ident(head.strip()) or "[" in head:
            break
        b.bind(head.strip())
        stmt = rest.strip()
        if not stmt:
            return
    if "\t" in stmt:
        stmt = stmt.replace("\t", " ")
    mnem, _, rest = stmt.partition(" ")
    mnem = mnem.lower()
    ops = []
    if rest:
        for text in rest.split(","):
            value, label = operand(text)
            if label is not None:
                value = (b.get_label(label) if value is None
                         else value + b.get_label(label))
            ops.append(value)
    if mnem[0] == ".":
        _directive(b, mnem, ops)
        return
    fn = table.get(mnem)
    if fn is None:
        raise AsmError(f"unknown or unsupported instruction {mnem!r}")
    need, most = arity[mnem]
    if not need <= len(ops) <= most:
        want = str(need) if need == most else f"{need} to {most}"
        raise AsmError(f"{mnem} takes {want} operand(s), got {len(ops)}")
    fn(b, *ops)


def assemble(text: str, address: int = 0) -> bytes:
    """Bytes of ``text`` placed at ``address``."""
    b = Builder()
    parse_into(b, text)
    return b.finish(address)
