"""Shared by the benchmark tools: load a bytecode/ program (optionally with
its `.const` knobs changed), run it in-process on an engine, time it."""
from __future__ import annotations

import io
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vm.api import RunConfig, load, run  # noqa: E402


def source(name: str, **consts) -> str:
    """bytecode/NAME.asm with `.const KEY VALUE` lines replaced."""
    text = (ROOT / 'bytecode' / f'{name}.asm').read_text()
    for key, value in consts.items():
        text, n = re.subn(rf'^\.const {key} .*$', f'.const {key} {value}', text, flags=re.M)
        if not n:
            raise KeyError(f'{name}.asm has no .const {key}')
    return text


def timed(program, config: RunConfig):
    """(seconds, stdout bytes, result, log text) of one in-process run."""
    out, log = io.BytesIO(), io.StringIO()
    t0 = time.perf_counter()
    result = run(program, config, out, log)
    return time.perf_counter() - t0, out.getvalue(), result, log.getvalue()


def warm_up():
    """Import and initialise everything once, so no run pays for it."""
    timed(load('PUSH 1\nPRINT\nHALT\n', 'warm-up'), RunConfig(jit=True, jit_threshold=0))


__all__ = ['RunConfig', 'load', 'source', 'timed', 'warm_up', 'ROOT']


def knobs(name: str) -> list[str]:
    """The `.const` names of bytecode/NAME.asm, the knobs `source` turns."""
    text = (ROOT / 'bytecode' / f'{name}.asm').read_text()
    return re.findall(r'^\.const\s+(\S+)', text, flags=re.M)


if __name__ == '__main__':
    import click
    from clitool import run_tool

    @click.command(help=__doc__ + '\n\nLists the bytecode/ programs and their .const knobs.')
    def main():
        for path in sorted((ROOT / 'bytecode').glob('*.asm')):
            click.echo(f'{path.stem:<18} {" ".join(knobs(path.stem))}')

    run_tool(main)
