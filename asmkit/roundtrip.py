"""Random Capstone round trip: random bytes -> Capstone text -> asmkit -> bytes.

The proof's round trip starts from asmkit's own bytes, so it never sees text
that asmkit did not produce.  Here the bytes are random: Capstone decodes
the first instruction, asmkit assembles its text at the same address, and
each case falls in one class:

- ``roundtrip``: the same bytes;
- ``equivalent``: other bytes that Capstone prints as the same text (for
  example a jmp rel32 whose rel8 reaches, or Capstone's ``mov`` spelling of
  ``orr``, which asmkit assembles as ``movz``);
- ``excluded``: asmkit rejects it and it is outside the documented coverage
  (the rule is ``exclusion()`` of each architecture, below);
- ``rejected``: asmkit rejects an instruction inside the covered integer
  instruction set: a gap;
- ``wrong``: asmkit accepts it and gives bytes that Capstone prints as a
  different instruction.  There must be none.

Random words Capstone cannot decode are counted as ``undecodable`` and do
not use up the count.  Cases come from chunks of ``CHUNK`` with their own
seeded generator, so a run is the same for any number of jobs.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from .buffer import AsmError

CLASSES = ("roundtrip", "equivalent", "excluded", "rejected", "wrong")
CHUNK = 1000
ADDRESS = 0x100000000     # 4 GiB: every negative branch/adrp target is real


# ------------------------------------------------------------------ x86-64

_X86_VECTOR_GROUPS = {"3dnow", "aes", "avx", "avx2", "avx512", "bwi", "cdi", "dqi",
                      "eri", "f16c", "fma", "fma4", "fpu", "mmx", "pclmul", "pfi",
                      "sha", "sse1", "sse2", "sse3", "sse41", "sse42", "sse4a",
                      "ssse3", "vlx", "novlx", "xop"}
_X86_SYSTEM_GROUPS = {"privilege", "int", "iret", "vm", "sgx", "rtm", "hle",
                      "fsgsbase", "smap"}
_X86_VECTOR_REGS = re.compile(r"\b([xyz]mm\d+|mm\d|st\(\d\)|st\b|k[0-7]\b)")
_X86_SYSTEM_REGS = re.compile(r"\b(cr\d+|dr\d+|[cdefgs]s)\b")
_X86_SYSTEM = {
    "in", "out", "insb", "insd", "insw", "outsb", "outsd", "outsw", "hlt", "cli",
    "sti", "clts", "lgdt", "lidt", "lldt", "ltr", "sgdt", "sidt", "sldt", "str",
    "lmsw", "smsw", "invd", "wbinvd", "invlpg", "invpcid", "rdmsr", "wrmsr",
    "rdpmc", "rdtsc", "rdtscp", "cpuid", "syscall", "sysret", "sysretq",
    "sysenter", "sysexit", "swapgs", "iretd", "iretq", "int", "int1", "into",
    "verr", "verw", "lar", "lsl", "arpl", "xgetbv", "xsetbv", "xsave", "xrstor",
    "xsaveopt", "xsave64", "xrstor64", "fxsave", "fxrstor", "fxsave64",
    "fxrstor64", "ldmxcsr", "stmxcsr", "emms", "femms", "monitor", "mwait",
    "clflush", "clflushopt", "prefetch", "prefetchw", "prefetchnta",
    "prefetcht0", "prefetcht1", "prefetcht2", "lfence", "mfence", "sfence",
    "pause", "rsm", "ud1", "ud0", "getsec", "vmcall", "encls", "enclu",
    "wait", "rdrand", "rdseed", "rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase",
    "retf", "retfq", "ljmp", "lcall",
}
_X86_PREFIXES = {0x26: "segment prefix", 0x2E: "segment prefix",
                 0x36: "segment prefix", 0x3E: "segment prefix",
                 0x64: "segment prefix", 0x65: "segment prefix",
                 0x66: "16-bit operation (0x66)", 0x67: "32-bit addressing (0x67)"}
_ADDR32 = re.compile(r"\[[^]]*\b(e[a-z]{2}|r\d+d|eip)\b")
_HIGH_BYTE = re.compile(r"\b[abcd]h\b")
_WORD = re.compile(r"\b([abcd]x|[sd]i|[sb]p|r\d+w)\b|\bword ptr")


def _x86_legacy_prefixes(code):
    """The legacy prefix bytes before the opcode.  A REX byte followed by a
    legacy prefix is ignored by the CPU (and Capstone), so it is skipped."""
    out = []
    for byte in code:
        if byte in _X86_PREFIXES or byte in (0xF0, 0xF2, 0xF3):
            out.append(byte)
        elif not 0x40 <= byte <= 0x4F:
            break
    return out


def x86_exclusion(insn, code):
    """Why an x86-64 instruction is outside the documented coverage, or None.

    In this order: non-integer (x87, MMX, SSE, AVX..., by Capstone group,
    register name or an ``f`` mnemonic); the prefixes of the README's "not
    provided" list (segment, 0x66 16-bit, 0x67 32-bit addressing); system
    instructions (privileged, I/O, interrupts, far returns, cache and fence
    control: ``_X86_SYSTEM`` or Capstone's group) and segment or control
    registers; then far jmp/call (Capstone's ``jmp ptr [m]``, an error in
    asmkit), ah/bh/ch/dh, multi-byte nop and 16-bit registers.  Integer
    instructions outside the coverage table (bt, bsf, cmpxchg, string
    instructions, lock/rep prefixes, flag instructions, enter/leave...) are
    not excluded: they count as gaps.
    """
    groups = {insn.group_name(g) for g in insn.groups}
    text = insn.op_str
    mnem = insn.mnemonic
    if groups & _X86_VECTOR_GROUPS or _X86_VECTOR_REGS.search(text) \
            or (mnem.startswith("f") and mnem not in ("fs", "gs")):
        return "x87/MMX/SSE/AVX"
    for byte in _x86_legacy_prefixes(code):
        if byte in _X86_PREFIXES:
            return _X86_PREFIXES[byte]
    if _ADDR32.search(text):
        return _X86_PREFIXES[0x67]
    if groups & _X86_SYSTEM_GROUPS or mnem in _X86_SYSTEM or _X86_SYSTEM_REGS.search(text):
        return "system/segment registers"
    if mnem in ("jmp", "call") and text.startswith("ptr ["):
        return "far jmp/call (FF /5, FF /3)"
    if _HIGH_BYTE.search(text):
        return "ah/bh/ch/dh"
    if mnem == "nop" and text:
        return "multi-byte nop"
    if _WORD.search(text) and mnem not in ("movzx", "movsx"):
        return "16-bit operation (0x66)"
    return None


# Capstone's names for the alias opcodes: D0-D3/C0-C1 /6 prints "sal" (the
# same operation as /4 "shl", which is what LLVM assembles for "sal").
_X86_ALIASES = {"sal": "shl"}


def _x86_operand(op):
    if op.type == 2:                          # immediate: its bits in the operand size
        return ("imm", op.imm & ((1 << (8 * op.size)) - 1) if op.size else op.imm)
    if op.type == 3:
        m = op.mem
        base, index = m.base, m.index
        if not base and m.scale == 1:     # [r14*1 + d] (SIB, no base) is [r14 + d]
            base, index = index, 0
        return ("mem", m.segment, base, index, m.scale if index else 1, m.disp, op.size)
    return ("reg", op.reg, op.size)


def x86_same(a, b):
    """Whether two decoded instructions do the same: the same mnemonic (up to
    ``_X86_ALIASES``) and operands, immediates compared in their operand
    size.  Capstone prints the alias encoding F6 /1 (``test``) with a signed
    immediate and F6 /0 with an unsigned one, so their texts differ; and it
    prints ``xchg r9, rax`` for the 90+r form LLVM picks for ``xchg rax, r9``
    (the operands of xchg commute); an index with scale 1 and no base is the
    same address as that register as a base (Capstone prints both alike);
    and the bytes of ``CAPSTONE_AMBIGUOUS`` (48 90, LLVM's ``xchg rax, rax``,
    printed ``nop``) are the instruction the proof lists them as."""
    from .x86_64.proof import CAPSTONE_AMBIGUOUS   # 48 90 is printed 'nop'
    known = CAPSTONE_AMBIGUOUS.get(bytes(b.bytes))
    if known and f"{a.mnemonic} {a.op_str}" == known[0] and b.mnemonic == known[1]:
        return True
    if _X86_ALIASES.get(a.mnemonic, a.mnemonic) != _X86_ALIASES.get(b.mnemonic, b.mnemonic):
        return False
    ops_a = [_x86_operand(o) for o in a.operands]
    ops_b = [_x86_operand(o) for o in b.operands]
    if a.mnemonic == "xchg":
        return sorted(ops_a) == sorted(ops_b)
    return ops_a == ops_b


def x86_bytes(rng):
    """Fifteen random bytes; a third of them after a REX prefix, so 64-bit
    and r8-r15 forms are as common as 32-bit ones."""
    head = bytes([0x40 | rng.randrange(16)]) if rng.random() < 0.34 else b""
    return head + rng.randbytes(15 - len(head))


_X86_PREFIX_WORDS = {"lock", "rep", "repe", "repz", "repne", "repnz", "bnd", "notrack",
                     "xacquire", "xrelease"}


def x86_covered(insn):
    """Whether the mnemonic (after prefix words) names a family asmkit's
    coverage table has: its rejection is a gap in a covered family."""
    from .x86_64.parse import MNEMONICS
    words = [w for w in insn.mnemonic.split() if w not in _X86_PREFIX_WORDS]
    return bool(words) and words[-1] in MNEMONICS


def x86_form(insn):
    kinds = []
    for op in insn.operands:
        kinds.append({1: f"r{op.size * 8}", 2: "imm", 3: f"m{op.size * 8}"}.get(op.type, "?"))
    return " ".join([insn.mnemonic] + [",".join(kinds)] if kinds else [insn.mnemonic])


# ------------------------------------------------------------------ AArch64

_A64_VECTOR_GROUPS = {"neon", "fparmv8", "fullfp16", "crypto", "aes", "sha2", "sha3",
                      "sm4", "sve", "sve2", "sve2aes", "sve2bitperm", "sve2sha3",
                      "sve2sm4", "sme", "smef64", "smei64", "dotprod", "matmulfp32",
                      "matmulfp64", "matmulint8", "rdm"}
_A64_SYSTEM_GROUPS = {"privilege", "pac", "int"}
_A64_VECTOR_REGS = re.compile(r"(?<![\w.])([bhsdqvz]\d+|p\d+(/[zm])?|za\w*)\b|\{")
_A64_SYSTEM = {
    "msr", "mrs", "sys", "sysl", "hint", "yield", "wfe", "wfi", "sev", "sevl",
    "esb", "psb", "tsb", "csdb", "bti", "clrex", "sb", "ssbb", "pssbb", "svc",
    "hvc", "smc", "eret", "eretaa", "eretab", "drps", "hlt", "dcps1", "dcps2",
    "dcps3", "tlbi", "at", "cfinv", "axflag", "xaflag", "wfet", "wfit", "dgh",
    "xpaclri", "xpaci", "xpacd", "udf", "cfp", "dvp", "cpp", "brb", "tstart",
    "tcommit", "tcancel", "ttest", "chkfeat", "gcsb", "prfm", "prfum", "st2g",
    "stg", "stzg", "stz2g", "stgp", "ldg", "irg", "gmi", "addg", "subg", "subp",
    "subps", "cmpp", "setf8", "setf16", "rmif", "ldgm", "stgm", "stzgm",
}
_A64_SYSTEM_PREFIX = ("pac", "aut", "retaa", "retab", "braa", "brab", "blraa",
                      "blrab", "ldraa", "ldrab")


_A64_DATA_AND_BASE = re.compile(r"^((?:[wx]\d+, )+)\[x(\d+)")
_A64_PAIR_LOADS = ("ldp", "ldpsw", "ldnp", "ldxp", "ldaxp")


def _a64_unpredictable(insn):
    """A load/store that writes back into a register it also transfers, or a
    pair load into one register twice: LLVM (and so asmkit) refuses them."""
    m = _A64_DATA_AND_BASE.match(insn.op_str)
    if not m:
        return False
    data = [r[1:] for r in m.group(1).rstrip(", ").split(", ")]
    writeback = insn.op_str.endswith("!") or "], " in insn.op_str
    if writeback and m.group(2) in data:
        return True
    return insn.mnemonic in _A64_PAIR_LOADS and len(data) == 2 and data[0] == data[1]


def aarch64_exclusion(insn, code):
    """Why an AArch64 instruction is outside the documented coverage, or None.

    The spec covers the integer instruction set listed in asmkit.md; out of
    it by rule are SIMD/FP/SVE/SME and crypto (Capstone group, or a b/h/s/d/q/v/z/p
    register or a register list in the text), and system instructions beyond
    dmb/dsb/isb/dc cvau/ic ivau/nop/brk (pointer authentication, hints, msr,
    exception generation, memory tagging, prefetch); and the unpredictable
    forms the README says LLVM and asmkit refuse (writeback into a data
    register, a pair load into one register twice).
    """
    groups = {insn.group_name(g) for g in insn.groups}
    mnem = insn.mnemonic
    if groups & _A64_VECTOR_GROUPS or _A64_VECTOR_REGS.search(insn.op_str):
        return "SIMD/FP/SVE/crypto"
    if groups & _A64_SYSTEM_GROUPS or mnem in _A64_SYSTEM or mnem.startswith(_A64_SYSTEM_PREFIX):
        return "system/hint/pauth/tagging"
    if mnem in ("dc", "ic") and insn.op_str.split(",")[0] not in ("cvau", "ivau"):
        return "system/hint/pauth/tagging"
    if _a64_unpredictable(insn):
        return "unpredictable writeback/pair (LLVM refuses)"
    return None


def aarch64_bytes(rng):
    return rng.randbytes(4)


def aarch64_covered(insn):
    """Whether the mnemonic names a Builder method (or b.cond)."""
    from .aarch64.parse import _RENAME, _methods
    name = insn.mnemonic
    if name.startswith("b."):
        return True
    return _RENAME.get(name, name) in _methods()


def aarch64_form(insn):
    kinds = []
    for op in insn.operands:
        if op.type == 1:
            name = insn.reg_name(op.reg) or "?"
            kinds.append("sp" if name in ("sp", "wsp") else name[0])
        else:
            kinds.append({2: "imm", 3: "m"}.get(op.type, "opt"))
    return " ".join([insn.mnemonic] + [",".join(kinds)] if kinds else [insn.mnemonic])


@dataclass(frozen=True)
class Rules:
    arch: str
    capstone: tuple
    random_bytes: object
    exclusion: object
    form: object
    covered: object
    same: object = None           # same(insn, insn): one instruction, other spelling


RULES = {
    "x86_64": Rules("x86_64", ("CS_ARCH_X86", "CS_MODE_64"), x86_bytes,
                    x86_exclusion, x86_form, x86_covered, x86_same),
    "aarch64": Rules("aarch64", ("CS_ARCH_ARM64", "CS_MODE_ARM"), aarch64_bytes,
                     aarch64_exclusion, aarch64_form, aarch64_covered),
}


# ------------------------------------------------------------------- engine

@dataclass
class RoundTripReport:
    arch: str
    cases: int = 0
    undecodable: int = 0
    classes: Counter = field(default_factory=Counter)
    exclusions: Counter = field(default_factory=Counter)
    aliases: Counter = field(default_factory=Counter)   # equivalent by operands
    alias_examples: dict = field(default_factory=dict)
    rejected_forms: Counter = field(default_factory=Counter)
    rejected_examples: dict = field(default_factory=dict)
    rejected_covered: int = 0     # rejections whose mnemonic is a covered family
    wrong: list = field(default_factory=list)      # (text, bytes hex, asmkit hex, asmkit text)
    crashes: list = field(default_factory=list)    # non-AsmError exceptions

    def merge(self, other):
        self.cases += other.cases
        self.undecodable += other.undecodable
        self.classes.update(other.classes)
        self.exclusions.update(other.exclusions)
        self.aliases.update(other.aliases)
        for k, v in other.alias_examples.items():
            self.alias_examples.setdefault(k, v)
        self.rejected_forms.update(other.rejected_forms)
        self.rejected_covered += other.rejected_covered
        for k, v in other.rejected_examples.items():
            self.rejected_examples.setdefault(k, v)
        self.wrong += other.wrong
        self.crashes += other.crashes
        return self

    @property
    def rejected_rate(self):
        """Rejections beyond the documented exclusions, per decoded case."""
        return self.classes["rejected"] / self.cases if self.cases else 0.0

    def table(self, top=20):
        lines = [f"{self.arch}: {self.cases} decoded random instructions "
                 f"({self.undecodable} undecodable draws skipped)"]
        for name in CLASSES:
            n = self.classes[name]
            pct = 100.0 * n / self.cases if self.cases else 0.0
            lines.append(f"  {name:<11} {n:>8}  {pct:6.2f}%")
        lines.append(f"  rejected beyond documented exclusions: "
                     f"{100.0 * self.rejected_rate:.2f}% of all, "
                     f"{self._integer_rate():.2f}% of the instructions not excluded")
        lines.append(f"  rejected in a covered family (a mnemonic asmkit has): "
                     f"{self.rejected_covered} = {self.covered_rate:.2f}% of the "
                     f"instructions not excluded")
        if self.aliases:
            lines.append(f"  equivalent by operands, not text "
                         f"({sum(self.aliases.values())}, included above):")
        for name, n in self.aliases.most_common(top):
            lines.append(f"    {n:>8}  {name:<32} e.g. {self.alias_examples[name]}")
        lines.append("  documented exclusions:")
        for name, n in self.exclusions.most_common():
            lines.append(f"    {n:>8}  {name}")
        lines.append(f"  top rejected forms (of {len(self.rejected_forms)}):")
        for name, n in self.rejected_forms.most_common(top):
            lines.append(f"    {n:>8}  {name:<32} e.g. {self.rejected_examples[name]}")
        for case in self.wrong:
            lines.append(f"  WRONG {case}")
        for case in self.crashes[:top]:
            lines.append(f"  CRASH {case}")
        return "\n".join(lines)

    @property
    def covered_rate(self):
        """Rejections of mnemonics asmkit covers, per case not excluded (the
        gap measure: forms missing from families the table claims)."""
        inside = self.cases - self.classes["excluded"]
        return 100.0 * self.rejected_covered / inside if inside else 0.0

    def add(self, rules, insn, cls, info):
        """Count one classified case."""
        self.classes[cls] += 1
        if cls == "equivalent" and info:
            self.aliases[rules.form(insn)] += 1
            self.alias_examples.setdefault(rules.form(insn), info)
        elif cls == "excluded":
            self.exclusions[info] += 1
        elif cls == "rejected":
            form, example = info
            self.rejected_forms[form] += 1
            self.rejected_examples.setdefault(form, example)
            self.rejected_covered += bool(rules.covered(insn))
        elif cls == "wrong":
            self.wrong.append(f"{insn.mnemonic} {insn.op_str} "
                              f"[{bytes(insn.bytes).hex()}] -> {info[0]} {info[1]}")

    def _integer_rate(self):
        inside = self.cases - self.classes["excluded"]
        return 100.0 * self.classes["rejected"] / inside if inside else 0.0


def _capstone(rules, detail):
    import capstone
    cs = capstone.Cs(getattr(capstone, rules.capstone[0]), getattr(capstone, rules.capstone[1]))
    cs.detail = detail
    return cs


def classify(rules, insn, assemble, plain, detailed, address=ADDRESS):
    """``(class, info)`` for one decoded Capstone instruction.  ``info`` is
    the exclusion name, the rejected form, for an equivalent by operands the
    two spellings, or for ``wrong`` the asmkit bytes and their text."""
    code = bytes(insn.bytes)
    text = f"{insn.mnemonic} {insn.op_str}".strip()
    try:
        mine = assemble(text, address)
    except AsmError as exc:
        why = rules.exclusion(insn, code)
        if why is not None:
            return "excluded", why
        return "rejected", (rules.form(insn), f"{text!r} ({exc})")
    if mine == code:
        return "roundtrip", None
    back = [f"{m} {o}".strip() for _a, _s, m, o in plain.disasm_lite(mine, address)]
    if back == [text]:
        return "equivalent", None
    if rules.same is not None and len(back) == 1:
        again = next(detailed.disasm(mine, address, 1))
        if again.size == len(mine) and rules.same(insn, again):
            return "equivalent", f"{text!r} printed as {back[0]!r}"
    return "wrong", (mine.hex(), back)


def run_chunk(arch, seed, chunk, size=CHUNK):
    """``size`` decoded random instructions from chunk number ``chunk``."""
    from . import arch as arch_names
    rules = RULES[arch]
    assemble = arch_names.load(arch).assemble
    rng = random.Random(f"{seed}:{arch}:{chunk}")
    cs, plain = _capstone(rules, True), _capstone(rules, False)
    report = RoundTripReport(arch)
    while report.cases < size:
        raw = rules.random_bytes(rng)
        insn = next(cs.disasm(raw, ADDRESS, 1), None)
        if insn is None:
            report.undecodable += 1
            continue
        report.cases += 1
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        try:
            cls, info = classify(rules, insn, assemble, plain, cs)
        except Exception as exc:  # noqa: BLE001 - any other exception is a finding
            report.classes["rejected"] += 1
            report.crashes.append(f"{text!r} [{bytes(insn.bytes).hex()}]: "
                                  f"{type(exc).__name__}: {exc}")
            continue
        report.add(rules, insn, cls, info)
    return report


def run(arch, count, seed=1, progress=None):
    """``count`` cases (rounded up to whole chunks) in this process."""
    report = RoundTripReport(arch)
    for chunk in range((count + CHUNK - 1) // CHUNK):
        report.merge(run_chunk(arch, seed, chunk, min(CHUNK, count - chunk * CHUNK)))
        if progress:
            progress(min(CHUNK, count - chunk * CHUNK))
    return report


def roundtrip_bytes(arch, code, address=ADDRESS):
    """Classify every instruction Capstone decodes in ``code`` (a test file's
    bytes, say); returns a RoundTripReport."""
    from . import arch as arch_names
    rules = RULES[arch]
    assemble = arch_names.load(arch).assemble
    cs, plain = _capstone(rules, True), _capstone(rules, False)
    report = RoundTripReport(arch)
    for insn in cs.disasm(bytes(code), address):
        report.cases += 1
        cls, info = classify(rules, insn, assemble, plain, cs, insn.address)
        report.add(rules, insn, cls, info)
    return report
