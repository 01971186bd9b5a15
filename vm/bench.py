"""`jitvm bench`: the interpreter against the JIT on the benchmark programs
that ship inside the package (vm/benchmarks/; the repository's
bytecode/bench_*.asm are links to them, so there is one copy), for people who install jitvm without the repo.
tools/bench.py is the repository's front end to the same code: the rows,
sizes and timing are this module's.

Timing is in-process wall time (time.perf_counter around vm.api.run, after
a warm-up that imports and initialises everything once): a child process
would add Python's start-up, which is not what either engine costs. Each
round runs every benchmark once on the interpreter and JIT_RUNS times on
the JIT (its runs are short, so noisier); the best time of all rounds is
kept. Both engines run the same program at the same size, and their
outputs and results must match.
"""
from __future__ import annotations

import io
import json
import platform
import re
import sys
import time
from pathlib import Path

import click

# the .const knobs keep the interpreter's share to a few seconds each
BENCHMARKS = {
    'sum': dict(N=10_000_000),
    'mandelbrot': dict(MAXIT=1000),
    'fib': dict(N=27),
    'sieve': dict(N=2_000_000),
    'matmul': dict(N=100),
    'collatz': dict(LIMIT=100_000),
}
# --quick: the plumbing in a second or two, not the speed
QUICK = {
    'sum': dict(N=20_000),
    'mandelbrot': dict(MAXIT=4),
    'fib': dict(N=12),
    'sieve': dict(N=2_000),
    'matmul': dict(N=6),
    'collatz': dict(LIMIT=300),
}
PACKAGED = Path(__file__).with_name('benchmarks')     # package data (pyproject.toml)
TARGETED = ('sum', 'mandelbrot')      # >= 100x is the project's target for these two
JIT_RUNS = 3
TIMING = 'in-process wall time (time.perf_counter), best of the rounds, after a warm-up'
HEADER = (f'{"benchmark":<14} {"interp s":>9} {"jit s":>8} {"speedup":>8} '
          f'{"compile us/op":>14}  {"same output":<11}')


def with_consts(text: str, name: str = 'program', **consts) -> str:
    """text with its `.const KEY VALUE` lines set to the given values."""
    for key, value in consts.items():
        text, n = re.subn(rf'^\.const {key} .*$', f'.const {key} {value}', text, flags=re.M)
        if not n:
            raise KeyError(f'{name} has no .const {key}')
    return text


def packaged(name: str) -> str:
    """The text of the packaged benchmark bench_NAME.asm."""
    return (PACKAGED / f'bench_{name}.asm').read_text()


def source(name: str, **consts) -> str:
    return with_consts(packaged(name), f'bench_{name}.asm', **consts)


def timed(program, config):
    """(seconds, stdout bytes, result, log text) of one in-process run."""
    from .api import run
    out, log = io.BytesIO(), io.StringIO()
    t0 = time.perf_counter()
    result = run(program, config, out, log)
    return time.perf_counter() - t0, out.getvalue(), result, log.getvalue()


def warm_up():
    """Import and initialise everything once, so no timed run pays for it."""
    from .api import RunConfig, load
    timed(load('PUSH 1\nPRINT\nHALT\n', 'warm-up'), RunConfig(jit=True, jit_threshold=0))


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


class Row:
    """One benchmark's best times so far, over the rounds sampled."""

    def __init__(self, name: str, knobs: dict, target):
        from .api import load
        self.name, self.knobs, self.target = name, knobs, target
        self.program = load(source(name, **knobs), f'bench_{name}.asm')
        self.interp = self.jit = None
        self.ops, self.compile = 0, 0.0
        self.same = True
        self.expected = None                # the interpreter's (output, result)

    def sample(self, jit_runs: int = JIT_RUNS) -> None:
        """One round: an interpreter run, then jit_runs JIT runs (without a
        code generator for this host, the interpreter only)."""
        from .api import RunConfig
        t, out, res, _ = timed(self.program, RunConfig(jit=False))
        self.interp = t if self.interp is None else min(self.interp, t)
        self.expected = (out, res)
        if self.target is None:
            return
        for _ in range(jit_runs):
            t, out, res, _ = timed(self.program, RunConfig(jit=True))
            self.jit = t if self.jit is None else min(self.jit, t)
            self.same &= (out, res) == self.expected
        if not self.ops:
            self.ops, self.compile = compile_cost(self.program, self.target)

    def as_dict(self) -> dict:
        return dict(name=self.name, machine=platform.machine(), interp=self.interp, jit=self.jit,
                    ops=self.ops, compile=self.compile, same=self.same)


def measure(name: str, knobs: dict, target, jit_runs: int = JIT_RUNS) -> dict:
    """One row from one round (tools/bench.py's row, and its JSON lines)."""
    row = Row(name, knobs, target)
    row.sample(jit_runs)
    return row.as_dict()


def format_row(row: dict, label: str | None = None, targets: bool = True) -> str:
    """One table line; a targeted benchmark below its target is marked
    (not for a labelled row, nor when targets is False: at --quick sizes)."""
    name = label or row['name']
    if row['jit'] is None:
        return f'{name:<14} {row["interp"]:>9.3f} {"-":>8} {"-":>8} {"-":>14}  no code generator on {row["machine"]}'
    speedup = row['interp'] / row['jit']
    marked = targets and not label and row['name'] in TARGETED
    mark = '  (target 100x)' if marked and speedup < 100 else ''
    return (f'{name:<14} {row["interp"]:>9.3f} {row["jit"]:>8.4f} {speedup:>7.1f}x '
            f'{row["compile"] / row["ops"] * 1e6:>14.2f}  {"yes" if row["same"] else "NO"}{mark}')


def compile_summary(rows: list[dict]) -> str | None:
    ops = sum(r['ops'] for r in rows)
    seconds = sum(r['compile'] for r in rows)
    if not ops:
        return None
    return (f'compile time over all benchmarks: {seconds * 1e6:.0f} us for {ops} ops = '
            f'{seconds / ops * 1e6:.2f} us per bytecode instruction (target < 5)')


def chart(rows: list[dict], rounds: int) -> str:
    """SVG: interpreter and JIT seconds per benchmark, log scale."""
    from .svgchart import grouped_bars
    values = {}
    for r in rows:
        values['interp', r['name']] = r['interp']
        if r['jit'] is not None:
            values['jit', r['name']] = r['jit']
    return grouped_bars([r['name'] for r in rows], [('interp', 'interpreter'), ('jit', 'JIT')], values,
                        f'seconds per run, log scale (in-process wall time, best of {rounds} '
                        f'round{"s" if rounds != 1 else ""})',
                        tick=lambda v: f'{v:g} s', tooltip=lambda v: f'{v:.4g} s')


def run_bench(names: tuple[str, ...], rounds: int = 1, quick: bool = False, json_path=None,
              chart_path=None, progress: bool | None = None) -> int:
    """`jitvm bench`: measure, print the table, write the JSON and the chart;
    the exit status (1 when a JIT run's output differed)."""
    from backends import select_backend
    from .errors import UsageError
    table = QUICK if quick else BENCHMARKS
    unknown = [n for n in names if n not in table]
    if unknown:
        raise UsageError(f'unknown benchmark {unknown[0]!r} (choose from {", ".join(table)})')
    if chart_path is not None and not str(chart_path).lower().endswith('.svg'):
        raise UsageError(f'--chart writes SVG: give a .svg path, not {chart_path}')
    for path in (json_path, chart_path):
        if path is not None:
            _check_writable(path)
    names = list(names) or list(table)
    target = select_backend('auto')
    if progress is None:
        progress = sys.stderr is not None and sys.stderr.isatty()
    if target is not None:
        warm_up()
    rows = {n: Row(n, table[n], target) for n in names}
    steps = [(r, n) for r in range(rounds) for n in names]
    with click.progressbar(steps, label='benchmarks', file=sys.stderr, hidden=not progress,
                           item_show_func=lambda s: s and f'{s[1]} (round {s[0] + 1}/{rounds})') as bar:
        for _, n in bar:
            rows[n].sample()
    results = [rows[n].as_dict() for n in names]
    click.echo(f'timing: {TIMING} ({rounds} round{"s" if rounds != 1 else ""}; '
               f'{JIT_RUNS} JIT runs per round); backend: {target.name if target else "none"}')
    click.echo(HEADER)
    for row in results:
        click.echo(format_row(row, targets=not quick))
    summary = compile_summary(results)
    if summary:
        click.echo(summary)
    if json_path is not None:
        report = dict(timing=TIMING, rounds=rounds, jit_runs=JIT_RUNS, quick=quick,
                      machine=platform.machine(), python=platform.python_version(),
                      backend=target.name if target else None,
                      sizes={n: table[n] for n in names}, rows=results)
        _write(json_path, json.dumps(report, indent=1) + '\n')
    if chart_path is not None:
        _write(chart_path, chart(results, rounds))
    differ = [r['name'] for r in results if not r['same']]
    if differ:
        click.echo(f'error: the JIT\'s output differs from the interpreter\'s on {", ".join(differ)}',
                   err=True)
        return 1
    return 0


def _check_writable(path) -> None:
    """Before minutes of measuring: the file can be written where asked."""
    import os
    from .errors import UsageError
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f'cannot write {path}: no such writable folder or it is a folder')


def _write(path, text: str) -> None:
    from .errors import UsageError
    try:
        with open(path, 'w') as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f'cannot write {path}: {e.strerror}') from None
