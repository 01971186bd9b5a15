"""`asmkit asm|dis|run|verify` through click's runner."""

from click.testing import CliRunner

from asmkit.cli import main


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


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


def test_errors_are_one_line_exit_2():
    for args in (["asm", "--arch", "x86_64", "bogus rax"],
                 ["asm", "--arch", "mips", "nop"],
                 ["dis", "--arch", "x86_64", "zz"],
                 ["run", "--arch", "x86_64", "nop", "--reg", "foo=1"]):
        r = run(*args)
        assert r.exit_code == 2, args
        assert r.output.startswith("error: ") and r.output.count("\n") == 1
        assert "Traceback" not in r.output


def test_verify_prints_counts(monkeypatch):
    # The full proof runs in test_x86_64_proof; here a reduced input count.
    r = run("verify", "--arch", "x86_64", "--inputs", "2")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("x86_64: ") and " 0 mismatches;" in r.output
