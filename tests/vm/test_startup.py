"""Start-up: `jitvm run FILE` skips click but behaves as the click command
with its defaults; a run that stays interpreted imports no backend, no
ctypes and none of the oracles; Ctrl-C at any moment of a run, start-up
included, is `error: interrupted` with status 130. (The ratio to a bare
Python is measured by tools/bench_startup.py, not here: a timed test
would flake on a loaded machine.)"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _jitvm import quick_form
from tests.jit.test_output_once import COUNT
from vm.api import RunConfig

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / 'bytecode' / 'hello.asm'
JITVM = Path(sys.executable).parent / 'jitvm'
needs_script = pytest.mark.skipif(not JITVM.exists(), reason='the jitvm console script is '
                                  'installed by make (pip install -e .)')


def test_the_quick_form_is_run_file_and_nothing_else():
    assert quick_form(['run', 'x.asm']) == 'x.asm'
    for args in (['run'], ['run', '--stats', 'x'], ['run', 'x', '--stats'], ['run', '-'],
                 ['run', '--', 'x'], ['dis', 'x'], ['run', '--help'], []):
        assert quick_form(args) is None, args


def test_run_config_defaults_are_the_commands_defaults():
    from vm.cli import run_cmd
    ctx = run_cmd.make_context('run', ['x.asm'])
    options = {k: v for k, v in ctx.params.items() if k not in ('file', 'show_result')}
    assert RunConfig(**options) == RunConfig()


def run_script(*args, **kw):
    return subprocess.run([str(JITVM), *map(str, args)], capture_output=True, timeout=60, **kw)


@needs_script
@pytest.mark.parametrize('args', [[HELLO], ['--result', HELLO], ['no-such.asm'], ['-'],
                                  [ROOT / 'pyproject.toml']])
def test_the_quick_form_and_click_agree(args, tmp_path):
    quick = run_script('run', *args, input=b'PUSH 7\nRET\n')
    # the same through click: an option at its default value forces that path
    slow = run_script('run', '--jit-threshold', '1000', *args, input=b'PUSH 7\nRET\n')
    assert (quick.returncode, quick.stdout, quick.stderr) == \
        (slow.returncode, slow.stdout, slow.stderr)


def test_an_interpreted_run_imports_no_backend_ctypes_or_oracle():
    probe = ('import sys; sys.argv = ["jitvm", "run", sys.argv[1]]\n'
             'from _jitvm import jitvm\n'
             'try:\n    jitvm()\n'
             'except SystemExit:\n'
             '    heavy = ("click", "ctypes", "enum", "re", "dataclasses", "unicorn", "capstone",\n'
             '             "keystone", "backends.x86_64", "backends.aarch64", "asmkit")\n'
             '    print(sorted(m for m in heavy if m in sys.modules))\n')
    proc = subprocess.run([sys.executable, '-c', probe, str(HELLO)], capture_output=True,
                          timeout=60, cwd=ROOT)
    assert proc.stdout.decode().splitlines() == ['Hello, world!', '[]'], proc.stderr


LONG = COUNT        # prints 0, 1, 2, ... until stopped


def _ours(traceback: str) -> bool:
    """Whether a traceback has a frame of this project's modules or of
    click. One from Python's own start-up (site, or the console script pip
    wrote finding our entry module) has none: that window, before the
    first line of _jitvm.py runs, is the interpreter's."""
    marks = [str(ROOT / name) for name in ('vm', 'backends', 'asmkit', '_jitvm.py')] + ['click']
    return any(line.strip().startswith('File') and any(m in line for m in marks)
               for line in traceback.splitlines())


@needs_script
@pytest.mark.xdist_group('signals')
def test_ctrl_c_at_any_moment_is_error_interrupted(tmp_path):
    """SIGINT at moments spread over the whole start-up and the first part
    of the run, with the JIT and without."""
    src = tmp_path / 'long.asm'
    src.write_text(LONG)
    outcomes = {}
    for i in range(36):
        delay = 0.004 * i
        args = ['run', src] if i % 2 == 0 else ['run', '--jit-threshold', '0', src]
        child = subprocess.Popen([str(JITVM), *map(str, args)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        err = err.decode(errors='replace')
        if child.returncode == 130:
            assert err == 'error: interrupted\n', (delay, args, err)
        elif 'Traceback' in err:
            # only Python's own start-up (site, before our entry module) may show one
            assert not _ours(err), (delay, args, err)
        else:
            assert child.returncode == -signal.SIGINT and err == '', (delay, args, err)
        outcomes[child.returncode] = outcomes.get(child.returncode, 0) + 1
    assert outcomes.get(130, 0) >= 20, outcomes


@needs_script
def test_ctrl_c_while_exiting_is_still_error_interrupted():
    """The handler left in place for Python's shutdown: a Ctrl-C there
    also ends as `error: interrupted` (simulated by raising SIGINT at
    interpreter exit)."""
    code = ('import atexit, os, signal, sys\n'
            'sys.argv = ["jitvm", "run", sys.argv[1]]\n'
            'atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n'
            'from _jitvm import jitvm\njitvm()\n')
    proc = subprocess.run([sys.executable, '-c', code, str(HELLO)], capture_output=True,
                          timeout=60, cwd=ROOT, env={**os.environ})
    assert proc.stdout == b'Hello, world!\n'
    assert (proc.returncode, proc.stderr) == (130, b'error: interrupted\n')
