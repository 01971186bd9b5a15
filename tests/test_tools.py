"""Every tools/*.py answers --help with its help and status 0, without
running anything (they all parse their options with click)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = sorted((Path(__file__).resolve().parent.parent / 'tools').glob('*.py'))


def test_every_tool_is_listed():
    assert len(TOOLS) >= 10


@pytest.mark.parametrize('tool', TOOLS, ids=lambda p: p.name)
def test_help_prints_help_and_exits_0(tool):
    proc = subprocess.run([sys.executable, str(tool), '--help'], capture_output=True,
                          text=True, timeout=60, cwd=tool.parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f'Usage: {tool.name} ') and proc.stderr == ''


@pytest.mark.parametrize('tool', ['bench.py', 'bench_interp.py', 'fuzz_jit.py'])
def test_bad_options_are_one_error_line_exit_2(tool):
    proc = subprocess.run([sys.executable, str(TOOLS[0].parent / tool), '--no-such-option'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ''
    assert proc.stderr.startswith('error: ') and proc.stderr.count('\n') == 1
