"""Start-up of `jitvm run` on a hello-world program, side by side with
`python -c pass` from the same interpreter.

Why side by side and interleaved: on a shared machine the load moves both
alike, so the ratio holds where the absolute times wander. Why the minimum
of the rounds: load only ever adds time. Wall time is what the target is
stated in (at most 2x); CPU time (os.wait4) is printed beside it because
it moves less. Each case runs with PYTHONDONTWRITEBYTECODE=1 (this
environment's setting) and without it; the `cold` case also hides the
project's own compiled bytecode (a fresh clone that nothing compiled), so
every module of ours is compiled from source on every start."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from clitool import run_tool

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / 'bytecode' / 'hello.asm'
TARGET = 2.0
OWN = ('vm', 'backends', 'asmkit')


def run_once(argv: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one child, its output discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors='replace')
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise click.ClickException(f'{" ".join(argv)} failed: {err.strip()}')
    return wall, usage.ru_utime + usage.ru_stime


def cold_copy(tmp: Path) -> Path:
    """The project's packages copied without any __pycache__, and a runner
    that starts `jitvm` from them as the console script does."""
    for name in OWN:
        shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(ROOT / '_jitvm.py', tmp / '_jitvm.py')
    shutil.copy(ROOT / 'pyproject.toml', tmp / 'pyproject.toml')
    return tmp


def cases(python: str, jitvm: str, cold: Path) -> dict[str, tuple[list[str], dict]]:
    base = {k: v for k, v in os.environ.items() if k != 'PYTHONDONTWRITEBYTECODE'}
    dont = {**base, 'PYTHONDONTWRITEBYTECODE': '1'}
    cold_argv = [python, '-c', 'import sys; sys.path.insert(0, sys.argv.pop(1)); '
                 'sys.argv[0] = "jitvm"; from _jitvm import jitvm; jitvm()',
                 str(cold), 'run', str(HELLO)]
    return {
        'python -c pass': ([python, '-c', 'pass'], dont),
        'jitvm run hello (PYTHONDONTWRITEBYTECODE=1)': ([jitvm, 'run', str(HELLO)], dont),
        'jitvm run hello (bytecode written)': ([jitvm, 'run', str(HELLO)], base),
        'jitvm run hello (cold: no compiled bytecode of ours, PYTHONDONTWRITEBYTECODE=1)':
            (cold_argv, dont),
    }


def measure(table: dict, rounds: int, progress) -> dict[str, tuple[float, float]]:
    best = {name: (float('inf'), float('inf')) for name in table}
    with progress(range(rounds)) as each_round:
        for _ in each_round:
            for name, (argv, env) in table.items():       # interleaved: one of each per round
                wall, cpu = run_once(argv, env)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


@click.command(help=__doc__)
@click.option('--rounds', default=20, show_default=True, type=click.IntRange(1, 1000),
              help='Runs of every case, interleaved; the minimum is kept.')
@click.option('--json', 'json_path', type=click.Path(dir_okay=False),
              help='Also write the results here as JSON.')
def main(rounds: int, json_path: str | None) -> int:
    python = sys.executable
    jitvm = shutil.which('jitvm', path=str(Path(python).parent)) or shutil.which('jitvm')
    if jitvm is None:
        raise click.ClickException('no jitvm command found beside this Python (run make first)')
    with tempfile.TemporaryDirectory() as tmp:
        table = cases(python, jitvm, cold_copy(Path(tmp)))
        run_once(*table['jitvm run hello (bytecode written)'])      # writes our .pyc once
        bar = (lambda it: click.progressbar(it, label='rounds', file=sys.stderr)) \
            if sys.stderr.isatty() else (lambda it: _Plain(it))
        best = measure(table, rounds, bar)
    wall0, cpu0 = best['python -c pass']
    click.echo(f'start-up, best of {rounds} interleaved rounds (target: jitvm run <= '
               f'{TARGET:g}x the wall time of python -c pass)')
    click.echo(f'{"case":<80} {"wall ms":>8} {"x pass":>7} {"CPU ms":>8} {"x pass":>7}')
    for name, (wall, cpu) in best.items():
        click.echo(f'{name:<80} {wall * 1000:8.1f} {wall / wall0:7.2f} {cpu * 1000:8.1f} '
                   f'{cpu / cpu0:7.2f}')
    ratio = best['jitvm run hello (PYTHONDONTWRITEBYTECODE=1)'][0] / wall0
    click.echo(f'jitvm run / python -c pass (wall, PYTHONDONTWRITEBYTECODE=1): {ratio:.2f}x: '
               f'{"meets" if ratio <= TARGET else "misses"} the {TARGET:g}x target')
    if json_path:
        Path(json_path).write_text(json.dumps(
            {name: {'wall_s': w, 'cpu_s': c} for name, (w, c) in best.items()}, indent=1))
    return 0


class _Plain:
    """The rounds without a bar: output that is not a terminal stays clean."""

    def __init__(self, it):
        self.it = it

    def __enter__(self):
        return self.it

    def __exit__(self, *exc):
        return False


if __name__ == '__main__':
    run_tool(main)
