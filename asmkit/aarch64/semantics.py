"""Unicorn half of the proof: run each form on random state, compare with a
plain Python model of what the Builder call means.

The model reads the *call* (method and operands), Unicorn runs the *bytes*,
so an encoding slip shows up as a difference in registers, NZCV or memory.
All x0-x30, sp and NZCV are compared after every run; loads and stores
compare a memory window too (writeback included).
"""

import random

from .encode import Builder
from .operands import (
    COND, ExtendedReg, Imm12, Mem, RegOffset, ShiftedReg, OFFSET, POST, PRE,
)
from .regs import SP, WZR, XZR, W, X

CODE = 0x10000
DATA = 0x200000
DATA_SIZE = 0x40000
WINDOW = DATA + 0x20000          # loads/stores land in [WINDOW, WINDOW + 512)
M64 = (1 << 64) - 1
EDGES = [0, 1, 2, M64, M64 - 1, 1 << 63, (1 << 63) - 1, 0x7FFFFFFF, 0x80000000,
         0xFFFFFFFF, 0x100000000, 0xFFFF, 0x8000]

__all__ = ["Machine", "prove_semantics", "model"]


# ---- the model ----------------------------------------------------------

class State:
    """x0-x30, sp, nzcv (as 4 bits NZCV) and a memory window."""

    __slots__ = ("x", "sp", "nzcv", "mem", "pc")

    def __init__(self, x, sp, nzcv, mem, pc=CODE):
        self.x, self.sp, self.nzcv, self.mem, self.pc = list(x), sp, nzcv, bytearray(mem), pc

    def get(self, r):
        if r.is_zr:
            return 0
        v = self.sp if r.is_sp else self.x[r.num]
        return v & ((1 << r.bits) - 1)

    def set(self, r, v):
        v &= (1 << r.bits) - 1
        if r.is_sp:
            self.sp = v
        elif not r.is_zr:
            self.x[r.num] = v

    def load(self, addr, size):
        off = addr - WINDOW
        return int.from_bytes(self.mem[off:off + size], "little")

    def store(self, addr, size, v):
        off = addr - WINDOW
        self.mem[off:off + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def sext(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def shift(v, kind, amount, bits):
    m = (1 << bits) - 1
    v &= m
    if kind in (0, "lsl"):
        return (v << amount) & m
    if kind in (1, "lsr"):
        return v >> amount
    if kind in (2, "asr"):
        return (sext(v, bits) >> amount) & m
    return ((v >> amount) | (v << (bits - amount))) & m


def extend(v, ext, bits):
    width = (8, 16, 32, 64)[ext & 3]
    v &= (1 << width) - 1
    if ext >= 4:
        v = sext(v, width)
    return v & ((1 << bits) - 1)


def add_with_carry(x, y, carry, bits):
    m = (1 << bits) - 1
    usum = (x & m) + (y & m) + carry
    ssum = sext(x, bits) + sext(y, bits) + carry
    res = usum & m
    n = res >> (bits - 1)
    z = res == 0
    c = usum != res
    v = sext(res, bits) != ssum
    return res, (n << 3) | (z << 2) | (c << 1) | v


def cond_holds(code, nzcv):
    n, z, c, v = nzcv >> 3 & 1, nzcv >> 2 & 1, nzcv >> 1 & 1, nzcv & 1
    base = code >> 1
    result = (z == 1, c == 1, n == 1, v == 1, c == 1 and z == 0, n == v,
              n == v and z == 0, True)[base]
    if code & 1 and code != 15:
        result = not result
    return result


def _operand2(s, src, bits):
    if isinstance(src, int):
        return src & ((1 << bits) - 1)
    if isinstance(src, Imm12):
        return src.value
    if isinstance(src, ShiftedReg):
        return shift(s.get(src.reg), src.shift, src.amount, bits)
    if isinstance(src, ExtendedReg):
        return (extend(s.get(src.reg), src.extend, bits) << src.amount) & ((1 << bits) - 1)
    return s.get(src)


def _addsub(s, rd, rn, src, sub, flags):
    bits = rd.bits
    if isinstance(src, int) and src < 0:    # LLVM's add #-n == sub #n
        sub, src = not sub, -src
    y = _operand2(s, src, bits)
    if sub:
        res, nzcv = add_with_carry(s.get(rn), ~y, 1, bits)
    else:
        res, nzcv = add_with_carry(s.get(rn), y, 0, bits)
    s.set(rd, res)
    if flags:
        s.nzcv = nzcv


_LOGIC = {"and_": (lambda a, b: a & b, False, False), "ands": (lambda a, b: a & b, False, True),
          "orr": (lambda a, b: a | b, False, False), "eor": (lambda a, b: a ^ b, False, False),
          "bic": (lambda a, b: a & b, True, False), "bics": (lambda a, b: a & b, True, True),
          "orn": (lambda a, b: a | b, True, False), "eon": (lambda a, b: a ^ b, True, False)}


def _logic(s, name, rd, rn, src):
    fn, invert, flags = _LOGIC[name]
    bits = rd.bits
    m = (1 << bits) - 1
    y = _operand2(s, src, bits)
    if invert:
        y = ~y & m
    res = fn(s.get(rn), y) & m
    s.set(rd, res)
    if flags:
        s.nzcv = ((res >> (bits - 1)) << 3) | ((res == 0) << 2)


def _zr(r):
    return XZR if r.bits == 64 else WZR


def _address(s, addr, size):
    """(effective address, new base value or None) for a memory operand."""
    if isinstance(addr, RegOffset):
        idx = s.get(addr.index)
        ext = {"uxtw": 2, "lsl": 3, "sxtw": 6, "sxtx": 7}[addr.extend]
        amt = (size.bit_length() - 1) if addr.amount else 0
        return (s.get(addr.base) + (extend(idx, ext, 64) << amt)) & M64, None
    base = s.get(addr.base)
    if addr.mode == OFFSET:
        return (base + addr.offset) & M64, None
    new = (base + addr.offset) & M64
    return (new if addr.mode == PRE else base), new


_LD = {"ldr": (None, False), "ldrb": (1, False), "ldrh": (2, False), "ldrsb": (1, True),
       "ldrsh": (2, True), "ldrsw": (4, True), "ldur": (None, False), "ldurb": (1, False),
       "ldurh": (2, False), "ldursb": (1, True), "ldursh": (2, True), "ldursw": (4, True)}
_ST = {"str": None, "strb": 1, "strh": 2, "stur": None, "sturb": 1, "sturh": 2}


def model(s, method, args):
    """Apply the meaning of ``Builder.method(*args)`` to state ``s``.

    Returns the address of the next instruction to run when the call is a
    branch (None otherwise).
    """
    a = args
    if method in ("add", "adds", "sub", "subs"):
        _addsub(s, a[0], a[1], a[2], method.startswith("sub"), method.endswith("s"))
    elif method in ("cmp", "cmn"):
        _addsub(s, _zr(a[0]), a[0], a[1], method == "cmp", True)
    elif method in ("neg", "negs"):
        _addsub(s, a[0], _zr(a[0]), a[1], True, method == "negs")
    elif method in _LOGIC:
        _logic(s, method, *a)
    elif method == "tst":
        _logic(s, "ands", _zr(a[0]), a[0], a[1])
    elif method == "mvn":
        _logic(s, "orn", a[0], _zr(a[0]), a[1])
    elif method == "mov":
        s.set(a[0], a[1] if isinstance(a[1], int) else s.get(a[1]))
    elif method in ("movz", "movn", "movk"):
        rd, imm, sh = a
        if method == "movz":
            s.set(rd, imm << sh)
        elif method == "movn":
            s.set(rd, ~(imm << sh))
        else:
            s.set(rd, (s.get(rd) & ~(0xFFFF << sh)) | (imm << sh))
    elif method in ("lsl", "lsr", "asr", "ror"):
        rd, rn, src = a
        amt = src if isinstance(src, int) else s.get(src) % rd.bits
        s.set(rd, shift(s.get(rn), method, amt, rd.bits))
    elif method in ("mul", "mneg", "madd", "msub"):
        rd, rn, rm = a[:3]
        prod = s.get(rn) * s.get(rm)
        acc = s.get(a[3]) if len(a) == 4 else 0
        s.set(rd, acc - prod if method in ("msub", "mneg") else acc + prod)
    elif method in ("smulh", "umulh"):
        rd, rn, rm = a
        if method == "smulh":
            s.set(rd, (sext(s.get(rn), 64) * sext(s.get(rm), 64)) >> 64)
        else:
            s.set(rd, (s.get(rn) * s.get(rm)) >> 64)
    elif method in ("sdiv", "udiv"):
        rd, rn, rm = a
        bits = rd.bits
        n, m = s.get(rn), s.get(rm)
        if m == 0:
            q = 0
        elif method == "udiv":
            q = n // m
        else:
            sn, sm = sext(n, bits), sext(m, bits)
            q = abs(sn) // abs(sm) * (1 if (sn < 0) == (sm < 0) else -1)
        s.set(rd, q)
    elif method in ("csel", "csinc", "csinv", "csneg"):
        rd, rn, rm, c = a
        if cond_holds(COND[c], s.nzcv):
            s.set(rd, s.get(rn))
        else:
            v = s.get(rm)
            s.set(rd, {"csel": v, "csinc": v + 1, "csinv": ~v, "csneg": -v}[method])
    elif method in ("cset", "csetm"):
        hit = cond_holds(COND[a[1]], s.nzcv)
        s.set(a[0], (1 if method == "cset" else -1) if hit else 0)
    elif method in ("cinc", "cinv", "cneg"):
        rd, rn, c = a
        v = s.get(rn)
        if cond_holds(COND[c], s.nzcv):
            v = {"cinc": v + 1, "cinv": ~v, "cneg": -v}[method]
        s.set(rd, v)
    elif method in _LD:
        rt, addr = a
        size, signed = _LD[method]
        size = size or rt.bits // 8
        ea, new = _address(s, addr, size)
        v = s.load(ea, size)
        if signed:
            v = sext(v, 8 * size)
        if new is not None:
            s.set(addr.base, new)
        s.set(rt, v)
    elif method in _ST:
        rt, addr = a
        size = _ST[method] or rt.bits // 8
        ea, new = _address(s, addr, size)
        s.store(ea, size, s.get(rt))
        if new is not None:
            s.set(addr.base, new)
    elif method in ("ldp", "stp"):
        rt, rt2, addr = a
        size = rt.bits // 8
        ea, new = _address(s, addr, size)
        if method == "ldp":
            v1, v2 = s.load(ea, size), s.load(ea + size, size)
            if new is not None:
                s.set(addr.base, new)
            s.set(rt, v1)
            s.set(rt2, v2)
        else:
            s.store(ea, size, s.get(rt))
            s.store(ea + size, size, s.get(rt2))
            if new is not None:
                s.set(addr.base, new)
    elif method in ("b", "bl"):
        if method == "bl":
            s.x[30] = s.pc + 4
        return a[0]
    elif method == "b_cond":
        return a[1] if cond_holds(COND[a[0]], s.nzcv) else None
    elif method in ("cbz", "cbnz"):
        return a[1] if (s.get(a[0]) == 0) == (method == "cbz") else None
    elif method in ("tbz", "tbnz"):
        return a[2] if ((s.get(a[0]) >> a[1]) & 1 == 0) == (method == "tbz") else None
    elif method in ("br", "blr", "ret"):
        target = s.get(a[0]) if a else s.x[30]
        if method == "blr":
            s.x[30] = s.pc + 4
        return target
    elif method == "adr":
        s.set(a[0], a[1])
    elif method == "adrp":
        s.set(a[0], a[1] & ~0xFFF)
    else:
        raise NotImplementedError(method)
    return None


# ---- Unicorn ------------------------------------------------------------

class Machine:
    """One Unicorn instance, code at CODE and a data area around WINDOW."""

    def __init__(self):
        import unicorn
        from unicorn import arm64_const as c
        self.uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
        self.uc.mem_map(CODE, 0x10000)
        self.uc.mem_map(DATA, DATA_SIZE)
        self.ids = [getattr(c, f"UC_ARM64_REG_X{i}") for i in range(31)]
        self.ids += [c.UC_ARM64_REG_SP, c.UC_ARM64_REG_NZCV]
        # The public batch calls build ctypes objects per register per call,
        # which dominates a 1-instruction run; reuse one array when we can.
        import ctypes
        n = len(self.ids)
        self._c_ids = (ctypes.c_int * n)(*self.ids)
        self._c_vals = (ctypes.c_uint64 * n)()
        base = ctypes.addressof(self._c_vals)
        self._c_ptrs = (ctypes.c_void_p * n)(*(base + 8 * i for i in range(n)))
        self._c_n = ctypes.c_int(n)
        self._fast = hasattr(self.uc, "_do_reg_write_batch") and \
            hasattr(self.uc, "_do_reg_read_batch")

    def _write_regs(self, values):
        if self._fast:
            self._c_vals[:] = values
            if self.uc._do_reg_write_batch(self._c_ids, self._c_ptrs, self._c_n) == 0:
                return
        self.uc.reg_write_batch(list(zip(self.ids, values)))

    def _read_regs(self):
        if self._fast and self.uc._do_reg_read_batch(self._c_ids, self._c_ptrs, self._c_n) == 0:
            return list(self._c_vals)
        return list(self.uc.reg_read_batch(self.ids))

    def run(self, code, state):
        uc = self.uc
        # drop translations of the previous snippet: a stale block at the end
        # address would run past it instead of stopping there
        uc.ctl_remove_cache(CODE, CODE + 0x1000)
        uc.mem_write(CODE, code)
        uc.mem_write(WINDOW, bytes(state.mem))
        self._write_regs(state.x + [state.sp, state.nzcv << 28])
        uc.emu_start(CODE, CODE + len(code), count=64)
        vals = self._read_regs()
        out = State(vals[:31], vals[31], vals[32] >> 28 & 15, uc.mem_read(WINDOW, len(state.mem)))
        return out


# ---- random forms -------------------------------------------------------

def _value(rng):
    r = rng.random()
    if r < 0.3:
        v = rng.choice(EDGES)
        return (v + rng.choice((0, 0, 1, -1))) & M64
    if r < 0.45:
        return rng.getrandbits(rng.choice((4, 8, 16, 32)))
    return rng.getrandbits(64)


def _reg(rng, bits, allow31=None, avoid=(28,)):
    """A random register of width ``bits``; sometimes sp/zr where allowed."""
    if allow31 and rng.random() < 0.1:
        return {"zr": XZR, "sp": SP}[allow31].as_bits(bits)
    n = rng.choice([i for i in range(31) if i not in avoid])
    return X[n] if bits == 64 else W[n]


def _random_state(rng):
    return State([_value(rng) for _ in range(31)], _value(rng), rng.getrandbits(4),
                  rng.randbytes(512))


def _forms():
    """(form name, generator(rng, bits) -> (method, args, state fixer))."""
    out = []

    def alu(name, srcs):
        for bits in (64, 32):
            out.append((f"{name} {srcs}/{bits}", name, bits, srcs))

    for name in ("add", "adds", "sub", "subs"):
        for srcs in ("imm", "shifted", "extended"):
            alu(name, srcs)
    for name in ("cmp", "cmn"):
        for srcs in ("imm", "shifted", "extended"):
            alu(name, srcs)
    for name in ("neg", "negs", "mvn"):
        alu(name, "shifted")
    for name in ("and_", "ands", "orr", "eor", "bic", "bics", "orn", "eon", "tst"):
        alu(name, "imm")
        alu(name, "shifted")
    for name in ("lsl", "lsr", "asr", "ror"):
        alu(name, "imm")
        alu(name, "reg")
    for name in ("mul", "mneg", "madd", "msub", "sdiv", "udiv"):
        alu(name, "reg")
    out.append(("smulh reg/64", "smulh", 64, "reg"))
    out.append(("umulh reg/64", "umulh", 64, "reg"))
    for name in ("csel", "csinc", "csinv", "csneg", "cset", "csetm", "cinc", "cinv", "cneg"):
        alu(name, "cond")
    for name in ("movz", "movn", "movk"):
        alu(name, "wide")
    alu("mov", "imm")
    alu("mov", "reg")
    for name, bits in (("ldr", 64), ("ldr", 32), ("str", 64), ("str", 32), ("ldrb", 32),
                       ("strb", 32), ("ldrh", 32), ("strh", 32), ("ldrsb", 64),
                       ("ldrsb", 32), ("ldrsh", 64), ("ldrsh", 32), ("ldrsw", 64)):
        for mode in ("uoff", "unscaled", "pre", "post", "regoff"):
            out.append((f"{name} {mode}/{bits}", name, bits, mode))
    for name, bits in (("ldur", 64), ("stur", 32), ("ldurb", 32), ("sturh", 32), ("ldursw", 64)):
        out.append((f"{name}/{bits}", name, bits, "unscaled"))
    for name in ("ldp", "stp"):
        for bits in (64, 32):
            for mode in ("offset", "pre", "post"):
                out.append((f"{name} {mode}/{bits}", name, bits, mode))
    for name in ("b", "bl", "b_cond", "br", "blr", "ret", "adr", "adrp"):
        out.append((name, name, 64, "branch"))
    for name in ("cbz", "cbnz", "tbz", "tbnz"):
        alu(name, "branch")
    for name, bits in (("ldr", 64), ("ldr", 32), ("ldrsw", 64)):
        out.append((f"{name} literal/{bits}", name, bits, "literal"))
    out.append(("cmp+b.cond", "cmp_bcond", 64, "seq"))
    out.append(("cmp+cset/32", "cmp_cset", 32, "seq"))
    out.append(("mov imm64 sequence", "mov", 64, "wide_any"))
    return out


_SHIFTS = ("lsl", "lsr", "asr")
_EXTS = ("uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx")


def _alu_args(rng, name, bits, srcs, s):
    from .operands import encode_bitmask
    top = bits - 1
    if name == "mov":
        rd = _reg(rng, bits, "zr")
        if srcs == "reg":
            rm = _reg(rng, bits, "zr")
            if rng.random() < 0.2:
                rd, rm = (SP.as_bits(bits), rm) if rng.random() < 0.5 else (rd, SP.as_bits(bits))
                rm = W[rm.num] if rm.bits == 32 and rm.is_gp else rm
                if rd.is_sp and rm.is_zr or rm.is_sp and rd.is_zr:
                    rd = _reg(rng, bits)
            return [rd, rm]
        v = _value(rng) & ((1 << bits) - 1)
        return [_reg(rng, bits), v]
    if name in ("cmp", "cmn", "tst"):
        first = [_reg(rng, bits, "sp" if name != "tst" and srcs in ("imm", "extended") else "zr")]
    elif name in ("neg", "negs", "mvn"):
        first = [_reg(rng, bits, "zr")]
    else:
        rd31 = "sp" if ((name in ("add", "sub") and srcs != "shifted") or
                        (name in ("and_", "orr", "eor", "bic", "orn", "eon") and srcs == "imm")) \
            else "zr"
        rn31 = "sp" if name in ("add", "sub", "adds", "subs") and srcs != "shifted" else "zr"
        first = [_reg(rng, bits, rd31), _reg(rng, bits, rn31)]
    if srcs == "imm" and name in ("add", "adds", "sub", "subs", "cmp", "cmn"):
        v = rng.randrange(0x1000)
        r = rng.random()
        if r < 0.25:
            return first + [Imm12(v, 12)]
        if r < 0.35:    # -(n << 12): LLVM's sub #n, lsl #12
            return first + [-(max(v, 1) << 12)]
        return first + [-v if r < 0.5 and v else v]
    if srcs == "imm" and name in _LOGIC or name == "tst" and srcs == "imm":
        while True:
            v = rng.getrandbits(bits) if rng.random() < 0.2 else _bitmask(rng, bits)
            if encode_bitmask(v, bits) is not None:
                break
        if name in ("bic", "orn", "eon", "bics"):
            v = ~v & ((1 << bits) - 1)
        return first + [v]
    if srcs == "imm" and name in ("lsl", "lsr", "asr", "ror"):
        return first + [rng.randrange(bits)]
    if srcs == "shifted":
        kinds = _SHIFTS + (("ror",) if name in _LOGIC or name in ("tst", "mvn") else ())
        return first + [ShiftedReg(_reg(rng, bits, "zr"), rng.choice(kinds),
                                   rng.choice((0, 1, top, rng.randrange(bits))))]
    if srcs == "extended":
        e = rng.choice(_EXTS)
        rm = _reg(rng, 64 if bits == 64 and e.endswith("x") else 32, "zr")
        return first + [ExtendedReg(rm, e, rng.randrange(5))]
    if srcs == "reg":
        regs = first + [_reg(rng, bits, "zr")]
        if name in ("madd", "msub"):
            regs.append(_reg(rng, bits, "zr"))
        if name == "sdiv" and rng.random() < 0.3:   # INT_MIN / -1 and x / 0
            s.x[regs[1].num if regs[1].is_gp else 0] = 1 << top if rng.random() < 0.5 else 5
            if regs[2].is_gp:
                s.x[regs[2].num] = rng.choice((M64, 0))
        return regs
    if srcs == "cond":
        cond = rng.choice(list(COND)[:16] if name in ("csel", "csinc", "csinv", "csneg")
                          else ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi",
                                "ls", "ge", "lt", "gt", "le"])
        if name in ("cset", "csetm"):
            return [first[0], cond]
        if name in ("cinc", "cinv", "cneg"):
            return [first[0], _reg(rng, bits), cond]
        return first + [_reg(rng, bits, "zr"), cond]
    if srcs == "wide":
        return [first[0], rng.choice((0, 0xFFFF, rng.getrandbits(16))),
                rng.choice((0, 16) if bits == 32 else (0, 16, 32, 48))]
    raise NotImplementedError((name, srcs))


def _bitmask(rng, bits):
    from .operands import decode_bitmask
    while True:
        v = decode_bitmask(rng.getrandbits(1) if bits == 64 else 0, rng.randrange(64),
                           rng.randrange(64), bits)
        if v is not None:
            return v


def _mem_args(rng, name, bits, mode, s):
    """A memory form whose access lands inside the window."""
    size = {"b": 1, "h": 2, "w": 4}.get(name.rstrip("_")[-1], bits // 8) \
        if name not in ("ldr", "str", "ldur", "stur") else bits // 8
    if name in ("ldp", "stp"):
        size = bits // 8
    rt = _reg(rng, bits, "zr")
    base = SP if rng.random() < 0.15 else _reg(rng, 64)
    ea = WINDOW + 64 + rng.randrange(0, 512 - 160, size)
    if name in ("ldp", "stp"):
        off = rng.randrange(-64, 64) * size
        rt2 = _reg(rng, bits, "zr")
        while name == "ldp" and rt2.num == rt.num:
            rt2 = _reg(rng, bits, "zr")
        if mode != "offset" and not base.is_sp:
            while base.num in (rt.num, rt2.num):
                base = _reg(rng, 64)
        m = {"offset": OFFSET, "pre": PRE, "post": POST}[mode]
        s.set(base, ea - (0 if m == POST else off))
        return [rt, rt2, Mem(base, off, m)]
    if mode in ("pre", "post"):
        while base.num == rt.num and not base.is_sp and not rt.is_zr:
            base = _reg(rng, 64)
        off = rng.randrange(-256, 256)
        s.set(base, ea - (off if mode == "pre" else 0))
        return [rt, Mem(base, off, PRE if mode == "pre" else POST)]
    if mode == "uoff":
        off = rng.randrange(0, 0x1000) * size
        s.set(base, ea - off)
        return [rt, Mem(base, off)]
    if mode == "unscaled":
        off = rng.randrange(-256, 256)
        s.set(base, ea - off)
        return [rt, Mem(base, off)]
    e = rng.choice(("lsl", "uxtw", "sxtw", "sxtx"))
    index = _reg(rng, 32 if e in ("uxtw", "sxtw") else 64)
    while index.num == base.num:
        index = _reg(rng, 32 if e in ("uxtw", "sxtw") else 64)
    scale = size.bit_length() - 1
    amount = rng.choice((None, 0, scale)) if scale else rng.choice((None, 0))
    i = rng.randrange(-20, 21) if e in ("sxtw", "sxtx") else rng.randrange(0, 21)
    s.set(index.as_bits(64), (i & M64) | (rng.getrandbits(32) << 32 if index.bits == 32 else 0))
    s.set(base, ea - (i << (scale if amount else 0)))
    return [rt, RegOffset(base, index, e, amount)]


def _snippet(rng, form, method, bits, kind, s):
    """(code, list of (method, args) the model runs in order, start state)."""
    b = Builder(relax=False)
    if kind in ("imm", "shifted", "extended", "reg", "cond", "wide"):
        args = _alu_args(rng, method, bits, kind, s)
        getattr(b, method)(*args)
        return b.finish(CODE), [(method, args)]
    if kind in ("uoff", "unscaled", "pre", "post", "offset", "regoff"):
        args = _mem_args(rng, method, bits, kind, s)
        getattr(b, method)(*args)
        return b.finish(CODE), [(method, args)]
    if kind == "wide_any":
        v = _value(rng) if rng.random() < 0.5 else rng.getrandbits(64)
        rd = _reg(rng, 64)
        b.mov(rd, v)
        return b.finish(CODE), [("mov", [rd, v])]
    if kind == "literal":
        rt = _reg(rng, bits, "zr")
        lit = b.label("lit")
        getattr(b, method)(rt, lit)
        b.b(CODE + 16)
        b.bind(lit)
        b.data(rng.getrandbits(64).to_bytes(8, "little"))
        code = b.finish(CODE)
        v = int.from_bytes(code[8:8 + (4 if bits == 32 or method == "ldrsw" else 8)], "little")
        if method == "ldrsw":
            v = sext(v, 32)
        return code, [("mov", [rt, v & ((1 << rt.bits) - 1)])]
    if kind == "seq":
        c = rng.choice(list(COND)[:16])
        x1, x2 = _reg(rng, bits), _reg(rng, bits)
        if rng.random() < 0.3:
            s.set(x2, s.get(x1))
        if method == "cmp_cset":
            b.cmp(x1, x2)
            b.cset(W[28] if bits == 32 else X[28], c) if c not in ("al", "nv") else b.nop()
            steps = [("cmp", [x1, x2])]
            if c not in ("al", "nv"):
                steps.append(("cset", [W[28] if bits == 32 else X[28], c]))
            return b.finish(CODE), steps
        b.cmp(x1, x2)
        b.b_cond(c, CODE + 12)
        b.movz(X[28], 0x1111)
        return b.finish(CODE), [("cmp", [x1, x2]), ("b_cond", [c, CODE + 12]),
                                ("movz", [X[28], 0x1111, 0])]
    # control flow: the branch jumps over "movz x28, #0x1111" when taken
    target = CODE + 8
    if method in ("adr", "adrp"):
        rd = _reg(rng, 64)
        t = CODE + rng.randrange(-0x100000, 0x100000) if method == "adr" else \
            CODE + rng.randrange(-0x10000, 0x10000) * 0x1000
        getattr(b, method)(rd, t)
        return b.finish(CODE), [(method, [rd, t])]
    if method in ("br", "blr", "ret"):
        rn = _reg(rng, 64)
        s.set(rn, target)
        args = [rn] if method != "ret" or rng.random() < 0.7 else []
        if not args:
            s.x[30] = target
        getattr(b, method)(*args)
    elif method == "b_cond":
        args = [rng.choice(list(COND)[:16]), target]
        b.b_cond(*args)
    elif method in ("cbz", "cbnz"):
        rt = _reg(rng, bits, "zr")
        if rng.random() < 0.4 and rt.is_gp:
            s.set(rt.as_bits(64), 0 if rng.random() < 0.7 else 1 << 32)
        args = [rt, target]
        getattr(b, method)(*args)
    elif method in ("tbz", "tbnz"):
        rt = _reg(rng, bits, "zr")
        args = [rt, rng.randrange(bits), target]
        getattr(b, method)(*args)
    else:
        args = [target]
        getattr(b, method)(target)
    b.movz(X[28], 0x1111)
    return b.finish(CODE), [(method, args), ("movz", [X[28], 0x1111, 0])]


def _run_model(s, steps):
    s.pc = CODE
    skip_to = None
    for method, args in steps:
        if skip_to is not None and s.pc < skip_to:
            s.pc += 4
            continue
        nxt = model(s, method, args)
        if nxt is not None:
            skip_to = nxt
        s.pc += 4
    return s


def _diff(exp, got):
    out = []
    for i in range(31):
        if exp.x[i] != got.x[i]:
            out.append(f"x{i} {got.x[i]:#x} != {exp.x[i]:#x}")
    if exp.sp != got.sp:
        out.append(f"sp {got.sp:#x} != {exp.sp:#x}")
    if exp.nzcv != got.nzcv:
        out.append(f"nzcv {got.nzcv:04b} != {exp.nzcv:04b}")
    if exp.mem != got.mem:
        out.append("memory differs")
    return out


def prove_semantics(report, runs=200, seed=1, progress=None):
    """``runs`` random runs of every form in Unicorn against the model."""
    rng = random.Random(seed)
    machine = Machine()
    forms = _forms()
    for k, (form, method, bits, kind) in enumerate(forms):
        report.unicorn_forms += 1
        for _ in range(runs):
            s = _random_state(rng)
            code, steps = _snippet(rng, form, method, bits, kind, s)
            start = State(s.x, s.sp, s.nzcv, s.mem)
            report.unicorn_runs += 1
            try:
                got = machine.run(code, start)
            except Exception as exc:   # noqa: BLE001 - a fault is a finding
                report.unicorn_failures.append(f"{form}: {steps}: Unicorn: {exc}")
                continue
            exp = _run_model(s, steps)
            bad = _diff(exp, got)
            if bad:
                report.unicorn_failures.append(f"{form}: {steps}: {'; '.join(bad[:3])}")
        if progress:
            progress("unicorn", k + 1, len(forms))
