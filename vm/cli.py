"""`jitvm asm|dis|run`: the command line of spec section 7.

Every failure is one `error: ` line on stderr with the spec's exit status;
click's own usage errors are reworded the same way. A closed output pipe
(`jitvm run prog.asm | head -1`, `jitvm dis big.bc | head -1`) ends any
command quietly with status 0; output that cannot be written otherwise
(`>/dev/full`, a closed stdout) is `error: cannot write to standard
output: ...`, status 2. Input is read up to MAX_INPUT bytes, never more.
"""
from __future__ import annotations

import math
import os
import sys

import click
from click.core import ParameterSource

from .api import MAX_CODE_CACHE, MAX_TIMEOUT, RunConfig, load
from .command import (Stdout, finish, read_input, run_file, say, shown_name,
                      silence_stdout)
from .errors import EXIT_BAD_INPUT, EXIT_OK, UsageError, shown
from .opcodes import MAX_CALL_DEPTH_LIMIT

JIT_ONLY = ('backend', 'emulate', 'opt', 'jit_threshold', 'code_cache', 'perf_map')   # no effect with --no-jit


class Seconds(click.ParamType):
    """--timeout: a finite number of seconds, above 0, at most MAX_TIMEOUT
    (NaN, inf and 1e20 are refused here, not by a timer later)."""
    name = 'seconds'

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f'{value!r} is not a number of seconds', param, ctx)
        if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
            self.fail(f'{value!r} is not a number of seconds above 0 and at most {MAX_TIMEOUT}',
                      param, ctx)
        return seconds


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


def _show_version(ctx, param, value):
    if value and not ctx.resilient_parsing:
        from _jitvm import version
        click.echo(f'jitvm {version()}')
        ctx.exit()


class Commands(click.Group):
    """The command group: a closed output pipe, wherever it is noticed,
    ends the command here with status 0, before click's own handling
    (which would exit 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            silence_stdout()
            raise click.exceptions.Exit(EXIT_OK) from None


@click.group(cls=Commands, context_settings={'help_option_names': ['-h', '--help']})
@click.option('--version', is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help='Show the version and exit.')
def cli():
    """jitvm: assemble, inspect and run jitvm bytecode, with a JIT."""


@cli.command()
@click.argument('src')
@click.option('-o', '--output', 'out', metavar='OUT.bc',
              help='where to write the .bc (default: SRC with .bc; - for standard output)')
def asm(src, out):
    """Assemble SRC.asm into a .bc file."""
    from .bcfile import write_bc
    from .textasm import assemble
    from .verifier import verify
    text = read_input(src).decode('utf-8', errors='replace')
    program = assemble(text, shown_name(src))
    verify(program)
    data = write_bc(program)
    if out == '-':
        stdout = Stdout()
        stdout.write(data)
        stdout.flush()
        return
    if out is None:
        out = (os.path.splitext(src)[0] if src != '-' else 'out') + '.bc'
    try:
        with open(out, 'wb') as f:
            f.write(data)
    except OSError as e:
        raise UsageError(f'cannot write {shown(out)}: {e.strerror}') from None


@cli.command()
@click.argument('file')
def dis(file):
    """Print the text form of a .bc file (it assembles back to the same bytes)."""
    from .bcfile import read_bc
    from .disasm import disassemble
    program = read_bc(read_input(file), shown_name(file))
    stdout = Stdout()
    stdout.write(disassemble(program).encode('utf-8', errors='replace'))
    stdout.flush()


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
@click.option('--code-cache', type=click.IntRange(0, MAX_CODE_CACHE), default=1 << 20,
              show_default=True, metavar='BYTES',
              help=f'executable memory for compiled code (at most {MAX_CODE_CACHE})')
@click.option('--max-call-depth', type=click.IntRange(1, MAX_CALL_DEPTH_LIMIT), default=10000,
              show_default=True, help='frames at once before `call stack overflow`')
@click.option('--timeout', type=Seconds(), metavar='SECONDS',
              help=f'wall-clock limit, honoured inside compiled loops too (at most {MAX_TIMEOUT})')
@click.option('--result', 'show_result', is_flag=True, help='print `result: N` after the output')
@click.option('--stats', is_flag=True, help='print a JIT summary on stderr after the run')
@click.option('-v', '--verbose', is_flag=True, help='one [JIT] line per compilation, eviction and fallback')
@click.option('--perf-map', is_flag=True, help='name compiled code for perf: append to /tmp/perf-PID.map')
def run_cmd(file, show_result, **options):
    """Run FILE (a .bc, or a .asm assembled on the fly)."""
    if not options['jit']:
        _warn_unused_jit_options(click.get_current_context())
    run_file(file, RunConfig(**options), show_result)


def _warn_unused_jit_options(ctx) -> None:
    """--no-jit with a JIT option the user gave: one `warning:` line saying
    it has no effect; the run goes on (exit status as without it)."""
    given = [name for name in JIT_ONLY
             if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    if given:
        flags = ', '.join('--' + name.replace('_', '-') for name in given)
        verb = 'has' if len(given) == 1 else 'have'
        click.echo(f'warning: {flags} {verb} no effect with --no-jit', err=True)


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
    dump_program(load(read_input(file), shown_name(file)), backend, opt, color, shown_name(file))


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


def main(argv=None) -> None:
    """Console entry point: never a traceback, always the spec's exit code."""
    finish(lambda: _click_main(argv))


def _click_main(argv) -> int:
    """click's parse and dispatch, its own exceptions turned into ours.
    Not click's `main()`: that catches Ctrl-C itself and first prints an
    empty line on stderr; here Ctrl-C reaches `finish` untouched."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        with cli.make_context('jitvm', args) as ctx:
            return cli.invoke(ctx)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        message = e.format_message()
        if '\n' in message:        # click's "no arguments: here is the help"
            message = 'missing command (asm, dis, run, dump or bench); see jitvm --help'
        say(f'error: {message}')
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None


if __name__ == '__main__':      # pragma: no cover
    from _jitvm import drop_working_directory
    drop_working_directory()    # python -m vm.cli: a ./backends folder must not hide ours
    main()
