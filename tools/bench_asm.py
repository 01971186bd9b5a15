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
    """The same shape on AArch64 (if its builder is present)."""
    from asmkit.aarch64.encode import Builder
    from asmkit.aarch64 import regs as R
    from asmkit.aarch64.operands import mem
    x = R.X

    def build():
        b = Builder()
        for _ in range(n_blocks):
            top = b.here()
            b.ldr(x[0], mem(x[19], 16))
            b.add(x[0], x[0], x[1])
            b.str(x[0], mem(x[20], 24))
            b.cmp(x[0], 0x100)
            b.sub(x[2], x[2], 1)
            b.mul(x[3], x[4], x[5])
            b.eor(x[1], x[1], x[1])
            b.b_cond("ne", top)
            b.lsl(x[0], x[0], 3)
            b.mov(x[6], x[7])
        return b

    text_lines = ["ldr x0, [x19, #0x10]", "add x0, x0, x1", "str x0, [x20, #0x18]",
                  "cmp x0, #0x100", "sub x2, x2, #1", "mul x3, x4, x5",
                  "eor x1, x1, x1", "b.ne #0", "lsl x0, x0, #3", "mov x6, x7"]
    return build, text_lines, 10


WORKLOADS = {"x86_64": x86_64_workload, "aarch64": aarch64_workload}


def bench_arch(name, n_insns=50000):
    mod = arches.load(name)
    per_block = 10
    build, lines, per_block = WORKLOADS[name](n_insns // per_block)
    n = (n_insns // per_block) * per_block
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
