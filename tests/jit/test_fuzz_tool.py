"""tools/fuzz_jit.py: a short campaign agrees and draws its progress bar;
a mismatch is saved with its seed, replays, and regenerates exactly."""
from __future__ import annotations

import importlib.util
import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.jit.diffengines import ENGINES
from tests.support.progen import generate_from_seed
from vm.api import RunConfig

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'fuzz_jit.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('fuzz_jit_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_campaign_agrees_and_draws_no_bar_off_a_terminal(tmp_path):
    proc = subprocess.run([sys.executable, str(TOOL), '--count', '12', '--seed', '7',
                           '--traps', '50', '--out', str(tmp_path / 'out')],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'seed 7, 12 programs, traps 50%' in proc.stderr
    assert '#' not in proc.stderr and '\r' not in proc.stderr
    assert f'12 programs x {len(ENGINES)} engines' in proc.stdout and '0 mismatches' in proc.stdout
    assert not (tmp_path / 'out' / 'last.asm').exists()


def test_the_progress_bar_is_clicks_on_a_terminal(tmp_path):
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(TOOL), '--count', '4', '--seed', '3',
                             '--engines', 'jit0-native', '--out', str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    drawn = b''
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:             # the child closed its end
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    assert b'100%' in drawn and b'4/4 programs, 0 mismatches' in drawn


def test_duration_bounds_a_campaign(tmp_path):
    proc = subprocess.run([sys.executable, str(TOOL), '--duration', '1', '--no-progress',
                           '--engines', 'jit0-native', '--out', str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'x 2 engines' in proc.stdout and '[' not in proc.stderr


def test_bad_options_are_refused():
    for argv in (['--traps', '101'], ['--engines', 'nonsense']):
        proc = subprocess.run([sys.executable, str(TOOL), *argv], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2 and 'error' in proc.stderr


def test_a_mismatch_is_saved_and_replays(tmp_path):
    tool = load_tool()
    # a deliberately different "engine": a call depth of 2 traps wherever the
    # interpreter with the default depth does not
    wrong = {'interp': lambda: RunConfig(jit=False),
             'too-shallow': lambda: RunConfig(jit=False, max_call_depth=2)}
    progress = tool.Progress(40, None, stream=io.StringIO(), enabled=True)
    log = io.StringIO()
    ran, saved = tool.campaign(100, 40, None, 0, wrong, tmp_path, progress, max_failures=2, log=log)
    assert saved and len(saved) <= 2 and ran <= 40
    text = saved[0].read_text()
    assert text.startswith('; seed ') and 'too-shallow: exit_code' in text
    seed = int(saved[0].stem.removeprefix('mismatch-seed'))
    body = ''.join(l + '\n' for l in text.splitlines() if not l.startswith('; '))
    assert body == generate_from_seed(seed, traps=False)
    assert f'--seed {seed} --count 1 --traps 0' in log.getvalue()
    assert f'--replay {saved[0]}' in log.getvalue()
    out = io.StringIO()
    assert tool.replay(saved[0], wrong, log=out) == 1
    assert 'DIFFERS' in out.getvalue()
    # the real engines agree on the same program
    assert tool.replay(saved[0], tool.select_engines(None, 20.0), log=io.StringIO()) == 0
