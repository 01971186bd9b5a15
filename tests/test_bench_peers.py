"""tools/bench_peers.py --quick with whatever peers this machine has: every
engine's output equals the reference interpreter's at the same size, the
tables have one row per algorithm, the chart and JSON are written.

No timing assertions: tiny sizes only prove the plumbing, not speed."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vm.api import RunConfig, execute

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import bench_peers  # noqa: E402

ALGOS = [a.name for a in bench_peers.ALGOS]

pytestmark = [pytest.mark.skipif(shutil.which('gcc') is None, reason='no gcc: the tool exits with its error line'),
              # one worker: the --quick run (a module fixture) happens once
              pytest.mark.xdist_group('bench-peers')]


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    """One --quick run: (stdout, JSON report, chart path)."""
    tmp = tmp_path_factory.mktemp('peers')
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'bench_peers.py'), '--quick', '--rounds', '1',
                           '--chart', str(tmp / 'peers.svg'), '--json', str(tmp / 'peers.json')],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads((tmp / 'peers.json').read_text()), tmp / 'peers.svg'


def interpreter_output(algo: str, size: int) -> list[str]:
    """The reference interpreter's output words for algo at size."""
    spec = next(a for a in bench_peers.ALGOS if a.name == algo)
    outcome = execute(spec.source(size), RunConfig(jit=False, timeout=120), f'{algo}.asm')
    assert outcome.exit_code == 0, outcome.error
    return outcome.stdout.decode().split()


def test_every_engine_matches_the_interpreter(quick):
    _, report, _ = quick
    assert report['mismatches'] == []
    seen = set()
    for key, words in report['outputs'].items():
        engine, algo, size = key.split()
        assert words == interpreter_output(algo, int(size)), key
        seen.add((engine, algo))
    for engine in report['engines']:
        wanted = ['fib'] if engine == 'gcc-O2-noinline' else ALGOS
        assert {a for e, a in seen if e == engine} == set(wanted), engine
    assert {'gcc-O2', 'gcc-O0', 'cpython', 'interp', 'jit'} <= set(report['engines'])


def test_scaled_engines_ran_reduced_and_the_rest_full(quick):
    _, report, _ = quick
    for key in report['outputs']:
        engine, algo, size = key.split()
        full, reduced, trivial = report['sizes'][algo]
        assert int(size) in (trivial, reduced if engine in report['scaled'] else full), key
    assert set(report['scaled']) == {'cpython', 'interp'}


def test_tables_have_a_row_per_algorithm_and_a_column_per_engine(quick):
    out, report, _ = quick
    lines = out.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith('algorithm')]
    assert len(heads) == 2, out
    columns = len(report['engines']) + 1
    for head in heads:
        assert len(lines[head].split()) >= columns
        rows = lines[head + 1:head + 1 + len(ALGOS)]
        assert [r.split()[0] for r in rows] == ALGOS
        assert all(len(r.split()) == columns for r in rows), rows
    assert lines[heads[1] + 1 + len(ALGOS)].split()[0] == 'geomean'
    assert 'checksums: all match the C builds' in out
    assert set(report['summary']['geomean']) == set(report['engines'])
    assert report['summary']['geomean']['gcc-O2'] == pytest.approx(1.0)


def test_chart_is_svg_with_a_bar_per_measurement(quick):
    _, report, chart = quick
    tree = ET.parse(chart)
    bars = [r for r in tree.iter('{http://www.w3.org/2000/svg}rect') if r.find('{http://www.w3.org/2000/svg}title') is not None]
    assert len(bars) == len(report['times'])


def test_a_missing_peer_is_skipped_with_the_install_line(tmp_path):
    """With PATH holding only gcc and its assembler and linker, LuaJIT and
    PyPy are absent: each is skipped with the line that says how to get it."""
    bare = tmp_path / 'bin'
    bare.mkdir()
    for tool in ('gcc', 'as', 'ld'):
        (bare / tool).symlink_to(shutil.which(tool))
    env = {'PATH': str(bare)}
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'bench_peers.py'), '--quick', '--rounds', '1'],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for peer in ('luajit', 'pypy'):
        assert f'skipped {peer}:' in proc.stderr and 'apt-get install luajit pypy3' in proc.stderr
    assert 'checksums: all match the C builds' in proc.stdout


@pytest.mark.parametrize('args', [['--rounds', '0'], ['--chart', 'peers.png'], ['--bogus']])
def test_bad_usage_is_one_error_line_and_exit_2(args, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'bench_peers.py'), *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == '' and proc.stderr.startswith('error: ') and proc.stderr.count('\n') == 1
