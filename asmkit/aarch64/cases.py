"""The encoding cases the proof feeds to Keystone and Capstone.

A case is ``(form, method, args)``: a Builder call.  ``Rel(offset)`` in args
is a pc-relative target, turned into an absolute address once the case's
position is known.  Every two register slots of a form are crossed in full
over every register they allow (x0-x30 plus sp or the zero register as the
slot permits, at 64 and 32 bits) while any other slots rotate; each boundary
immediate is crossed with several register choices.
"""

from .operands import (
    COND_NAMES, ExtendedReg, Imm12, Mem, RegOffset, ShiftedReg, decode_bitmask,
    OFFSET, POST, PRE,
)
from .movimm import plan
from .regs import SP, WSP, WZR, XZR, W, X

__all__ = ["Rel", "all_cases", "fmt_text", "KEYSTONE_OFFSET_FORMS"]


class Rel:
    """A branch target ``offset`` bytes from the instruction."""

    __slots__ = ("offset",)

    def __init__(self, offset):
        self.offset = offset


# Keystone reads adr's operand as a raw offset (and is off by one at a
# nonzero address), so adr cases are checked with the offset at address 0.
KEYSTONE_OFFSET_FORMS = {"adr"}

Z = {64: X + (XZR,), 32: W + (WZR,)}     # 31 = zero register
S = {64: X + (SP,), 32: W + (WSP,)}       # 31 = stack pointer
G = {64: X, 32: W}


def _rot(lst, k):
    return lst[k % len(lst)]


def combos(*slots):
    """Every register combination of every two operand positions: each pair
    of slots is crossed in full while the other slots rotate; a lone slot
    takes each of its registers."""
    if len(slots) == 1:
        return [(r,) for r in slots[0]]
    out = []
    n = len(slots)
    for i in range(n):
        for j in range(i + 1, n):
            width = len(slots[j])
            for a, ra in enumerate(slots[i]):
                for b, rb in enumerate(slots[j]):
                    k = a * width + b
                    out.append(tuple(ra if m == i else rb if m == j else
                                     _rot(slots[m], k * (m + 3) + 7 * m + 1)
                                     for m in range(n)))
    return out


def _with_values(regsets, values, extra=3):
    """Every register combo with a rotating value, plus each value x ``extra`` combos."""
    out = [c + (values[k % len(values)],) for k, c in enumerate(regsets)]
    for v_i, v in enumerate(values):
        for e in range(extra):
            out.append(regsets[(v_i * 5 + e * 11) % len(regsets)] + (v,))
    return out


def _bitmasks(bits):
    vals = set()
    for n in (0, 1) if bits == 64 else (0,):
        for r in range(bits):
            for s in range(64):
                v = decode_bitmask(n, r, s, bits)
                if v is not None:
                    vals.add(v)
    return sorted(vals)


def _alu_cases():
    cases = []
    for bits in (64, 32):
        sfx = f"/{bits}"
        top = bits - 1
        imm_vals = [0, 1, 2, 0xFFF, 0x1000, 0x2000, 0xFFF000, 0x7FF000, -1, -0xFFF, -2]
        imm_vals += [Imm12(0, 12), Imm12(1, 12), Imm12(0xFFF, 12), Imm12(0xFFF, 0)]
        for name in ("add", "adds", "sub", "subs"):
            d = S[bits] if name in ("add", "sub") else Z[bits]
            for rd, rn, v in _with_values(combos(d, S[bits]), imm_vals):
                cases.append((f"{name} imm{sfx}", name, (rd, rn, v)))
            for rd, rn, rm, (sh, amt) in _with_values(
                    combos(Z[bits], Z[bits], Z[bits]),
                    [(s, a) for s in ("lsl", "lsr", "asr") for a in (0, 1, top)]):
                cases.append((f"{name} shifted{sfx}", name, (rd, rn, ShiftedReg(rm, sh, amt))))
            exts = [(e, a) for e in ("uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth",
                                     "sxtw", "sxtx") for a in (0, 1, 4)]
            for rd, rn, k, (e, a) in _with_values(combos(d, S[bits], range(32)), exts):
                rm_bits = 64 if bits == 64 and e.endswith("x") else 32
                rm = Z[rm_bits][k]
                cases.append((f"{name} extended{sfx}", name, (rd, rn, ExtendedReg(rm, e, a))))
        for name in ("cmp", "cmn"):
            for rn, v in _with_values(combos(S[bits]), imm_vals):
                cases.append((f"{name} imm{sfx}", name, (rn, v)))
            for rn, rm, a in _with_values(combos(Z[bits], Z[bits]), [0, 3, top]):
                cases.append((f"{name} shifted{sfx}", name, (rn, ShiftedReg(rm, "asr", a))))
            for rn, k, e in _with_values(combos(S[bits], range(32)), ["uxtb", "sxth", "sxtw", "uxtx"]):
                rm = Z[64 if bits == 64 and e.endswith("x") else 32][k]
                cases.append((f"{name} extended{sfx}", name, (rn, ExtendedReg(rm, e, 2))))
        for name in ("neg", "negs", "mvn"):
            shifts = ("lsl", "lsr", "asr") + (("ror",) if name == "mvn" else ())
            for rd, rm, (sh, a) in _with_values(combos(Z[bits], Z[bits]),
                                                [(s, a) for s in shifts for a in (0, 1, top)]):
                cases.append((f"{name}{sfx}", name, (rd, ShiftedReg(rm, sh, a))))
        masks = _bitmasks(bits)
        edge = [masks[0], masks[1], masks[-1], masks[-2], masks[len(masks) // 2],
                0x5555555555555555 & ((1 << bits) - 1), 1, 1 << top, (1 << top) - 1]
        for name in ("and_", "orr", "eor", "ands", "bic", "orn", "eon", "bics"):
            d = Z[bits] if name in ("ands", "bics") or name in ("bic", "orn", "eon") else S[bits]
            if name in ("bic", "orn", "eon"):
                d = S[bits]
            for rd, rn, v in _with_values(combos(d, Z[bits]), edge):
                cases.append((f"{name.rstrip('_')} imm{sfx}", name, (rd, rn, v)))
            for rd, rn, rm, (sh, a) in _with_values(
                    combos(Z[bits], Z[bits], Z[bits]),
                    [(s, a) for s in ("lsl", "lsr", "asr", "ror") for a in (0, 1, top)]):
                cases.append((f"{name.rstrip('_')} shifted{sfx}", name,
                              (rd, rn, ShiftedReg(rm, sh, a))))
        for v in masks:   # every valid logical immediate, once
            cases.append((f"orr imm{sfx}", "orr", (Z[bits][3], Z[bits][7], v)))
        for rn, v in _with_values(combos(Z[bits]), edge):
            cases.append((f"tst imm{sfx}", "tst", (rn, v)))
        for rn, rm, a in _with_values(combos(Z[bits], Z[bits]), [0, 5, top]):
            cases.append((f"tst shifted{sfx}", "tst", (rn, ShiftedReg(rm, "ror", a))))
        for name in ("lsl", "lsr", "asr", "ror"):
            for rd, rn, a in _with_values(combos(Z[bits], Z[bits]), [0, 1, bits // 2, top]):
                cases.append((f"{name} imm{sfx}", name, (rd, rn, a)))
            for rd, rn, rm in combos(Z[bits], Z[bits], Z[bits]):
                cases.append((f"{name} reg{sfx}", name, (rd, rn, rm)))
        for name in ("mul", "mneg", "sdiv", "udiv") + (("smulh", "umulh") if bits == 64 else ()):
            for rd, rn, rm in combos(Z[bits], Z[bits], Z[bits]):
                cases.append((f"{name}{sfx}", name, (rd, rn, rm)))
        for name in ("madd", "msub"):
            for rd, rn, rm, ra in combos(Z[bits], Z[bits], Z[bits], Z[bits]):
                cases.append((f"{name}{sfx}", name, (rd, rn, rm, ra)))
        for name in ("csel", "csinc", "csinv", "csneg"):
            for rd, rn, rm, c in _with_values(combos(Z[bits], Z[bits], Z[bits]), COND_NAMES):
                cases.append((f"{name}{sfx}", name, (rd, rn, rm, c)))
        for name in ("cset", "csetm"):
            for rd, c in _with_values(combos(Z[bits]), COND_NAMES[:14]):
                cases.append((f"{name}{sfx}", name, (rd, c)))
        for name in ("cinc", "cinv", "cneg"):
            for rd, rn, c in _with_values(combos(Z[bits], G[bits]), COND_NAMES[:14]):
                cases.append((f"{name}{sfx}", name, (rd, rn, c)))
        # moves
        mw = [(0, 0), (1, 0), (0xFFFF, 0), (0x8000, 16), (0x1234, 16)]
        if bits == 64:
            mw += [(0xFFFF, 32), (1, 48), (0xFFFF, 48)]
        for name in ("movz", "movn", "movk"):
            for rd, (v, sh) in _with_values(combos(Z[bits]), mw):
                cases.append((f"{name}{sfx}", name, (rd, v, sh)))
        consts = [0, 1, -1, 0xFFFF, 0x10000, 0xFFFF0000, -0x10000, 0x7FFFFFFF,
                  masks[0], masks[-1], masks[len(masks) // 3], -2]
        if bits == 64:
            consts += [0xFFFF << 48, 0x1234 << 32, ~(0x1234 << 32), 0x00FF00FF00FF00FF]
        consts = [c for c in consts if len(plan(c, bits)) == 1]
        for rd, v in _with_values(combos(S[bits] if False else Z[bits]), consts):
            cases.append((f"mov imm{sfx}", "mov", (rd, v)))
        for rd, rm in combos(Z[bits], Z[bits]):
            cases.append((f"mov reg{sfx}", "mov", (rd, rm)))
        for rd, rn in combos(S[bits][-1:] + G[bits][:4], S[bits]):
            cases.append((f"mov sp{sfx}", "mov", (rd, rn)))
    return cases


def _mem_cases():
    cases = []
    loads = [("ldr", 64, 8), ("ldr", 32, 4), ("str", 64, 8), ("str", 32, 4),
             ("ldrb", 32, 1), ("strb", 32, 1), ("ldrh", 32, 2), ("strh", 32, 2),
             ("ldrsb", 64, 1), ("ldrsb", 32, 1), ("ldrsh", 64, 2), ("ldrsh", 32, 2),
             ("ldrsw", 64, 4)]
    unscaled = {"ldr": "ldur", "str": "stur", "ldrb": "ldurb", "strb": "sturb",
                "ldrh": "ldurh", "strh": "sturh", "ldrsb": "ldursb", "ldrsh": "ldursh",
                "ldrsw": "ldursw"}
    for name, bits, size in loads:
        f = f"{name}/{bits}"
        rts, bases = Z[bits], S[64]
        uoff = [0, size, 0xFFF * size, 8 * size, -256, -1, 255, 1 if size > 1 else 3]
        for rt, base, off in _with_values(combos(rts, bases), uoff):
            cases.append((f"{f} [base, #imm]", name, (rt, Mem(base, off, OFFSET))))
        for mode, tag in ((PRE, "pre"), (POST, "post")):
            for rt, base, off in _with_values(combos(rts, bases), [0, 1, -1, -256, 255, size]):
                if rt.num == base.num and not rt.is_zr:
                    continue   # unpredictable: LLVM and the Builder refuse it
                cases.append((f"{f} {tag}-index", name, (rt, Mem(base, off, mode))))
        idx = [("lsl", None), ("lsl", 0), ("lsl", size.bit_length() - 1),
               ("uxtw", None), ("uxtw", size.bit_length() - 1),
               ("sxtw", None), ("sxtw", 0), ("sxtx", None), ("sxtx", size.bit_length() - 1)]
        for rt, base, k, (e, a) in _with_values(combos(rts, bases, range(32)), idx):
            index = Z[32 if e in ("uxtw", "sxtw") else 64][k]
            cases.append((f"{f} [base, reg]", name, (rt, RegOffset(base, index, e, a))))
        for rt, base, off in _with_values(combos(rts, bases), [0, -256, 255, -1, 1]):
            cases.append((f"{unscaled[name]}/{bits}", unscaled[name], (rt, Mem(base, off))))
    for name in ("ldp", "stp"):
        for bits in (64, 32):
            size = bits // 8
            for mode, tag in ((OFFSET, "offset"), (PRE, "pre"), (POST, "post")):
                for rt, rt2, base, off in _with_values(
                        combos(Z[bits], Z[bits], S[64]),
                        [0, size, -size, -64 * size, 63 * size]):
                    if name == "ldp" and rt.num == rt2.num:
                        continue
                    if mode != OFFSET and not base.is_sp and base.num in (rt.num, rt2.num):
                        continue
                    cases.append((f"{name}/{bits} {tag}", name, (rt, rt2, Mem(base, off, mode))))
    return cases


def _branch_cases():
    cases = []
    b26 = [0, 4, -4, 0x7FFFFFC, -0x8000000, 0x100]
    b19 = [0, 4, -4, 0xFFFFC, -0x100000, 0x40]
    b14 = [0, 4, -4, 0x7FFC, -0x8000, 0x40]
    for name in ("b", "bl"):
        for off in b26:
            cases.append((name, name, (Rel(off),)))
    for c in COND_NAMES:
        for off in b19:
            cases.append(("b.cond", "b_cond", (c, Rel(off))))
    for name in ("cbz", "cbnz"):
        for bits in (64, 32):
            for rt, off in _with_values(combos(Z[bits]), b19):
                cases.append((f"{name}/{bits}", name, (rt, Rel(off))))
    for name in ("tbz", "tbnz"):
        for bits in (64, 32):
            bitnums = [0, 1, 31] + ([32, 63] if bits == 64 else [15])
            for rt, off in _with_values(combos(Z[bits]), b14):
                for bit in bitnums[: (1 if off else None)]:
                    cases.append((f"{name}/{bits}", name, (rt, bit, Rel(off))))
    for rd, off in _with_values(combos(Z[64]), [0, 1, -1, 0xFFFFF, -0x100000, 3]):
        cases.append(("adr", "adr", (rd, Rel(off))))
    for rd, pages in _with_values(combos(Z[64]), [0, 1, -1, 0xFFFFF, -0x100000]):
        cases.append(("adrp", "adrp", (rd, Rel(pages * 0x1000))))
    for name, bits in (("ldr", 64), ("ldr", 32), ("ldrsw", 64)):
        for rt, off in _with_values(combos(Z[bits]), b19):
            cases.append((f"{name} literal/{bits}", name, (rt, Rel(off))))
    for name in ("br", "blr", "ret"):
        for (rn,) in combos(Z[64]):
            cases.append((name, name, (rn,)))
    cases.append(("ret", "ret", ()))
    return cases


def _system_cases():
    cases = [("nop", "nop", ())]
    for v in (0, 1, 0x1234, 0xFFFF):
        cases.append(("brk", "brk", (v,)))
    for name in ("dmb", "dsb"):
        for opt in ("sy", "ish", "ishld", "ishst", "osh", "oshld", "oshst", "nsh",
                    "nshld", "nshst", "ld", "st"):
            cases.append((name, name, (opt,)))
    cases.append(("isb", "isb", ()))
    for (rt,) in combos(Z[64]):
        cases.append(("dc cvau", "dc", ("cvau", rt)))
        cases.append(("ic ivau", "ic", ("ivau", rt)))
    return cases


def all_cases():
    return _alu_cases() + _mem_cases() + _branch_cases() + _system_cases()


# ---- text in the syntax Keystone reads ------------------------------------

def _num(v):
    return f"#{v:#x}" if v >= 0 else f"#-{-v:#x}"


def _fmt(arg, pc, method):
    if isinstance(arg, Rel):
        if method in KEYSTONE_OFFSET_FORMS:
            return _num(arg.offset)
        if method == "adrp":
            return _num((pc & ~0xFFF) + arg.offset)
        return _num(pc + arg.offset)
    if isinstance(arg, int):
        return _num(arg)
    if isinstance(arg, Imm12):
        return _num(arg.imm12) + (", lsl #12" if arg.shift else "")
    if isinstance(arg, ShiftedReg):
        return f"{arg.reg}, {('lsl', 'lsr', 'asr', 'ror')[arg.shift]} #{arg.amount}"
    if isinstance(arg, ExtendedReg):
        names = ("uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx")
        return f"{arg.reg}, {names[arg.extend]} #{arg.amount}"
    if isinstance(arg, Mem):
        if arg.mode == POST:
            return f"[{arg.base}], {_num(arg.offset)}"
        return f"[{arg.base}, {_num(arg.offset)}]" + ("!" if arg.mode == PRE else "")
    if isinstance(arg, RegOffset):
        amt = "" if arg.amount is None else f" #{arg.amount}"
        if arg.extend == "lsl" and arg.amount is None:
            return f"[{arg.base}, {arg.index}]"
        return f"[{arg.base}, {arg.index}, {arg.extend}{amt}]"
    return str(arg)


def fmt_text(method, args, pc):
    """Keystone-syntax text for the Builder call ``method(*args)`` at ``pc``."""
    if method == "b_cond":
        return f"b.{args[0]} {_fmt(args[1], pc, method)}"
    if method in ("movz", "movn", "movk"):
        rd, v, sh = args
        return f"{method} {rd}, {_num(v)}" + (f", lsl #{sh}" if sh else "")
    if method in ("dc", "ic"):
        return f"{method} {args[0]}, {args[1]}"
    mnem = method.rstrip("_")
    if not args:
        return mnem
    return mnem + " " + ", ".join(_fmt(a, pc, method) for a in args)


def resolve_args(args, pc):
    """Builder arguments with Rel targets made absolute for position ``pc``."""
    return tuple(pc + a.offset if isinstance(a, Rel) else a for a in args)
