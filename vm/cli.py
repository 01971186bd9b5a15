"""`jitvm asm|dis|run`: the command line of spec section 7.

Every failure is one `error: ` line on stderr with the spec's exit status;
click's own usage errors are reworded the same way.
"""
from __future__ import annotations

import os
import sys

import click

from .api import RunConfig, load, run
from .errors import EXIT_BAD_INPUT, EXIT_SIGINT, UsageError, VMError
from .opcodes import MAX_CALL_DEPTH_LIMIT


class BackendName(click.ParamType):
    """--backend: 'auto', a built-in backend (or alias), or a name from the
    `jitvm.backends` entry-point group. Entry points are only scanned for a
    name that is not built in (or for --help), to keep start-up fast."""
    name = 'backend'

    def get_metavar(self, param, *args, **kwargs):
        from backends import names
        return '[' + '|'.join(['auto'] + names()) + ']'

    def convert(self, value, param, ctx):
        from backends import BUILTIN, available, canonical, names
        name = canonical(value)
        if name == 'auto' or name in BUILTIN or name in available():
            return name
        self.fail(f'{value!r} is not a backend (choose from: {", ".join(["auto"] + names())})',
                  param, ctx)


def _read(path: str) -> bytes:
    try:
        if path == '-':
            return sys.stdin.buffer.read()
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        raise UsageError(f'cannot read {path}: {e.strerror}') from None


def _name(path: str) -> str:
    return '<stdin>' if path == '-' else path


@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.version_option('0.1.0', prog_name='jitvm')
def cli():
    """jitvm: assemble, inspect and run jitvm bytecode, with a JIT."""


@cli.command()
@click.argument('src')
@click.option('-o', '--output', 'out', metavar='OUT.bc', help='where to write the .bc (default: SRC with .bc)')
def asm(src, out):
    """Assemble SRC.asm into a .bc file."""
    from .bcfile import write_bc
    from .textasm import assemble
    from .verifier import verify
    text = _read(src).decode('utf-8', errors='replace')
    program = assemble(text, _name(src))
    verify(program)
    data = write_bc(program)
    if out is None:
        out = (os.path.splitext(src)[0] if src != '-' else 'out') + '.bc'
    try:
        with open(out, 'wb') as f:
            f.write(data)
    except OSError as e:
        raise UsageError(f'cannot write {out}: {e.strerror}') from None


@cli.command()
@click.argument('file')
def dis(file):
    """Print the text form of a .bc file (it assembles back to the same bytes)."""
    from .bcfile import read_bc
    from .disasm import disassemble
    program = read_bc(_read(file), _name(file))
    click.echo(disassemble(program), nl=False)


@cli.command(name='run')
@click.argument('file')
@click.option('--jit/--no-jit', default=True, show_default=True, help='compile hot code (default) or interpret only')
@click.option('--jit-threshold', type=click.IntRange(min=0), default=1000, show_default=True,
              help='backward jumps to a loop header, or calls of a function, before it is compiled; 0 compiles first')
@click.option('--backend', type=BackendName(), default='auto', show_default=True,
              help='code generator: auto (the host\'s), a built-in one or one a package registers')
@click.option('--opt', type=click.IntRange(0, 2), default=0, show_default=True,
              help='0: baseline code only; 1, 2: hot compiled code is recompiled by the optimizing tier')
@click.option('--emulate', is_flag=True, help='run the generated code in Unicorn instead of natively')
@click.option('--code-cache', type=click.IntRange(min=0), default=1 << 20, show_default=True,
              metavar='BYTES', help='executable memory for compiled code')
@click.option('--max-call-depth', type=click.IntRange(1, MAX_CALL_DEPTH_LIMIT), default=10000,
              show_default=True, help='frames at once before `call stack overflow`')
@click.option('--timeout', type=click.FloatRange(min=0, min_open=True), metavar='SECONDS',
              help='wall-clock limit, honoured inside compiled loops too')
@click.option('--result', 'show_result', is_flag=True, help='print `result: N` after the output')
@click.option('--stats', is_flag=True, help='print a JIT summary on stderr after the run')
@click.option('-v', '--verbose', is_flag=True, help='one [JIT] line per compilation, eviction and fallback')
@click.option('--perf-map', is_flag=True, help='name compiled code for perf: append to /tmp/perf-PID.map')
def run_cmd(file, jit, jit_threshold, backend, opt, emulate, code_cache, max_call_depth,
            timeout, show_result, stats, verbose, perf_map):
    """Run FILE (a .bc, or a .asm assembled on the fly)."""
    program = load(_read(file), _name(file))
    config = RunConfig(jit=jit, jit_threshold=jit_threshold, backend=backend,
                       emulate=emulate, code_cache=code_cache, max_call_depth=max_call_depth,
                       timeout=timeout, verbose=verbose, stats=stats, opt=opt, perf_map=perf_map)
    out = sys.stdout.buffer
    result = run(program, config, out, sys.stderr)
    if show_result:
        out.write(b'result: %d\n' % result)
        out.flush()


@cli.command()
@click.argument('file')
@click.option('--backend', type=BackendName(), default='auto', show_default=True,
              help='whose code: any backend, whatever the host (compiling runs nothing)')
@click.option('--opt', type=click.IntRange(0, 2), default=0, show_default=True,
              help='0: baseline code; 1, 2: the optimizing tier\'s, where the backend has one')
@click.option('--color/--no-color', default=None, help='colour (default: on a terminal)')
def dump(file, backend, opt, color):
    """Each bytecode instruction of FILE beside the machine code it became.

    Every function is compiled as --jit-threshold 0 would compile it (nothing
    runs, so any backend works on any host) and disassembled with Capstone."""
    from .dump import dump as dump_program
    dump_program(load(_read(file), _name(file)), backend, opt, color, _name(file))


@cli.command()
@click.argument('names', nargs=-1)
@click.option('--rounds', type=click.IntRange(min=1), default=1, show_default=True,
              help='rounds over all benchmarks; the best time of each is kept')
@click.option('--json', 'json_path', metavar='PATH', help='write the rows and how they were timed as JSON')
@click.option('--chart', 'chart_path', metavar='PATH.svg', help='write an SVG chart, interpreter vs JIT')
@click.option('--quick', is_flag=True, help='tiny sizes: checks the plumbing in seconds, not the speed')
def bench(names, rounds, json_path, chart_path, quick):
    """Interpreter against JIT on the benchmarks shipped with jitvm.

    NAMES picks some of them (sum, mandelbrot, fib, sieve, matmul, collatz)."""
    from .bench import run_bench
    status = run_bench(names, rounds, quick, json_path, chart_path)
    if status:
        raise click.exceptions.Exit(status)


def main(argv=None) -> int:
    """Console entry point: never a traceback, always the spec's exit code."""
    try:
        cli.main(args=argv, prog_name='jitvm', standalone_mode=False)
        code = 0
    except VMError as e:
        _flush_stdout()
        click.echo(e.line(), err=True)
        code = e.exit_code
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:
        message = e.format_message()
        if '\n' in message:        # click's "no arguments: here is the help"
            message = 'missing command (asm, dis or run); see jitvm --help'
        click.echo(f'error: {message}', err=True)
        code = EXIT_BAD_INPUT
    except (click.exceptions.Abort, KeyboardInterrupt):
        _flush_stdout()
        click.echo('error: interrupted', err=True)
        code = EXIT_SIGINT
    except BrokenPipeError:
        code = 0
        _silence_stdout()
    _flush_stdout()
    sys.exit(code)


def _flush_stdout():
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout():
    """After a closed pipe, keep Python from complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == '__main__':      # pragma: no cover
    main()
