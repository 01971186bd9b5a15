"""asmkit.emulate: limits that say so, faults as one-line errors, checked
register values and addresses."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

import asmkit

ROOT = Path(__file__).resolve().parents[2]
LOOP = "mov rcx, 200000; l: dec rcx; jnz l"      # 400k instructions


def x86(text, address=0x10000):
    return asmkit.assemble(text, "x86_64", address)


def test_a_long_loop_runs_to_its_end_by_default():
    assert asmkit.emulate(x86(LOOP), "x86_64", regs={"rcx": 7})["rcx"] == 0


def test_the_instruction_limit_raises_with_the_state_where_it_stopped():
    code = x86(LOOP)
    with pytest.raises(asmkit.EmulationLimit) as info:
        asmkit.emulate(code, "x86_64", count=1000)
    exc = info.value
    assert isinstance(exc, asmkit.EmulationError)
    assert (exc.reason, exc.limit) == ("count", 1000)
    assert str(exc).startswith("stopped after 1000 instructions")
    assert 0 < exc.emulation["rcx"] < 200000
    assert exc.pc == exc.emulation["rip"] and 0x10000 <= exc.pc < 0x10000 + len(code)


def test_reaching_the_end_exactly_at_the_limit_is_not_an_error():
    code = x86("nop; nop; nop")
    assert asmkit.emulate(code, "x86_64", count=3)["rip"] == 0x10000 + 3


def test_the_time_limit_raises():
    t0 = time.monotonic()
    with pytest.raises(asmkit.EmulationLimit) as info:
        asmkit.emulate(x86("l: jmp l"), "x86_64", count=0, timeout=0.2)
    assert time.monotonic() - t0 < 5
    assert info.value.reason == "timeout"
    assert str(info.value).startswith("stopped after 0.2 seconds")


def test_with_both_limits_the_count_is_named_when_it_ran_out_first():
    with pytest.raises(asmkit.EmulationLimit) as info:
        asmkit.emulate(x86("l: jmp l"), "x86_64", count=50, timeout=30)
    assert info.value.reason == "count"


@pytest.mark.parametrize("text, message", [
    ("mov rax, qword ptr [0]", "emulation fault at pc 0x10000: read of 8 bytes at "
                               "unmapped address 0x0"),
    ("mov byte ptr [8], al", "emulation fault at pc 0x10000: write of 1 byte at "
                             "unmapped address 0x8"),
    ("ret", "emulation fault at pc 0x0: fetch from unmapped address 0x0"),
    ("ud2", "emulation fault at pc 0x10000: invalid instruction"),
])
def test_faults_are_emulation_faults_with_one_line(text, message):
    with pytest.raises(asmkit.EmulationFault) as info:
        asmkit.emulate(x86(text), "x86_64")
    assert str(info.value) == message
    assert info.value.emulation is not None


def test_aarch64_limits_and_faults():
    loop = asmkit.assemble("l: b l", "aarch64", 0x10000)
    with pytest.raises(asmkit.EmulationLimit):
        asmkit.emulate(loop, "aarch64", count=10)
    with pytest.raises(asmkit.EmulationFault, match="read of 8 bytes at unmapped"):
        asmkit.emulate(asmkit.assemble("ldr x0, [x1]", "aarch64"), "aarch64")
    with pytest.raises(asmkit.EmulationFault, match="undefined instruction"):
        asmkit.emulate(b"\0\0\0\0", "aarch64")


def test_register_values_are_two_s_complement_and_never_wrapped():
    assert asmkit.emulate(b"", "x86_64", regs={"rax": -1})["rax"] == (1 << 64) - 1
    assert asmkit.emulate(b"", "x86_64", regs={"rax": (1 << 64) - 1})["rax"] == (1 << 64) - 1
    for value in (1 << 64, -(1 << 63) - 1, 99999999999999999999999):
        with pytest.raises(ValueError, match="does not fit 64 bits"):
            asmkit.emulate(b"", "x86_64", regs={"rax": value})
    with pytest.raises(ValueError, match="does not fit 32 bits"):
        asmkit.emulate(b"", "aarch64", regs={"nzcv": 1 << 32})
    with pytest.raises(ValueError, match="unknown register 'eax'"):
        asmkit.emulate(b"", "x86_64", regs={"eax": 1})


def test_addresses_outside_0_to_2_64_are_errors():
    top = (1 << 64) - 1
    for address in (-5, 1 << 64):
        with pytest.raises(asmkit.AsmError, match="not in 0 to 2"):
            asmkit.assemble("nop", "x86_64", address)
    with pytest.raises(asmkit.AsmError, match="ends past 2\\^64"):
        asmkit.assemble("nop; nop", "x86_64", top)
    assert asmkit.assemble("nop", "x86_64", top) == b"\x90"
    with pytest.raises(asmkit.AsmError, match="ends past 2\\^64"):
        asmkit.disassemble(b"\x90\x90", "x86_64", top)
    assert asmkit.disassemble(b"\x90", "x86_64", top) == ["nop"]
    with pytest.raises(asmkit.AsmError, match="not in 0 to 2"):
        asmkit.disassemble(b"\x90", "x86_64", -5)
    with pytest.raises(ValueError, match="ends at 2\\^64"):
        asmkit.emulate(b"\x90", "x86_64", address=top)
    with pytest.raises(ValueError, match="memory at"):
        asmkit.emulate(b"\x90", "x86_64", memory={top: b"ab"})


def test_memory_comes_back_after_the_run():
    code = x86("mov rax, qword ptr [rdi]; add rax, 1; mov qword ptr [rdi], rax")
    out = asmkit.emulate(code, "x86_64", regs={"rdi": 0x200000},
                         memory={0x200000: (41).to_bytes(8, "little")})
    assert out.memory[0x200000] == (42).to_bytes(8, "little")


def test_import_asmkit_loads_no_oracle():
    probe = ("import sys, asmkit; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('unicorn', 'capstone', 'keystone') or m.startswith('asmkit.oracles')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_emulate_from_another_thread_runs_unicorn_in_that_thread():
    import threading
    results = []
    worker = threading.Thread(target=lambda: results.append(
        asmkit.emulate(x86("mov rax, 3"), "x86_64")["rax"]))
    worker.start()
    worker.join()
    assert results == [3]
