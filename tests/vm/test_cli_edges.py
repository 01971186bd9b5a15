"""`jitvm` at the edges a user hit (issue 11, items 7-9), as real processes:
versions, `-` for stdout, closed pipes and streams, full disks, bounded
input, impossible option values, escaped names, --no-jit warnings, stats,
and a working directory that holds folders named like our packages."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUM = ROOT / 'bytecode' / 'sum.asm'
JITVM = Path(sys.executable).parent / 'jitvm'


def jitvm(*args, stdin=None, cwd=ROOT, timeout=120, **kw):
    return subprocess.run([sys.executable, '-m', 'vm.cli', *map(str, args)], cwd=cwd,
                          input=stdin, capture_output=True, timeout=timeout, **kw)


def shell(command: str, cwd=ROOT, env=None):
    """command under bash -o pipefail, `jitvm` being python -m vm.cli."""
    script = f'jitvm() {{ {sys.executable} -m vm.cli "$@"; }}\n{command}'
    return subprocess.run(['bash', '-o', 'pipefail', '-c', script], cwd=cwd, env=env,
                          capture_output=True, timeout=120)


def one_error_line(proc, phrase):
    err = proc.stderr.decode()
    assert 'Traceback' not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    assert phrase in lines[0], err
    return lines[0]


@pytest.fixture(scope='module')
def big(tmp_path_factory):
    """A program printing 200,000 lines, as .asm and as .bc (dis: 40,000 lines)."""
    where = tmp_path_factory.mktemp('big')
    asm = where / 'big.asm'
    asm.write_text('.memory 4\nPUSH 200000\nSTORE 0\nloop: LOAD 0\nPRINT\nLOAD 0\nPUSH 1\n'
                   'SUB\nDUP\nSTORE 0\nJNZ loop\nHALT\n')
    listing = where / 'long.asm'
    listing.write_text(''.join(f'PUSH {i}\nPRINT\n' for i in range(20000)) + 'HALT\n')
    bc = where / 'long.bc'
    assert jitvm('asm', listing, '-o', bc).returncode == 0
    return asm, bc


# -- item 7 ---------------------------------------------------------------------

def test_version_comes_from_the_package_metadata():
    import tomllib
    with open(ROOT / 'pyproject.toml', 'rb') as f:
        expected = tomllib.load(f)['project']['version']
    # in a fresh process: under pytest, `vm` may name the tests/vm package
    code = 'import vm, asmkit; print(vm.__version__, asmkit.__version__)'
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout == f'{expected} {expected}\n', proc.stderr
    proc = jitvm('--version')
    assert proc.returncode == 0 and proc.stdout.decode() == f'jitvm {expected}\n'


def test_asm_dash_o_dash_writes_the_bc_to_stdout(tmp_path):
    proc = jitvm('asm', SUM, '-o', '-', cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout[:4] == b'JVBC'
    assert list(tmp_path.iterdir()) == []            # no file named '-'
    assert jitvm('run', '-', stdin=proc.stdout).stdout == b'5050\n'
    piped = shell(f'jitvm asm {SUM} -o - | jitvm dis - | jitvm run -', cwd=tmp_path)
    assert piped.returncode == 0 and piped.stdout == b'5050\n'


@pytest.mark.parametrize('cut', [20, 24, 100, -1])
def test_a_bc_cut_short_says_truncated(tmp_path, cut):
    bc = tmp_path / 'fib.bc'
    assert jitvm('asm', ROOT / 'bytecode' / 'fib.asm', '-o', bc).returncode == 0
    data = bc.read_bytes()
    bc.write_bytes(data[:cut])
    for command in ('run', 'dis'):
        proc = jitvm(command, bc)
        assert proc.returncode == 2
        line = one_error_line(proc, 'truncated file')
        assert line.startswith(f'error: {bc}: ') and 'CRC' not in line


def test_no_jit_says_once_that_jit_options_have_no_effect():
    proc = jitvm('run', SUM, '--no-jit', '--emulate', '--backend', 'aarch64', '--opt', '1')
    assert proc.returncode == 0 and proc.stdout == b'5050\n'
    assert proc.stderr.decode() == \
        'warning: --backend, --emulate, --opt have no effect with --no-jit\n'
    assert jitvm('run', SUM, '--no-jit').stderr == b''
    assert jitvm('run', SUM, '--emulate').stderr == b''


def test_stats_leave_jit_set_up_out_of_interpreter_time(tmp_path):
    """A program that does nothing: its interpreter time is tiny, though the
    JIT's set-up (backend, code cache, executor: made at the first compile,
    here at once by threshold 0) takes far longer."""
    src = tmp_path / 'halt.asm'
    src.write_text('HALT\n')
    err = jitvm('run', src, '--stats', '--emulate', '--jit-threshold', '0').stderr.decode()
    setup = float(err.split('JIT set-up ')[1].split(' ms')[0])
    interp = float(err.split('time in interpreter: ')[1].split(' ms')[0])
    assert setup > 0 and interp < setup, err


@pytest.mark.parametrize('asked, used', [(1, 16), (100, 112), (4096, 4096), (0, 0)])
def test_code_cache_reports_the_size_really_used(asked, used):
    err = jitvm('run', SUM, '--code-cache', asked, '-v', '--stats', '--jit-threshold', '0').stderr.decode()
    assert f'code cache {used} bytes' in err and f'cache {used} bytes' in err.split('[JIT stats]')[2]
    assert (f'(--code-cache {asked} rounded up)' in err) == (asked != used)


def test_a_verifier_error_in_a_bc_without_lines_names_the_file(tmp_path):
    from vm.bcfile import write_bc
    from vm.program import Function, Program
    bc = tmp_path / 'bad.bc'
    bc.write_bytes(write_bc(Program([Function('main', 0, 0, bytes([0x04, 0x00]))])))
    proc = jitvm('run', bc)
    assert proc.returncode == 2
    one_error_line(proc, f"in function 'main' at offset 0 ({bc})")


# -- item 8 ---------------------------------------------------------------------

@pytest.mark.parametrize('value', ['nan', 'inf', '-inf', '1e20', '0', '-1', 'soon'])
def test_impossible_timeouts_are_usage_errors(value):
    proc = jitvm('run', SUM, '--timeout', value)
    assert proc.returncode == 2 and proc.stdout == b''
    one_error_line(proc, "Invalid value for '--timeout'")


def test_a_huge_code_cache_is_a_usage_error():
    proc = jitvm('run', SUM, '--code-cache', '99999999999999999')
    assert proc.returncode == 2
    one_error_line(proc, "Invalid value for '--code-cache'")


def test_the_api_refuses_the_same_values():
    from vm.api import RunConfig, execute
    for config in (RunConfig(timeout=float('nan')), RunConfig(timeout=1e20),
                   RunConfig(code_cache=1 << 40), RunConfig(max_call_depth=0)):
        got = execute('HALT\n', config)
        assert got.exit_code == 2 and got.error.startswith('error: ')


@pytest.mark.parametrize('command', ['run', 'dis', 'asm'])
def test_output_to_a_full_disk_is_one_error_line(tmp_path, command, big):
    target = {'run': big[0], 'dis': big[1], 'asm': big[0]}[command]
    extra = ['-o', '-'] if command == 'asm' else []
    with open('/dev/full', 'wb') as full:
        proc = subprocess.run([sys.executable, '-m', 'vm.cli', command, str(target), *extra],
                              cwd=ROOT, stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 2
    one_error_line(proc, 'cannot write to standard output: No space left on device')


@pytest.mark.parametrize('command', ['run', 'dis'])
def test_a_closed_stdout_is_one_error_line(command, big):
    target = SUM if command == 'run' else big[1]
    proc = shell(f'jitvm {command} {target} >&-')
    assert proc.returncode == 2
    one_error_line(proc, 'cannot write to standard output: it is closed')


def test_a_closed_stdout_is_fine_for_a_program_that_prints_nothing(tmp_path):
    src = tmp_path / 'quiet.asm'
    src.write_text('HALT\n')
    proc = shell(f'jitvm run {src} >&-')
    assert proc.returncode == 0 and proc.stderr == b''


def test_input_is_read_up_to_64_mib():
    proc = jitvm('run', '/dev/zero', timeout=60)
    assert proc.returncode == 2
    one_error_line(proc, '/dev/zero: larger than 64 MiB')
    proc = shell('head -c 70000000 /dev/zero | jitvm run -')
    assert proc.returncode == 2
    one_error_line(proc, '<stdin>: larger than 64 MiB')


@pytest.mark.parametrize('mode', [[], ['--no-jit']])
def test_a_closed_pipe_ends_run_and_dis_alike_quietly_with_status_0(big, mode):
    asm, bc = big
    for command in (f'jitvm run {asm} {" ".join(mode)} | head -c 10',
                    f'jitvm dis {bc} | head -1'):
        proc = shell(command)
        assert proc.returncode == 0, (command, proc.stderr)
        assert proc.stderr == b'' and proc.stdout
    stopped = shell(f'jitvm run {asm} | head -c 10 >/dev/null; echo "${{PIPESTATUS[0]}}"')
    assert stopped.stdout == b'0\n'


def test_names_in_error_lines_are_escaped(tmp_path):
    """A newline in a file, .source or function name cannot split the error
    line or forge a second `error:` line."""
    forged = tmp_path / 'a\nerror: forged.asm'
    forged.write_text('PUSH 1\nADDD\n')
    line = one_error_line(jitvm('run', forged), 'unknown mnemonic')
    assert 'a\\nerror: forged.asm:2:1:' in line
    line = one_error_line(jitvm('run', tmp_path / 'no\nsuch.asm'), 'cannot read')
    assert 'no\\nsuch.asm' in line
    src = tmp_path / 'trap.asm'
    src.write_text('.source "x\\nerror: y"\n.func "f\\nerror: g"\nPUSH 1\nPUSH 0\nDIV\nRET\n.end\n'
                   '.func main\nCALL "f\\nerror: g"\nHALT\n.end\n')
    proc = jitvm('run', src, '--no-jit')
    assert proc.returncode == 1
    line = one_error_line(proc, 'division by zero')
    assert "'f\\nerror: g'" in line and '(x\\nerror: y:5)' in line


# -- item 9 ---------------------------------------------------------------------

@pytest.fixture
def hostile_cwd(tmp_path):
    """A working directory with its own (empty) vm/, backends/ and asmkit/."""
    for name in ('vm', 'backends', 'asmkit'):
        (tmp_path / name).mkdir()
        (tmp_path / name / '__init__.py').write_text('')
    return tmp_path


def console(name: str, env: dict) -> list[str]:
    """The installed console script, or where the project is not installed
    (the arm64 root) what such a script does: import _jitvm, call it."""
    script = JITVM.parent / name
    if script.exists():
        return [str(script)]
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
    return [sys.executable, '-c', f'import _jitvm; _jitvm.{name}()']


@pytest.mark.parametrize('pythonpath', [None, '', ':', '.'])
def test_the_installed_commands_ignore_the_working_directory(hostile_cwd, pythonpath):
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    if pythonpath is not None:
        env['PYTHONPATH'] = pythonpath
    for args in (['run', SUM, '--jit-threshold', '0'], ['run', SUM, '--backend', 'x86_64',
                                                         '--emulate']):
        proc = subprocess.run([*console('jitvm', env), *map(str, args)], cwd=hostile_cwd,
                              env=env, capture_output=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout == b'5050\n', proc.stderr
    proc = subprocess.run([*console('asmkit', env), 'asm', '--arch', 'x86_64', 'ret'],
                          cwd=hostile_cwd, env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == b'c3\n', proc.stderr


def test_without_the_fix_the_folders_would_win(hostile_cwd):
    """The reproduction: with the working directory on sys.path, Python
    itself takes the user's backends/ for ours."""
    env = dict(os.environ, PYTHONPATH=f'{ROOT}')
    code = 'import backends; print(backends.__file__)'
    proc = subprocess.run([sys.executable, '-c', code], cwd=hostile_cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == str(hostile_cwd / 'backends' / '__init__.py')


def test_python_m_vm_cli_ignores_a_backends_folder(hostile_cwd):
    """`python -m vm.cli` finds our vm (the user's folder here has no
    __init__.py of its own kind to win), and then drops the working directory
    before it imports backends."""
    (hostile_cwd / 'vm' / '__init__.py').unlink()
    (hostile_cwd / 'vm').rmdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, '-m', 'vm.cli', 'run', str(SUM), '--jit-threshold', '0'],
                          cwd=hostile_cwd, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == b'5050\n', proc.stderr
