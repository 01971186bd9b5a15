"""``asmkit asm|dis|run|verify``: the toolkit on the command line.

Every failure is one ``error: ...`` line on stderr, never a traceback or an
exception's name, with the exit status ``jitvm`` uses (spec/bytecode.md,
section 7): 2 for bad input (usage, a bad number, address or register value,
text that does not assemble, bytes that do not decode, a missing
keystone-engine), 1 when the code or the proof fails as it runs (an
emulation fault, an instruction or time limit, a proof mismatch), 130 on
Ctrl-C.  A closed output pipe (``asmkit dis ... | head -1``) ends quietly
with status 0, as ``jitvm``'s does; output that cannot be written otherwise
(``>/dev/full``, a closed stdout) is one ``error:`` line, status 2.  TEXT or
HEX of ``-`` reads standard input, at most ``MAX_INPUT`` bytes of it.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys

import click

from . import arch as arches
from .emulation import DEFAULT_COUNT, EmulationError, check_span, register_value

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

DEFAULT_TIMEOUT = 10.0      # seconds of `asmkit run`
RUN_ADDRESS = 0x10000       # where `asmkit run` places code (Unicorn's code page)
MAX_TIMEOUT = 10 ** 9       # seconds: finite and within what Unicorn's timer takes
MAX_INPUT = 64 << 20        # characters read from standard input: 64 MiB


class BadInput(click.ClickException):
    """Input that cannot be used as given (exit 2)."""
    exit_code = EXIT_BAD_INPUT


class RunFailed(click.ClickException):
    """The emulated code or the proof failed (exit 1)."""
    exit_code = EXIT_FAILED


class AddressType(click.ParamType):
    """An address: a number (decimal or 0x hex) from 0 to 2^64-1."""
    name = "address"

    def convert(self, value, param, ctx):
        number = value if isinstance(value, int) else _number(value, self, param, ctx)
        if not 0 <= number < 1 << 64:
            self.fail(f"{value} is not an address (0 to 2^64-1)", param, ctx)
        return number


ADDRESS = AddressType()


class SecondsType(click.ParamType):
    """A time limit: a finite number of seconds from 0 (no limit) to
    MAX_TIMEOUT; NaN, inf and 1e20 are refused here."""
    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_TIMEOUT):
            self.fail(f"{value!r} is not a number of seconds from 0 to {MAX_TIMEOUT}",
                      param, ctx)
        return seconds


def _number(text, param_type, param, ctx) -> int:
    try:
        return int(str(text).strip(), 0)
    except ValueError:
        param_type.fail(f"{text!r} is not a number", param, ctx)


class AsmkitGroup(click.Group):
    """The command group: library errors become click exceptions here, and
    ``main`` shows every failure as one ``error:`` line with its status, the
    same for the console script and for click's test runner."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            _silence_stdout()
            raise click.exceptions.Exit(0) from None
        except _StdoutClosed:
            raise BadInput("cannot write to standard output: it is closed") from None
        except EmulationError as exc:
            raise RunFailed(str(exc)) from None
        except ValueError as exc:          # AsmError, UnknownArch, bad spans
            raise BadInput(str(exc)) from None
        except OSError as exc:             # a file, or standard output (/dev/full)
            where = exc.filename if exc.filename else "cannot write to standard output"
            raise BadInput(f"{where}: {exc.strerror or exc}") from None
        except Exception as exc:           # a bug: still one line, then report it
            raise RunFailed(f"internal error ({type(exc).__name__}): {exc}") from None

    def main(self, args=None, prog_name=None, complete_var=None,
             standalone_mode=True, **extra):
        # not click's own main(): on Ctrl-C that prints an empty line first
        args = sys.argv[1:] if args is None else list(args)
        try:
            with self.make_context(prog_name or "asmkit", args, **extra) as ctx:
                result = self.invoke(ctx)
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            if isinstance(exc, BadInput):
                _silence_stdout()          # a failed write must not fail again at exit
            _flush_stdout()
            _say(f"error: {_one_line(exc)}")
            code = exc.exit_code
        except (click.Abort, KeyboardInterrupt):
            _flush_stdout()
            _say("error: interrupted")
            code = EXIT_INTERRUPTED
        _flush_stdout()
        sys.exit(code)


def _one_line(exc: click.ClickException) -> str:
    """The message of ``exc``; a usage error says where to find the help."""
    message = exc.format_message()
    if not isinstance(exc, click.UsageError):
        return message
    path = exc.ctx.command_path if exc.ctx else "asmkit"
    if "\n" in message:                # click's "no command: here is the help"
        return f"missing command (asm, dis, run or verify); see {path} --help"
    return f"{message.rstrip('.')} (see {path} --help)"


class _StdoutClosed(Exception):
    """Standard output was closed before the command started (``>&-``)."""


def _say(line: str) -> None:
    """One line on stderr; nothing when stderr is closed (``2>&-``)."""
    if sys.stderr is not None:
        click.echo(line, err=True)


def _echo(text: str) -> None:
    """``click.echo`` to stdout, which must be open."""
    if sys.stdout is None:
        raise _StdoutClosed()
    click.echo(text)


def _flush_stdout():
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):      # a closed pipe, /dev/full: said already
        _silence_stdout()


def _silence_stdout():
    """After a closed pipe, point stdout at /dev/null so that Python's final
    flush does not complain."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):   # closed, or click's test runner
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _input(value: str) -> str:
    """TEXT or HEX, or standard input for ``-``, at most MAX_INPUT characters."""
    if value != "-":
        return value
    if sys.stdin is None:
        raise BadInput("cannot read standard input: it is closed")
    text = sys.stdin.read(MAX_INPUT + 1)
    if len(text) > MAX_INPUT:
        raise BadInput(f"standard input is larger than {MAX_INPUT >> 20} MiB, the limit")
    return text


def _pick_arch(arch_name) -> str:
    name = arch_name or arches.host_arch() or "x86_64"
    arches.load(name)
    return arches.resolve(name)


_ARCH_OPT = click.option("--arch", "arch_name", default=None,
                         help="x86_64 or aarch64 (aliases: x86-64, amd64, x64, "
                              "arm64, a64); default: this machine")
_ADDR_OPT = click.option("--address", type=ADDRESS, default="0", show_default=True,
                         help="address the code is placed at (0 to 2^64-1; the "
                              "code must end by 2^64)")


def _show_version(ctx, param, value):
    if value and not ctx.resilient_parsing:
        from _jitvm import version
        click.echo(f"asmkit {version()}")
        ctx.exit()


@click.group(name="asmkit", cls=AsmkitGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help="Show the version and exit.")
def main():
    """asmkit: assemble, disassemble, emulate and verify machine code."""


@main.command()
@_ARCH_OPT
@_ADDR_OPT
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="write the raw bytes to FILE instead of printing hex")
@click.argument("text")
def asm(arch_name, address, output, text):
    """Assemble TEXT (instructions separated by newlines or ';')."""
    import asmkit
    code = asmkit.assemble(_input(text), _pick_arch(arch_name), address)
    if output:
        try:
            with open(output, "wb") as fh:
                fh.write(code)
        except OSError as exc:
            raise BadInput(f"cannot write {output}: {exc.strerror}") from None
    else:
        _echo(code.hex())


@main.command()
@_ARCH_OPT
@_ADDR_OPT
@click.argument("hex_text", metavar="HEX")
def dis(arch_name, address, hex_text):
    """Disassemble HEX bytes (spaces allowed)."""
    from .oracles import capstone
    text = "".join(_input(hex_text).split())
    try:
        code = bytes.fromhex(text)
    except ValueError:
        raise BadInput(f"not hex: {text[:40]!r}") from None
    check_span(address, len(code))
    rows = capstone.decode(code, arches.load(_pick_arch(arch_name)), address)
    for addr, size, line in rows:
        offset = addr - address
        _echo(f"{addr:#010x}:  {code[offset:offset + size].hex():<24} {line}")
    used = sum(size for _addr, size, _line in rows)
    if used != len(code):
        raise BadInput(f"cannot decode bytes at offset {used:#x}: "
                       f"{code[used:used + 8].hex()}")


@main.command()
@_ARCH_OPT
@click.option("--address", type=ADDRESS, default=hex(RUN_ADDRESS), show_default=True,
              help="address the code is placed and run at")
@click.option("--reg", "regs", multiple=True, metavar="NAME=VALUE",
              help="initial register value, negative for two's complement "
                   "(repeatable)")
@click.option("--max-insns", type=click.IntRange(min=0), default=DEFAULT_COUNT,
              show_default=True, help="stop with an error after this many "
                                      "instructions (0: no limit)")
@click.option("--timeout", type=SecondsType(), default=DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="stop with an error after this long (0: no limit)")
@click.argument("text")
def run(arch_name, address, regs, max_insns, timeout, text):
    """Assemble TEXT, run it in Unicorn to its end, print the registers that
    changed."""
    import asmkit
    name = _pick_arch(arch_name)
    mod = arches.load(name)
    start = _start_registers(mod, regs)
    code = asmkit.assemble(_input(text), name, address)
    try:
        after = asmkit.emulate(code, name, regs=start, address=address,
                               count=max_insns, timeout=timeout).regs
    except asmkit.EmulationLimit as exc:
        option = "--max-insns" if exc.reason == "count" else "--timeout"
        raise RunFailed(f"{exc}; {option} sets the limit") from None
    before = asmkit.emulate(b"", name, regs=start, address=address).regs
    for reg, value in after.items():
        if value != before[reg] and reg != mod.PC_REG:
            _echo(f"{reg} = {value:#x}")


def _start_registers(arch_mod, items) -> dict:
    """``--reg NAME=VALUE`` items as register values, checked for width."""
    start = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        try:
            if not sep:
                raise ValueError(f"{item!r} is not NAME=VALUE")
            try:
                number = int(value.strip(), 0)
            except ValueError:
                raise ValueError(f"{value.strip()!r} is not a number") from None
            start[key] = register_value(arch_mod, key, number)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--reg'") from None
    return start


# Stage names that run_proof passes to its progress callback, as shown.
_STAGES = {"keystone+capstone": "Keystone + Capstone", "unicorn": "Unicorn"}


class ProofProgress:
    """``run_proof``'s ``progress(stage, done, total)`` drawn as click's
    progress bar, one per stage, on a terminal; nothing otherwise (the counts
    follow at the end either way)."""

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self.shown = self.file.isatty()
        self._bars = contextlib.ExitStack()
        self._bar = self._stage = None
        self._done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.shown:
            return
        if stage != self._stage:
            self.close()
            self._bar = self._bars.enter_context(click.progressbar(
                length=total, label=_STAGES.get(stage, stage), file=self.file,
                show_pos=True))
            self._stage, self._done = stage, 0
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        """Complete the current bar: its stage has ended."""
        if self._bar is not None:
            self._bar.update(self._bar.length - self._done)
            self._bars.close()
            self._bar = self._stage = None


@main.command()
@_ARCH_OPT
@click.option("--inputs", type=click.IntRange(min=1), default=200, show_default=True,
              help="random inputs per Unicorn-checked form")
@click.option("--skip-keystone", is_flag=True,
              help="run only the Unicorn part (for hosts without keystone-engine: "
                   "the Capstone round trips run on Keystone-checked bytes)")
def verify(arch_name, inputs, skip_keystone):
    """Run the Keystone/Capstone/Unicorn proof and print its counts.

    Exit 1 on any mismatch.  Without keystone-engine it is an error that
    says how to install it; --skip-keystone proves what Unicorn can alone.
    """
    name = _pick_arch(arch_name)
    progress = ProofProgress()
    if skip_keystone:
        report, text = _unicorn_part(name, inputs, progress)
    else:
        report, text = _whole_proof(name, inputs, progress)
    progress.close()
    _echo(text)
    found = len(report.mismatches)
    if found:
        raise RunFailed(f"the proof found {found} mismatch{'' if found == 1 else 'es'} "
                        f"(listed above)")


def _whole_proof(name: str, inputs: int, progress):
    """``run_proof`` of the arch; its report and the report's lines."""
    import importlib
    from .oracles import keystone as ks_oracle
    try:
        ks_oracle.require()
    except ks_oracle.KeystoneUnavailable as exc:
        raise BadInput(f"{exc}; or asmkit verify --skip-keystone for the "
                       f"Unicorn part alone") from None
    proof = importlib.import_module(f"asmkit.{name}.proof")
    inputs_keyword = {"x86_64": "unicorn_inputs", "aarch64": "unicorn_runs"}[name]
    report = proof.run_proof(progress=progress, **{inputs_keyword: inputs})
    return report, report.details()


def _unicorn_part(name: str, inputs: int, progress):
    """The Unicorn semantic checks alone, in the proof's report type; the
    report and its lines."""
    if name == "x86_64":
        from .x86_64.proof import Report
        from .x86_64.semantics import check_semantics
        report = Report()
        progress("unicorn", 0, 1)
        check_semantics(report, inputs)
        runs = f"{report.unicorn_runs} Unicorn runs"
    else:
        from .aarch64.proof import ProofReport
        from .aarch64.semantics import prove_semantics
        report = ProofReport()
        prove_semantics(report, runs=inputs, progress=progress)
        runs = f"{report.unicorn_runs} Unicorn runs over {report.unicorn_forms} forms"
    lines = [f"{name}: Keystone and Capstone parts skipped (--skip-keystone); "
             f"{runs}, {len(report.mismatches)} mismatches"]
    lines += [f"  MISMATCH {m}" for m in report.mismatches[:50]]
    return report, "\n".join(lines)


if __name__ == "__main__":
    from _jitvm import drop_working_directory
    drop_working_directory()    # python -m asmkit.cli: a ./asmkit folder must not matter
    main()
