"""jitvm against its peers in one run: the six benchmark algorithms as C
(gcc -O2, -O0, and fib without inlining), LuaJIT, PyPy, CPython and jitvm
(interpreter and JIT), every checksum checked, CPU times and ratios to
gcc -O2 printed, a chart written.

Why CPU time of each child (os.wait4): on a shared machine it moves far
less than wall time. Why a trivial run per engine and algorithm: it is the
start-up (process, imports, loading and compiling the program text), which
is subtracted. For the JIT columns the trivial run adds --jit-threshold 0:
jitvm makes its native side (backend import, state block, code cache, and
with --opt the optimizing tier's import) at the first compilation, so a
trivial run that never gets hot would leave that set-up inside the
measured run. Why rounds with the engines interleaved and the minimum
taken: load from other jobs comes and goes; every engine sees it alike.
Slow engines (CPython, the jitvm interpreter) run a reduced size and are
scaled by the iteration count that a counting C build (-DCOUNT) reports at
each size. The tool installs nothing: a missing peer is skipped."""
from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click

from vm.svgchart import grouped_bars

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / 'tools' / 'peers'
INSTALL_HINT = 'apt-get install luajit pypy3'


@dataclass(frozen=True)
class Algo:
    """One benchmark: its bytecode source and how a size is written into it."""
    name: str
    asm: Path
    knob: str                     # the .const that is the size
    full: int
    reduced: int                  # for the scaled engines
    trivial: int                  # the start-up run
    quick: tuple[int, int]        # (full, reduced) under --quick
    memory: object = None         # size -> .memory cells, where memory grows with it
    rewrite: tuple = ()           # (bytecode line pair, replacement) applied to the source

    def source(self, size: int) -> str:
        """The bytecode text at this size (the .const, and .memory with it)."""
        text, n = re.subn(rf'^\.const {self.knob} .*$', f'.const {self.knob} {size}',
                          self.asm.read_text(), flags=re.M)
        assert n == 1, (self.asm, self.knob)
        for old, new in self.rewrite:
            text, n = re.subn(old, new, text, flags=re.M)
            assert n == 1, (self.asm, old)
        if self.memory is not None:
            text = re.sub(r'^\.memory \d+', f'.memory {self.memory(size)}', text, flags=re.M)
        return text


BC = ROOT / 'bytecode'
ALGOS = [
    Algo('sum', BC / 'bench_sum.asm', 'N', 10**9, 4 * 10**6, 1, (10**5, 10**4)),
    Algo('fib', BC / 'bench_fib.asm', 'N', 35, 28, 1, (18, 12)),
    Algo('mandelbrot', BC / 'bench_mandelbrot.asm', 'MAXIT', 60000, 300, 1, (30, 10)),
    Algo('sieve', BC / 'bench_sieve.asm', 'N', 10**7, 10**6, 3, (10**4, 10**3),
         memory=lambda n: n),
    Algo('matmul', BC / 'bench_matmul.asm', 'N', 200, 100, 1, (20, 8),
         memory=lambda n: 3 * n * n),
    # bench_collatz.asm with its hand-written AND 1 / SAR 1 turned back into
    # MOD 2 / DIV 2, as every peer writes it (division by a constant is an
    # optimizing-tier pass, so the JIT must meet it here)
    Algo('collatz', BC / 'bench_collatz.asm', 'LIMIT', 3 * 10**6, 2 * 10**4, 2, (1000, 300),
         rewrite=((r'^([ \t]*)PUSH 1\n[ \t]*AND$', r'\1PUSH 2\n\1MOD'),
                  (r'^([ \t]*)PUSH 1\n[ \t]*SAR$', r'\1PUSH 2\n\1DIV'))),
]


@dataclass
class Engine:
    """A column: how to run an algorithm at a size, whether it runs reduced."""
    key: str
    label: str
    command: object               # (algo, size, tmp) -> argv, or None: not this row
    scaled: bool = False
    env: dict = field(default_factory=dict)
    warm: tuple = ()              # added to the trivial run only (see the module docstring)


def c_build(tmp: Path, tag: str, flags: list[str], algos) -> dict[str, Path]:
    """Compile each algorithm's C with flags into tmp/tag/."""
    out = tmp / tag
    out.mkdir()
    exes = {}
    for algo in algos:
        exe = out / algo
        subprocess.run(['gcc', *flags, '-o', str(exe), str(PEERS / f'{algo}.c')], check=True)
        exes[algo] = exe
    return exes


def asm_file(algo: Algo, size: int, tmp: Path) -> str:
    """The bytecode program at size, written once into tmp."""
    path = tmp / f'{algo.name}-{size}.asm'
    if not path.exists():
        path.write_text(algo.source(size))
    return str(path)


def engines(tmp: Path, say) -> list[Engine]:
    """Every engine this machine has; a line for each one skipped."""
    names = [a.name for a in ALGOS]
    o2 = c_build(tmp, 'O2', ['-O2'], names)
    o0 = c_build(tmp, 'O0', ['-O0'], names)
    noinline = c_build(tmp, 'O2-noinline', ['-O2', '-fno-inline', '-fno-optimize-sibling-calls'], ['fib'])
    found = [
        Engine('gcc-O2', 'gcc -O2', lambda a, n, t: [str(o2[a.name]), str(n)]),
        Engine('gcc-O2-noinline', 'gcc -O2 noinl', lambda a, n, t: [str(noinline['fib']), str(n)]
               if a.name == 'fib' else None),
        Engine('gcc-O0', 'gcc -O0', lambda a, n, t: [str(o0[a.name]), str(n)]),
    ]
    for key, exe, ext in (('luajit', 'luajit', 'lua'), ('pypy', 'pypy3', 'py')):
        path = shutil.which(exe)
        if path is None:
            say(f'skipped {key}: `{exe}` not found (install it: {INSTALL_HINT})')
            continue
        found.append(Engine(key, key, lambda a, n, t, p=path, e=ext: [p, str(PEERS / f'{a.name}.{e}'), str(n)]))
    cpython = sys.executable if platform.python_implementation() == 'CPython' else shutil.which('python3')
    found.append(Engine('cpython', 'cpython*', lambda a, n, t: [cpython, str(PEERS / f'{a.name}.py'), str(n)],
                        scaled=True))
    vm = [sys.executable, '-m', 'vm.cli', 'run']
    WARM = ('--jit-threshold', '0')
    env = {'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    found.append(Engine('interp', 'jitvm interp*', lambda a, n, t: [*vm, asm_file(a, n, t), '--no-jit'],
                        scaled=True, env=env))
    found.append(Engine('jit-o0', 'jitvm jit --opt 0', lambda a, n, t: [*vm, asm_file(a, n, t), '--opt', '0'],
                        env=env, warm=WARM))
    found.append(Engine('jit-o1', 'jitvm jit --opt 1', lambda a, n, t: [*vm, asm_file(a, n, t), '--opt', '1'],
                        env=env, warm=WARM))
    found.append(Engine('jit', 'jitvm jit (--opt 2)', lambda a, n, t: [*vm, asm_file(a, n, t), '--opt', '2'],
                        env=env, warm=WARM))
    return found


class Failure(Exception):
    """Ends the tool with one `error:` line and an exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def run_child(argv: list[str], env: dict | None = None) -> tuple[float, str, int, str]:
    """(CPU seconds, stdout, exit code, stderr) of one child; the CPU time is
    the child's own user + system time from os.wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env={**os.environ, **env} if env else None, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (usage.ru_utime + usage.ru_stime, out.read().decode(errors='replace'),
                proc.returncode, err.read().decode(errors='replace'))


def reference(tmp: Path, sizes: dict[str, tuple[int, ...]]) -> dict:
    """{(algo, size): (checksum words, iterations)} from the counting C build."""
    counting = c_build(tmp, 'count', ['-O2', '-DCOUNT'], list(sizes))
    ref = {}
    for name, wanted in sizes.items():
        for size in set(wanted):
            _, out, code, err = run_child([str(counting[name]), str(size)])
            match = re.search(r'^work (\d+)$', err, flags=re.M)
            if code != 0 or match is None:
                raise Failure(f'the counting C build of {name} failed at {size}: exit {code}')
            ref[name, size] = (out.split(), int(match.group(1)))
    return ref


def measure(engs, sizes, ref, rounds: int, say, tmp: Path) -> tuple[dict, dict, list[str]]:
    """{(engine, algo): estimated full-size CPU seconds}, {(engine, algo,
    size): output words} and the mismatches."""
    best: dict[tuple[str, str, int], float] = {}
    outputs: dict[tuple[str, str, int], list[str]] = {}
    bad: list[str] = []
    for r in range(rounds):
        for algo in ALGOS:
            full, reduced, trivial = sizes[algo.name]
            order = engs[r % len(engs):] + engs[:r % len(engs)]      # rotate who goes first
            for eng in order:
                for size in (trivial, reduced if eng.scaled else full):
                    argv = eng.command(algo, size, tmp)
                    if argv is None:
                        continue
                    if size == trivial:
                        argv = [*argv, *eng.warm]
                    cpu, out, code, err = run_child(argv, eng.env)
                    want = ref[algo.name, size][0]
                    outputs[eng.key, algo.name, size] = out.split()
                    if code != 0 or out.split() != want:
                        last = err.strip().splitlines()[-1:] or ['']
                        bad.append(f'{eng.key} {algo.name}({size}): got {out.split()} exit {code}, '
                                   f'want {want} {last[0]}')
                        continue
                    k = (eng.key, algo.name, size)
                    best[k] = min(best.get(k, math.inf), cpu)
        say(f'round {r + 1}/{rounds} done')
    times = {}
    for eng in engs:
        for algo in ALGOS:
            full, reduced, trivial = sizes[algo.name]
            size = reduced if eng.scaled else full
            if (eng.key, algo.name, size) not in best or (eng.key, algo.name, trivial) not in best:
                continue
            net = best[eng.key, algo.name, size] - best[eng.key, algo.name, trivial]
            w_triv, w_run, w_full = (ref[algo.name, s][1] for s in (trivial, size, full))
            times[eng.key, algo.name] = max(net, 1e-6) * (w_full - w_triv) / max(w_run - w_triv, 1)
    return times, outputs, bad


def geomean(values) -> float | None:
    values = list(values)
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def tables(engs, times) -> tuple[list[str], dict]:
    """The printed tables and the summary numbers."""
    names = [a.name for a in ALGOS]
    width = max(11, *(len(e.label) for e in engs))
    head = f'{"algorithm":<11}' + ''.join(f' {e.label:>{width}}' for e in engs)
    lines = ['CPU seconds, start-up subtracted, best of the rounds (* reduced size, scaled per iteration)',
             head]
    for n in names:
        cells = (f'{times[e.key, n]:.3f}' if (e.key, n) in times else '-' for e in engs)
        lines.append(f'{n:<11}' + ''.join(f' {c:>{width}}' for c in cells))
    ratios = {(e.key, n): times[e.key, n] / times['gcc-O2', n]
              for e in engs for n in names if (e.key, n) in times and ('gcc-O2', n) in times}
    lines += ['', 'ratio to gcc -O2 (lower is faster)', head]
    for n in names:
        cells = (f'{ratios[e.key, n]:.2f}' if (e.key, n) in ratios else '-' for e in engs)
        lines.append(f'{n:<11}' + ''.join(f' {c:>{width}}' for c in cells))
    means = {e.key: geomean(ratios[e.key, n] for n in names if (e.key, n) in ratios) for e in engs}
    lines.append(f'{"geomean":<11}' + ''.join(
        f' {(f"{means[e.key]:.2f}" if means[e.key] else "-"):>{width}}' for e in engs))
    summary = {'geomean': means}
    jit = {n: ratios[('jit', n)] for n in names if ('jit', n) in ratios}
    if jit:
        fib_noinl = times.get(('jit', 'fib'), 0) / times[('gcc-O2-noinline', 'fib')] \
            if ('gcc-O2-noinline', 'fib') in times and 'fib' in jit else None
        alt = dict(jit, fib=fib_noinl) if fib_noinl else jit
        worst = max(alt, key=alt.get)
        summary.update(jit_geomean=geomean(jit.values()), jit_geomean_noinline_fib=geomean(alt.values()),
                       jit_worst=(worst, alt[worst]), jit_fib_noinline=fib_noinl)
        lines += ['', f'jitvm jit / gcc -O2: geomean {summary["jit_geomean"]:.2f}, '
                  f'{summary["jit_geomean_noinline_fib"]:.2f} with fib against the no-inline build'
                  + (f' ({fib_noinl:.2f})' if fib_noinl else '') + f'; worst {worst} {alt[worst]:.2f}']
        lua = [n for n in names if ('luajit', n) in times and ('jit', n) in times]
        if lua:
            wins = [n for n in lua if times['jit', n] < times['luajit', n]]
            summary['jit_beats_luajit'] = wins
            lines.append(f'jitvm jit faster than LuaJIT on {len(wins)} of {len(lua)} rows'
                         + (f' (loses {", ".join(n for n in lua if n not in wins)})' if len(wins) < len(lua) else ''))
    return lines, summary


def svg_chart(engs, times, path: Path) -> None:
    """Grouped bars of the ratio to gcc -O2 per algorithm, log scale, as SVG."""
    names = [a.name for a in ALGOS]
    ratio = {(e.key, n): times[e.key, n] / times['gcc-O2', n] for e in engs for n in names
             if (e.key, n) in times and ('gcc-O2', n) in times}
    path.write_text(grouped_bars(names, [(e.key, e.label) for e in engs], ratio,
                                 'CPU time / gcc -O2 (log scale; * reduced size, scaled)'))


def fail(message: str, status: int = 1):
    """One line on stderr, then exit: 1 a run went wrong, 2 the machine lacks gcc."""
    click.echo(f'error: {message}', err=True)
    sys.exit(status)


@click.command(context_settings={'help_option_names': ['-h', '--help']})
@click.option('--rounds', type=click.IntRange(min=1), default=3, show_default=True,
              help='interleaved rounds; the minimum CPU time of each run is kept')
@click.option('--quick', is_flag=True, help='tiny sizes (for the test): checksums and table shape only')
@click.option('--chart', type=click.Path(dir_okay=False, path_type=Path), help='write an SVG chart here')
@click.option('--json', 'json_path', type=click.Path(dir_okay=False, path_type=Path),
              help='write the times, sizes, checksums and summary as JSON here')
def main(rounds: int, quick: bool, chart: Path | None, json_path: Path | None) -> None:
    """Run the six algorithms on every engine found; print times and ratios."""
    if chart is not None and chart.suffix.lower() != '.svg':
        fail(f'--chart writes SVG (drawn by hand, no plotting library): give a .svg path, not {chart.name}', 2)
    if shutil.which('gcc') is None:
        fail('gcc not found: the C builds are the baseline and the reference (apt-get install gcc)', 2)
    say = lambda line: click.echo(line, err=True)           # noqa: E731
    sizes = {a.name: (*(a.quick if quick else (a.full, a.reduced)), a.trivial) for a in ALGOS}
    with tempfile.TemporaryDirectory(prefix='bench_peers.') as name:
        tmp = Path(name)
        try:
            engs = engines(tmp, say)
        except subprocess.CalledProcessError as exc:
            fail(f'gcc failed: {" ".join(exc.cmd)}', 2)
        try:
            ref = reference(tmp, sizes)
        except Failure as exc:
            fail(str(exc), exc.status)
        times, outputs, bad = measure(engs, sizes, ref, rounds, say, tmp)
    lines, summary = tables(engs, times)
    click.echo('\n'.join(lines))
    click.echo(f'checksums: {"all match the C builds" if not bad else f"{len(bad)} MISMATCHED"}')
    for line in bad:
        click.echo(f'  {line}')
    if chart:
        svg_chart(engs, times, chart)
    if json_path:
        json_path.write_text(json.dumps({
            'sizes': sizes, 'engines': [e.key for e in engs], 'scaled': [e.key for e in engs if e.scaled],
            'times': {f'{k[0]} {k[1]}': v for k, v in times.items()},
            'checksums': {f'{k[0]} {k[1]}': v[0] for k, v in ref.items()},
            'iterations': {f'{k[0]} {k[1]}': v[1] for k, v in ref.items()},
            'outputs': {' '.join(map(str, k)): v for k, v in outputs.items()},
            'mismatches': bad, 'summary': summary}, indent=1) + '\n')
    if bad:
        fail(f'{len(bad)} checksums differ from the C builds (listed above)')


if __name__ == '__main__':
    from clitool import run_tool
    run_tool(main)
