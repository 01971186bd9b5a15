"""`asmkit asm|dis|run|verify` through click's runner, and as a process where
exit status, pipes and missing modules matter."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from asmkit.cli import ProofProgress, main

ROOT = Path(__file__).resolve().parents[2]


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def asmkit_process(*args, before="", **kwargs):
    """``asmkit ARGS`` in a fresh interpreter, after the Python in ``before``."""
    code = f"{before}\nfrom asmkit.cli import main\nmain({list(args)!r})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, **kwargs)


def one_error_line(stderr, start="error: "):
    assert stderr.startswith(start) and stderr.count("\n") == 1, stderr
    for name in ("Traceback", "Error:", "UcError", "Errno", "Exception"):
        assert name not in stderr, stderr


def test_asm_and_dis_round_trip(tmp_path):
    r = run("asm", "--arch", "amd64", "mov rax, qword ptr [rdi + 0x10]; ret")
    assert r.exit_code == 0 and r.output.strip() == "488b4710c3"
    r = run("dis", "--arch", "x64", "48 8b 47 10 c3")
    assert r.exit_code == 0
    assert "mov rax, qword ptr [rdi + 0x10]" in r.output and "ret" in r.output
    out = tmp_path / "code.bin"
    assert run("asm", "--arch", "x86_64", "-o", str(out), "-", input="nop\n").exit_code == 0
    assert out.read_bytes() == b"\x90"


def test_run_prints_changed_registers():
    r = run("run", "--arch", "x86-64", "add rax, rbx", "--reg", "rax=5", "--reg", "rbx=0x10")
    assert r.exit_code == 0
    assert "rax = 0x15" in r.output and "rbx" not in r.output


def test_run_takes_negative_registers_and_an_address():
    r = run("run", "--arch", "x86_64", "--address", "0x200000", "lea rbx, [rip]; add rax, 1",
            "--reg", "rax=-2")
    assert r.exit_code == 0, r.output
    assert r.stdout == "rax = 0xffffffffffffffff\nrbx = 0x200007\nrflags = 0x86\n"


def test_a_long_loop_runs_to_its_end():
    r = run("run", "--arch", "x86_64", "mov rcx, 200000; l: dec rcx; jnz l", "--reg", "rcx=1")
    assert r.exit_code == 0, r.output
    assert "rcx = 0x0" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--max-insns", "1000"], "error: stopped after 1000 instructions"),
    (["--max-insns", "0", "--timeout", "0.2"], "error: stopped after 0.2 seconds"),
])
def test_a_limit_is_an_error_exit_1(args, message):
    r = run("run", "--arch", "x86_64", "l: jmp l", *args)
    assert r.exit_code == 1
    assert r.stdout == ""
    one_error_line(r.stderr, message)


@pytest.mark.parametrize("arch, text, phrase", [
    ("x86_64", "mov rax, qword ptr [0]", "read of 8 bytes at unmapped address 0x0"),
    ("x86_64", "ret", "fetch from unmapped address 0x0"),
    ("x86_64", "ud2", "invalid instruction"),
    ("aarch64", "str x0, [x1]", "write of 8 bytes at unmapped address 0x0"),
])
def test_emulation_faults_are_one_line_exit_1(arch, text, phrase):
    r = run("run", "--arch", arch, text)
    assert r.exit_code == 1
    one_error_line(r.stderr, "error: emulation fault at pc ")
    assert phrase in r.stderr


@pytest.mark.parametrize("args, phrase", [
    (["asm", "--arch", "x86_64", "bogus rax"], "unknown or unsupported instruction"),
    (["asm", "--arch", "mips", "nop"], "unknown architecture 'mips'"),
    (["dis", "--arch", "x86_64", "zz"], "not hex"),
    (["dis", "--arch", "x86_64", "0f0b06"], "cannot decode bytes at offset 0x2"),
    (["run", "--arch", "x86_64", "nop", "--reg", "foo=1"], "unknown register 'foo'"),
    (["run", "--arch", "x86_64", "nop", "--reg", "rax"], "is not NAME=VALUE"),
    (["run", "--arch", "x86_64", "nop", "--reg", "rax=12z"], "'12z' is not a number"),
    (["run", "--arch", "x86_64", "nop", "--reg", "rax=99999999999999999999999"],
     "does not fit 64 bits"),
    (["run", "--arch", "x86_64", "nop", "--reg", "rax=-9223372036854775809"],
     "does not fit 64 bits"),
    (["run", "--arch", "aarch64", "nop", "--reg", "nzcv=0x100000000"], "does not fit 32 bits"),
    (["dis", "--arch", "x86_64", "--address", "-5", "90"], "-5 is not an address"),
    (["dis", "--arch", "x86_64", "--address", "0xffffffffffffffff", "9090"], "ends past 2^64"),
    (["dis", "--arch", "x86_64", "--address", "0x10000000000000000", "90"], "not an address"),
    (["asm", "--arch", "x86_64", "--address", "-1", "nop"], "-1 is not an address"),
    (["asm", "--arch", "x86_64", "--address", "0xffffffffffffffff", "nop; nop"],
     "ends past 2^64"),
    (["asm", "--arch", "aarch64", "--address", "0xfffffffffffffffc", "nop\nnop"],
     "ends past 2^64"),
    (["asm", "--arch", "x86_64", "--address", "ten", "nop"], "'ten' is not a number"),
    (["run", "--arch", "x86_64", "--address", "-4096", "nop"], "not an address"),
    (["run", "--arch", "x86_64", "--address", "0xffffffffffffffff", "nop"], "ends at 2^64"),
    (["asm", "--arch", "x86_64", "-o", "/nonexistent/dir/x", "nop"], "cannot write"),
    ([], "missing command (asm, dis, run or verify)"),
    (["frobnicate"], "No such command"),
    (["asm", "--bogus", "nop"], "No such option"),
    (["asm"], "Missing argument 'TEXT' (see asmkit asm --help)"),
    (["run", "--max-insns", "-1", "nop"], "Invalid value for '--max-insns'"),
    (["verify", "--inputs", "0"], "Invalid value for '--inputs'"),
])
def test_bad_input_is_one_line_exit_2(args, phrase):
    r = run(*args)
    assert r.exit_code == 2, (args, r.output)
    one_error_line(r.stderr)
    assert phrase in r.stderr
    assert r.stdout == "" or args[0] == "dis"


def test_a_listing_at_the_top_of_the_address_space_does_not_wrap():
    r = run("dis", "--arch", "x86_64", "--address", "0xfffffffffffffffe", "9090")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-1].startswith("0xffffffffffffffff:")


def test_the_process_exit_status_and_stderr_match_the_runner():
    proc = asmkit_process("run", "--arch", "x86_64", "--max-insns", "10", "l: jmp l")
    assert proc.returncode == 1 and proc.stdout == ""
    one_error_line(proc.stderr, "error: stopped after 10 instructions")
    proc = asmkit_process("dis", "--address", "-5", "90")
    assert proc.returncode == 2
    one_error_line(proc.stderr)


def test_ctrl_c_stops_an_endless_run_at_once_exit_130():
    proc = subprocess.Popen([sys.executable, "-m", "asmkit.cli", "run", "--arch", "x86_64",
                             "--max-insns", "0", "--timeout", "0", "l: jmp l"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30        # wait for Unicorn's worker thread
    while len(os.listdir(f"/proc/{proc.pid}/task")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 130 and out == b""
    assert err.strip() == b"error: interrupted"


def test_module_runs_main():
    proc = subprocess.run([sys.executable, "-m", "asmkit.cli", "asm", "--arch", "x86_64", "ret"],
                          cwd=ROOT, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "c3\n", "")


def test_a_closed_pipe_ends_quietly(tmp_path):
    hex_file = tmp_path / "nops.hex"
    hex_file.write_text("90" * 200_000)
    with open(hex_file) as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "asmkit.cli", "dis", "--arch", "x86_64", "-"],
                                cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        first = proc.stdout.readline()       # like `| head -1`
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert first.startswith(b"0x00000000:") and b"nop" in first
    assert err == b""


def test_verify_prints_counts():
    # The full proof runs in test_x86_64_proof; here a reduced input count.
    r = run("verify", "--arch", "x86_64", "--inputs", "2")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("x86_64: ") and " 0 mismatches;" in r.stdout
    assert r.stderr == ""                    # not a terminal: no progress bar


def test_verify_mismatches_are_listed_then_one_error_line_exit_1(monkeypatch):
    from asmkit.x86_64 import proof
    report = proof.Report(forms=1, mismatches=["nop: asmkit 90, Keystone 91"])
    monkeypatch.setattr(proof, "run_proof", lambda progress, unicorn_inputs: report)
    r = run("verify", "--arch", "x86_64")
    assert r.exit_code == 1
    assert "MISMATCH nop: asmkit 90, Keystone 91" in r.stdout
    one_error_line(r.stderr, "error: the proof found 1 mismatch (listed above)")


MISSING_KEYSTONE = "import sys; sys.modules['keystone'] = None"


def test_verify_without_keystone_says_how_to_install_it():
    proc = asmkit_process("verify", "--arch", "x86_64", before=MISSING_KEYSTONE)
    assert proc.returncode == 2 and proc.stdout == ""
    one_error_line(proc.stderr, "error: keystone-engine is not installed: "
                                "pip install keystone-engine")
    assert "--skip-keystone" in proc.stderr


@pytest.mark.parametrize("arch, runs", [("x86_64", "Unicorn runs"),
                                        ("aarch64", "Unicorn runs over")])
def test_verify_skip_keystone_runs_the_unicorn_part(arch, runs):
    proc = asmkit_process("verify", "--arch", arch, "--skip-keystone", "--inputs", "2",
                          before=MISSING_KEYSTONE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{arch}: Keystone and Capstone parts skipped")
    assert runs in proc.stdout and proc.stdout.endswith(", 0 mismatches\n")
    assert proc.stderr == ""


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_verify_progress_is_a_bar_on_a_terminal_only():
    screen = FakeTerminal()
    progress = ProofProgress(screen)
    for done in range(1, 11):
        progress("keystone+capstone", done, 10)
    progress("unicorn", 0, 1)
    progress.close()
    text = screen.getvalue()
    assert "Keystone + Capstone" in text and "10/10" in text
    assert "Unicorn" in text and "1/1" in text
    quiet = io.StringIO()
    progress = ProofProgress(quiet)
    progress("keystone+capstone", 1, 10)
    progress.close()
    assert quiet.getvalue() == ""


def test_version_is_the_distributions():
    import tomllib
    with open(ROOT / "pyproject.toml", "rb") as f:
        expected = tomllib.load(f)["project"]["version"]
    proc = asmkit_process("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"asmkit {expected}\n", "")


@pytest.mark.parametrize("value", ["nan", "inf", "1e20", "-1", "never"])
def test_impossible_timeouts_are_usage_errors(value):
    proc = asmkit_process("run", "--arch", "x86_64", "nop", "--timeout", value)
    assert proc.returncode == 2 and proc.stdout == ""
    one_error_line(proc.stderr, "error: Invalid value for '--timeout'")


def test_output_that_cannot_be_written_is_one_error_line():
    code = "from asmkit.cli import main\nmain(['asm', '--arch', 'x86_64', 'ret'])"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=full,
                              stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    one_error_line(proc.stderr, "error: cannot write to standard output: No space left")
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -c "{code}" >&-'], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    one_error_line(proc.stderr, "error: cannot write to standard output: it is closed")


def test_standard_input_is_read_up_to_64_mib():
    proc = subprocess.run(["bash", "-c", f'head -c 70000000 /dev/zero | "{sys.executable}" '
                           '-m asmkit.cli dis --arch x86_64 -'], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    one_error_line(proc.stderr, "error: standard input is larger than 64 MiB")
