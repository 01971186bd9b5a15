"""Unicorn semantic checks: asmkit's bytes do what a plain Python model says.

Each family below builds a snippet with the Builder for random registers and
inputs, runs it in one reusable Unicorn instance and compares the registers
(and flags CF/PF/ZF/SF/OF where they are defined) or memory with a model
written from the instruction's meaning.  Every form family runs on at least
``inputs`` random inputs (edge values mixed in).
"""

from __future__ import annotations

import random

from ..oracles.unicorn import Emulator
from .encode import CC_NAMES, Builder
from .operands import Mem
from .regs import GPR8, GPR32, GPR64, RIP

CF, PF, ZF, SF, OF = 1, 4, 0x40, 0x80, 0x800
ARITH_FLAGS = CF | PF | ZF | SF | OF
DATA = 0x200000          # a mapped data region (fits a signed disp32)
DATA_SIZE = 0x2000
M64 = (1 << 64) - 1
_SPECIAL = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
            0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, M64, M64 - 1]


def _rand(rng):
    if rng.random() < 0.25:
        return rng.choice(_SPECIAL)
    return rng.getrandbits(rng.choice((8, 16, 32, 63, 64)))


def _sx(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _parity(v):
    return PF if bin(v & 0xFF).count("1") % 2 == 0 else 0


def _szp(r, bits):
    f = _parity(r)
    if r == 0:
        f |= ZF
    if r >> (bits - 1) & 1:
        f |= SF
    return f


def alu_model(op, a, b, bits, cin=0):
    """(result, flags) of a two-operand ALU op on ``bits``-bit values."""
    m = (1 << bits) - 1
    a, b = a & m, b & m
    sa, sb = a >> (bits - 1), b >> (bits - 1)
    cf = of = 0
    if op in ("add", "adc"):
        c = cin if op == "adc" else 0
        full = a + b + c
        r = full & m
        cf = full > m
        of = sa == sb and (r >> (bits - 1)) != sa
    elif op in ("sub", "sbb", "cmp"):
        c = cin if op == "sbb" else 0
        r = (a - b - c) & m
        cf = a < b + c
        of = sa != sb and (r >> (bits - 1)) != sa
    elif op in ("and", "test"):
        r = a & b
    elif op == "or":
        r = a | b
    elif op == "xor":
        r = a ^ b
    else:
        raise ValueError(op)
    return r, _szp(r, bits) | (CF if cf else 0) | (OF if of else 0)


def condition(cc, flags):
    """Whether condition ``cc`` (a name in CC_NAMES) holds for ``flags``."""
    c, z, s, o, p = (bool(flags & f) for f in (CF, ZF, SF, OF, PF))
    return {"o": o, "no": not o, "b": c, "ae": not c, "e": z, "ne": not z,
            "be": c or z, "a": not (c or z), "s": s, "ns": not s, "p": p,
            "np": not p, "l": s != o, "ge": s == o, "le": z or s != o,
            "g": not z and s == o}[cc]


def _write_back(old, value, bits):
    """A register after writing ``value`` at width ``bits``."""
    if bits == 64:
        return value & M64
    if bits == 32:
        return value & 0xFFFF_FFFF         # 32-bit writes zero-extend
    return (old & ~0xFF & M64) | (value & 0xFF)


_REGS = {64: GPR64, 32: GPR32, 8: GPR8}


class _Runner:
    def __init__(self, report, inputs, seed=7):
        from .. import x86_64 as arch
        self.emu = Emulator(arch)
        self.emu.map(DATA, DATA_SIZE)
        self.uc = self.emu._uc
        self.ids = self.emu.regs
        self.rng = random.Random(seed)
        self.report = report
        self.inputs = inputs

    def regs(self, k, avoid=()):
        """``k`` distinct random register numbers (never rsp)."""
        pool = [n for n in range(16) if n != 4 and n not in avoid]
        return self.rng.sample(pool, k)

    def run(self, b: Builder, regs: dict, memory: bytes | None = None):
        code = b.finish(self.emu.code_address)
        uc, ids = self.uc, self.ids
        for name in GPR64:
            uc.reg_write(ids[name.name], regs.get(name.name, 0))
        uc.reg_write(ids["rsp"], regs.get("rsp", self.emu.stack_top))
        uc.reg_write(ids["rflags"], regs.get("rflags", 0x2))
        if memory is not None:
            uc.mem_write(DATA, memory)
        uc.mem_write(self.emu.code_address, code)
        # Unicorn keeps translated blocks of the previous snippet at this
        # address; drop them so the new bytes are the ones that run.
        uc.ctl_remove_cache(self.emu.code_address, self.emu.code_address + 0x1000)
        uc.emu_start(self.emu.code_address, self.emu.code_address + len(code),
                     count=1000)
        self.report.unicorn_runs += 1
        return code

    def get(self, name):
        return self.uc.reg_read(self.ids[name])

    def flags(self):
        return self.get("rflags")

    def expect(self, what, got, want, code):
        if got != want:
            self.report.mismatches.append(
                f"unicorn {what}: got {got:#x}, model {want:#x} "
                f"(code {code.hex()})")
            return False
        return True


def _alu(run: _Runner):
    for op in ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test"):
        meth = op + "_" if op in ("and", "or") else op
        for bits in (64, 32, 8):
            for src_kind in ("reg", "imm", "mem"):
                for _ in range(run.inputs):
                    _alu_case(run, op, meth, bits, src_kind)


def _alu_case(run, op, meth, bits, src_kind):
    rng = run.rng
    d, s, base = run.regs(3)
    dst = _REGS[bits][d]
    a, bval, cin = _rand(rng), _rand(rng), rng.getrandbits(1)
    regs = {GPR64[d].name: a, "rflags": 0x2 | cin}
    b = Builder()
    mem = None
    if src_kind == "reg":
        regs[GPR64[s].name] = bval
        getattr(b, meth)(dst, _REGS[bits][s])
    elif src_kind == "imm":
        lim = 8 if bits == 8 else 32
        bval = _sx(bval, lim) if rng.random() < 0.5 else _sx(bval, 8)
        getattr(b, meth)(dst, bval)
    else:
        regs[GPR64[base].name] = DATA
        disp = rng.randrange(0, 0x100) * 8
        mem = bytearray(DATA_SIZE)
        mem[disp:disp + 8] = (bval & M64).to_bytes(8, "little")
        getattr(b, meth)(dst, Mem(GPR64[base], None, 1, disp, bits))
        mem = bytes(mem)
    code = run.run(b, regs, mem)
    r, flags = alu_model(op, a, bval, bits, cin)
    want = a if op in ("cmp", "test") else _write_back(a, r, bits)
    what = f"{op} {dst}, {src_kind}"
    run.expect(what, run.get(GPR64[d].name), want, code)
    run.expect(what + " flags", run.flags() & ARITH_FLAGS, flags, code)


def _store_alu(run: _Runner):
    """ALU with a memory destination: the memory is the result."""
    rng = run.rng
    for op in ("add", "sub", "xor", "and", "or"):
        meth = op + "_" if op in ("and", "or") else op
        for bits in (64, 32, 8):
            for _ in range(run.inputs):
                s, base = run.regs(2)
                a, bval = _rand(rng), _rand(rng)
                mem = bytearray(DATA_SIZE)
                mem[0x40:0x48] = a.to_bytes(8, "little")
                b = Builder()
                getattr(b, meth)(Mem(GPR64[base], None, 1, 0x40, bits), _REGS[bits][s])
                code = run.run(b, {GPR64[base].name: DATA, GPR64[s].name: bval},
                               bytes(mem))
                r, flags = alu_model(op, a, bval, bits)
                got = int.from_bytes(run.emu.read(DATA + 0x40, 8), "little")
                want = (a & ~((1 << bits) - 1) & M64) | r
                run.expect(f"{op} m{bits}, r", got, want, code)
                run.expect(f"{op} m{bits}, r flags", run.flags() & ARITH_FLAGS, flags, code)


def _shifts(run: _Runner):
    rng = run.rng
    for op in ("shl", "shr", "sar", "rol", "ror"):
        for bits in (64, 32):
            for by_cl in (False, True):
                for _ in range(run.inputs):
                    d, = run.regs(1, avoid=(1,))
                    a = _rand(rng)
                    count = rng.randrange(0, 256) if rng.random() < 0.2 else rng.randrange(0, bits)
                    regs = {GPR64[d].name: a}
                    b = Builder()
                    if by_cl:
                        regs["rcx"] = count
                        getattr(b, op)(_REGS[bits][d], GPR8[1])
                    else:
                        getattr(b, op)(_REGS[bits][d], count)
                    code = run.run(b, regs)
                    c = count & (bits - 1)
                    m = (1 << bits) - 1
                    x = a & m
                    if op == "shl":
                        r = (x << c) & m
                        cf = (x >> (bits - c)) & 1 if c else None
                    elif op == "shr":
                        r = x >> c
                        cf = (x >> (c - 1)) & 1 if c else None
                    elif op == "sar":
                        r = (_sx(x, bits) >> c) & m
                        cf = (_sx(x, bits) >> (c - 1)) & 1 if c else None
                    elif op == "rol":
                        r = ((x << c) | (x >> (bits - c))) & m if c else x
                        cf = None
                    else:
                        r = ((x >> c) | (x << (bits - c))) & m if c else x
                        cf = None
                    want = _write_back(a, r, bits) if (c or bits == 32) else a
                    if bits == 32 and not c:
                        want = a & 0xFFFF_FFFF
                    what = f"{op} r{bits}, {'cl' if by_cl else 'imm'}={count}"
                    run.expect(what, run.get(GPR64[d].name), want, code)
                    if cf is not None:
                        run.expect(what + " CF", run.flags() & CF, cf, code)


def _muldiv(run: _Runner):
    rng = run.rng
    for bits in (64, 32):
        m = (1 << bits) - 1
        R = _REGS[bits]
        for op in ("mul", "imul1", "div", "idiv", "imul2", "imul3", "neg", "not",
                   "inc", "dec"):
            for _ in range(run.inputs):
                s, = run.regs(1, avoid=(0, 2))
                a, x = _rand(rng) & m, _rand(rng) & m
                regs = {"rax": a, GPR64[s].name: x, "rflags": 0x2 | rng.getrandbits(1)}
                b = Builder()
                checks = []
                if op in ("mul", "imul1"):
                    getattr(b, op[:4] if op == "imul1" else op)(R[s])
                    if op == "mul":
                        full = a * x
                    else:
                        full = (_sx(a, bits) * _sx(x, bits)) & ((1 << 2 * bits) - 1)
                    lo, hi = full & m, full >> bits
                    over = (hi != 0) if op == "mul" else (_sx(lo, bits) != _sx(a, bits) * _sx(x, bits))
                    checks = [("rax", lo), ("rdx", hi), ("cf", CF | OF if over else 0)]
                elif op in ("div", "idiv"):
                    if op == "div":
                        x = x or 1
                        hi = rng.randrange(0, x)
                        regs["rdx"] = hi
                        regs[GPR64[s].name] = x
                        n = (hi << bits) | a
                        q, r = divmod(n, x)
                    else:
                        sx = _sx(x, bits) or 1
                        if sx == -1 and _sx(a, bits) == -(1 << (bits - 1)):
                            a ^= 1
                        regs["rax"] = a
                        regs[GPR64[s].name] = sx & m
                        regs["rdx"] = m if _sx(a, bits) < 0 else 0
                        num = _sx(a, bits)
                        q = abs(num) // abs(sx) * (1 if (num < 0) == (sx < 0) else -1)
                        r = num - q * sx
                        q, r = q & m, r & m
                    getattr(b, op)(R[s])
                    checks = [("rax", q), ("rdx", r)]
                elif op in ("imul2", "imul3"):
                    d, = run.regs(1, avoid=(s,))
                    regs[GPR64[d].name] = a
                    if op == "imul2":
                        b.imul(R[d], R[s])
                        prod = _sx(a, bits) * _sx(x, bits)
                    else:
                        imm = _sx(_rand(rng), 32 if rng.random() < 0.5 else 8)
                        b.imul(R[d], R[s], imm)
                        prod = _sx(x, bits) * imm
                    over = _sx(prod & m, bits) != prod
                    checks = [(GPR64[d].name, prod & m), ("cf", CF | OF if over else 0)]
                else:
                    getattr(b, "not_" if op == "not" else op)(R[s])
                    if op == "neg":
                        r = (-x) & m
                        f = _szp(r, bits) | (CF if x else 0) | (OF if x == 1 << (bits - 1) else 0)
                    elif op == "not":
                        r, f = ~x & m, None
                    else:
                        r = (x + (1 if op == "inc" else -1)) & m
                        over = (r == 1 << (bits - 1)) if op == "inc" else (x == 1 << (bits - 1))
                        f = _szp(r, bits) | (OF if over else 0) | (regs["rflags"] & CF)
                    checks = [(GPR64[s].name, r)] + ([("flags", f)] if f is not None else [])
                code = run.run(b, regs)
                for name, want in checks:
                    if name == "cf":
                        got = run.flags() & (CF | OF)
                    elif name == "flags":
                        got = run.flags() & ARITH_FLAGS
                    else:
                        got = run.get(name) & m
                    run.expect(f"{op} r{bits} ({name})", got, want, code)


def _conditions(run: _Runner):
    """cmp then setcc / cmovcc / jcc for every condition."""
    rng = run.rng
    for cc in CC_NAMES:
        for kind in ("set", "cmov64", "cmov32", "j"):
            for _ in range(run.inputs):
                x, y, d, s = run.regs(4)
                a, bv = _rand(rng), _rand(rng)
                if rng.random() < 0.3:
                    bv = a
                old, src = _rand(rng), _rand(rng)
                regs = {GPR64[x].name: a, GPR64[y].name: bv,
                        GPR64[d].name: old, GPR64[s].name: src}
                _, flags = alu_model("cmp", a, bv, 64)
                taken = condition(cc, flags)
                b = Builder()
                b.cmp(GPR64[x], GPR64[y])
                if kind == "set":
                    b.set(cc, GPR8[d])
                    want = (old & ~0xFF & M64) | int(taken)
                elif kind.startswith("cmov"):
                    bits = int(kind[4:])
                    b.cmov(cc, _REGS[bits][d], _REGS[bits][s])
                    want = (src if taken else old) & ((1 << bits) - 1)
                else:
                    yes, end = b.label(), b.label()
                    b.j(cc, yes)
                    b.mov(GPR64[d], 0)
                    b.jmp(end)
                    b.bind(yes)
                    b.mov(GPR64[d], 1)
                    b.bind(end)
                    want = int(taken)
                code = run.run(b, regs)
                run.expect(f"{kind}{cc}", run.get(GPR64[d].name), want, code)


def _memory(run: _Runner):
    """Loads, stores, extensions, lea, xchg, push/pop, absolute addresses."""
    rng = run.rng
    for kind in ("load64", "load32", "load8", "store64", "store32", "store8",
                 "storeimm", "movzx8", "movzx16", "movsx8", "movsx16", "movsxd",
                 "lea", "xchg", "absolute", "pushpop", "pushimm", "pushmem",
                 "movimm", "callret", "jmpreg"):
        for _ in range(run.inputs):
            _memory_case(run, rng, kind)


def _memory_case(run, rng, kind):
    d, base, index = run.regs(3)
    scale = rng.choice((1, 2, 4, 8))
    idx = rng.randrange(0, 0x40)
    disp = rng.randrange(-0x80, 0x100)
    off = 0x800 + disp + idx * scale
    mem = bytearray(rng.getrandbits(8) for _ in range(DATA_SIZE))
    regs = {GPR64[base].name: DATA + 0x800, GPR64[index].name: idx,
            GPR64[d].name: _rand(rng)}
    m = lambda size: Mem(GPR64[base], GPR64[index], scale, disp, size)  # noqa: E731
    word = lambda n: int.from_bytes(mem[off:off + n], "little")  # noqa: E731
    b = Builder()
    old = regs[GPR64[d].name]
    target, want = GPR64[d].name, None
    if kind.startswith("load"):
        bits = int(kind[4:])
        b.mov(_REGS[bits][d], m(bits))
        want = _write_back(old, word(bits // 8), bits)
    elif kind.startswith("store"):
        bits = 64 if kind == "storeimm" else int(kind[5:])
        if kind == "storeimm":
            imm = _sx(_rand(rng), 32)
            b.mov(m(64), imm)
            value = imm & M64
        else:
            b.mov(m(bits), _REGS[bits][d])
            value = old & ((1 << bits) - 1)
        code = run.run(b, regs, bytes(mem))
        got = int.from_bytes(run.emu.read(DATA + off, bits // 8), "little")
        run.expect(kind, got, value, code)
        return
    elif kind.startswith(("movzx", "movsx")) and kind != "movsxd":
        bits = int(kind[5:])
        dst_bits = rng.choice((32, 64))
        getattr(b, kind[:5])(_REGS[dst_bits][d], m(bits))
        v = word(bits // 8)
        if kind.startswith("movsx"):
            v = _sx(v, bits)
        want = v & ((1 << dst_bits) - 1)
    elif kind == "movsxd":
        b.movsxd(GPR64[d], m(32))
        want = _sx(word(4), 32) & M64
    elif kind == "lea":
        b.lea(GPR64[d], m(None))
        want = DATA + off
    elif kind == "xchg":
        b.xchg(m(64), GPR64[d])
        code = run.run(b, regs, bytes(mem))
        got = int.from_bytes(run.emu.read(DATA + off, 8), "little")
        run.expect("xchg mem", got, old, code)
        run.expect("xchg reg", run.get(target), word(8), code)
        return
    elif kind == "absolute":
        b.mov(GPR64[d], Mem(None, None, 1, DATA + off, 64))
        want = word(8)
    elif kind == "pushpop":
        s, = run.regs(1, avoid=(d,))
        regs[GPR64[s].name] = _rand(rng)
        b.push(GPR64[s])
        b.pop(GPR64[d])
        want = regs[GPR64[s].name]
    elif kind == "pushimm":
        imm = _sx(_rand(rng), 32 if rng.random() < 0.5 else 8)
        b.push(imm)
        b.pop(GPR64[d])
        want = imm & M64
    elif kind == "pushmem":
        b.push(m(64))
        b.pop(GPR64[d])
        want = word(8)
    elif kind == "movimm":
        v = _rand(rng)
        bits = rng.choice((64, 32, 8))
        if bits != 64:
            v &= (1 << bits) - 1
        b.mov(_REGS[bits][d], v)
        want = _write_back(old, v, bits)
    elif kind == "callret":
        sub = b.label()
        b.call(sub)
        after = b.here()
        b.jmp(b.get_label("end") if "end" in b._labels else b.label("end"))
        b.bind(sub)
        b.pop(GPR64[d])
        b.push(GPR64[d])
        b.ret()
        b.bind("end")
        code = run.run(b, regs)
        want = run.emu.code_address + after.pos
        run.expect("call/ret", run.get(target), want, code)
        return
    elif kind == "jmpreg":
        end = b.label()
        b.lea(GPR64[base], Mem(RIP, label=end))
        b.mov(GPR64[d], 1)
        b.jmp(GPR64[base])
        b.mov(GPR64[d], 2)
        b.bind(end)
        want = 1
    code = run.run(b, regs, bytes(mem))
    run.expect(kind, run.get(target), want, code)


def check_semantics(report, inputs: int = 200, seed: int = 7):
    run = _Runner(report, inputs, seed)
    for family in (_alu, _store_alu, _shifts, _muldiv, _conditions, _memory):
        family(run)
    for family in _EXTRA_FAMILIES:
        family(run)


# ------------------------------------------------- 8-bit and moffs forms
def shift_model(op, x, count, bits):
    """(result, CF or None where it is undefined) of a shift or rotate of
    the ``bits``-bit value ``x`` by ``count`` (masked as the CPU masks it:
    to 5 bits, 6 for 64-bit operands; 8-bit rotates then turn count % 8)."""
    m = (1 << bits) - 1
    c = count & (63 if bits == 64 else 31)
    x &= m
    if c == 0:
        return x, None
    if op == "shl":
        return (x << c) & m, (x >> (bits - c)) & 1 if c <= bits else None
    if op == "shr":
        return x >> c, (x >> (c - 1)) & 1 if c <= bits else None
    if op == "sar":
        sx = _sx(x, bits)
        return (sx >> c) & m, (sx >> min(c - 1, bits - 1)) & 1
    turn = c % bits
    if op == "rol":
        r = ((x << turn) | (x >> (bits - turn))) & m
        return r, r & 1
    r = ((x >> turn) | (x << (bits - turn))) & m
    return r, r >> (bits - 1)


def _byte_shifts(run: _Runner):
    """shl/shr/sar/rol/ror on r8 and m8 by 1, by imm and by cl (result, CF)."""
    rng = run.rng
    for op in ("shl", "shr", "sar", "rol", "ror"):
        for dst_kind in ("reg", "mem"):
            for by in ("one", "imm", "cl"):
                for _ in range(run.inputs):
                    d, base = run.regs(2, avoid=(1,))
                    a = _rand(rng)
                    count = 1 if by == "one" else (
                        rng.randrange(0, 256) if rng.random() < 0.3 else rng.randrange(0, 10))
                    regs = {GPR64[d].name: a, GPR64[base].name: DATA}
                    mem = None
                    if dst_kind == "reg":
                        dst = GPR8[d]
                    else:
                        dst = Mem(GPR64[base], None, 1, 0x40, 8)
                        buf = bytearray(DATA_SIZE)
                        buf[0x40] = a & 0xFF
                        mem = bytes(buf)
                    b = Builder()
                    if by == "cl":
                        regs["rcx"] = count
                        getattr(b, op)(dst, GPR8[1])
                    else:
                        getattr(b, op)(dst, count)
                    code = run.run(b, regs, mem)
                    r, cf = shift_model(op, a, count, 8)
                    what = f"{op} {dst_kind}8, {by}={count}"
                    if dst_kind == "reg":
                        run.expect(what, run.get(GPR64[d].name), _write_back(a, r, 8), code)
                    else:
                        run.expect(what, run.emu.read(DATA + 0x40, 1)[0], r, code)
                    if cf is not None:
                        run.expect(what + " CF", run.flags() & CF, cf, code)


def byte_muldiv_model(op, ax, src):
    """The new AX and CF|OF of an 8-bit mul/imul, or the new AX of div/idiv
    (AL = quotient, AH = remainder); None when the CPU raises #DE (divide
    by zero, or a quotient that does not fit 8 bits)."""
    al = ax & 0xFF
    if op == "mul":
        prod = al * src
        return prod, CF | OF if prod >> 8 else 0
    if op == "imul":
        prod = _sx(al, 8) * _sx(src, 8)
        return prod & 0xFFFF, 0 if -0x80 <= prod <= 0x7F else CF | OF
    if op == "div":
        if src == 0 or ax // src > 0xFF:
            return None
        q, r = divmod(ax, src)
        return r << 8 | q, None
    num, den = _sx(ax, 16), _sx(src, 8)
    if den == 0:
        return None
    q = abs(num) // abs(den) * (1 if (num < 0) == (den < 0) else -1)
    if not -0x80 <= q <= 0x7F:
        return None
    r = num - q * den
    return (r & 0xFF) << 8 | (q & 0xFF), None


def _fitting_dividend(rng, op, divisor):
    """An AX whose quotient by the 8-bit ``divisor`` fits AL (no #DE)."""
    if op == "div":
        return rng.randrange(0, divisor << 8)
    bound = 0x40 * abs(_sx(divisor, 8))
    return rng.randrange(-bound, bound) & 0xFFFF


def _byte_unary(run: _Runner):
    """mul/imul/div/idiv (AX layout, CF/OF, divide faults) and
    neg/not/inc/dec on r8 and m8."""
    from unicorn import UcError
    rng = run.rng
    for op in ("mul", "imul", "div", "idiv", "neg", "not", "inc", "dec"):
        for src_kind in ("reg", "mem"):
            for _ in range(run.inputs):
                s, base = run.regs(2, avoid=(0, 2))
                a, x = _rand(rng), _rand(rng) & 0xFF
                if op in ("div", "idiv") and rng.random() < 0.7:
                    x = x or 3          # mostly quotients that fit
                    a = (a & ~0xFFFF & M64) | _fitting_dividend(rng, op, x)
                flags_in = 0x2 | rng.getrandbits(1)
                regs = {"rax": a, GPR64[s].name: x, GPR64[base].name: DATA,
                        "rdx": _rand(rng), "rflags": flags_in}
                if src_kind == "reg":
                    operand, mem = GPR8[s], None
                else:
                    operand = Mem(GPR64[base], None, 1, 0x81, 8)
                    buf = bytearray(DATA_SIZE)
                    buf[0x81] = x
                    mem = bytes(buf)
                b = Builder()
                getattr(b, "not_" if op == "not" else op)(operand)
                what = f"{op} {src_kind}8"
                if op in ("mul", "imul", "div", "idiv"):
                    want = byte_muldiv_model(op, a & 0xFFFF, x)
                    if want is None:
                        code, vectors = _faults(run, b, regs, mem)
                        if vectors != [0]:
                            run.report.mismatches.append(
                                f"unicorn {what}: the model raises #DE (vector 0), "
                                f"Unicorn raised {vectors} (code {code.hex()})")
                        continue
                    code = b.finish(run.emu.code_address)
                    try:
                        run.run(b, regs, mem)
                    except UcError as exc:
                        run.report.mismatches.append(f"unicorn {what}: faults ({exc}), "
                                                     f"the model does not (code {code.hex()})")
                        _reset_emulator(run)
                        continue
                    new_ax, fl = want
                    run.expect(what + " rax", run.get("rax"), (a & ~0xFFFF & M64) | new_ax, code)
                    run.expect(what + " rdx untouched", run.get("rdx"), regs["rdx"], code)
                    if fl is not None:
                        run.expect(what + " CF/OF", run.flags() & (CF | OF), fl, code)
                    continue
                code = run.run(b, regs, mem)
                if op == "neg":
                    r = -x & 0xFF
                    f = _szp(r, 8) | (CF if x else 0) | (OF if x == 0x80 else 0)
                elif op == "not":
                    r, f = ~x & 0xFF, None
                else:
                    r = (x + (1 if op == "inc" else -1)) & 0xFF
                    over = r == 0x80 if op == "inc" else x == 0x80
                    f = _szp(r, 8) | (OF if over else 0) | (flags_in & CF)
                if src_kind == "reg":
                    run.expect(what, run.get(GPR64[s].name), _write_back(x, r, 8), code)
                else:
                    run.expect(what, run.emu.read(DATA + 0x81, 1)[0], r, code)
                if f is not None:
                    run.expect(what + " flags", run.flags() & ARITH_FLAGS, f, code)


MOFFS_HIGH = 0x7FFF_0000_0000     # a mapped page above 4 GiB for moffs


def _faults(run: _Runner, b: Builder, regs: dict, memory):
    """Run a snippet that should fault in a fresh Unicorn instance: after a
    CPU exception Unicorn's state is left half-delivered (later faults are
    not reported), so the shared instance never runs one.  Returns the code
    and the interrupt vectors raised."""
    from unicorn import UC_HOOK_INTR, UcError

    from .. import x86_64 as arch
    emu = Emulator(arch)
    emu.map(DATA, DATA_SIZE)
    vectors = []

    def on_interrupt(uc, vector, _user):
        vectors.append(vector)
        uc.emu_stop()

    emu._uc.hook_add(UC_HOOK_INTR, on_interrupt)
    code = b.finish(emu.code_address)
    for name in GPR64:
        emu._uc.reg_write(emu.regs[name.name], regs.get(name.name, 0))
    emu._uc.reg_write(emu.regs["rsp"], emu.stack_top)
    emu._uc.reg_write(emu.regs["rflags"], regs.get("rflags", 0x2))
    if memory is not None:
        emu._uc.mem_write(DATA, memory)
    emu._uc.mem_write(emu.code_address, code)
    try:
        emu._uc.emu_start(emu.code_address, emu.code_address + len(code), count=1000)
    except UcError:
        vectors.append(-1)
    run.report.unicorn_runs += 1
    return code, vectors


def _reset_emulator(run: _Runner):
    """A fresh shared instance after an unexpected fault (see _faults)."""
    fresh = _Runner(run.report, run.inputs)
    run.emu, run.uc, run.ids = fresh.emu, fresh.uc, fresh.ids
    run.emu.map(MOFFS_HIGH, 0x1000)


def _byte_moves(run: _Runner):
    """xchg r8, r8 and xchg m8, r8; movsxd r32 (a 32-bit move that
    zero-extends); movabs loads and stores of al/eax/rax at 64-bit
    absolute addresses (below 4 GiB and above)."""
    rng = run.rng
    run.emu.map(MOFFS_HIGH, 0x1000)
    for kind in ("xchg8", "xchg8mem", "movsxd32", "movsxd32mem",
                 "moffsload", "moffsstore"):
        for _ in range(run.inputs):
            d, s, base = run.regs(3)
            a, x = _rand(rng), _rand(rng)
            regs = {GPR64[d].name: a, GPR64[s].name: x, GPR64[base].name: DATA}
            buf = bytearray(rng.getrandbits(8) for _ in range(DATA_SIZE))
            b = Builder()
            if kind == "xchg8":
                b.xchg(GPR8[d], GPR8[s])
                code = run.run(b, regs)
                run.expect(kind + " 1", run.get(GPR64[d].name), _write_back(a, x, 8), code)
                run.expect(kind + " 2", run.get(GPR64[s].name), _write_back(x, a, 8), code)
            elif kind == "xchg8mem":
                b.xchg(Mem(GPR64[base], None, 1, 0x33, 8), GPR8[d])
                old = buf[0x33]
                code = run.run(b, regs, bytes(buf))
                run.expect(kind + " mem", run.emu.read(DATA + 0x33, 1)[0], a & 0xFF, code)
                run.expect(kind + " reg", run.get(GPR64[d].name), _write_back(a, old, 8), code)
            elif kind.startswith("movsxd"):
                if kind == "movsxd32":
                    b.movsxd(GPR32[d], GPR32[s])
                    v = x
                else:
                    b.movsxd(GPR32[d], Mem(GPR64[base], None, 1, 0x20, 32))
                    v = int.from_bytes(buf[0x20:0x24], "little")
                code = run.run(b, regs, bytes(buf))
                run.expect(kind, run.get(GPR64[d].name), v & 0xFFFF_FFFF, code)
            else:
                bits = rng.choice((8, 32, 64))
                n = bits // 8
                high = rng.random() < 0.5
                where = (MOFFS_HIGH if high else DATA) + rng.randrange(0, 0x100)
                acc = _REGS[bits][0]
                regs["rax"] = a
                if high:
                    old = rng.getrandbits(64).to_bytes(8, "little")
                    run.emu.write(where, old)
                else:
                    old = bytes(buf[where - DATA:where - DATA + 8])
                if kind == "moffsload":
                    b.movabs(acc, Mem(None, None, 1, where, bits))
                    code = run.run(b, regs, bytes(buf))
                    value = int.from_bytes(old[:n], "little")
                    run.expect(f"movabs r{bits}, [{where:#x}]", run.get("rax"),
                               _write_back(a, value, bits), code)
                else:
                    b.movabs(Mem(None, None, 1, where, bits), acc)
                    code = run.run(b, regs, bytes(buf))
                    got = run.emu.read(where, 8)
                    want = (a & ((1 << bits) - 1)).to_bytes(n, "little") + old[n:]
                    run.expect(f"movabs [{where:#x}], r{bits}",
                               int.from_bytes(got, "little"), int.from_bytes(want, "little"), code)


def _no_index(run: _Runner):
    """Loads through [base + riz*scale + disp] and [riz*scale + disp]: the
    scale of a missing index changes nothing."""
    from .regs import RIZ
    rng = run.rng
    for _ in range(run.inputs):
        d, base = run.regs(2)
        scale = rng.choice((1, 2, 4, 8))
        disp = rng.randrange(-0x80, 0x100)
        buf = bytearray(rng.getrandbits(8) for _ in range(DATA_SIZE))
        based = rng.random() < 0.7
        b = Builder()
        if based:
            b.mov(GPR64[d], Mem(GPR64[base], RIZ, scale, disp, 64))
            off = 0x800 + disp
        else:
            b.mov(GPR64[d], Mem(None, RIZ, scale, DATA + 0x800 + disp, 64))
            off = 0x800 + disp
        code = run.run(b, {GPR64[base].name: DATA + 0x800}, bytes(buf))
        run.expect(f"mov r64, riz*{scale}", run.get(GPR64[d].name),
                   int.from_bytes(buf[off:off + 8], "little"), code)


_EXTRA_FAMILIES = (_byte_shifts, _byte_unary, _byte_moves, _no_index)
