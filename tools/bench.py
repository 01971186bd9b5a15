"""Interpreter against JIT on the bytecode/ benchmarks, in one run: times,
speedups, and the JIT's compile time per bytecode instruction.

Both engines run the same program at the same size (the `.const` knobs
below keep the interpreter's share to a few seconds); outputs and results
must match. Targets: >= 100x on sum and Mandelbrot, < 5 us compile time per
bytecode instruction."""
from __future__ import annotations

import argparse
import time

from benchlib import RunConfig, load, source, timed, warm_up

BENCHMARKS = {
    'sum': dict(N=10_000_000),
    'mandelbrot': dict(MAXIT=1000),
    'fib': dict(N=27),
    'sieve': dict(N=2_000_000),
    'matmul': dict(N=100),
    'collatz': dict(LIMIT=100_000),
}
TARGETED = ('sum', 'mandelbrot')


def compile_cost(program, target) -> tuple[int, float]:
    """(ops, best seconds) to lower every function of program, warm, as the
    JIT does at the default call depth (no value-stack room checks)."""
    ops, best = 0, float('inf')
    for _ in range(5):
        t0 = time.perf_counter()
        ops = sum(target.compile_function(program, k, vstack_checks=False).ops
                  for k in range(len(program.functions)))
        best = min(best, time.perf_counter() - t0)
    return ops, best


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('names', nargs='*', default=list(BENCHMARKS))
    ap.add_argument('--emulate', action='store_true', help='also time the x86-64 code under Unicorn')
    args = ap.parse_args()
    from backends import select_backend
    target = select_backend('auto')
    warm_up()
    print(f'{"benchmark":<11} {"interp s":>9} {"jit s":>8} {"speedup":>8} '
          f'{"compile us/op":>14}  {"same output":<11}')
    failed = False
    all_ops, all_seconds = 0, 0.0
    for name in args.names:
        program = load(source(f'bench_{name}', **BENCHMARKS[name]), f'bench_{name}.asm')
        t_i, out_i, res_i, _ = timed(program, RunConfig(jit=False))
        t_j, out_j, res_j, _ = min(timed(program, RunConfig(jit=True)) for _ in range(3))
        same = (out_i, res_i) == (out_j, res_j)
        ops, t_c = compile_cost(program, target)
        all_ops += ops
        all_seconds += t_c
        speedup = t_i / t_j
        mark = ''
        if name in TARGETED and speedup < 100:
            mark = '  (target 100x)'
        print(f'{name:<11} {t_i:>9.3f} {t_j:>8.4f} {speedup:>7.1f}x {t_c / ops * 1e6:>14.2f}  '
              f'{"yes" if same else "NO"}{mark}')
        if args.emulate:
            t_e, out_e, res_e, _ = timed(program, RunConfig(jit=True, jit_threshold=0, emulate=True))
            print(f'{"":<11} unicorn {t_e:.3f}s, same output: {(out_e, res_e) == (out_i, res_i)}')
        failed |= not same
    print(f'compile time over all benchmarks: {all_seconds * 1e6:.0f} us for {all_ops} ops = '
          f'{all_seconds / all_ops * 1e6:.2f} us per bytecode instruction (target < 5)')
    raise SystemExit(1 if failed else 0)


if __name__ == '__main__':
    main()
