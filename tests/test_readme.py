"""Every `jitvm ...` line in the code blocks of README.md runs as written,
in order (so `jitvm dis fib.bc` reads the file `jitvm asm` wrote), from a
directory holding the repository's bytecode/, and exits 0 without an error."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / 'README.md'


def readme_commands(text: str) -> list[str]:
    """The `jitvm` lines of the fenced code blocks, comments cut off."""
    commands = []
    for block in re.findall(r'^```[a-z]*\n(.*?)^```', text, flags=re.M | re.S):
        for line in block.splitlines():
            command = re.split(r'\s{2,}#\s', line, maxsplit=1)[0].strip()
            if command.startswith('jitvm '):
                commands.append(command)
    return commands


def jitvm_on_path(tmp_path: Path) -> str:
    """A PATH whose `jitvm` is this environment's console script, or, where the
    project is not installed (the arm64 root), `python -m vm.cli` from ROOT."""
    installed = Path(sys.executable).parent / 'jitvm'
    bin_dir = installed.parent
    if not installed.exists():
        bin_dir = tmp_path / 'bin'
        bin_dir.mkdir()
        shim = bin_dir / 'jitvm'
        shim.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m vm.cli "$@"\n')
        shim.chmod(0o755)
    return f'{bin_dir}{os.pathsep}{os.environ.get("PATH", "")}'


def test_readme_names_only_files_that_exist():
    commands = readme_commands(README.read_text())
    named = {word for command in commands for word in command.split()
             if word.startswith('bytecode/')}
    assert {'bytecode/deep.asm', 'bytecode/sum.asm'} <= named
    assert all((ROOT / word).is_file() for word in named), named


def test_every_readme_jitvm_command_runs(tmp_path):
    commands = readme_commands(README.read_text())
    assert len(commands) >= 10
    (tmp_path / 'bytecode').symlink_to(ROOT / 'bytecode')
    env = dict(os.environ, PATH=jitvm_on_path(tmp_path))
    for command in commands:
        proc = subprocess.run(['bash', '-o', 'pipefail', '-c', command], cwd=tmp_path, env=env,
                              capture_output=True, timeout=300)
        err = proc.stderr.decode(errors='replace')
        assert proc.returncode == 0, f'{command}: exit {proc.returncode}: {err}'
        assert 'error:' not in err and 'Traceback' not in err, f'{command}: {err}'
        assert proc.stdout or ' -o ' in command, f'{command} printed nothing'
