"""Interpreter against JIT on the bytecode/ benchmarks, in one run: times,
speedups, and the JIT's compile time per bytecode instruction.

The host's rows are `jitvm bench`'s (vm/bench.py: the sizes, the timing,
the table): both engines run the same program at the same size; outputs
and results must match. Targets: >= 100x on sum and Mandelbrot, < 5 us compile time per
bytecode instruction.

The AArch64 rows are measured inside the emulated arm64 root
(tools/arm64_root.py): there both engines run under the same qemu user-mode
emulation, so their ratio is the AArch64 JIT's speedup, at smaller sizes
because emulated Python is ~10x slower. They are printed when a finished
root is cached on this machine (`--arm64`: only them, building the root if
needed; `--no-arm64`: never)."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import click

from benchlib import ROOT, RunConfig, load, source, timed, warm_up

from vm.bench import BENCHMARKS, HEADER, compile_summary, format_row, measure  # noqa: E402

# inside the root: a few seconds of emulated interpreter each
ARM64_BENCHMARKS = {
    'sum': dict(N=1_000_000),
    'mandelbrot': dict(MAXIT=100),
}


def host_rows(args, target) -> bool:
    """The host's table; True when every JIT run matched the interpreter."""
    print(HEADER)
    ok, rows = True, []
    for name in args.names:
        row = measure(name, BENCHMARKS[name], target)
        rows.append(row)
        print(format_row(row), flush=True)
        if args.emulate:
            program = load(source(f'bench_{name}', **BENCHMARKS[name]), f'bench_{name}.asm')
            _, out_i, res_i, _ = timed(program, RunConfig(jit=False))
            t_e, out_e, res_e, _ = timed(program, RunConfig(jit=True, jit_threshold=0, emulate=True))
            print(f'{"":<14} unicorn {t_e:.3f}s, same output: {(out_e, res_e) == (out_i, res_i)}')
        ok &= row['same']
    summary = compile_summary(rows)
    if summary:
        print(summary)
    return ok


def arm64_rows(build: bool) -> bool:
    """The AArch64 rows, measured by this script inside the arm64 root."""
    sys.path.insert(0, str(ROOT / 'tools'))
    import arm64_root
    cache = arm64_root.Cache()
    if not build and not cache.done('complete', arm64_root.config_key()):
        print('AArch64 rows: no arm64 root cached on this machine '
              '(`tools/bench.py --arm64` or `tools/arm64_root.py build` makes one)')
        return True
    if build:
        problem = arm64_root.host_problem(install=False)
        if problem:
            print(f'AArch64 rows: SKIPPED: {problem}')
            return True
        arm64_root.build_root(cache)
    print('AArch64, inside the arm64 root (qemu user-mode: both engines emulated; '
          f'sizes {", ".join(n + " " + " ".join(f"{k}={v}" for k, v in kn.items()) for n, kn in ARM64_BENCHMARKS.items())}):', flush=True)
    cmd = [sys.executable, str(ROOT / 'tools' / 'arm64_root.py'), 'run', '--',
           'python', 'tools/bench.py', '--inside-json', *ARM64_BENCHMARKS]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]
    if proc.returncode or len(rows) != len(ARM64_BENCHMARKS):
        print(f'AArch64 rows: the run inside the root failed (exit {proc.returncode})')
        return False
    print(HEADER)
    for row in rows:
        print(format_row(row, label=f'a64/{row["name"]}'))
    return all(row['same'] for row in rows)


@click.command(help=__doc__)
@click.argument('names', nargs=-1)
@click.option('--emulate', is_flag=True, help='also time the x86-64 code under Unicorn')
@click.option('--arm64', is_flag=True, help='only the AArch64 rows (builds the root if needed)')
@click.option('--no-arm64', is_flag=True, help='no AArch64 rows')
@click.option('--inside-json', is_flag=True, hidden=True)
def main(names, emulate, arm64, no_arm64, inside_json):
    if arm64 + no_arm64 + inside_json > 1:
        raise click.UsageError('--arm64, --no-arm64 and --inside-json exclude each other')
    args = SimpleNamespace(names=list(names), emulate=emulate, arm64=arm64,
                           no_arm64=no_arm64, inside_json=inside_json)
    table = ARM64_BENCHMARKS if args.inside_json else BENCHMARKS
    args.names = args.names or list(table)
    unknown = [n for n in args.names if n not in table]
    if unknown:
        raise click.UsageError(f'unknown benchmark {unknown[0]} (choose from {", ".join(table)})')
    from backends import select_backend
    target = select_backend('auto')
    if args.inside_json:            # one JSON line per row, for arm64_rows on the host
        if target is not None:
            warm_up()
        for name in args.names:
            print(json.dumps(measure(name, table[name], target, jit_runs=1)), flush=True)
        return
    ok = True
    if not args.arm64:
        warm_up()
        ok = host_rows(args, target)
    if not args.no_arm64:
        ok &= arm64_rows(build=args.arm64)
    raise SystemExit(0 if ok else 1)


if __name__ == '__main__':
    from clitool import run_tool
    run_tool(main)
