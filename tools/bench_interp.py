"""Interpreter speed: bytecode instructions per second on the sum loop and
Mandelbrot, with exact int64 semantics (target: 10 million per second).

The instruction count comes from a counting run of the same interpreter
(every block adds its length); the timed run does not count."""
from __future__ import annotations

import io
import time

import click

from benchlib import load, source

from vm.interp import Interpreter, Output
from vm.memory import CellMemory

PROGRAMS = {'sum': dict(N=3_000_000), 'mandelbrot': dict(MAXIT=300)}


def measure(name: str, consts: dict, repeat: int):
    program = load(source(f'bench_{name}', **consts), f'bench_{name}.asm')
    counter = Interpreter(program, _memory(program), Output(io.BytesIO()),
                          max_call_depth=10000, count=True)
    counter.run()
    executed = counter.count[0]
    best = float('inf')
    for _ in range(repeat):
        interp = Interpreter(program, _memory(program), Output(io.BytesIO()),
                             max_call_depth=10000)
        t0 = time.perf_counter()
        interp.run()
        best = min(best, time.perf_counter() - t0)
    return executed, best


def _memory(program):
    """The interpreter's own memory (a list) with the program's data."""
    memory = CellMemory(program.memory_cells, native=False)
    memory.load(program.data)
    return memory.cells


@click.command(help=__doc__)
@click.option('--repeat', type=click.IntRange(min=1), default=3, show_default=True,
              help='timed runs per program (the best is printed)')
def main(repeat):
    print(f'{"program":<12} {"instructions":>14} {"seconds":>9} {"Minstr/s":>9}')
    for name, consts in PROGRAMS.items():
        executed, seconds = measure(name, consts, repeat)
        rate = executed / seconds / 1e6
        verdict = 'ok' if rate >= 10 else 'BELOW the 10 M/s target'
        print(f'{name:<12} {executed:>14,} {seconds:>9.3f} {rate:>9.1f}  {verdict}')


if __name__ == '__main__':
    from clitool import run_tool
    run_tool(main)
