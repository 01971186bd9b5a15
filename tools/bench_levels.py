"""The optimizing tier's speedup per level on the host's backend: each
bytecode/bench_*.asm run at --opt 0, 1 and 2, CPU time of each child
(os.wait4) with a trivial run of the same program subtracted, engines
interleaved over rounds, the best of the rounds kept, ratios to --opt 0.

Meant to run where no C compiler or peer is at hand, such as the arm64 root
(`tools/arm64_root.py run python3 tools/bench_levels.py`), where every
child is an aarch64 process under qemu: the sizes are modest for that.
The programs and their sizes' memory are bench_peers.py's. The trivial run
uses --jit-threshold 0, so the JIT's set-up (made at the
first compile) is subtracted with the rest of the start-up."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from bench_peers import ALGOS
from benchlib import ROOT
from clitool import run_tool

# the peers' programs (tools/bench_peers.py: sizes, memory, the Collatz
# rewrite) at sizes for a run under qemu: (measured size, trivial size)
SIZES = {'sum': (2 * 10**8, 10), 'fib': (30, 5), 'mandelbrot': (20000, 5),
         'sieve': (10**7, 100), 'matmul': (200, 4), 'collatz': (10**6, 10)}
LEVELS = (0, 1, 2)


def cpu_of(argv: list[str]) -> tuple[float, str]:
    """(user + system seconds, stdout) of one child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            last = (err.read().decode(errors='replace').strip().splitlines() or [''])[-1]
            raise click.ClickException(f'{" ".join(argv)} failed (status {code}): {last}')
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, out.read().decode()


@click.command(help=__doc__)
@click.option('--rounds', default=3, show_default=True, type=click.IntRange(1, 100))
@click.option('--scale', default=1.0, show_default=True, type=click.FloatRange(0.01, 100),
              help='Multiply every measured size (a quick look: 0.1).')
@click.option('--json', 'json_path', type=click.Path(dir_okay=False), help='Also write JSON here.')
def main(rounds: int, scale: float, json_path: str | None) -> int:
    vm = [sys.executable, '-m', 'vm.cli', 'run']
    best: dict = {}
    outputs: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for algo in ALGOS:
            size, trivial = SIZES[algo.name]
            n = size if algo.name == 'fib' else max(trivial + 1, int(size * scale))  # fib: exponential
            for tag, value in (('run', n), ('trivial', trivial)):
                path = Path(tmp) / f'{algo.name}-{tag}.asm'
                path.write_text(algo.source(value))
                files[algo.name, tag] = path
        for r in range(rounds):
            for name in SIZES:
                for level in LEVELS[r % 3:] + LEVELS[:r % 3]:          # rotate who goes first
                    for tag in ('trivial', 'run'):
                        extra = ['--jit-threshold', '0'] if tag == 'trivial' else []
                        t, out = cpu_of([*vm, str(files[name, tag]), '--opt', str(level), *extra])
                        key = (name, level, tag)
                        best[key] = min(best.get(key, float('inf')), t)
                        outputs.setdefault((name, tag), set()).add(out)
            click.echo(f'round {r + 1}/{rounds} done', err=True)
    differ = [name for (name, tag), outs in outputs.items() if len(outs) != 1]
    if differ:
        raise click.ClickException(f'the levels disagree on {", ".join(sorted(set(differ)))}')
    click.echo(f'{platform.machine()} backend: CPU seconds, start-up subtracted, best of {rounds}')
    click.echo(f'{"program":<18}' + ''.join(f' {"opt " + str(lv):>9}' for lv in LEVELS)
               + ''.join(f' {"x opt0 @" + str(lv):>10}' for lv in LEVELS[1:]))
    rows = {}
    for name in SIZES:
        net = [max(best[name, lv, 'run'] - best[name, lv, 'trivial'], 1e-6) for lv in LEVELS]
        rows[name] = net
        click.echo(f'{name:<18}' + ''.join(f' {t:9.3f}' for t in net)
                   + ''.join(f' {net[0] / t:10.2f}' for t in net[1:]))
    if json_path:
        Path(json_path).write_text(json.dumps({'machine': platform.machine(), 'rows': rows},
                                              indent=1))
    return 0


if __name__ == '__main__':
    run_tool(main)
