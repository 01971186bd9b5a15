"""tools/arm64_root.py and the JITVM_TEST_ENGINES selection it relies on.

The emulated root itself takes minutes to build, so `make test` checks the
parts that decide what happens (engine selection, host checks, the clean
environment, the mirror, stamps and locks); if a finished root is cached on
this machine, one real aarch64 process is run through it as well."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.engine_filter import engine_kind, filter_engines, selected, selected_targets
from vm.api import RunConfig

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / 'tools' / 'arm64_root.py'

spec = importlib.util.spec_from_file_location('arm64_root', TOOL)
arm64_root = importlib.util.module_from_spec(spec)
spec.loader.exec_module(arm64_root)

# one worker: the real root's mounts and its lock are shared machine-wide
pytestmark = pytest.mark.xdist_group('arm64-root')

TABLE = {
    'interp': lambda: RunConfig(jit=False),
    'jit0-native': lambda: RunConfig(jit=True, jit_threshold=0),
    'jit-native': lambda: RunConfig(jit=True),
    'jit0-x86_64-emu': lambda: RunConfig(jit=True, jit_threshold=0, backend='x86_64', emulate=True),
    'jit0-aarch64-emu': lambda: RunConfig(jit=True, jit_threshold=0, backend='aarch64', emulate=True),
}


# ------------------------------------------------------------------ engine selection

@pytest.mark.parametrize('selection', [None, '', 'all', 'native,all'])
def test_unset_or_all_keeps_every_engine_in_order(selection, monkeypatch):
    monkeypatch.delenv('JITVM_TEST_ENGINES', raising=False)
    assert list(filter_engines(TABLE, 'interp', selection)) == list(TABLE)


def test_native_keeps_the_reference_and_the_engines_running_on_this_cpu():
    kept = filter_engines(TABLE, 'interp', 'native')
    assert set(kept) == {'interp'} | {n for n, make in TABLE.items()
                                      if make().jit and not make().emulate}
    assert all(engine_kind(TABLE[n]) in ('native', 'interp') for n in kept)


def test_the_variable_is_read_when_no_selection_is_given(monkeypatch):
    monkeypatch.setenv('JITVM_TEST_ENGINES', 'emulated')
    assert set(filter_engines(TABLE, 'interp')) == {'interp', 'jit0-x86_64-emu', 'jit0-aarch64-emu'}


def test_names_and_kinds_combine_and_the_reference_stays():
    assert set(filter_engines(TABLE, 'interp', 'jit-native, jit0-aarch64-emu')) == \
        {'interp', 'jit-native', 'jit0-aarch64-emu'}
    assert list(filter_engines(TABLE, 'interp', 'interp')) == ['interp']


def test_an_unknown_word_is_an_error_not_a_quiet_drop():
    with pytest.raises(ValueError, match='nativ'):
        filter_engines(TABLE, 'interp', 'nativ')


def test_every_row_of_the_real_tables_has_a_kind():
    from tests.conformance.engines import ENGINES, REFERENCE
    kinds = {name: engine_kind(make) for name, make in ENGINES.items()}
    assert kinds[REFERENCE] == 'interp'
    for word in ('native', 'emulated', 'interp'):
        kept = filter_engines(ENGINES, REFERENCE, word)
        assert set(kept) == {REFERENCE} | {n for n, k in kinds.items() if k == word}


def test_the_generated_tables_go_through_the_variable(monkeypatch):
    from tests.support.backend_engines import JIT0, build, jit_targets
    monkeypatch.setenv('JITVM_TEST_ENGINES', 'native')
    table = build(native_modes=(JIT0,), emulated_modes=(JIT0,))
    assert all(engine_kind(make) in ('interp', 'native') for make in table.values())
    assert selected(table) == table
    targets = jit_targets()
    assert selected_targets(targets) == [(t, o) for t, o in targets if not o['emulate']]
    assert selected_targets(targets, 'emulated') == [(t, o) for t, o in targets if o['emulate']]
    assert selected_targets(targets, 'all') == targets
    with pytest.raises(ValueError):
        selected_targets(targets, 'nativ')


# ------------------------------------------------------------------ the tool's decisions

def test_requirements_come_from_pyproject_and_keystone_is_x86_only():
    reqs = arm64_root.requirements()
    names = {r.split(';')[0].split('>')[0].split('=')[0].strip() for r in reqs}
    assert {'click', 'pytest', 'hypothesis', 'capstone', 'unicorn'} <= names
    keystone = [r for r in reqs if r.startswith('keystone')]
    assert keystone and all("platform_machine == 'x86_64'" in r for r in keystone)


def test_the_inside_environment_is_clean(monkeypatch):
    monkeypatch.setenv('PIP_FIND_LINKS', '/host/only/wheels')
    monkeypatch.setenv('JITVM_TEST_ENGINES', 'native')
    monkeypatch.setenv('PYTHONHASHSEED', '7')
    env = arm64_root.inside_env({'EXTRA': '1'})
    assert 'PIP_FIND_LINKS' not in env and env['JITVM_TEST_ENGINES'] == 'native'
    assert env['PYTHONHASHSEED'] == '7' and env['EXTRA'] == '1'
    assert env['PYTHONPATH'] == str(ROOT) and env['PATH'].startswith('/opt/venv/bin:')
    assert env['PIP_CERT'] == env['SSL_CERT_FILE'] == '/etc/ssl/host-ca-bundle.crt'


def test_the_mirror_is_read_from_deb822_and_one_line_sources(tmp_path, monkeypatch):
    monkeypatch.delenv('JITVM_ARM64_MIRROR', raising=False)
    (tmp_path / 'sources.list.d').mkdir()
    (tmp_path / 'sources.list.d' / 'a.sources').write_text(
        'Types: deb\nURIs: http://mirror.test/debian-security\nSuites: bookworm-security\n\n'
        'Types: deb\n# URIs: http://commented.test/debian\nURIs: http://mirror.test/debian/\n')
    assert arm64_root.debian_mirror(tmp_path) == 'http://mirror.test/debian'
    (tmp_path / 'sources.list.d' / 'a.sources').unlink()
    (tmp_path / 'sources.list').write_text('deb [arch=amd64 signed-by=/k.gpg] http://one.test/debian bookworm main\n')
    assert arm64_root.debian_mirror(tmp_path) == 'http://one.test/debian'
    (tmp_path / 'sources.list').write_text('')
    with pytest.raises(arm64_root.Unsupported, match='JITVM_ARM64_MIRROR'):
        arm64_root.debian_mirror(tmp_path)
    monkeypatch.setenv('JITVM_ARM64_MIRROR', 'http://set.test/debian')
    assert arm64_root.debian_mirror(tmp_path) == 'http://set.test/debian'


def test_stamps_hold_a_value_and_a_changed_value_redoes_the_step(tmp_path):
    cache = arm64_root.Cache(str(tmp_path / 'c'))
    with cache.locked(exclusive=True):
        assert not cache.done('pip', 'k1')
        cache.mark('pip', 'k1')
    assert cache.done('pip', 'k1') and not cache.done('pip', 'k2')
    cache.forget('pip')
    assert not cache.done('pip', 'k1')


def test_a_run_holds_the_lock_shared_and_a_builder_must_wait(tmp_path):
    import fcntl
    cache = arm64_root.Cache(str(tmp_path / 'c'))
    with cache.locked(exclusive=False), cache.locked(exclusive=False):    # runs share
        with open(cache.dir / 'lock') as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(cache.dir / 'lock') as other:                     # free again afterwards
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv('JITVM_ARM64_ROOT', str(tmp_path))
    assert arm64_root.Cache().rootfs == tmp_path / 'rootfs'
    monkeypatch.delenv('JITVM_ARM64_ROOT')
    assert arm64_root.Cache().dir == Path(arm64_root.DEFAULT_CACHE)


@pytest.mark.parametrize('fake, reason', [
    (dict(geteuid=lambda: 1000), 'needs root'),
    (dict(machine=lambda: 'aarch64'), 'run the tests natively'),
])
def test_an_unfit_host_gets_one_skipped_line(monkeypatch, capsys, tmp_path, fake, reason):
    if 'geteuid' in fake:
        monkeypatch.setattr(arm64_root.os, 'geteuid', fake['geteuid'])
    if 'machine' in fake:
        monkeypatch.setattr(arm64_root.platform, 'machine', fake['machine'])
    with pytest.raises(SystemExit) as e:
        arm64_root.main(['check'])
    out = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 1 and len(out) == 1
    assert out[0].startswith('SKIPPED arm64 native tests: ') and reason in out[0]
    # `test` on such a host: the same one line (exit 3), no traceback, nothing built
    monkeypatch.setenv('JITVM_ARM64_ROOT', str(tmp_path / 'cache'))
    monkeypatch.setattr(arm64_root.Cache, 'locked', _no_lock)
    with pytest.raises(SystemExit) as e:
        arm64_root.main(['test'])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 3 and err == [out[0]]
    with pytest.raises(SystemExit) as e:
        arm64_root.main(['run', '--', 'true'])
    assert e.value.code == 3 and capsys.readouterr().err.strip().splitlines() == [out[0]]
    assert not (tmp_path / 'cache').exists()


def _no_lock(self, exclusive):
    from contextlib import nullcontext
    return nullcontext()


def test_bad_usage_is_one_error_line(tmp_path):
    for argv, code in ((['run', '--env', 'NOVALUE', '--', 'true'], 2), (['nonsense'], 2),
                       (['--cache', str(tmp_path / 'none'), 'run', '--', 'true'], 1)):
        proc = subprocess.run([sys.executable, TOOL, *argv], capture_output=True, text=True)
        assert proc.returncode == code, (argv, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('error: '), proc.stderr


def test_a_cached_root_runs_a_real_aarch64_process():
    """Checked when this machine has a finished root; otherwise the host
    check must still say in one line whether it could build one."""
    cache = arm64_root.Cache()
    if cache.done('complete', arm64_root.config_key()):
        proc = subprocess.run([sys.executable, TOOL, 'run', '--', 'python', '-c',
                               'import platform, os; print(platform.machine(), os.getcwd())'],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ['aarch64', str(ROOT)]
        # the exit status comes through, and the mounts made for the run are gone
        proc = subprocess.run([sys.executable, TOOL, 'run', '--', 'python', '-c', 'raise SystemExit(3)'],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 3, proc.stderr
        assert str(cache.rootfs) not in Path('/proc/self/mounts').read_text()
    else:
        proc = subprocess.run([sys.executable, TOOL, 'check'], capture_output=True, text=True)
        line, = proc.stdout.strip().splitlines()
        assert line.startswith('ok: ' if proc.returncode == 0 else 'SKIPPED arm64 native tests: ')


# ------------------------------------------------------------------ bench.py's AArch64 rows

def _bench():
    sys.path.insert(0, str(ROOT / 'tools'))
    s = importlib.util.spec_from_file_location('bench', ROOT / 'tools' / 'bench.py')
    module = importlib.util.module_from_spec(s)
    s.loader.exec_module(module)
    return module


def test_the_inside_rows_are_json_the_host_can_read():
    """What bench.py prints inside the root, run here on the host (same code)."""
    proc = subprocess.run([sys.executable, ROOT / 'tools' / 'bench.py', '--inside-json', 'mandelbrot'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json
    import platform
    row, = [json.loads(line) for line in proc.stdout.splitlines()]
    assert row['name'] == 'mandelbrot' and row['machine'] == platform.machine()
    assert row['interp'] > 0 and row['same'] is True
    assert row['jit'] > 0 and row['ops'] > 0     # this host has a code generator
    line = _bench().format_row(row, label='a64/mandelbrot')
    assert line.startswith('a64/mandelbrot') and line.endswith('yes')


def test_a_host_without_a_code_generator_gets_an_interpreter_only_row():
    bench = _bench()
    row = bench.measure('sum', dict(N=1000), target=None)
    assert row['jit'] is None and row['interp'] > 0
    assert bench.format_row(row).endswith(f'no code generator on {row["machine"]}')
