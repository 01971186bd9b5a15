"""asmkit speed: builder and text assembler vs Keystone, per architecture.

Prints instructions per second for the Builder (method calls + finish),
the text assembler, and Keystone on the same text (one batched call, and
one call per instruction), then the ratios the issue targets
(builder >= 4x Keystone batched, text >= 1x Keystone batched).
"""

from __future__ import annotations

import importlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from asmkit import arch as arches  # noqa: E402

REPEAT = 5


def _best(fn):
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def x86_64_workload(n_blocks):
    """A JIT-like mix: loads/stores, ALU, compare and branch, calls."""
    from asmkit.x86_64 import Builder, Mem
    from asmkit.x86_64.regs import r12, r13, rax, rbx, rcx, rdx, rdi, rsi

    m_state = Mem(rdi, None, 1, 0x18, 64)
    m_stack = Mem(r12, rcx, 8, -8, 64)

    def build():
        b = Builder()
        for _ in range(n_blocks):
            top = b.here()
            b.mov(rax, m_stack)
            b.add(rax, rbx)
            b.mov(m_state, rax)
            b.cmp(rax, 0x1000)
            b.sub(rcx, 1)
            b.lea(rdx, m_stack)
            b.imul(rsi, r13, 12)
            b.xor(rbx, rbx)
            b.jne(top)
            b.shl(rax, 3)
        return b

    text_lines = [
        "mov rax, qword ptr [r12 + rcx*8 - 8]", "add rax, rbx",
        "mov qword ptr [rdi + 0x18], rax", "cmp rax, 0x1000", "sub rcx, 1",
        "lea rdx, [r12 + rcx*8 - 8]", "imul rsi, r13, 0xc", "xor rbx, rbx",
        "jne 0", "shl rax, 3"]
    return build, text_lines, 10


def aarch64_workload(n_blocks):
    """A JIT-like AArch64 mix (26 instructions a block): ldr/str with unsigned
    and register offsets, add/sub register and immediate, logical with
    bitmask immediates, lsl/asr, mul/sdiv/msub, cmp + b.cond to a forward
    and a backward label, csel/cset, a 64-bit constant (movz + 2 movk), bl.

    The text is the same program as Capstone prints it (the constant as
    its three instructions, which is what Keystone accepts), with a fresh
    pair of labels per block; it is returned whole, not as repeated lines.
    """
    from asmkit.aarch64.encode import Builder
    from asmkit.aarch64 import regs as R
    from asmkit.aarch64.operands import mem
    (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14,
     x19, x20, x21) = R.X[:15] + R.X[19:22]

    def build():
        b = Builder()
        func = b.label("func")
        for _ in range(n_blocks):
            top = b.here()
            skip = b.label()
            b.ldr(x0, mem(x19, 16))
            b.ldr(x1, mem(x20, x2, "lsl", 3))
            b.add(x0, x0, x1)
            b.sub(x2, x2, 1)
            b.add(x3, x3, 0x20)
            b.and_(x4, x0, 0xFF)
            b.orr(x5, x1, 0xFFFF0000)
            b.eor(x6, x0, x1)
            b.lsl(x7, x0, 3)
            b.asr(x8, x1, 2)
            b.mul(x9, x0, x1)
            b.sdiv(x10, x0, x1)
            b.msub(x11, x10, x1, x0)
            b.cmp(x0, 0x100)
            b.b_eq(skip)
            b.csel(x12, x0, x1, "lt")
            b.cset(x13, "eq")
            b.str(x0, mem(x21, 0x18))
            b.str(x1, mem(x21, x2, "lsl", 3))
            b.bind(skip)
            b.mov(x14, 0x123456789ABC)
            b.bl(func)
            b.cmp(x2, 0)
            b.b_ne(top)
        b.bind(func)
        b.ret()
        return b

    block = ("top{0}:\nldr x0, [x19, #0x10]\nldr x1, [x20, x2, lsl #3]\n"
             "add x0, x0, x1\nsub x2, x2, #1\nadd x3, x3, #0x20\n"
             "and x4, x0, #0xff\norr x5, x1, #0xffff0000\neor x6, x0, x1\n"
             "lsl x7, x0, #3\nasr x8, x1, #2\nmul x9, x0, x1\nsdiv x10, x0, x1\n"
             "msub x11, x10, x1, x0\ncmp x0, #0x100\nb.eq skip{0}\n"
             "csel x12, x0, x1, lt\ncset x13, eq\nstr x0, [x21, #0x18]\n"
             "str x1, [x21, x2, lsl #3]\nskip{0}:\nmov x14, #0x9abc\n"
             "movk x14, #0x5678, lsl #16\nmovk x14, #0x1234, lsl #32\nbl func\n"
             "cmp x2, #0\nb.ne top{0}")
    text = "\n".join(block.format(i) for i in range(n_blocks)) + "\nfunc:\nret"
    alone = [line for line in block.split("\n") if "{0}" not in line and "func" not in line]
    return build, (text, alone), 26


aarch64_workload.per_block = 26


WORKLOADS = {"x86_64": x86_64_workload, "aarch64": aarch64_workload}


def bench_arch(name, n_insns=50000):
    mod = arches.load(name)
    workload = WORKLOADS[name]
    per_block = getattr(workload, "per_block", 10)
    build, lines, per_block = workload(n_insns // per_block)
    n = (n_insns // per_block) * per_block
    if isinstance(lines, tuple):    # (whole program text, lines Keystone takes alone)
        program, lines = lines
        n = len(build().finish()) // 4
    else:
        program = "\n".join(lines * (n // len(lines)))
    try:
        from asmkit.oracles import keystone as ks
        ks.assemble("nop" if name == "x86_64" else "nop", mod)
    except Exception as exc:          # no keystone wheel (aarch64 hosts)
        print(f"  keystone unavailable: {exc}")
        ks = None
    # Interleave the measurements so machine load hits all of them alike.
    timings = {"builder": lambda: build().finish(),
               "text": lambda: mod.assemble(program)}
    if ks is not None:
        timings["keystone batched"] = lambda: ks.assemble(program, mod)
    best = {k: float("inf") for k in timings}
    for _ in range(REPEAT):
        for what, fn in timings.items():
            t0 = time.perf_counter()
            fn()
            best[what] = min(best[what], time.perf_counter() - t0)
    rates = {what: n / t for what, t in best.items()}
    if ks is not None:
        sample = lines * 200
        t0 = time.perf_counter()
        for line in sample:
            ks.assemble(line, mod)
        rates["keystone per call"] = len(sample) / (time.perf_counter() - t0)
    return rates


def main():
    print(f"asmkit instruction throughput (best of {REPEAT}, 50k instructions)")
    for name in arches.ARCHES:
        try:
            rates = bench_arch(name)
        except (ImportError, AttributeError, arches.UnknownArch) as exc:
            print(f"{name}: not benchmarked ({type(exc).__name__}: {exc})")
            continue
        print(f"{name}:")
        for what, rate in rates.items():
            print(f"  {what:<18} {rate / 1e3:9.0f} k insn/s")
        base = rates.get("keystone batched")
        if base:
            print(f"  builder / keystone batched = {rates['builder'] / base:.2f}x "
                  f"(target >= 4x)")
            print(f"  text    / keystone batched = {rates['text'] / base:.2f}x "
                  f"(target >= 1x)")


if __name__ == "__main__":
    main()
