"""`jitvm` as a user runs it: real processes, exit codes and one-line errors
(spec section 7)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUM = ROOT / 'bytecode' / 'sum.asm'


def jitvm(*args, stdin=None, timeout=60):
    return subprocess.run([sys.executable, '-m', 'vm.cli', *map(str, args)], cwd=ROOT,
                          input=stdin, capture_output=True, timeout=timeout)


def one_error_line(proc, phrase):
    err = proc.stderr.decode()
    assert 'Traceback' not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    assert phrase in lines[0], err


@pytest.mark.parametrize('mode', [[], ['--no-jit'], ['--jit-threshold', '0']])
def test_run_sum_prints_5050(mode):
    proc = jitvm('run', SUM, *mode)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b'5050\n'
    assert proc.stderr == b''


def test_result_flag_follows_the_output():
    proc = jitvm('run', SUM, '--result')
    assert proc.stdout == b'5050\nresult: 0\n'


def test_asm_then_dis_then_asm_is_byte_identical(tmp_path):
    bc = tmp_path / 'fib.bc'
    assert jitvm('asm', ROOT / 'bytecode' / 'fib.asm', '-o', bc).returncode == 0
    text = jitvm('dis', bc)
    assert text.returncode == 0
    src = tmp_path / 'again.asm'
    src.write_bytes(text.stdout)
    bc2 = tmp_path / 'again.bc'
    assert jitvm('asm', src, '-o', bc2).returncode == 0
    assert bc.read_bytes() == bc2.read_bytes()
    assert jitvm('run', bc).stdout == jitvm('run', ROOT / 'bytecode' / 'fib.asm').stdout


def test_asm_default_output_name(tmp_path):
    src = tmp_path / 'p.asm'
    src.write_text('PUSH 7\nPRINT\nHALT\n')
    assert jitvm('asm', src).returncode == 0
    assert (tmp_path / 'p.bc').read_bytes()[:4] == b'JVBC'


def test_run_reads_stdin():
    proc = jitvm('run', '-', stdin=b'PUSH 42\nPRINT\nHALT\n')
    assert proc.stdout == b'42\n'


def test_assembly_error_names_file_line_column(tmp_path):
    src = tmp_path / 'prog.asm'
    src.write_text('PUSH 1\n        ADDD\nHALT\n')
    proc = jitvm('run', src)
    assert proc.returncode == 2
    one_error_line(proc, f'{src}:2:9: unknown mnemonic')


def test_verifier_rejection_is_exit_2(tmp_path):
    src = tmp_path / 'p.asm'
    src.write_text('ADD\nHALT\n')
    proc = jitvm('run', src)
    assert proc.returncode == 2
    one_error_line(proc, 'stack underflow')


def test_malformed_bc_is_exit_2(tmp_path):
    bad = tmp_path / 'bad.bc'
    bad.write_bytes(b'JVBC' + bytes(30))
    proc = jitvm('run', bad)
    assert proc.returncode == 2
    one_error_line(proc, 'error: ')
    proc = jitvm('dis', bad)
    assert proc.returncode == 2
    one_error_line(proc, 'error: ')


@pytest.mark.parametrize('mode', [['--no-jit'], ['--jit-threshold', '0']])
def test_trap_keeps_output_and_exits_1(tmp_path, mode):
    src = tmp_path / 't.asm'
    src.write_text('PUSH 1\nPRINT\nPUSH 1\nPUSH 0\nDIV\nHALT\n')
    proc = jitvm('run', src, *mode)
    assert proc.returncode == 1
    assert proc.stdout == b'1\n'
    one_error_line(proc, 'division by zero')
    assert "'main' at offset 28" in proc.stderr.decode()


@pytest.mark.parametrize('args, phrase', [
    (['run'], 'Missing argument'),
    (['run', '/no/such/file.asm'], 'cannot read'),
    (['run', SUM, '--max-call-depth', '2000000'], 'max-call-depth'),
    (['run', SUM, '--bogus'], 'No such option'),
    (['frobnicate'], 'No such command'),
    ([], 'missing command'),
])
def test_usage_errors_are_one_line_exit_2(args, phrase):
    proc = jitvm(*args)
    assert proc.returncode == 2
    one_error_line(proc, phrase)


@pytest.mark.parametrize('mode', [['--no-jit'], ['--jit-threshold', '0']])
def test_timeout_stops_an_infinite_loop(tmp_path, mode):
    src = tmp_path / 'inf.asm'
    src.write_text('PUSH 7\nPRINT\nloop: JMP loop\n')
    t0 = time.monotonic()
    proc = jitvm('run', src, '--timeout', '0.5', *mode)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 1
    assert proc.stdout == b'7\n'
    one_error_line(proc, 'time limit exceeded')


@pytest.mark.parametrize('mode', [['--no-jit'], ['--jit-threshold', '0']])
def test_sigint_exits_130(tmp_path, mode):
    src = tmp_path / 'inf.asm'
    src.write_text('loop: JMP loop\n')
    proc = subprocess.Popen([sys.executable, '-m', 'vm.cli', 'run', str(src), *mode], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err.decode().startswith('error: ') and 'Traceback' not in err.decode()


def test_a_backend_without_a_code_generator_is_a_usage_error():
    proc = jitvm('run', SUM, '--backend', 'riscv64', '-v')
    assert proc.returncode == 2 and proc.stdout == b''
    err = proc.stderr.decode()
    assert err.startswith("error: Invalid value for '--backend': 'riscv64' is not a backend")
    assert err.count('\n') == 1 and 'x86_64' in err


def test_auto_on_a_host_without_a_backend_says_so(monkeypatch):
    import backends
    from vm.api import RunConfig, execute
    monkeypatch.setattr(backends, 'host_arch', lambda: 'riscv64')
    got = execute(open(SUM).read(), RunConfig(jit=True, verbose=True))
    assert got.stdout == b'5050\n' and got.exit_code == 0
    assert '[JIT] no riscv64 backend: running the interpreter' in got.log


def test_stats_summary_on_stderr():
    proc = jitvm('run', SUM, '--stats', '--jit-threshold', '0')
    assert proc.stdout == b'5050\n'
    err = proc.stderr.decode()
    for words in ('compiled regions', 'code bytes', 'compile time', 'time in interpreter',
                  'in compiled code'):
        assert words in err
