"""Shared by the benchmark tools: load a bytecode/ program (optionally with
its `.const` knobs changed), run it in-process on an engine, time it (the
timing is vm/bench.py's, the one `jitvm bench` uses)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vm.api import RunConfig, load  # noqa: E402
from vm.bench import timed, warm_up, with_consts  # noqa: E402


def source(name: str, **consts) -> str:
    """bytecode/NAME.asm with `.const KEY VALUE` lines replaced."""
    return with_consts((ROOT / 'bytecode' / f'{name}.asm').read_text(), f'{name}.asm', **consts)


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
