"""Random programs nobody has assembled before, for the never-seen benchmark.

Each generator returns a program as abstract steps ``(method, ops)`` whose
operands are registers, ints and small tuples (``("label", i)``, memory
descriptions), plus renderers: ``text(steps)`` gives the assembler text
(hex numbers, as Keystone 0.9.2 needs), ``calls(steps, Builder)`` a fresh
Builder with fresh labels and the list of ``(unbound method, operands)``
built from fresh operand objects.  The form mix is one Keystone encodes as
asmkit does (no absolute memory operands, which Keystone makes
rip-relative).
"""

from __future__ import annotations

import random

import click

# Labels: one bound every LABEL_EVERY instructions on average; a branch
# targets a label at most LABEL_WINDOW labels away (a far one now and then),
# so most branches are short and some are long.
LABEL_EVERY = 8
LABEL_WINDOW = 4
FAR_BRANCH = 0.05


def _label_plan(rng, n_insns):
    """Positions at which labels 0, 1, ... are bound (sorted)."""
    n_labels = max(2, n_insns // LABEL_EVERY)
    return sorted(rng.randrange(n_insns) for _ in range(n_labels))


def _pick_label(rng, bound_count, n_labels, tbz=False):
    if not tbz and rng.random() < FAR_BRANCH:
        return rng.randrange(n_labels)
    lo = max(0, bound_count - LABEL_WINDOW)
    hi = min(n_labels - 1, bound_count + LABEL_WINDOW - 1)
    return rng.randint(lo, hi)


def _generate(rng, n_insns, instruction):
    """Interleave label bindings with ``instruction(rng, pick)`` steps."""
    plan = _label_plan(rng, n_insns)
    n_labels = len(plan)
    steps = []
    bound = 0
    for i in range(n_insns):
        while bound < n_labels and plan[bound] <= i:
            steps.append(("bind", (("label", bound),)))
            bound += 1
        steps.append(instruction(rng, lambda tbz=False: ("label", _pick_label(
            rng, bound, n_labels, tbz))))
    while bound < n_labels:
        steps.append(("bind", (("label", bound),)))
        bound += 1
    return steps, n_labels


# ------------------------------------------------------------------ x86-64

def x86_64_program(seed, n_insns=10000):
    """(steps, label count) of a random x86-64 program."""
    from asmkit.x86_64.regs import GPR8, GPR32, GPR64
    cc = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np",
          "l", "ge", "le", "g"]
    no_rsp = [r for r in GPR64 if r.num != 4]

    def imm(rng):
        if rng.random() < 0.6:
            return rng.randint(-128, 127)
        return rng.randint(-(1 << 31), (1 << 31) - 1)

    def mem(rng, size):
        base = rng.choice(GPR64)
        index = rng.choice(no_rsp) if rng.random() < 0.4 else None
        scale = rng.choice((1, 2, 4, 8)) if index is not None else 1
        r = rng.random()
        disp = (0 if r < 0.25 else rng.randint(-128, 127) if r < 0.8
                else rng.randint(-(1 << 31), (1 << 31) - 1))
        return ("mem", size, base, index, scale, disp)

    alu = ["add", "sub", "and", "or", "xor", "cmp", "adc", "sbb"]

    def insn(rng, label):
        k = rng.random()
        r64 = rng.choice(GPR64)
        if k < 0.14:
            return ("mov", (r64, mem(rng, 64)))
        if k < 0.20:
            return ("mov", (mem(rng, 64), r64))
        if k < 0.23:
            return ("mov", (rng.choice(GPR32), mem(rng, 32)))
        if k < 0.34:
            return (rng.choice(alu), (r64, rng.choice(GPR64)))
        if k < 0.38:
            return (rng.choice(alu), (rng.choice(GPR32), rng.choice(GPR32)))
        if k < 0.48:
            return (rng.choice(alu), (r64, imm(rng)))
        if k < 0.51:
            return (rng.choice(alu), (r64, mem(rng, 64)))
        if k < 0.55:
            return ("lea", (r64, mem(rng, None)))
        if k < 0.58:
            return ("imul", (r64, rng.choice(GPR64), imm(rng)))
        if k < 0.60:
            return ("imul", (r64, rng.choice(GPR64)))
        if k < 0.64:
            return (rng.choice(("shl", "shr", "sar")), (r64, rng.randint(1, 63)))
        if k < 0.67:
            return ("test", (r64, rng.choice(GPR64)))
        if k < 0.69:
            return ("movzx", (rng.choice(GPR32), rng.choice(GPR8)))
        if k < 0.70:
            return ("movzx", (rng.choice(GPR32), mem(rng, 8)))
        if k < 0.72:
            return ("set" + rng.choice(cc), (rng.choice(GPR8),))
        if k < 0.74:
            return ("cmov" + rng.choice(cc), (r64, rng.choice(GPR64)))
        if k < 0.78:
            return ("mov", (r64, imm(rng)))
        if k < 0.80:
            return ("mov", (r64, rng.choice(GPR64)))
        if k < 0.82:
            return (rng.choice(("inc", "dec", "neg", "not")), (r64,))
        if k < 0.84:
            return (rng.choice(("push", "pop")), (r64,))
        if k < 0.94:
            return ("j" + rng.choice(cc), (label(),))
        if k < 0.97:
            return ("jmp", (label(),))
        return ("call", (label(),))

    return _generate(random.Random(seed), n_insns, insn)


_X86_SIZE = {8: "byte ptr ", 32: "dword ptr ", 64: "qword ptr ", None: ""}


def _x86_op(op):
    if op.__class__ is int:
        return hex(op)
    if op.__class__ is tuple:
        if op[0] == "label":
            return f"L{op[1]}"
        _, size, base, index, scale, disp = op
        text = base.name
        if index is not None:
            text += f" + {index.name}*{scale}"
        if disp > 0:
            text += f" + {disp:#x}"
        elif disp < 0:
            text += f" - {-disp:#x}"
        return f"{_X86_SIZE[size]}[{text}]"
    return op.name


def x86_64_text(steps):
    lines = []
    for name, ops in steps:
        if name == "bind":
            lines.append(f"L{ops[0][1]}:")
        else:
            lines.append(name + " " + ", ".join(map(_x86_op, ops)))
    return "\n".join(lines)


def x86_64_calls(steps, n_labels):
    """(fresh Builder, [(method, operands)]) with a new Mem per memory operand."""
    from asmkit.x86_64 import Builder, Mem
    b = Builder()
    labels = [b.label() for _ in range(n_labels)]
    rename = {"and": "and_", "or": "or_", "not": "not_"}
    calls = []
    for name, ops in steps:
        fresh = []
        for op in ops:
            if op.__class__ is tuple:
                if op[0] == "label":
                    op = labels[op[1]]
                else:
                    _, size, base, index, scale, disp = op
                    op = Mem(base, index, scale, disp, size)
            fresh.append(op)
        calls.append((getattr(Builder, rename.get(name, name)), tuple(fresh)))
    return b, calls


# ----------------------------------------------------------------- AArch64

def _bitmask_values(bits, rng, count=512):
    """Random encodable logical immediates of ``bits`` width."""
    from asmkit.aarch64.operands import decode_bitmask
    out = []
    while len(out) < count:
        n = rng.randrange(2) if bits == 64 else 0
        v = decode_bitmask(n, rng.randrange(64 if bits == 64 else 32),
                           rng.randrange(64), bits)
        if v is not None:
            out.append(v)
    return out


def aarch64_program(seed, n_insns=10000):
    """(steps, label count) of a random AArch64 program."""
    from asmkit.aarch64.regs import SP, W, X
    rng0 = random.Random(seed ^ 0x5EED)
    masks = {64: _bitmask_values(64, rng0), 32: _bitmask_values(32, rng0)}
    conds = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge",
             "lt", "gt", "le"]
    x_or_sp = X + (SP,)

    def insn(rng, label):
        bits = 64 if rng.random() < 0.7 else 32
        R = X if bits == 64 else W
        d, n, m = rng.choice(R), rng.choice(R), rng.choice(R)
        k = rng.random()
        if k < 0.12:
            return (rng.choice(("add", "sub", "adds", "subs")), (d, n, m))
        if k < 0.20:
            if rng.random() < 0.1 and bits == 64:
                return (rng.choice(("add", "sub")), (SP, SP, rng.randrange(0, 4096, 16)))
            return (rng.choice(("add", "sub", "adds", "subs")), (d, n, rng.randrange(4096)))
        if k < 0.22:
            return (rng.choice(("add", "sub")), (d, n, ("shifted", m, "lsl", rng.randrange(bits))))
        if k < 0.27:
            return ("cmp", (n, rng.randrange(4096) if rng.random() < 0.6 else m))
        if k < 0.33:
            return (rng.choice(("and", "orr", "eor")), (d, n, rng.choice(masks[bits])))
        if k < 0.37:
            return (rng.choice(("and", "orr", "eor", "bic", "orn")), (d, n, m))
        if k < 0.38:
            return ("tst", (n, rng.choice(masks[bits])))
        if k < 0.42:
            return (rng.choice(("lsl", "lsr", "asr")), (d, n, rng.randrange(bits)))
        if k < 0.46:
            return (rng.choice(("mul", "sdiv", "udiv")), (d, n, m))
        if k < 0.48:
            return (rng.choice(("madd", "msub")), (d, n, m, rng.choice(R)))
        if k < 0.50:
            return ("mov", (d, m))
        if k < 0.53:
            return (rng.choice(("movz", "movk")), (d, rng.randrange(1 << 16),
                                                   rng.randrange(0, bits, 16)))
        if k < 0.63:
            size = bits // 8
            off = rng.randrange(0, 4096 * size if rng.random() < 0.2 else 512, size)
            return (rng.choice(("ldr", "str")), (d, ("mem", rng.choice(x_or_sp), off, 0)))
        if k < 0.65:
            return (rng.choice(("ldrb", "strb", "ldrh", "strh")),
                    (rng.choice(W), ("mem", rng.choice(x_or_sp), rng.randrange(256), 0)))
        if k < 0.67:
            return (rng.choice(("ldr", "str")), (d, ("mem", rng.choice(x_or_sp),
                                                     rng.randint(-256, -1), 0)))
        if k < 0.70:
            shift = 3 if bits == 64 else 2
            return (rng.choice(("ldr", "str")), (d, ("regoff", rng.choice(x_or_sp), rng.choice(X),
                                                     "lsl", rng.choice((None, shift)))))
        if k < 0.72:
            t = rng.choice(X[:28])
            base = rng.choice([r for r in X[:28] if r is not t] + [SP])
            mode = rng.choice((1, 2))
            return (rng.choice(("ldr", "str")), (t, ("mem", base, rng.randint(-256, 255), mode)))
        if k < 0.75:
            t, t2 = rng.sample(X[:29], 2)
            base = rng.choice([r for r in X[:29] if r is not t and r is not t2] + [SP])
            mode = rng.choice((0, 0, 1, 2))
            return (rng.choice(("ldp", "stp")), (t, t2, ("mem", base, 8 * rng.randint(-64, 63), mode)))
        if k < 0.78:
            return (rng.choice(("csel", "csinc")), (d, n, m, rng.choice(conds)))
        if k < 0.80:
            return ("cset", (d, rng.choice(conds)))
        if k < 0.88:
            return ("b." + rng.choice(conds), (label(),))
        if k < 0.92:
            return (rng.choice(("cbz", "cbnz")), (d, label()))
        if k < 0.93:
            return (rng.choice(("tbz", "tbnz")), (d, rng.randrange(bits), label(True)))
        if k < 0.97:
            return ("b", (label(),))
        return ("bl", (label(),))

    return _generate(random.Random(seed), n_insns, insn)


def _a64_op(op):
    if op.__class__ is int:
        return f"#{op:#x}" if op >= 0 else f"#-{-op:#x}"
    if op.__class__ is str:
        return op
    if op.__class__ is tuple:
        kind = op[0]
        if kind == "label":
            return f"L{op[1]}"
        if kind == "shifted":
            return f"{op[1].name}, {op[2]} #{op[3]:#x}"
        if kind == "regoff":
            _, base, index, ext, amount = op
            tail = "" if amount is None else f", {ext} #{amount:#x}"
            return f"[{base.name}, {index.name}{tail}]"
        _, base, off, mode = op
        o = _a64_op(off)
        if mode == 0:
            return f"[{base.name}, {o}]" if off else f"[{base.name}]"
        if mode == 1:
            return f"[{base.name}, {o}]!"
        return f"[{base.name}], {o}"
    return op.name


def aarch64_text(steps):
    lines = []
    for name, ops in steps:
        if name == "bind":
            lines.append(f"L{ops[0][1]}:")
        elif name in ("movz", "movk"):
            lines.append(f"{name} {ops[0].name}, {_a64_op(ops[1])}, lsl #{ops[2]:#x}")
        else:
            lines.append(name + " " + ", ".join(map(_a64_op, ops)))
    return "\n".join(lines)


def aarch64_calls(steps, n_labels):
    """(fresh Builder, [(method, operands)]) with fresh Mem/RegOffset objects."""
    from asmkit.aarch64.encode import Builder
    from asmkit.aarch64.operands import Mem, RegOffset, ShiftedReg
    b = Builder()
    labels = [b.label() for _ in range(n_labels)]
    calls = []
    for name, ops in steps:
        fresh = []
        for op in ops:
            if op.__class__ is tuple:
                kind = op[0]
                if kind == "label":
                    op = labels[op[1]]
                elif kind == "shifted":
                    op = ShiftedReg(op[1], op[2], op[3])
                elif kind == "regoff":
                    op = RegOffset(op[1], op[2], op[3], op[4])
                else:
                    op = Mem(op[1], op[2], op[3])
            fresh.append(op)
        method = ("b_" + name[2:] if name.startswith("b.")
                  else "and_" if name == "and" else name)
        calls.append((getattr(Builder, method), tuple(fresh)))
    return b, calls


PROGRAMS = {
    "x86_64": (x86_64_program, x86_64_text, x86_64_calls),
    "aarch64": (aarch64_program, aarch64_text, aarch64_calls),
}


@click.command(help=__doc__.split("\n")[0] + "\n\nPrints one random program's assembler text.")
@click.option("--arch", type=click.Choice(list(PROGRAMS)), default="x86_64", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="the same seed, the same program")
@click.option("--insns", type=click.IntRange(min=1), default=20, show_default=True,
              help="instructions in the program")
def main(arch, seed, insns):
    generate, text, _calls = PROGRAMS[arch]
    steps, _labels = generate(seed, insns)
    click.echo(text(steps))


if __name__ == "__main__":
    from clitool import run_tool
    run_tool(main)
