"""`make demo`: draw the Mandelbrot set through the JIT, then time the same
program in the interpreter and print the speedup."""
from __future__ import annotations

import sys

import click

from benchlib import RunConfig, load, source, timed, warm_up


@click.command(help=__doc__)
def main():
    program = load(source('mandelbrot'), 'bytecode/mandelbrot.asm')
    warm_up()
    t_jit, art, result, _ = timed(program, RunConfig(jit=True))
    sys.stdout.buffer.write(art)
    t_int, art_i, result_i, _ = timed(program, RunConfig(jit=False))
    if (art_i, result_i) != (art, result):
        sys.exit('error: the interpreter and the JIT disagree')
    heavy = load(source('bench_mandelbrot', MAXIT=500), 'bytecode/bench_mandelbrot.asm')
    h_jit, out_j, _, _ = timed(heavy, RunConfig(jit=True))
    h_int, out_i, _, _ = timed(heavy, RunConfig(jit=False))
    print(f'\nmandelbrot.asm: JIT {t_jit * 1000:.1f} ms, interpreter {t_int * 1000:.1f} ms, '
          f'speedup {t_int / t_jit:.1f}x')
    print(f'bench_mandelbrot.asm (160x60, 500 iterations): JIT {h_jit * 1000:.1f} ms, '
          f'interpreter {h_int * 1000:.1f} ms, speedup {h_int / h_jit:.1f}x'
          + ('' if out_i == out_j else '  OUTPUTS DIFFER'))


if __name__ == '__main__':
    from clitool import run_tool
    run_tool(main)
