"""The AArch64 proof: Keystone byte equality, Capstone round trip, Unicorn runs.

``run_proof(progress=None) -> ProofReport``.  Keystone and Capstone are fed
in batches (thousands of lines per call); Unicorn runs reuse one instance
(see semantics.py).  ``progress(stage, done, total)`` is called now and then.
"""

import time
from collections import Counter
from dataclasses import dataclass, field

from .cases import KEYSTONE_OFFSET_FORMS, all_cases, fmt_text, resolve_args
from .encode import Builder
from .operands import OperandError

__all__ = ["run_proof", "prove_encodings", "ProofReport", "KEYSTONE_GAPS", "BASE"]

# Batches sit at 4 GiB so every negative branch/adrp target is a valid address.
BASE = 0x100000000
BATCH = 2000

# Forms Keystone 0.9.2 cannot check as written, and how they are proved instead.
KEYSTONE_GAPS = {
    "adr": "Keystone reads adr's operand as a raw offset and is off by one at a "
           "nonzero address; checked against Keystone's offset form at address 0, "
           "plus Capstone round trip and Unicorn (the register gets pc + offset)",
    "mov imm (2-4 instructions)": "LLVM's assembler accepts only one-instruction "
           "constants; longer movz/movn/orr/movk sequences are proved by Unicorn",
    "b.cond/cbz/cbnz/tbz/tbnz veneer": "an out-of-range target becomes the inverted "
           "branch over b; proved by Capstone and Unicorn (taken and not taken)",
    "adrp at the lowest page": "from a pc that is not page-aligned, Keystone measures "
           "the distance to the most negative page (-2^20 pages) from the pc, not its "
           "page, and rejects the valid target; such lines are checked against "
           "Keystone at the pc's page start, where adrp encodes the same",
}


@dataclass
class ProofReport:
    forms: int = 0
    keystone_cases: int = 0
    keystone_mismatches: list = field(default_factory=list)
    keystone_rejected: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    capstone_roundtrips: int = 0
    capstone_failures: list = field(default_factory=list)
    capstone_alias: int = 0
    unicorn_forms: int = 0
    unicorn_runs: int = 0
    unicorn_failures: list = field(default_factory=list)
    label_repeats: object = None      # labelproof.LabelReport
    per_form: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def mismatches(self):
        """Every finding of every oracle (empty when the proof holds)."""
        return (self.keystone_mismatches + self.keystone_rejected
                + self.capstone_failures + self.unicorn_failures + self.label_failures)

    @property
    def label_failures(self):
        return self.label_repeats.mismatches if self.label_repeats else []

    @property
    def ok(self):
        return not (self.keystone_mismatches or self.keystone_rejected
                    or self.capstone_failures or self.unicorn_failures
                    or self.label_failures)

    def summary(self):
        return (f"aarch64: {self.forms} forms, {self.keystone_cases} Keystone cases, "
                f"{len(self.keystone_mismatches) + len(self.keystone_rejected)} mismatches; "
                f"{self.capstone_roundtrips} Capstone round trips "
                f"({len(self.capstone_failures)} failures); "
                f"{self.unicorn_runs} Unicorn runs over {self.unicorn_forms} forms "
                f"({len(self.unicorn_failures)} failures)")

    def details(self, limit=20):
        lines = [self.summary()]
        if self.label_repeats:
            lines.append(f"  repeated branch lines: {self.label_repeats.summary()}")
        for title, items in (("Keystone mismatch", self.keystone_mismatches),
                             ("label program", self.label_failures),
                             ("Keystone rejected", self.keystone_rejected),
                             ("Capstone round trip", self.capstone_failures),
                             ("Unicorn", self.unicorn_failures)):
            for item in items[:limit]:
                lines.append(f"  {title}: {item}")
        lines.append("  not checkable by Keystone as written:")
        for form, why in KEYSTONE_GAPS.items():
            lines.append(f"    {form}: {why}")
        return "\n".join(lines)


def _encode(method, args, pc):
    b = Builder(relax=False)
    getattr(b, method)(*resolve_args(args, pc))
    return b.finish(pc)


def _keystone_batch(ks, texts, address):
    """Keystone's 4-byte words for ``texts`` at consecutive addresses; a
    line Keystone rejects gives None (found by splitting the batch)."""
    try:
        enc, _ = ks.asm("\n".join(texts), address)
        enc = bytes(enc or b"")
    except Exception:
        enc = b""
    if len(enc) == 4 * len(texts):
        return [enc[i:i + 4] for i in range(0, len(enc), 4)]
    if len(texts) == 1:
        return [None]
    half = len(texts) // 2
    return (_keystone_batch(ks, texts[:half], address)
            + _keystone_batch(ks, texts[half:], address + 4 * half))


def _orr_printed_as_mov(word_bytes, text, addr):
    """Capstone prints ``orr rd, zr, #imm`` as ``mov rd, #imm`` even when a
    movz/movn holds the value (LLVM would not), so that text reassembles to
    movz/movn.  Accept it when the orr spelling gives back the same bytes."""
    from .parse import assemble
    word = int.from_bytes(word_bytes, "little")
    if word & 0x7F8003E0 != 0x320003E0 or not text.startswith("mov "):
        return False
    rd, imm = text[4:].split(", ")
    zr = "xzr" if rd.startswith("x") else "wzr"
    return assemble(f"orr {rd}, {zr}, {imm}", addr) == word_bytes


def _keystone_engine():
    import keystone
    return keystone.Ks(keystone.KS_ARCH_ARM64, keystone.KS_MODE_LITTLE_ENDIAN)


def prove_encodings(report, cases, progress=None):
    """Keystone equality and the Capstone round trip for every case."""
    import capstone
    from .parse import assemble
    ks = _keystone_engine()
    cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    forms = set()
    for start in range(0, len(cases), BATCH):
        chunk = cases[start:start + BATCH]
        pcs = [BASE + 4 * i for i in range(len(chunk))]
        mine = []
        for (f, m, a), pc in zip(chunk, pcs):
            try:
                mine.append(_encode(m, a, pc))
            except OperandError as exc:
                report.refused.append(f"{f}: {fmt_text(m, a, pc)}: {exc}")
                mine.append(None)
        keep = [i for i, a in enumerate(mine) if a is not None]
        chunk = [chunk[i] for i in keep]
        pcs = [BASE + 4 * i for i in range(len(chunk))]
        mine = [_encode(m, a, pc) for (f, m, a), pc in zip(chunk, pcs)]
        texts = [fmt_text(m, a, pc) for (f, m, a), pc in zip(chunk, pcs)]
        offset_form = [i for i, (f, m, a) in enumerate(chunk) if m in KEYSTONE_OFFSET_FORMS]
        theirs = _keystone_batch(ks, texts, BASE)
        for i in offset_form:   # Keystone gets adr right only at address 0
            theirs[i] = _keystone_batch(ks, [texts[i]], 0)[0]
        for i, (f, m, a) in enumerate(chunk):
            if theirs[i] is None and m == "adrp":   # see KEYSTONE_GAPS
                theirs[i] = _keystone_batch(ks, [texts[i]], pcs[i] & ~0xFFF)[0]
        for (form, method, args), pc, text, a, k in zip(chunk, pcs, texts, mine, theirs):
            forms.add(form)
            report.per_form[form] += 1
            report.keystone_cases += 1
            if k is None:
                report.keystone_rejected.append(f"{form}: {text}")
            elif a != k:
                report.keystone_mismatches.append(f"{form}: {text}: asmkit {a.hex()} "
                                                  f"keystone {k.hex()}")
        # Capstone round trip: our bytes -> Capstone text -> our assembler.
        code = b"".join(mine)
        for (addr, size, mnem, ops), a in zip(cs.disasm_lite(code, BASE), mine):
            text = f"{mnem} {ops}".strip()
            report.capstone_roundtrips += 1
            try:
                again = assemble(text, addr)
            except Exception as exc:   # noqa: BLE001 - any failure is a finding
                report.capstone_failures.append(f"{text}: {exc}")
                continue
            if again != a and _orr_printed_as_mov(a, text, addr):
                report.capstone_alias += 1
            elif again != a:
                report.capstone_failures.append(f"{text}: {a.hex()} -> {again.hex()}")
        decoded = len(list(cs.disasm_lite(code, BASE)))
        if decoded != len(chunk):
            report.capstone_failures.append(
                f"Capstone decoded {decoded} of {len(chunk)} instructions in a batch")
        if progress:
            progress("keystone+capstone", start + len(chunk), len(cases))
    report.forms = len(forms)


def run_proof(progress=None, unicorn_runs=200, seed=1):
    """Run the whole AArch64 proof and return the report."""
    from . import semantics
    t0 = time.perf_counter()
    report = ProofReport()
    prove_encodings(report, all_cases(), progress)
    from ..labelproof import run as run_label_programs
    report.label_repeats = run_label_programs("aarch64", count=200, seed=seed)
    semantics.prove_semantics(report, runs=unicorn_runs, seed=seed, progress=progress)
    report.seconds = time.perf_counter() - t0
    return report
