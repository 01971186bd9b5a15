"""What the `jitvm` commands share that does not need click: reading FILE,
writing standard output, running a program, and turning every way a
command can end into one `error:` line and the spec's exit status.

Why apart from vm/cli.py: `jitvm run FILE` with no options is what most
runs are, and click's import alone is about twice a bare Python start-up.
The entry module (_jitvm.py) runs that one form through `run_file` here
with the defaults of RunConfig, which are the command's defaults (a test
holds them equal); every other command line goes through click."""
from __future__ import annotations

import os
import sys

from .errors import EXIT_OK, EXIT_SIGINT, UsageError, VMError, shown

MAX_INPUT = 64 << 20            # bytes of a program, .asm or .bc: 64 MiB


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


def read_input(path: str) -> bytes:
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
        raise UsageError(f'cannot read {shown(shown_name(path))}: {e.strerror}') from None
    if len(data) > MAX_INPUT:
        raise UsageError(f'{shown(shown_name(path))}: larger than {MAX_INPUT >> 20} MiB, '
                         'the limit for a program')
    return data


def shown_name(path: str) -> str:
    return '<stdin>' if path == '-' else path


def run_file(path: str, config, show_result: bool = False) -> None:
    """`jitvm run`: load FILE, run it, print `result: N` if asked."""
    from .api import load, run
    program = load(read_input(path), shown_name(path))
    out = Stdout()
    result = run(program, config, out, sys.stderr)
    if show_result:
        out.write(b'result: %d\n' % result)
        out.flush()


def quick_run(path: str) -> None:
    """`jitvm run FILE` with every option at its default, without click."""
    from .api import RunConfig
    finish(lambda: run_file(path, RunConfig()))


def finish(command) -> None:
    """Run command() and exit with the spec's status: a VMError is its one
    line, Ctrl-C is `error: interrupted` (130), a closed output pipe is a
    quiet 0. Output already written is flushed first, so it is kept."""
    try:
        code = command()
        code = code if isinstance(code, int) else EXIT_OK
    except VMError as e:
        if isinstance(e, OutputError):
            silence_stdout()            # or Python's last flush fails again at exit
        flush_stdout()
        say(e.line())
        code = e.exit_code
    except KeyboardInterrupt:
        flush_stdout()
        say('error: interrupted')
        code = EXIT_SIGINT
    except BrokenPipeError:
        code = EXIT_OK
        silence_stdout()
    flush_stdout()
    sys.exit(code)


def say(line: str) -> None:
    """One line on stderr (nothing when stderr is closed: `2>&-`)."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(line + '\n')
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def flush_stdout() -> None:
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):       # a closed pipe among them
        silence_stdout()


def silence_stdout() -> None:
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
