"""Every ```python block of docs/api.md runs, each in a fresh interpreter
(from the repository root, so the examples may open bytecode/ files), and
none raises: the examples' asserts are the documented results."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r'^```python\n(.*?)^```', (ROOT / 'docs' / 'api.md').read_text(),
                    flags=re.M | re.S)


def test_the_page_has_examples_of_every_entry_point():
    text = ''.join(BLOCKS)
    for name in ('execute(', 'RunConfig(', 'load(', 'run(', 'asmkit.assemble(',
                 'asmkit.disassemble(', 'asmkit.emulate(', 'x86_64 import Builder',
                 'aarch64 import Builder', '__version__'):
        assert name in text, name


@pytest.mark.parametrize('index', range(len(BLOCKS)))
def test_example_runs(index):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, '-c', BLOCKS[index]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f'example {index + 1}:\n{BLOCKS[index]}\n{proc.stderr}'
