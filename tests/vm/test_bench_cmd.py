"""`jitvm bench`: the benchmarks ship inside the package (identical to
bytecode/'s), the command prints one row per benchmark, writes JSON and an
SVG chart, shows progress on a terminal only, and tools/bench.py is its
front end rather than a second implementation.

At --quick sizes: this proves the plumbing, not the speed."""
from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vm import bench

ROOT = Path(__file__).resolve().parents[2]
SVG = '{http://www.w3.org/2000/svg}'


def jitvm(*args, timeout=300):
    return subprocess.run([sys.executable, '-m', 'vm.cli', *map(str, args)], cwd=ROOT,
                          capture_output=True, timeout=timeout)


def test_packaged_benchmarks_are_the_repositorys():
    shipped = sorted(p.name for p in (ROOT / 'vm' / 'benchmarks').glob('*.asm'))
    repo = sorted(p.name for p in (ROOT / 'bytecode').glob('bench_*.asm'))
    assert shipped == repo and shipped
    for name in shipped:
        assert (ROOT / 'vm' / 'benchmarks' / name).read_bytes() == (ROOT / 'bytecode' / name).read_bytes(), name
    assert sorted(f'bench_{n}.asm' for n in bench.BENCHMARKS) == shipped
    assert bench.QUICK.keys() == bench.BENCHMARKS.keys()


def test_a_built_package_holds_them(tmp_path):
    """setuptools' build_py (what a wheel is made from) copies the .asm files."""
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('pyproject.toml', 'README.md'):
        shutil.copy(ROOT / name, src / name)
    for pkg in ('vm', 'backends', 'asmkit'):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns('__pycache__'))
    proc = subprocess.run([sys.executable, '-c', 'import setuptools; setuptools.setup()', '-q',
                           'build_py', '-d', str(tmp_path / 'lib')], cwd=src, capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    built = sorted(p.name for p in (tmp_path / 'lib' / 'vm' / 'benchmarks').glob('*.asm'))
    assert built == sorted(f'bench_{n}.asm' for n in bench.BENCHMARKS)


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('bench')
    proc = jitvm('bench', '--quick', '--rounds', '2', '--json', tmp / 'b.json', '--chart', tmp / 'b.svg')
    return proc, json.loads((tmp / 'b.json').read_text()), ET.parse(tmp / 'b.svg')


def test_table_has_a_row_per_benchmark_with_the_ratio(quick):
    proc, report, _ = quick
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b''                      # not a terminal: no progress bar
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith('timing: in-process wall time')
    assert lines[1] == bench.HEADER
    rows = {line.split()[0]: line.split() for line in lines[2:2 + len(bench.BENCHMARKS)]}
    assert set(rows) == set(bench.BENCHMARKS)
    for row in report['rows']:
        cells = rows[row['name']]
        assert cells[1] == f'{row["interp"]:.3f}' and cells[2] == f'{row["jit"]:.4f}'
        assert cells[3] == f'{row["interp"] / row["jit"]:.1f}x'
        assert cells[5] == 'yes'
        assert '(target' not in ' '.join(cells)      # no targets at --quick sizes
    assert lines[-1].startswith('compile time over all benchmarks')


def test_json_says_how_it_timed(quick):
    _, report, _ = quick
    assert report['timing'] == bench.TIMING and report['rounds'] == 2 and report['quick'] is True
    assert [r['name'] for r in report['rows']] == list(bench.BENCHMARKS)
    assert report['sizes'] == bench.QUICK
    for r in report['rows']:
        assert r['same'] is True and r['interp'] > 0 and r['jit'] > 0 and r['ops'] > 0


def test_chart_has_two_bars_per_benchmark(quick):
    _, report, svg = quick
    root = svg.getroot()
    assert root.tag == f'{SVG}svg'
    titles = [r.find(f'{SVG}title').text for r in root.iter(f'{SVG}rect') if r.find(f'{SVG}title') is not None]
    assert len(titles) == 2 * len(bench.BENCHMARKS)
    for row in report['rows']:
        assert f'interpreter {row["name"]}: {row["interp"]:.4g} s' in titles
        assert f'JIT {row["name"]}: {row["jit"]:.4g} s' in titles


def test_progress_only_on_a_terminal():
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, '-m', 'vm.cli', 'bench', '--quick', 'sum', 'fib'],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=secondary, timeout=300,
                              env={**os.environ, 'TERM': 'xterm'})
        os.close(secondary)
        secondary = None
        seen = b''
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if secondary is not None:
            os.close(secondary)
        os.close(primary)
    assert proc.returncode == 0
    assert b'benchmarks' in seen and b'round 1/1' in seen
    assert b'round 1/1' not in proc.stdout          # the table alone on stdout
    assert len(proc.stdout.decode().splitlines()) == 2 + 2 + 1


def test_names_pick_benchmarks():
    proc = jitvm('bench', '--quick', 'fib')
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.decode().splitlines()[2:-1]
    assert [r.split()[0] for r in rows] == ['fib']


@pytest.mark.parametrize('args, phrase', [
    (['nosuch'], "unknown benchmark 'nosuch'"),
    (['--chart', 'chart.png'], 'give a .svg path'),
    (['--json', '/no/such/dir/b.json'], 'cannot write /no/such/dir/b.json'),
    (['--rounds', '0'], '--rounds'),
])
def test_bad_input_is_one_error_line_before_any_work(args, phrase):
    proc = jitvm('bench', '--quick', *args, timeout=30)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert 'Traceback' not in err and len(err.splitlines()) == 1
    assert err.startswith('error: ') and phrase in err, err
    assert proc.stdout == b''


def test_tools_bench_is_a_front_end_to_it():
    sys.path.insert(0, str(ROOT / 'tools'))
    try:
        import bench as tool
        import benchlib
    finally:
        sys.path.remove(str(ROOT / 'tools'))
    assert tool.measure is bench.measure and tool.format_row is bench.format_row
    assert tool.BENCHMARKS is bench.BENCHMARKS
    assert benchlib.timed is bench.timed and benchlib.warm_up is bench.warm_up


def test_a_jit_that_disagrees_is_exit_1(monkeypatch, capsys):
    real = bench.timed

    def lying(program, config):
        t, out, res, log = real(program, config)
        return (t, out + b'!', res, log) if config.jit else (t, out, res, log)
    monkeypatch.setattr(bench, 'timed', lying)
    assert bench.run_bench(('sum',), quick=True, progress=False) == 1
    captured = capsys.readouterr()
    assert 'NO' in captured.out
    assert captured.err.strip() == "error: the JIT's output differs from the interpreter's on sum"
