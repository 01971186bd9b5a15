"""The x86-64 proof: Keystone bytes, Capstone round trips, Unicorn semantics.

``run_proof()`` checks every form of ``cases.all_forms()`` over its register
combinations and boundary values against Keystone (batched: many lines per
call), disassembles every resulting byte string with Capstone and assembles
that text back with asmkit, then runs the semantic checks of
``semantics.py`` in Unicorn.  Forms Keystone cannot check are listed in
``KEYSTONE_GAPS`` with the reason and proved by Capstone and Unicorn alone.
``progress(stage, done, total)``, when given, is called now and then, with
the stage names of the AArch64 proof.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from .. import x86_64 as ARCH
from ..buffer import AsmError
from ..oracles import capstone as cs_oracle
from ..oracles import keystone as ks_oracle
from .cases import (BRANCH_MNEMONICS, absolute_operands, all_forms,
                    branch_offsets, keystone_gap_forms)
from .encode import Builder, format_insn
from .parse import assemble

NAME = "x86_64"

# Keystone 0.9.2 defects met here, and how the proof works around each.
KEYSTONE_QUIRKS = [
    ("decimal literals read as hex once a syntax option is set",
     "no syntax option is set and every number is fed as 0x.. hex"),
    ("absolute memory operands [disp32] are turned into rip-relative "
     "(or moffs 'movabs' for the accumulator)",
     "[disp32] forms are proved by Capstone and Unicorn instead"),
    ("'nop dword ptr [rax]' assembles to 0f 18 20 (a prefetch hint)",
     "multi-byte nop is not an asmkit form; alignment pads with 0x90"),
    ("rel32 branch targets out of range are silently wrapped",
     "the proof checks that asmkit raises RangeError for them instead"),
    ("'movsxd r32, r/m32' (63 without REX.W) is rejected as an invalid operand",
     "proved by Capstone round trip and Unicorn instead (check_keystone_gaps "
     "also checks that Keystone still rejects it)"),
    ("'[riz + disp]' (riz written as a base, no scale) becomes [rsp + disp]",
     "the proof writes riz as 'riz*1', which Keystone reads as no index"),
]
# Byte strings Capstone prints as a different instruction with other bytes.
CAPSTONE_AMBIGUOUS = {
    bytes.fromhex("4890"): ("xchg rax, rax", "nop",
                            "Capstone prints 48 90 as 'nop' (it executes as one)"),
}
KEYSTONE_GAPS = [
    ("<op> [disp32] (absolute memory, no base or index)",
     "Keystone rewrites it rip-relative; checked by Capstone round trip and "
     "by a Unicorn load/store at the absolute address"),
    ("movsxd r32, r32 / movsxd r32, m32",
     "Keystone rejects it; checked by Capstone round trip of every case and "
     "by Unicorn (a 32-bit move that zero-extends)"),
]
CHUNK = 4000


@dataclass
class Report:
    forms: int = 0
    keystone_cases: int = 0
    roundtrips: int = 0
    unicorn_runs: int = 0
    label_programs: int = 0
    label_repeats: object = None      # labelproof.LabelReport
    range_checks: int = 0
    ambiguous: int = 0
    mismatches: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        return (f"{NAME}: {self.forms} forms, {self.keystone_cases} Keystone "
                f"cases, {len(self.mismatches)} mismatches; {self.roundtrips} "
                f"Capstone round trips; {self.unicorn_runs} Unicorn runs")

    def details(self) -> str:
        lines = [self.summary(),
                 f"  {self.label_programs} label programs (relaxation) vs Keystone",
                 f"  {self.range_checks} out-of-range branches rejected",
                 f"  repeated branch lines: {self.label_repeats.summary()}"
                 if self.label_repeats else "  repeated branch lines: not run",
                 f"  {self.ambiguous} round trips of bytes Capstone prints "
                 f"ambiguously (listed in CAPSTONE_AMBIGUOUS)",
                 f"  {self.seconds:.1f}s"]
        lines += [f"  MISMATCH {m}" for m in self.mismatches[:50]]
        lines += ["  Keystone quirks worked around:"]
        lines += [f"    - {q}: {w}" for q, w in KEYSTONE_QUIRKS]
        lines += ["  Forms Keystone cannot check:"]
        lines += [f"    - {f}: {why}" for f, why in KEYSTONE_GAPS]
        return "\n".join(lines)


def _ks(text, address=0):
    try:
        return ks_oracle.assemble(text, ARCH, address)
    except ks_oracle.error_type() as exc:
        return exc


def _check_chunk(chunk, report: Report):
    """Keystone equality and Capstone round trip for (form, ops) pairs."""
    b = Builder()
    texts, spans = [], []
    for form, ops in chunk:
        text = format_insn(form.mnemonic, ops)
        start = len(b._code)
        try:
            getattr(b, form.method)(*ops)
        except AsmError as exc:
            theirs = _ks(text)
            if isinstance(theirs, bytes) and theirs:
                report.mismatches.append(f"{text}: asmkit rejects ({exc}), "
                                         f"Keystone gives {theirs.hex()}")
            continue
        texts.append(text)
        spans.append((start, len(b._code)))
    mine = b.finish()
    theirs = _ks("\n".join(texts))
    report.keystone_cases += len(texts)
    if theirs != mine:
        for text, (s, e) in zip(texts, spans):
            one = _ks(text)
            if one != mine[s:e]:
                shown = one.hex() if isinstance(one, bytes) else one
                report.mismatches.append(f"{text}: asmkit {mine[s:e].hex()}, "
                                         f"Keystone {shown}")
        return
    _roundtrip(mine, spans, 0, report)


def _roundtrip(code, spans, address, report: Report):
    rows = cs_oracle.decode(code, ARCH, address)
    if [(a - address, a - address + n) for a, n, _ in rows] != spans:
        report.mismatches.append(f"Capstone splits {code[:32].hex()}... "
                                 f"differently from asmkit")
        return
    for (addr, size, text), (s, e) in zip(rows, spans):
        known = CAPSTONE_AMBIGUOUS.get(bytes(code[s:e]))
        if known is not None and text == known[1]:
            report.ambiguous += 1
            continue
        try:
            back = assemble(text, addr)
        except AsmError as exc:
            report.mismatches.append(f"round trip of {text!r}: {exc}")
            continue
        if back != code[s:e]:
            report.mismatches.append(f"round trip of {text!r}: "
                                     f"{code[s:e].hex()} -> {back.hex()}")
        report.roundtrips += 1


def check_forms(report: Report, progress=None):
    forms = all_forms()
    report.forms += len(forms)
    pending = []
    for i, form in enumerate(forms):
        pending += [(form, ops) for ops in form.cases()]
        while len(pending) >= CHUNK:
            _check_chunk(pending[:CHUNK], report)
            del pending[:CHUNK]
        if progress:
            progress("keystone+capstone", i + 1, len(forms))
    if pending:
        _check_chunk(pending, report)


def check_branches(report: Report):
    """jmp/jcc/call to absolute targets at every rel8/rel32 edge."""
    from ..buffer import RangeError
    report.forms += len(BRANCH_MNEMONICS) * 2 - 1   # rel8 and rel32 forms
    address = 0x100000000
    for mnem in BRANCH_MNEMONICS:
        inside, outside = branch_offsets(mnem)
        for off in inside:
            _check_branch(mnem, address + off, address, report)
        for off in outside:
            b = Builder()
            getattr(b, mnem)(address + off)
            try:
                b.finish(address)
            except RangeError:
                report.range_checks += 1
            else:
                report.mismatches.append(f"{mnem} {address + off:#x} @ "
                                         f"{address:#x}: out of rel32 range "
                                         f"but not rejected")


def _check_branch(mnem, target, address, report: Report):
    """One branch to an absolute target: Keystone's bytes, then the Capstone
    round trip."""
    b = Builder()
    getattr(b, mnem)(target)
    mine = b.finish(address)
    theirs = _ks(f"{mnem} {target:#x}", address)
    report.keystone_cases += 1
    if theirs != mine:
        shown = theirs.hex() if isinstance(theirs, bytes) else theirs
        report.mismatches.append(f"{mnem} {target:#x} @ {address:#x}: "
                                 f"asmkit {mine.hex()}, Keystone {shown}")
        return
    _roundtrip(mine, [(0, len(mine))], address, report)


def check_wrapped_branches(report: Report):
    """jmp/jcc/call whose rel8/rel32 wraps around address zero: from just
    above zero to just below 2**64 (Capstone prints those targets unsigned)
    and back, at each rel8/rel32 edge that wraps; Keystone agrees with 64-bit
    arithmetic there."""
    top = 1 << 64
    for mnem in BRANCH_MNEMONICS:
        long_len = 5 if mnem in ("jmp", "call") else 6
        cases = [(0x10, -0x1000), (0x10, long_len - 0x80000000),
                 (top - 0x1000, 0x2000), (top - 0x10, long_len + 0x7FFFFFFF)]
        if mnem != "call":
            cases += [(0x10, 2 - 0x80), (0x10, 2 - 0x81), (top - 0x10, 2 + 0x7F),
                      (top - 0x10, 2 + 0x80)]
        for address, off in cases:
            _check_branch(mnem, (address + off) % top, address, report)


def _label_program(rng):
    """A random program of jumps over nop runs, with labels both ways."""
    n = rng.randint(2, 6)
    lines = []
    for i in range(n):
        lines.append(f"l{i}:")
        for _ in range(rng.randint(0, 3)):
            mnem = rng.choice(["jmp", "jne", "call", "jl"])
            lines.append(f"{mnem} l{rng.randrange(n)}")
            lines.append("nop\n" * rng.choice([0, 1, 60, 120, 126, 127, 128, 200]))
    return "\n".join(x for x in lines if x)


def check_labels(report: Report, count=300, seed=1):
    """Relaxation against Keystone's own label resolution."""
    rng = random.Random(seed)
    for _ in range(count):
        text = _label_program(rng)
        theirs = _ks(text)
        mine = assemble(text)
        report.label_programs += 1
        if theirs != mine:
            report.mismatches.append(f"label program differs:\n{text}\n"
                                     f"asmkit {mine.hex()}\nKeystone "
                                     f"{theirs.hex() if isinstance(theirs, bytes) else theirs}")


def check_label_repeats(report: Report, count=200, seed=1):
    """Repeated branch lines three ways (text, Builder, Keystone): labelproof."""
    from ..labelproof import run
    report.label_repeats = run(NAME, count=count, seed=seed)
    report.mismatches += report.label_repeats.mismatches


def check_absolute(report: Report):
    """[disp32] forms: Capstone round trip (Keystone rewrites them)."""
    b = Builder()
    spans = []
    from .regs import GPR32, GPR64
    for m64, m32 in zip(absolute_operands(64), absolute_operands(32)):
        for r in GPR64:
            s = len(b._code)
            b.mov(r, m64)
            spans.append((s, len(b._code)))
        for r in GPR32:
            s = len(b._code)
            b.add(m32, r)
            spans.append((s, len(b._code)))
        s = len(b._code)
        b.lea(GPR64[0], m64)
        spans.append((s, len(b._code)))
    report.forms += 3
    _roundtrip(b.finish(), spans, 0, report)


def check_keystone_gaps(report: Report):
    """Forms Keystone rejects: every case round trips through Capstone, and
    Keystone must still reject it (else it belongs in cases.all_forms)."""
    b = Builder()
    spans = []
    forms = keystone_gap_forms()
    for form in forms:
        for ops in form.cases():
            s = len(b._code)
            getattr(b, form.method)(*ops)
            spans.append((s, len(b._code)))
            if len(spans) % 97 == 1:         # a sample: Keystone is slow per line
                theirs = _ks(format_insn(form.mnemonic, ops))
                if isinstance(theirs, bytes):
                    report.mismatches.append(
                        f"{format_insn(form.mnemonic, ops)}: Keystone now accepts "
                        f"it ({theirs.hex()}); move the form into all_forms()")
    report.forms += len(forms)
    _roundtrip(b.finish(), spans, 0, report)


def run_proof(progress=None, unicorn_inputs: int = 200) -> Report:
    """The whole x86-64 proof; ``report.ok`` and ``report.summary()``."""
    from .semantics import check_semantics
    t0 = time.perf_counter()
    report = Report()
    check_forms(report, progress)
    check_branches(report)
    check_wrapped_branches(report)
    check_labels(report)
    check_label_repeats(report)
    check_absolute(report)
    check_keystone_gaps(report)
    if progress:
        progress("unicorn", 0, 1)
    check_semantics(report, unicorn_inputs)
    report.seconds = time.perf_counter() - t0
    return report
