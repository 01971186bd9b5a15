"""Compile cost of the arithmetic passes of backends/opt (ranges.remove_checks,
divide.divide_by_constants) in microseconds per reachable bytecode
instruction, beside SSA construction and passes.LEVELS[1], over the
example programs and random ones (tests/support/progen.py).

Each function is built and optimized with LEVELS[1] untimed for the
passes' rows; every row is the best of --repeat runs."""
from __future__ import annotations

import glob
import os
import sys

import click
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from backends.opt import passes, ssa  # noqa: E402
from backends.opt.divide import divide_by_constants  # noqa: E402
from backends.opt.ranges import remove_checks  # noqa: E402
from tests.support.progen import generate_from_seed  # noqa: E402
from vm.api import load  # noqa: E402


def _programs(random_count: int):
    root = os.path.join(os.path.dirname(__file__), '..', 'bytecode')
    for path in sorted(glob.glob(os.path.join(root, '*.asm'))):
        with open(path) as f:
            yield load(f.read(), os.path.basename(path))
    for seed in range(random_count):
        yield load(generate_from_seed(seed, seed % 2 == 1))


def _best(step, prepare, repeat: int) -> float:
    best = float('inf')
    for _ in range(repeat):
        inputs = prepare()
        t0 = time.perf_counter()
        for x in inputs:
            step(x)
        best = min(best, time.perf_counter() - t0)
    return best


@click.command(help=__doc__)
@click.option('--random', 'count', type=click.IntRange(min=0), default=100, show_default=True,
              help='random programs')
@click.option('--repeat', type=click.IntRange(min=1), default=5, show_default=True,
              help='rounds; the best is kept')
def main(count: int, repeat: int) -> int:
    programs = list(_programs(count))
    pairs = [(p, i) for p in programs for i in range(len(p.functions))]
    ops = sum(len(p.facts[i].heights) for p, i in pairs)

    def built():
        return [ssa.build_function(p, i) for p, i in pairs]

    def level1():
        return [passes.optimize(f) for f in built()]

    rows = {
        'build SSA': _best(lambda pi: ssa.build_function(*pi), lambda: pairs, repeat),
        'LEVELS[1]': _best(passes.optimize, built, repeat),
        'checks (ranges.remove_checks)': _best(remove_checks, level1, repeat),
        'divide (divide_by_constants)': _best(divide_by_constants, level1, repeat),
    }
    print(f'{len(programs)} programs, {len(pairs)} functions, {ops} bytecode instructions')
    for name, seconds in rows.items():
        print(f'  {name:<32} {seconds / ops * 1e6:6.2f} us per instruction')
    return 0


if __name__ == '__main__':
    main()
