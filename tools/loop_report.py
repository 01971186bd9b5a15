"""What the loop passes (backends/opt/loops.py) do to programs, in numbers:
the IR instructions (phis included) in every loop after passes.LEVELS[1]
and after LEVELS[1] then licm and iv, and what each stage (building the
SSA, LEVELS[1], licm, iv) costs per bytecode instruction, the best of
--repeat runs on a fresh build each time, so that the loop passes can be
compared with the rest of the tier measured in the same run.

    .venv/bin/python tools/loop_report.py bytecode/*.asm
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.opt import passes, ssa  # noqa: E402
from backends.opt.loops import LOOP_PASSES, find_loops  # noqa: E402
from vm.api import load  # noqa: E402
from vm.errors import EXIT_BAD_INPUT, VMError  # noqa: E402

LOOPS = ('licm', 'iv')


def loop_sizes(fn) -> dict:
    """Header offset -> (nesting depth, instructions and phis in the loop)."""
    return {lp.header.start: (lp.depth, sum(len(b.insts) + len(b.phis) for b in lp.blocks))
            for lp in find_loops(fn)}


def built(program):
    return [passes.optimize(f) for f in ssa.build_program(program)]


def costs(program, repeat: int) -> dict:
    """Seconds per stage on the whole program, each the best of repeat:
    build (the SSA), O1 (passes.LEVELS[1]), licm, iv; a fresh build each time."""
    best = dict.fromkeys(('build', 'O1') + LOOPS, float('inf'))
    for _ in range(repeat):
        t = time.perf_counter()
        funcs = ssa.build_program(program)
        best['build'] = min(best['build'], time.perf_counter() - t)
        for stage, run in [('O1', passes.optimize)] + [(n, LOOP_PASSES[n]) for n in LOOPS]:
            t = time.perf_counter()
            for f in funcs:
                run(f)
            best[stage] = min(best[stage], time.perf_counter() - t)
    return best


def per_op(seconds: dict, ops: int) -> str:
    return ', '.join(f'{k} {v * 1e6 / ops:.2f}' for k, v in seconds.items())


@click.command()
@click.argument('files', nargs=-1, required=True, type=click.Path())
@click.option('--repeat', default=20, show_default=True, help='timing runs per program')
def main(files, repeat):
    total_ops = 0
    total = dict.fromkeys(('build', 'O1') + LOOPS, 0.0)
    for path in files:
        try:
            program = load(Path(path).read_bytes(), path)
        except OSError as e:
            click.echo(f'error: cannot read {path}: {e.strerror}', err=True)
            sys.exit(EXIT_BAD_INPUT)
        except VMError as e:
            click.echo(e.line(), err=True)
            sys.exit(e.exit_code)
        ops = sum(len(f.instrs) for f in program.facts)
        seconds = costs(program, repeat)
        total_ops += ops
        for k, v in seconds.items():
            total[k] += v
        click.echo(f'{path}: {ops} bytecode instructions; us each: {per_op(seconds, ops)}')
        before = [loop_sizes(f) for f in built(program)]
        after_funcs = built(program)
        for f in after_funcs:
            for name in LOOPS:
                LOOP_PASSES[name](f)
        for f, old in zip(after_funcs, before):
            new = loop_sizes(f)
            for start in sorted(old):
                depth, n = old[start]
                click.echo(f'  {f.name} loop @{start} (depth {depth}): {n} -> {new[start][1]}')
    click.echo(f'all: {total_ops} bytecode instructions; us each: {per_op(total, total_ops)}')


if __name__ == '__main__':
    from clitool import run_tool
    run_tool(main)
