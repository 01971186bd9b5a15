"""`python -m backends.opt`: the SSA dump and its evaluation, and bad input
as one `error:` line with exit status 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backends.opt.__main__ import main
from vm.api import RunConfig, execute

ROOT = Path(__file__).resolve().parents[2]


def test_dump_and_run_match_the_interpreter(capsysbinary):
    path = ROOT / 'bytecode' / 'collatz.asm'
    ref = execute(path.read_text(), RunConfig(jit=False))
    assert main([str(path), '--run']) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b'func main') and b' = phi L' in out
    assert out.endswith(ref.stdout + b'result: %d\n' % ref.result)


def test_a_trap_is_the_interpreters_line(tmp_path, capsys):
    src = tmp_path / 'dz.asm'
    src.write_text('PUSH 1\nPUSH 0\nDIV\nHALT\n')
    ref = execute(src.read_text(), RunConfig(jit=False), str(src))
    assert main([str(src), '--run', '--passes', 'constants,dead']) == 1
    assert capsys.readouterr().err == ref.error + '\n'


@pytest.mark.parametrize('args', [['missing.asm'], ['--passes', 'bogus', 'x.asm'], [], ['-O', '7', 'x']])
def test_bad_input_is_one_error_line(args, tmp_path):
    p = subprocess.run([sys.executable, '-m', 'backends.opt', *args], cwd=ROOT,
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.startswith('error: ') and p.stderr.count('\n') == 1, p.stderr
    assert 'Traceback' not in p.stderr
