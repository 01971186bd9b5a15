"""asmkit speed: Builder and text assembler vs Keystone, per architecture.

Two measurements, both in CPU time of this process with the contenders
interleaved round by round (load on a shared machine hits every contender
alike), each reported by its best and its median round with the ratios to
Keystone's batched rate:

* never-seen programs (the headline; targets Builder >= 1.5x, text >= 1x):
  a new random program of 10,000 instructions every round
  (``random_programs.py``), so no cache keyed on text, operand values or
  objects helps across rounds; garbage collection as in normal use; the
  Builder's, the text assembler's and Keystone's bytes must be equal;
* the repeated JIT-shaped block of before (48k instructions; "text (cold
  caches)" first empties the text caches and the memo), with the collector
  paused as timeit does, for comparison with earlier numbers.

``--arch`` and ``--only never-seen|repeated`` select a part.
"""

from __future__ import annotations

import gc
import importlib
import os
import statistics
import sys
import time

import click

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from asmkit import arch as arches  # noqa: E402

ROUNDS = 7
N_INSNS = 48000
# CPU time of this process: a shared machine's other jobs preempt us, which
# wall time would count against whichever contender happened to be running.
# Keystone runs in-process, so its time is counted the same way.
_clock = time.process_time


def _timed(fn) -> float:
    """CPU seconds of one call, with the cyclic garbage collector paused as
    timeit does (the same for every contender; Keystone allocates in C)."""
    gc.collect()
    gc.disable()
    try:
        t0 = _clock()
        fn()
        return _clock() - t0
    finally:
        gc.enable()


def x86_64_workload(n_blocks):
    """A JIT-like mix per block: loads with [base+disp] and [base+index*8],
    reg-reg and reg-imm ALU, a store, a forward jcc over part of the block,
    a backward jcc, a far jcc to a shared trap stub, imul, shl, setcc +
    movzx, cqo + idiv and call [mem]."""
    from asmkit.x86_64 import Builder, Mem
    from asmkit.x86_64.regs import (al, eax, r12, r13, rax, rbx, rcx, rdi,
                                    rdx, rsi)

    slot, slot2 = Mem(rbx, None, 1, 0x10, 64), Mem(rbx, None, 1, 0x18, 64)
    elem = Mem(r12, rcx, 8, 0, 64)
    fn = Mem(r13, None, 1, 0x20, 64)

    def build():
        b = Builder()
        trap = b.label("trap")
        for _ in range(n_blocks):
            top = b.here()
            skip = b.label()
            b.mov(rax, slot)
            b.mov(rdx, elem)
            b.add(rax, rdx)
            b.jo(trap)
            b.cmp(rax, 0x1000)
            b.jg(skip)
            b.imul(rsi, rdx, 12)
            b.shl(rax, 3)
            b.mov(slot2, rax)
            b.sub(rcx, 1)
            b.jne(top)
            b.bind(skip)
            b.cmp(rax, rdi)
            b.setl(al)
            b.movzx(eax, al)
            b.cqo()
            b.idiv(rcx)
            b.call(fn)
        b.bind(trap)
        b.ud2()
        return b

    block = [
        "top{i}: mov rax, qword ptr [rbx + 0x10]",
        "mov rdx, qword ptr [r12 + rcx*8]", "add rax, rdx", "jo trap",
        "cmp rax, 0x1000", "jg skip{i}", "imul rsi, rdx, 0xc", "shl rax, 3",
        "mov qword ptr [rbx + 0x18], rax", "sub rcx, 1", "jne top{i}",
        "skip{i}: cmp rax, rdi", "setl al", "movzx eax, al", "cqo",
        "idiv rcx", "call qword ptr [r13 + 0x20]"]
    text = "\n".join(line.format(i=i) for i in range(n_blocks) for line in block)
    program = text + "\ntrap: ud2"
    alone = [line for line in block if "{i}" not in line and "trap" not in line]
    n = n_blocks * len(block) + 1
    return build, (program, alone, n), len(block)


x86_64_workload.per_block = 17


def _clear_memo(mod):
    clear = getattr(getattr(mod, "encode", None), "clear_memo", None)
    if clear is not None:
        clear()


def _text_cache_clearer(mod):
    """A function emptying the text assembler's caches and the Builder's
    memo (None when the architecture's parser has no clear_caches)."""
    try:
        parse = importlib.import_module(mod.__name__ + ".parse")
    except ImportError:
        return None
    clear = getattr(parse, "clear_caches", None)
    if clear is None:
        return None

    def clear_all():
        clear()
        _clear_memo(mod)
    return clear_all


def aarch64_workload(n_blocks):
    """A JIT-like AArch64 mix (25 instructions a block): ldr/str with unsigned
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
    return build, (text, alone), 25


aarch64_workload.per_block = 25


WORKLOADS = {"x86_64": x86_64_workload, "aarch64": aarch64_workload}


def _workload(name):
    """(build, program text, lines Keystone takes alone, instruction count).

    A workload returns ``(build, text, per_block)`` where text is either the
    lines of one block (repeated here) or ``(program, alone lines[, n])``;
    without ``n`` the count is the fixed-width code size / 4 (AArch64).
    """
    workload = WORKLOADS[name]
    per_block = getattr(workload, "per_block", 10)
    blocks = N_INSNS // per_block
    build, text, per_block = workload(blocks)
    if isinstance(text, tuple):
        program, alone = text[0], text[1]
        n = text[2] if len(text) > 2 else len(build().finish()) // 4
    else:
        alone, n = text, blocks * len(text)
        program = "\n".join(text * blocks)
    return build, program, alone, n


def bench_arch(name):
    """{contender: [seconds per round]}, instruction count, per-call rate."""
    mod = arches.load(name)
    build, program, alone, n = _workload(name)
    try:
        from asmkit.oracles import keystone as ks
        ks.assemble("nop", mod)
    except Exception as exc:          # no keystone wheel (aarch64 hosts)
        print(f"  keystone unavailable: {exc}")
        ks = None
    _clear_memo(mod)
    cold = _timed(lambda: build().finish())
    # contender: (untimed preparation or None, timed run)
    timings = {"builder": (None, lambda: build().finish()),
               "text": (None, lambda: mod.assemble(program))}
    clear = _text_cache_clearer(mod)
    if clear is not None:           # a program assembled for the first time
        timings["text (cold caches)"] = (clear, lambda: mod.assemble(program))
    if ks is not None:
        timings["keystone batched"] = (None, lambda: ks.assemble(program, mod))
    if mod.assemble(program) != build().finish():
        raise SystemExit(f"{name}: builder and text assembler disagree")
    # Interleave the measurements so machine load hits all of them alike.
    rounds = {k: [] for k in timings}
    for _ in range(ROUNDS):
        for what, (prepare, fn) in timings.items():
            if prepare is not None:
                prepare()
            rounds[what].append(_timed(fn))
    rounds["builder (cold memo)"] = [cold]
    per_call = None
    if ks is not None:
        sample = alone * max(1, 2000 // len(alone))
        t0 = _clock()
        for line in sample:
            ks.assemble(line, mod)
        per_call = len(sample) / (_clock() - t0)
    return rounds, n, per_call


# ------------------------------------------------- never-seen programs
NEW_INSNS = 10000
NEW_ROUNDS = 7


def bench_never_seen(name, rounds=NEW_ROUNDS, n_insns=NEW_INSNS):
    """{contender: [seconds per round]} and the instruction count.

    Every round assembles a program generated for that round (before the
    clock starts), so no cache keyed on text, operand values or operand
    objects can carry over from an earlier round.  The Builder gets the
    program as ``(method, operands)`` with fresh operand objects (a new Mem
    per memory operand, new labels); the text assembler and Keystone get its
    text, Keystone as one call on an engine of its own (it keeps labels
    across calls).  The garbage collector runs as in normal use.  The three
    outputs must be the same bytes.
    """
    import keystone
    import random_programs
    mod = arches.load(name)
    generate, render_text, render_calls = random_programs.PROGRAMS[name]
    ks_arch, ks_mode = mod.KEYSTONE
    out = {"builder": [], "text": [], "keystone batched": []}
    for seed in range(rounds):
        steps, n_labels = generate(1000 + seed, n_insns)
        text = render_text(steps)
        builder, calls = render_calls(steps, n_labels)
        del steps
        engine = keystone.Ks(getattr(keystone, ks_arch), getattr(keystone, ks_mode))
        got = {}
        # The Builder's input goes away before the others run, so no
        # contender's collector scans another one's objects.
        t0 = _clock()
        for method, ops in calls:
            method(builder, *ops)
        got["builder"] = builder.finish()
        out["builder"].append(_clock() - t0)
        del builder, calls
        for what, fn in (("text", lambda: mod.assemble(text)),
                         ("keystone batched",
                          lambda: bytes(engine.asm(text, 0)[0]))):
            t0 = _clock()
            got[what] = fn()
            out[what].append(_clock() - t0)
        if not got["builder"] == got["text"] == got["keystone batched"]:
            raise SystemExit(f"{name}: program {seed}: builder, text and "
                             f"Keystone disagree")
    return out, n_insns


def _report(rounds, n, targets):
    best = {k: n / min(v) for k, v in rounds.items()}
    median = {k: n / statistics.median(v) for k, v in rounds.items()}
    for what in rounds:
        print(f"  {what:<20} {best[what] / 1e3:7.0f} / "
              f"{median[what] / 1e3:5.0f} k insn/s")
    base, mbase = best.get("keystone batched"), median.get("keystone batched")
    if base:
        for what, target in targets:
            if what in best:
                print(f"  {what:<18} {best[what] / base:5.2f}x keystone-"
                      f"batched (median {median[what] / mbase:.2f}x; "
                      f"target >= {target}x)")


@click.command(help=__doc__.split("\n")[0])
@click.option("--arch", "arch", multiple=True, type=click.Choice(list(arches.ARCHES)),
              help="only this architecture (repeatable; default: all)")
@click.option("--only", type=click.Choice(["never-seen", "repeated"]),
              help="only one of the two benchmarks")
def main(arch, only):
    names = list(arch) or list(arches.ARCHES)
    if only != "repeated":
        print(f"never-seen programs (~{NEW_INSNS // 1000}k random instructions, "
              f"a new program each of {NEW_ROUNDS} interleaved rounds, process "
              f"CPU time, GC on; best / median)")
        for name in names:
            rounds, n = bench_never_seen(name)
            print(f"{name}: ({n} instructions)")
            _report(rounds, n, (("builder", 1.5), ("text", 1)))
    if only == "never-seen":
        return
    print(f"repeated JIT-shaped block (~{N_INSNS // 1000}k-instruction "
          f"programs, {ROUNDS} interleaved rounds, process CPU time, GC paused "
          f"as in timeit; best / median)")
    for name in names:
        try:
            rounds, n, per_call = bench_arch(name)
        except (ImportError, AttributeError, arches.UnknownArch) as exc:
            print(f"{name}: not benchmarked ({type(exc).__name__}: {exc})")
            continue
        print(f"{name}: ({n} instructions)")
        if per_call:
            print(f"  {'keystone per call':<20} {per_call / 1e3:7.0f} k insn/s")
        _report(rounds, n, (("builder", 4), ("text", 1),
                            ("text (cold caches)", 1)))


if __name__ == "__main__":
    from clitool import run_tool
    run_tool(main)
