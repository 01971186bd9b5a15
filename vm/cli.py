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

from .api import MAX_CODE_CACHE, MAX_TIMEOUT, RunConfig, load, run
from .errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SIGINT, UsageError, VMError, shown
from .opcodes import MAX_CALL_DEPTH_LIMIT

MAX_INPUT = 64 << 20            # bytes of a program, .asm or .bc: 64 MiB
JIT_ONLY = ('backend', 'emulate', 'opt', 'jit_threshold', 'code_cache', 'perf_map')   # no effect with --no-jit


class OutputError(UsageError):
    """Standard output refused the program's output (not a closed pipe)."""


class Stdout:
    """Binary standard output for the commands. A failed write becomes an
    OutputError (one error line, exit 2), except a closed pipe, which stays
    a BrokenPipeError (a quiet exit 0); a closed stdout (`>&-`) fails at the
    first write, so a program that prints nothing still runs."""

    def __init__(self):
        self.stream = sys.stdout.buffer if sys.stdout is not None else None

    def write(self, data) -> int | None:
        return self._do('write', data)

    def flush(self) -> None:
        if self.stream is not None:     # closed: nothing was written, nothing to flush
            self._do('flush')

    def _do(self, what, *args):
        if self.stream is None:
            raise OutputError('cannot write to standard output: it is closed')
        try:
            return getattr(self.stream, what)(*args)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as e:
            reason = getattr(e, 'strerror', None) or str(e)
            raise OutputError(f'cannot write to standard output: {reason}') from None


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


def _read(path: str) -> bytes:
    """The bytes of FILE (`-`: standard input), at most MAX_INPUT of them."""
    try:
        if path == '-':
            if sys.stdin is None:
                raise UsageError('cannot read standard input: it is closed')
            data = sys.stdin.buffer.read(MAX_INPUT + 1)
        else:
            with open(path, 'rb') as f:
                data = f.read(MAX_INPUT + 1)
    except OSError as e:
        raise UsageError(f'cannot read {shown(_name(path))}: {e.strerror}') from None
    if len(data) > MAX_INPUT:
        raise UsageError(f'{shown(_name(path))}: larger than {MAX_INPUT >> 20} MiB, '
                         'the limit for a program')
    return data


def _name(path: str) -> str:
    return '<stdin>' if path == '-' else path


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
            _silence_stdout()
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
    text = _read(src).decode('utf-8', errors='replace')
    program = assemble(text, _name(src))
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
    program = read_bc(_read(file), _name(file))
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
def run_cmd(file, jit, jit_threshold, backend, opt, emulate, code_cache, max_call_depth,
            timeout, show_result, stats, verbose, perf_map):
    """Run FILE (a .bc, or a .asm assembled on the fly)."""
    if not jit:
        _warn_unused_jit_options(click.get_current_context())
    program = load(_read(file), _name(file))
    config = RunConfig(jit=jit, jit_threshold=jit_threshold, backend=backend,
                       emulate=emulate, code_cache=code_cache, max_call_depth=max_call_depth,
                       timeout=timeout, verbose=verbose, stats=stats, opt=opt, perf_map=perf_map)
    out = Stdout()
    result = run(program, config, out, sys.stderr)
    if show_result:
        out.write(b'result: %d\n' % result)
        out.flush()


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
        code = cli.main(args=argv, prog_name='jitvm', standalone_mode=False)
        code = code if isinstance(code, int) else EXIT_OK
    except VMError as e:
        if isinstance(e, OutputError):
            _silence_stdout()           # or Python's last flush fails again at exit
        _flush_stdout()
        _say(e.line())
        code = e.exit_code
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:
        message = e.format_message()
        if '\n' in message:        # click's "no arguments: here is the help"
            message = 'missing command (asm, dis, run, dump or bench); see jitvm --help'
        _say(f'error: {message}')
        code = EXIT_BAD_INPUT
    except (click.exceptions.Abort, KeyboardInterrupt):
        _flush_stdout()
        _say('error: interrupted')
        code = EXIT_SIGINT
    except BrokenPipeError:
        code = EXIT_OK
        _silence_stdout()
    _flush_stdout()
    sys.exit(code)


def _say(line: str) -> None:
    """One line on stderr (nothing when stderr is closed: `2>&-`)."""
    if sys.stderr is not None:
        click.echo(line, err=True)


def _flush_stdout():
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError):
        _silence_stdout()


def _silence_stdout():
    """After a closed pipe or a failed write, point stdout at /dev/null so
    that Python's final flush does not complain."""
    if sys.stdout is None:
        return
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == '__main__':      # pragma: no cover
    from _jitvm import drop_working_directory
    drop_working_directory()    # python -m vm.cli: a ./backends folder must not hide ours
    main()
