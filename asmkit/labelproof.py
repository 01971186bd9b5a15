"""Label programs with repeated branch lines, checked three ways.

Outside testing found the AArch64 text line cache replaying the displacement
of the first ``b.ne l`` it saw, in one program and in the next.  The proofs
of single instructions could not see that: it needs the same branch line
many times, at different distances, in programs assembled one after another.
This module makes such programs (labels reused across programs, the exact
same lines repeated, distances on both sides of every short/long boundary)
and checks each one three ways:

1. the text assembler (warm caches: the programs run back to back);
2. the Builder, driven with fresh ``Label`` objects per program;
3. Keystone, one engine per program (it keeps labels across ``asm()``
   calls), where Keystone can check the program (see ``KEYSTONE_LIMITS``);

and Capstone reads every branch line back: its printed target must be the
label's address, and a long form (x86 rel32, AArch64 veneer) is used only
where the short one does not reach (LLVM's relaxation, which never shrinks).

A program is a list of items: ``("label", name)``, ``("line", form, name)``
and ``("fill", n)`` (n filler units: one-byte ``nop`` on x86-64, four-byte
``nop`` on AArch64).  The per-architecture table ``ARCHES`` gives the forms.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from .buffer import AsmError, RangeError


@dataclass(frozen=True)
class LabelForm:
    """One branch-like instruction to a label.

    ``short_range`` is ``(lo, hi)`` of ``label - pc`` for the short form
    (None: no boundary reachable here); ``relaxable`` says an out-of-range
    target gets the long form (else it is a RangeError).
    """

    text: str                     # e.g. "b.ne {}" (the label name goes in)
    emit: object                  # emit(builder, label)
    short_size: int
    long_size: int = 0
    short_range: tuple | None = None
    relaxable: bool = False
    keystone: bool = True         # Keystone encodes it as LLVM does
    page: bool = False            # the target printed is the label's page

    @property
    def mnemonic(self):
        return self.text.split()[0]


@dataclass
class LabelArch:
    name: str
    forms: list
    unit: int                     # bytes per filler unit
    nop: bytes
    keystone_fill: str            # Keystone directive for n units
    gaps: list                    # filler sizes (units) of random programs
    edge_groups: list             # lists of forms sharing one short range
    inverse: dict = field(default_factory=dict)   # veneer's inverted mnemonic
    base: int = 0


def _x86_table():
    from .x86_64.encode import Builder
    from .x86_64.operands import Mem
    from .x86_64.regs import REGS, RIP
    rax, rcx, rdx = REGS["rax"], REGS["rcx"], REGS["rdx"]
    near = (-126, 129)            # label - pc for a 2-byte jmp/jcc (rel8)

    def jcc(cond):
        return LabelForm(f"j{cond} {{}}", lambda b, l: b.j(cond, l), 2, 6, near, True)

    forms = [
        LabelForm("jmp {}", lambda b, l: b.jmp(l), 2, 5, near, True),
        jcc("ne"), jcc("e"), jcc("l"), jcc("ge"),
        LabelForm("call {}", lambda b, l: b.call(l), 5),
        LabelForm("lea rax, [rip + {}]", lambda b, l: b.lea(rax, Mem(RIP, label=l)), 7),
        LabelForm("mov rcx, qword ptr [rip + {}]",
                  lambda b, l: b.mov(rcx, Mem(RIP, size=64, label=l)), 7),
        LabelForm("cmp dword ptr [rip + {}], 0x12",
                  lambda b, l: b.cmp(Mem(RIP, size=32, label=l), 0x12), 7),
        LabelForm("add rdx, qword ptr [rip + {}]",
                  lambda b, l: b.add(rdx, Mem(RIP, size=64, label=l)), 7),
    ]
    return LabelArch(
        "x86_64", forms, 1, b"\x90", ".fill {:#x}, 1, 0x90",
        gaps=[0, 0, 1, 2, 3, 7, 60, 119, 120, 121, 122, 123, 124, 125, 126,
              127, 128, 129, 130, 131, 200],
        edge_groups=[[f for f in forms if f.relaxable]],
        base=0x401000), Builder


def _aarch64_table():
    from .aarch64.encode import Builder
    from .aarch64.regs import W, X
    mib, kib32 = 1 << 20, 1 << 15
    r19 = (-mib, mib - 4)         # b.cond, cbz, cbnz, ldr literal
    r14 = (-kib32, kib32 - 4)     # tbz, tbnz

    def bcond(c):
        return LabelForm(f"b.{c} {{}}", lambda b, l: b.b_cond(c, l), 4, 8, r19, True)

    branch19 = [bcond("ne"), bcond("hs"), bcond("lt"),
                LabelForm("cbz x1, {}", lambda b, l: b.cbz(X[1], l), 4, 8, r19, True),
                LabelForm("cbnz w2, {}", lambda b, l: b.cbnz(W[2], l), 4, 8, r19, True)]
    literal = [LabelForm("adr x5, {}", lambda b, l: b.adr(X[5], l), 4, 0, r19),
               LabelForm("ldr x7, {}", lambda b, l: b.ldr(X[7], l), 4, 0, r19),
               LabelForm("ldr w8, {}", lambda b, l: b.ldr(W[8], l), 4, 0, r19),
               LabelForm("ldrsw x9, {}", lambda b, l: b.ldrsw(X[9], l), 4, 0, r19)]
    branch14 = [LabelForm("tbz x3, #0x5, {}", lambda b, l: b.tbz(X[3], 5, l),
                          4, 8, r14, True),
                LabelForm("tbnz w4, #0x1f, {}", lambda b, l: b.tbnz(W[4], 31, l),
                          4, 8, r14, True)]
    far = [LabelForm("b {}", lambda b, l: b.b(l), 4),
           LabelForm("bl {}", lambda b, l: b.bl(l), 4),
           LabelForm("adrp x6, {}", lambda b, l: b.adrp(X[6], l), 4,
                     keystone=False, page=True)]
    forms = branch19 + literal + branch14 + far
    inverse = {"b.ne": "b.eq", "b.hs": "b.lo", "b.lt": "b.ge", "cbz": "cbnz",
               "cbnz": "cbz", "tbz": "tbnz", "tbnz": "tbz"}
    return LabelArch(
        "aarch64", forms, 4, bytes.fromhex("1f2003d5"), ".fill {:#x}, 4, 0xd503201f",
        gaps=[0, 0, 1, 2, 3, 5, 17, 100],
        edge_groups=[branch14, branch19 + literal],
        inverse=inverse, base=0x400000), Builder


# Keystone 0.9.2 limits met by these programs, and how the checks work around them.
KEYSTONE_LIMITS = [
    ("keeps labels across asm() calls", "one Keystone engine per program"),
    ("reads decimals as hex once a syntax option is set",
     "no option is set, every number is written 0x.."),
    ("AArch64 adrp to a label: the page offset is off by one page at some "
     "addresses", "adrp lines are checked by Capstone (target = the label's page)"),
    ("AArch64 b.cond/cbz/tbz/adr/ldr to an out-of-range label wraps silently",
     "programs where asmkit veneers or raises are checked by Capstone "
     "(and by RangeError) only"),
]

_TABLES = {"x86_64": _x86_table, "aarch64": _aarch64_table}
_LOADED = {}


def arch_table(arch):
    """``(LabelArch, Builder class)`` for ``arch``, built once."""
    if arch not in _LOADED:
        _LOADED[arch] = _TABLES[arch]()
    return _LOADED[arch]


# ------------------------------------------------------------------ programs

def random_program(rng, table):
    """A few labels (names l0.. reused by every program); per program a small
    pool of distinct branch lines, each emitted several times in a row, with
    filler runs from ``table.gaps`` between."""
    nlab = rng.randint(2, 6)
    pool = [(rng.choice(table.forms), f"l{rng.randrange(nlab)}")
            for _ in range(rng.randint(2, 4))]
    items = []
    for i in range(nlab):
        items.append(("label", f"l{i}"))
        for _ in range(rng.randint(0, 3)):
            form, name = rng.choice(pool)
            for _ in range(rng.choice([1, 2, 3, 4])):
                items.append(("line", form, name))
                gap = rng.choice(table.gaps)
                if gap:
                    items.append(("fill", gap))
    return items


def _backward_runs(group, table, runs, pad):
    """Labels t0.. at the top, then one run of identical lines per form, the
    first line of each run ``pad`` short sizes inside the backward limit of
    its label.  Backward sizes are known while emitting (short iff it
    reaches), so each run straddles (or touches) the limit exactly."""
    unit = table.unit
    lo = group[0].short_range[0]
    first = -lo - pad * group[0].short_size   # distance of each run's first line
    sizes = []
    for form in group:
        size = 0
        for _ in range(runs):
            size += form.short_size if -(first + size) >= lo else form.long_size
        sizes.append(size)
    # t_j is followed by run j's size, so run j is as far from t_j as run 0 from t0
    items = []
    for j in range(len(group)):
        items.append(("label", f"t{j}"))
        if j + 1 < len(group):
            items.append(("fill", sizes[j] // unit))
    items.append(("fill", (first - sum(sizes[:-1])) // unit))
    for j, form in enumerate(group):
        items += [("line", form, f"t{j}")] * runs
    return items


def _forward_runs(group, table, runs, pad):
    """One run of identical lines per form, then filler, then labels e0..
    such that (all lines short) run j's first line is ``pad`` short sizes
    beyond its form's forward limit (0: exactly at it)."""
    unit = table.unit
    items = []
    for j, form in enumerate(group):
        items += [("line", form, f"e{j}")] * runs
    # e_j - (first line of run j) = hi + pad * short_size, with short lines
    starts, pc = [], 0
    for form in group:
        starts.append(pc)
        pc += runs * form.short_size
    want = [s + f.short_range[1] + pad * f.short_size for s, f in zip(starts, group)]
    items.append(("fill", (want[0] - pc) // unit))
    for j in range(len(group)):
        items.append(("label", f"e{j}"))
        if j + 1 < len(group):
            items.append(("fill", (want[j + 1] - want[j]) // unit))
    return items


def edge_programs(table):
    """Programs whose runs of identical lines sit at the short/long limits.

    For each range group: backward and forward, an "inside" program whose
    lines reach exactly up to the limit (Keystone checks it), and an
    "across" program of the relaxable forms whose runs straddle it; each
    non-relaxable form across its limit must be a RangeError.
    """
    out = []
    for group in table.edge_groups:
        relax = [f for f in group if f.relaxable]
        out.append(_backward_runs(group, table, 3, 2))   # last line exactly at lo
        out.append(_forward_runs(group, table, 3, 0))    # first line exactly at hi
        if relax:
            out.append(_backward_runs(relax, table, 5, 2))
            # one form per program (a long line ahead moves the later runs);
            # each 1 MiB program is 262k lines, so two forms suffice there
            far = group[0].short_range[1] > 1 << 16
            for form in relax[:2] if far else relax:
                out.append(_forward_runs([form], table, 5, 2))
        for form in group:
            if not form.relaxable:
                out.append(_backward_runs([form], table, 1, -1))
                out.append(_forward_runs([form], table, 1, 1))
    return out


# --------------------------------------------------------------- rendering

def render_text(items, table):
    lines = []
    for item in items:
        if item[0] == "label":
            lines.append(f"{item[1]}:")
        elif item[0] == "line":
            lines.append(item[1].text.format(item[2]))
        elif table.unit == 1 and item[1] >= 16:
            n = item[1]
            lines += [".byte " + ", ".join(["0x90"] * 16)] * (n // 16)
            lines += ["nop"] * (n % 16)
        else:
            lines += ["nop"] * item[1]
    return "\n".join(lines)


def render_keystone(items, table):
    lines = []
    for item in items:
        if item[0] == "label":
            lines.append(f"{item[1]}:")
        elif item[0] == "line":
            lines.append(item[1].text.format(item[2]))
        elif item[1]:
            lines.append(table.keystone_fill.format(item[1]))
    return "\n".join(lines)


def build(items, table, builder_class, base):
    """The Builder's bytes with fresh labels, plus the final offset of every
    item (a marker label bound before each) and of every label."""
    b = builder_class()
    labels = {}
    markers = []
    for item in items:
        markers.append(b.here())
        if item[0] == "label":
            lab = labels.get(item[1])
            if lab is None:
                lab = labels[item[1]] = b.label()
            b.bind(lab)
        elif item[0] == "line":
            lab = labels.get(item[2])
            if lab is None:
                lab = labels[item[2]] = b.label()
            item[1].emit(b, lab)
        elif item[1]:
            b.data(table.nop * item[1])
    markers.append(b.here())
    names = list(labels)
    code, offs = b.finish_with_labels(markers + [labels[n] for n in names], base)
    starts = offs[:len(markers)]
    return code, starts, dict(zip(names, offs[len(markers):]))


# ----------------------------------------------------------------- checking

@dataclass
class LabelReport:
    arch: str = ""
    programs: int = 0
    edge_programs: int = 0
    lines: int = 0               # text lines assembled
    branch_lines: int = 0        # label-taking lines read back by Capstone
    keystone_programs: int = 0
    range_errors: int = 0        # out-of-range programs rejected both ways
    long_forms: int = 0          # rel32 / veneer lines whose short form cannot reach
    mismatches: list = field(default_factory=list)

    def summary(self):
        return (f"{self.programs} label programs ({self.edge_programs} at range "
                f"limits), {self.lines} lines, {self.branch_lines} branch lines "
                f"(text = Builder, Capstone target), {self.keystone_programs} "
                f"vs Keystone, {self.long_forms} long forms, {self.range_errors} "
                f"RangeErrors, {len(self.mismatches)} mismatches")


_RIP = re.compile(r"\[rip(?: ([+-]) (0x[0-9a-f]+|\d+))?\]")


def _printed_target(text, address, size):
    m = _RIP.search(text)
    if m:
        disp = int(m.group(2), 0) if m.group(2) else 0
        return address + size + (disp if m.group(1) == "+" else -disp)
    return int(text.rsplit(" ", 1)[1].lstrip("#"), 0)


def _check_lines(items, code, starts, labels, table, base, report, where):
    """Capstone's text of every line: target = label; long only if needed."""
    from .oracles import capstone as cs_oracle
    arch_mod = _arch_module(table.name)
    for i, item in enumerate(items):
        if item[0] != "line":
            continue
        form, name = item[1], item[2]
        s, e = starts[i], starts[i + 1]
        pc = base + s
        target = base + labels[name]
        want = target & ~0xFFF if form.page else target
        rows = cs_oracle.decode(code[s:e], arch_mod, pc)
        report.branch_lines += 1
        short_ok = form.short_range is None or \
            form.short_range[0] <= target - pc <= form.short_range[1]
        size = e - s
        problem = None
        if size == form.short_size and len(rows) == 1:
            got = _printed_target(rows[0][2], pc, size)
            if got != want:
                problem = f"{rows[0][2]!r} targets {got:#x}, label at {want:#x}"
            elif not short_ok:
                problem = "short form used out of its range"
        elif size == form.long_size and form.relaxable:
            report.long_forms += 1
            texts = [r[2] for r in rows]
            if short_ok:
                problem = f"long form {texts} where the short one reaches"
            elif table.inverse:       # veneer: inverted branch over b
                if (len(rows) != 2 or rows[0][2].split()[0] != table.inverse[form.mnemonic]
                        or _printed_target(rows[0][2], pc, 4) != pc + 8
                        or not rows[1][2].startswith("b ")
                        or _printed_target(rows[1][2], pc + 4, 4) != target):
                    problem = f"veneer {texts} does not reach {target:#x}"
            elif len(rows) != 1 or _printed_target(rows[0][2], pc, size) != target:
                problem = f"{texts} does not target {target:#x}"
        else:
            problem = f"unexpected size {size}: {[r[2] for r in rows]}"
        if problem:
            report.mismatches.append(f"{where}: {form.text.format(name)} @ {pc:#x}: {problem}")


def _arch_module(name):
    from . import arch as arch_names
    return arch_names.load(name)


def _keystone(text, table, base):
    """Keystone's bytes from a fresh engine (labels do not leak in), or the error."""
    import keystone
    arch_name, mode_name = _arch_module(table.name).KEYSTONE
    ks = keystone.Ks(getattr(keystone, arch_name), getattr(keystone, mode_name))
    try:
        enc, _ = ks.asm(text, base)
    except keystone.KsError as exc:
        return exc
    return bytes(enc or b"")


def _masked(code, items, starts, table):
    """``code`` with the lines of forms Keystone cannot check zeroed."""
    out = bytearray(code)
    for i, item in enumerate(items):
        if item[0] == "line" and not item[1].keystone:
            out[starts[i]:starts[i + 1]] = bytes(starts[i + 1] - starts[i])
    return bytes(out)


def check_program(items, table, builder_class, assemble, report, where, base=None):
    """All checks of one program placed at ``base`` (default: the table's)."""
    base = table.base if base is None else base
    text = render_text(items, table)
    report.programs += 1
    report.lines += text.count("\n") + 1
    try:
        mine = assemble(text, base)
    except AsmError as exc:
        mine = exc
    try:
        built = build(items, table, builder_class, base)
    except AsmError as exc:
        built = exc
    if isinstance(built, AsmError) or isinstance(mine, AsmError):
        if isinstance(built, RangeError) and isinstance(mine, AsmError) \
                and "out of range" in str(mine):
            report.range_errors += 1
        else:
            report.mismatches.append(f"{where}: text gives {mine!r:.200}, "
                                     f"Builder {built!r:.200}")
        return
    code, starts, labels = built
    if mine != code:
        at = next(i for i, (x, y) in enumerate(zip(mine, code)) if x != y) \
            if len(mine) == len(code) else min(len(mine), len(code))
        report.mismatches.append(f"{where}: text and Builder differ at offset "
                                 f"{at:#x} (text {mine[at:at + 8].hex()}, "
                                 f"Builder {code[at:at + 8].hex()})")
        return
    _check_lines(items, code, starts, labels, table, base, report, where)
    nominal = sum(i[1].short_size if i[0] == "line" else
                  (i[1] * table.unit if i[0] == "fill" else 0) for i in items)
    if table.unit == 4 and len(code) != nominal:
        return                    # a veneer: Keystone would wrap (KEYSTONE_LIMITS)
    theirs = _keystone(render_keystone(items, table), table, base)
    report.keystone_programs += 1
    if not isinstance(theirs, bytes) or \
            _masked(theirs, items, starts, table) != _masked(code, items, starts, table):
        shown = theirs.hex()[:64] if isinstance(theirs, bytes) else theirs
        report.mismatches.append(f"{where}: Keystone {shown} differs from "
                                 f"asmkit {code.hex()[:64]}")


def run(arch, count=200, seed=1, edges=True, report=None):
    """``count`` random programs (fixed ``seed``) plus the edge programs,
    one after another in this process; returns the LabelReport."""
    from . import arch as arch_names
    arch = arch_names.resolve(arch)
    table, builder_class = arch_table(arch)
    assemble = _arch_module(arch).assemble
    report = report or LabelReport(arch)
    rng = random.Random(seed)
    # random programs start anywhere in a page (adrp, alignment-free layouts)
    programs = [(f"random program {i}", random_program(rng, table),
                 table.base + rng.randrange(0, 0x1000, table.unit)) for i in range(count)]
    if edges:
        edge = edge_programs(table)
        report.edge_programs += len(edge)
        # edges interleaved with random ones, and the first few again at the end
        programs[1:1] = [(f"edge program {i}", p, table.base) for i, p in enumerate(edge)]
        programs += [(f"edge program {i} again", p, table.base)
                     for i, p in enumerate(edge[:2])]
    programs += [(f"{w} again", p, base) for w, p, base in programs[:5]]
    for where, items, base in programs:
        check_program(items, table, builder_class, assemble, report, where, base)
    return report
