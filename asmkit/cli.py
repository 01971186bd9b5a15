"""``asmkit asm|dis|run|verify``: the toolkit on the command line.

Errors are one ``error: ...`` line on stderr and exit status 2, never a
traceback.  TEXT or HEX of ``-`` reads standard input.
"""

from __future__ import annotations

import sys

import click

from . import arch as arches


class _Fail(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def _arch(name):
    try:
        arches.load(name)
        return arches.resolve(name)
    except arches.UnknownArch as exc:
        raise _Fail(str(exc)) from None


def _input(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise _Fail(f"not a number: {text!r}") from None


_ARCH_OPT = click.option("--arch", "arch_name", default=None,
                         help="x86_64 or aarch64 (aliases: x86-64, amd64, x64, "
                              "arm64, a64); default: this machine")
_ADDR_OPT = click.option("--address", default="0", show_default=True,
                         help="address the code is placed at")


def _pick_arch(arch_name):
    return _arch(arch_name or arches.host_arch() or "x86_64")


def _guard(fn):
    """Turn library errors into one `error:` line (exit 2)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except (ValueError, OSError, KeyError) as exc:
            raise _Fail(str(exc)) from None
        except Exception as exc:       # oracle errors (UcError, KsError, ...)
            raise _Fail(f"{type(exc).__name__}: {exc}") from None
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """asmkit: assemble, disassemble, emulate and verify machine code."""


@main.command()
@_ARCH_OPT
@_ADDR_OPT
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="write the raw bytes to FILE instead of printing hex")
@click.argument("text")
@_guard
def asm(arch_name, address, output, text):
    """Assemble TEXT (instructions separated by newlines or ';')."""
    import asmkit
    code = asmkit.assemble(_input(text), _pick_arch(arch_name), _int(address))
    if output:
        with open(output, "wb") as fh:
            fh.write(code)
    else:
        click.echo(code.hex())


@main.command()
@_ARCH_OPT
@_ADDR_OPT
@click.argument("hex_text", metavar="HEX")
@_guard
def dis(arch_name, address, hex_text):
    """Disassemble HEX bytes (spaces allowed)."""
    import asmkit
    text = "".join(_input(hex_text).split())
    try:
        code = bytes.fromhex(text)
    except ValueError:
        raise _Fail(f"not hex: {text[:40]!r}") from None
    base = _int(address)
    from .oracles import capstone
    rows = capstone.decode(code, arches.load(_pick_arch(arch_name)), base)
    for addr, size, line in rows:
        click.echo(f"{addr:#010x}:  {code[addr - base:addr - base + size].hex():<24} {line}")
    used = sum(r[1] for r in rows)
    if used != len(code):
        raise _Fail(f"cannot decode bytes at offset {used:#x}: "
                    f"{code[used:used + 8].hex()}")
    del asmkit


@main.command()
@_ARCH_OPT
@click.option("--reg", "regs", multiple=True, metavar="NAME=VALUE",
              help="initial register value (repeatable)")
@click.argument("text")
@_guard
def run(arch_name, regs, text):
    """Assemble TEXT, run it in Unicorn, print the registers that changed."""
    import asmkit
    from .oracles.unicorn import CODE_ADDRESS
    name = _pick_arch(arch_name)
    mod = arches.load(name)
    start = {}
    for item in regs:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in mod.UNICORN_REGS:
            raise _Fail(f"bad --reg {item!r} (known: {', '.join(mod.UNICORN_REGS)})")
        start[key] = _int(value.strip())
    code = asmkit.assemble(_input(text), name, CODE_ADDRESS)
    before = asmkit.emulate(b"", name, regs=start, address=CODE_ADDRESS).regs
    after = asmkit.emulate(code, name, regs=start, address=CODE_ADDRESS).regs
    for reg, value in after.items():
        if value != before[reg] and reg != mod.PC_REG:
            click.echo(f"{reg} = {value:#x}")


@main.command()
@_ARCH_OPT
@click.option("--inputs", default=200, show_default=True,
              help="random inputs per Unicorn-checked form")
@_guard
def verify(arch_name, inputs):
    """Run the Keystone/Capstone/Unicorn proof and print its counts."""
    import importlib
    name = _pick_arch(arch_name)
    proof = importlib.import_module(f"asmkit.{name}.proof")
    report = _run_proof(proof, inputs)
    details = getattr(report, "details", None)
    click.echo(details() if callable(details) else report.summary())
    if getattr(report, "mismatches", None):
        sys.exit(1)


def _run_proof(proof, inputs):
    import inspect
    params = inspect.signature(proof.run_proof).parameters
    for key in ("unicorn_inputs", "unicorn_runs"):
        if key in params:
            return proof.run_proof(**{key: inputs})
    return proof.run_proof()


if __name__ == "__main__":
    main()
