"""`jitvm run --perf-map`: /tmp/perf-PID.map holds one `START SIZE
jitvm::NAME` line per placed function, exactly the placements `-v`
reports, appended as they happen; lines of evicted code stay."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backends import host_arch, load_backend
from vm.perfmap import PerfMap, path_for, symbol

ROOT = Path(__file__).resolve().parents[2]
COMPILED = re.compile(r'^\[JIT\] compiled (\S+) \(.*\): \d+ ops -> (\d+) bytes at 0x([0-9a-f]+)', re.M)
LINE = re.compile(r'^([0-9a-f]+) ([0-9a-f]+) jitvm::(.+)$')

EVICTING = """
.func main
        PUSH 1
        CALL f
        CALL f
        CALL f
        CALL g
        CALL g
        CALL g
        CALL f
        CALL f
        CALL f
        PRINT
        PUSH 0
        HALT
.end
.func f 1 0
        LLOAD 0
        PUSH 3
        MUL
        PUSH 1
        ADD
        RET
.end
.func g 1 0
        LLOAD 0
        PUSH 5
        XOR
        PUSH 7
        SUB
        RET
.end
"""

ENGINES = [[]] if load_backend(host_arch()) is not None else []
ENGINES += [['--backend', 'aarch64', '--emulate']]


def run_with_map(tmp_path, source: str, *args):
    """(stderr text, perf-map lines) of one `jitvm run --perf-map -v`."""
    prog = tmp_path / 'prog.asm'
    prog.write_text(source)
    proc = subprocess.Popen([sys.executable, '-m', 'vm.cli', 'run', str(prog), '--perf-map', '-v', *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    path = Path(path_for(proc.pid))
    try:
        assert proc.returncode == 0, err
        return out, err.decode(), path.read_text().splitlines()
    finally:
        path.unlink(missing_ok=True)


def parsed(lines):
    rows = []
    for line in lines:
        m = LINE.match(line)
        assert m, line
        rows.append((int(m[1], 16), int(m[2], 16), m[3]))
    return rows


@pytest.mark.parametrize('engine', ENGINES, ids=lambda e: ' '.join(e) or 'native')
def test_map_lines_are_the_compilations(tmp_path, engine):
    out, err, lines = run_with_map(tmp_path, (ROOT / 'bytecode' / 'fib.asm').read_text(),
                                   '--jit-threshold', '0', *engine)
    assert out.split()[-1] == b'6765'
    rows = parsed(lines)
    compiled = [(int(addr, 16), int(size), name) for name, size, addr in COMPILED.findall(err)]
    assert {name for _, _, name in compiled} == {'main', 'fib'}
    assert [r for r in rows if not r[2].startswith('runtime.')] == compiled
    # the runtime routines come first, back to back, before any compiled code
    runtime = [r for r in rows if r[2].startswith('runtime.')]
    assert rows[:len(runtime)] == runtime
    assert {'runtime.enter', 'runtime.print', 'runtime.uncompiled'} <= {r[2] for r in runtime}
    for (a, size, _), (b, _, _) in zip(runtime, runtime[1:]):
        assert a + size == b


@pytest.mark.parametrize('engine', ENGINES, ids=lambda e: ' '.join(e) or 'native')
def test_evicted_code_keeps_its_lines(tmp_path, engine):
    _, err, lines = run_with_map(tmp_path, EVICTING, '--jit-threshold', '2', '--code-cache', '64', *engine)
    assert err.count('evicted') == 2, err                 # f for g, then g for f
    compiled = [(int(addr, 16), int(size), name) for name, size, addr in COMPILED.findall(err)]
    assert [name for _, _, name in compiled] == ['f', 'g', 'f']
    assert [r for r in parsed(lines) if not r[2].startswith('runtime.')] == compiled


def test_lines_are_written_as_code_is_placed(tmp_path):
    """The line is in the file while the compiled code still runs."""
    prog = tmp_path / 'spin.asm'
    prog.write_text('.func main\nspin:   JMP spin\n.end\n')
    proc = subprocess.Popen([sys.executable, '-m', 'vm.cli', 'run', str(prog), '--perf-map',
                             '--jit-threshold', '0', *ENGINES[0]],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = Path(path_for(proc.pid))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and 'jitvm::main' not in (path.read_text() if path.exists() else ''):
            time.sleep(0.05)
        assert proc.poll() is None                         # still spinning in compiled code
        assert any(line.endswith(' jitvm::main') for line in path.read_text().splitlines())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        path.unlink(missing_ok=True)


def test_names_perf_would_misread_are_quoted(tmp_path):
    assert symbol('fib') == 'jitvm::fib'
    assert symbol('with space') == 'jitvm::with space'
    assert symbol('two\nlines') == 'jitvm::"two\\nlines"'
    pm = PerfMap(str(tmp_path / 'perf-1.map'))
    pm.add(0x7f0000001000, 0x40, 'two\nlines')
    pm.add(0x7f0000001040, 0x8, 'f')
    pm.close()
    assert (tmp_path / 'perf-1.map').read_text() == \
        '7f0000001000 40 jitvm::"two\\nlines"\n7f0000001040 8 jitvm::f\n'


def test_an_unwritable_map_is_one_error_line(tmp_path):
    from vm.errors import UsageError
    with pytest.raises(UsageError, match='cannot write the perf map'):
        PerfMap(str(tmp_path / 'no-such-dir' / 'perf-1.map'))


def test_the_file_is_named_after_the_process():
    assert path_for() == f'/tmp/perf-{os.getpid()}.map'
    assert path_for(42) == '/tmp/perf-42.map'
