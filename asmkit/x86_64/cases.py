"""The x86-64 form table and the proof's case generator.

A *form* is a mnemonic with operand kinds (``add r64, imm``, ``mov m32, r32``).
Cases are every register combination of a form crossed with the boundary
immediates and the memory-operand set: every base with every displacement
boundary, every index with every scale, base-less and rip-relative operands.
"""

from __future__ import annotations

import itertools

from .encode import CC_NAMES
from .operands import Mem
from .regs import GPR8, GPR16, GPR32, GPR64, RIP, RIZ

# Boundary values: 0, +-1, both sides of every size switch, each field's ends.
DISPS = [0, 1, -1, 0x7F, 0x80, -0x80, -0x81, 0x7FFFFFFF, -0x80000000]
IMM64 = [0, 1, -1, 0x7F, 0x80, -0x80, -0x81, 0xFF, 0x100, 0x7FFF, -0x8000,
         0x7FFFFFFF, -0x80000000, 0xFFFFFFFF80000000, 0xFFFFFFFFFFFFFFFF]
IMM32 = [0, 1, -1, 0x7F, 0x80, -0x80, -0x81, 0xFF, 0x100, 0x7FFFFFFF,
         -0x80000000, 0x80000000, 0xFFFFFFFF, 0xFFFFFF80, 0xFFFFFF7F]
IMM8 = [0, 1, -1, 0x7F, 0x80, -0x80, 0xFF]
MOV64 = IMM64 + [0x80000000, 0xFFFFFFFF, 0x100000000, -0x80000001,
                 0x7FFFFFFFFFFFFFFF, -0x8000000000000000]
SHIFTS = [0, 1, 2, 0x1F, 0x20, 0x3F, 0x40, 0xFF]
U16 = [0, 1, 0x7FFF, 0x8000, 0xFFFF]
PUSH_IMM = [0, 1, -1, 0x7F, 0x80, -0x80, -0x81, 0x7FFFFFFF, -0x80000000]


def memory_operands(size):
    """The memory-operand set: each base x each displacement boundary, each
    index x each scale (over a rotating base), index without base, rip."""
    out = []
    for base in GPR64:
        for d in DISPS:
            out.append(Mem(base, None, 1, d, size))
    bases = itertools.cycle(GPR64)
    for index in GPR64:
        if index.num == 4:
            continue
        for scale, d in zip((1, 2, 4, 8), (0, 0x7F, -0x80, 0x80)):
            out.append(Mem(next(bases), index, scale, d, size))
        out.append(Mem(None, index, 8, -0x10, size))
    for d in DISPS:
        out.append(Mem(RIP, None, 1, d, size))
    return out


def no_index_operands(size):
    """``[base + riz*scale + disp]`` (a SIB byte with no index): each base x
    each scale, the displacement rotating over its boundaries, and the
    base-less ``[riz*scale + disp]``."""
    disps = itertools.cycle(DISPS)
    out = [Mem(base, RIZ, scale, next(disps), size)
           for base in GPR64 for scale in (1, 2, 4, 8)]
    out += [Mem(None, RIZ, scale, d, size)
            for scale in (1, 2, 4, 8) for d in (0, -0x80, 0x7FFFFFFF)]
    return out


# 64-bit absolute addresses of the moffs movabs: both sides of the 32-bit
# and the sign boundaries, and the ends.
MOFFS = [0, 1, 0x7F, 0x80, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
         0x1122334455667788, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
         0xFFFFFFFFFFFFFFF0, 0xFFFFFFFFFFFFFFFF]


def moffs_operands(size):
    return [Mem(None, None, 1, a, size) for a in MOFFS]


def absolute_operands(size):
    """[disp32] with no base or index: Keystone cannot check these."""
    return [Mem(None, None, 1, d, size) for d in (0, 0x10, 0x7FFFFFFF, -0x80000000)]


_DOMAINS = {
    "r64": lambda: GPR64, "r32": lambda: GPR32, "r16": lambda: GPR16,
    "r8": lambda: GPR8, "m64": lambda: memory_operands(64),
    "m32": lambda: memory_operands(32), "m16": lambda: memory_operands(16),
    "m8": lambda: memory_operands(8), "m": lambda: memory_operands(None),
    "i64": lambda: IMM64, "i32": lambda: IMM32, "i8": lambda: IMM8,
    "imm64": lambda: MOV64, "shift": lambda: SHIFTS, "cl": lambda: [GPR8[1]],
    "u16": lambda: U16, "push": lambda: PUSH_IMM,
    "z64": lambda: no_index_operands(64), "z32": lambda: no_index_operands(32),
    "z8": lambda: no_index_operands(8), "z": lambda: no_index_operands(None),
    "al": lambda: [GPR8[0]], "eax": lambda: [GPR32[0]], "rax": lambda: [GPR64[0]],
    "moffs8": lambda: moffs_operands(8), "moffs32": lambda: moffs_operands(32),
    "moffs64": lambda: moffs_operands(64),
}
_IMM_KINDS = {"i64", "i32", "i8", "imm64", "shift", "u16", "push"}


class Form:
    """One instruction form: ``method`` on the Builder, ``mnemonic`` in text,
    operand kinds.  ``cond`` is the condition for setcc/cmovcc."""

    def __init__(self, mnemonic, kinds, method=None, cond=None):
        self.mnemonic = mnemonic
        self.kinds = kinds
        self.method = method or mnemonic
        self.cond = cond

    @property
    def id(self):
        return f"{self.mnemonic} {', '.join(self.kinds)}".strip()

    def cases(self):
        """Operand tuples: registers crossed fully; an immediate list crossed
        with registers, or cycled alongside a memory set (plus one full pass
        of the immediates) so the counts stay proportionate."""
        lists = [_DOMAINS[k]() for k in self.kinds]
        has_mem = any(k.startswith("m") for k in self.kinds)
        imm_at = [i for i, k in enumerate(self.kinds) if k in _IMM_KINDS]
        if not (has_mem and imm_at):
            return list(itertools.product(*lists))
        i = imm_at[0]
        others = [lst for j, lst in enumerate(lists) if j != i]
        out = []
        for n, combo in enumerate(itertools.product(*others)):
            vals = list(combo)
            vals.insert(i, lists[i][n % len(lists[i])])
            out.append(tuple(vals))
        first = [lst[0] for j, lst in enumerate(lists) if j != i]
        for v in lists[i]:
            vals = list(first)
            vals.insert(i, v)
            out.append(tuple(vals))
        return out


def _alu_forms():
    out = []
    for m in ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"):
        meth = m + "_" if m in ("and", "or") else m
        for s, imm in (("64", "i64"), ("32", "i32"), ("8", "i8")):
            for kinds in (("r" + s, "r" + s), ("r" + s, imm), ("r" + s, "m" + s),
                          ("m" + s, "r" + s), ("m" + s, imm)):
                out.append(Form(m, kinds, meth))
    return out


def all_forms():
    """Every form the x86-64 Builder supports (Keystone-checkable ones)."""
    f = _alu_forms()
    for s, imm in (("64", "imm64"), ("32", "i32"), ("8", "i8")):
        f += [Form("mov", ("r" + s, "r" + s)), Form("mov", ("r" + s, imm)),
              Form("mov", ("r" + s, "m" + s)), Form("mov", ("m" + s, "r" + s)),
              Form("mov", ("m" + s, "i64" if s == "64" else imm)),
              Form("test", ("r" + s, "r" + s)),
              Form("test", ("r" + s, "i64" if s == "64" else imm)),
              Form("test", ("m" + s, "r" + s)),
              Form("test", ("m" + s, "i64" if s == "64" else imm))]
    f.append(Form("movabs", ("r64", "imm64")))
    for s in ("64", "32"):
        r, m = "r" + s, "m" + s
        for src in ("r8", "r16", "m8", "m16"):
            f += [Form("movzx", (r, src)), Form("movsx", (r, src))]
        f += [Form("lea", (r, "m")), Form("imul", (r, r)), Form("imul", (r, m)),
              Form("imul", (r, r, "i" + s)), Form("imul", (r, m, "i" + s)),
              Form("xchg", (r, r)), Form("xchg", (m, r))]
        for u in ("not", "neg", "mul", "imul", "div", "idiv", "inc", "dec"):
            meth = "not_" if u == "not" else u
            f += [Form(u, (r,), meth), Form(u, (m,), meth)]
        for sh in ("rol", "ror", "shl", "shr", "sar"):
            for dst in (r, m):
                f += [Form(sh, (dst, "shift")), Form(sh, (dst, "cl"))]
        for cc in CC_NAMES:
            f += [Form("cmov" + cc, (r, r)), Form("cmov" + cc, (r, m))]
    f += [Form("movsxd", ("r64", "r32")), Form("movsxd", ("r64", "m32"))]
    f += _byte_forms() + _moffs_forms() + _no_index_forms()
    for cc in CC_NAMES:
        f += [Form("set" + cc, ("r8",)), Form("set" + cc, ("m8",))]
    f += [Form("push", ("r64",)), Form("push", ("m64",)), Form("push", ("push",)),
          Form("pop", ("r64",)), Form("pop", ("m64",)),
          Form("jmp", ("r64",)), Form("jmp", ("m64",)),
          Form("call", ("r64",)), Form("call", ("m64",)),
          Form("ret", ()), Form("ret", ("u16",)), Form("nop", ()),
          Form("int3", ()), Form("ud2", ()), Form("cqo", ()), Form("cdq", ()),
          Form("cdqe", ())]
    return f


def _byte_forms():
    """The 8-bit forms of the unary group, the shifts and xchg."""
    f = []
    for u in ("not", "neg", "mul", "imul", "div", "idiv", "inc", "dec"):
        meth = "not_" if u == "not" else u
        f += [Form(u, ("r8",), meth), Form(u, ("m8",), meth)]
    for sh in ("rol", "ror", "shl", "shr", "sar"):
        for dst in ("r8", "m8"):
            f += [Form(sh, (dst, "shift")), Form(sh, (dst, "cl"))]
    f += [Form("xchg", ("r8", "r8")), Form("xchg", ("m8", "r8"))]
    return f


def _moffs_forms():
    """movabs al/eax/rax, [addr64] and movabs [addr64], al/eax/rax."""
    f = []
    for reg, moffs in (("al", "moffs8"), ("eax", "moffs32"), ("rax", "moffs64")):
        f += [Form("movabs", (reg, moffs)), Form("movabs", (moffs, reg))]
    return f


def _no_index_forms():
    """riz addressing: the SIB byte's "no index" with every scale, through
    a load, a store, lea and an ALU with an immediate, every register."""
    return [Form("mov", ("r64", "z64")), Form("mov", ("z32", "r32")),
            Form("mov", ("r8", "z8")), Form("lea", ("r64", "z")),
            Form("add", ("z32", "i32"))]


def keystone_gap_forms():
    """Forms Keystone 0.9.2 rejects although they are valid (LLVM 11+
    accepts them): proved by Capstone round trip and Unicorn instead."""
    return [Form("movsxd", ("r32", "r32")), Form("movsxd", ("r32", "m32"))]


# Relative branches are proved separately (their bytes depend on the address).
BRANCH_MNEMONICS = ["jmp", "call"] + ["j" + cc for cc in CC_NAMES]


def branch_offsets(mnemonic):
    """(target - instruction address) at every rel8/rel32 edge, in range;
    and the first offsets beyond rel32 on either side (must be rejected)."""
    long_len = 5 if mnemonic in ("jmp", "call") else 6
    inside = [0, 0x1000, -0x1000, long_len + 0x7FFFFFFF, long_len - 0x80000000]
    if mnemonic != "call":
        inside += [2 - 0x80, 2 - 0x81, 2 + 0x7F, 2 + 0x80]
    outside = [long_len + 0x80000000, long_len - 0x80000001]
    return inside, outside
