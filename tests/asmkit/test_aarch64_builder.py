"""Builder: labels, fixups per branch kind, range errors, veneers, listing."""

import pytest

import asmkit
from asmkit.aarch64 import Builder
from asmkit.aarch64.operands import mem
from asmkit.buffer import LabelError, RangeError
from asmkit.aarch64.regs import W, X

x0, x1, x2 = X[0], X[1], X[2]


def test_forward_and_backward_labels_every_kind():
    b = Builder()
    top = b.here("top")
    end = b.label("end")
    lit = b.label("lit")
    b.b(end)
    b.bl(top)
    b.b_eq(end)
    b.cbz(x0, end)
    b.cbnz(W[1], top)
    b.tbz(x2, 40, end)
    b.tbnz(x2, 3, top)
    b.adr(x1, lit)
    b.adrp(x1, lit)
    b.ldr(x0, lit)
    b.bind(end)
    b.ret()
    b.bind(lit)
    b.data((42).to_bytes(8, "little"))
    code = b.finish(0x4000)
    text = asmkit.disassemble(code[:44], "aarch64", 0x4000)
    assert text == [
        "b #0x4028", "bl #0x4000", "b.eq #0x4028", "cbz x0, #0x4028", "cbnz w1, #0x4000",
        "tbz x2, #0x28, #0x4028", "tbnz w2, #3, #0x4000", "adr x1, #0x402c",
        "adrp x1, #0x4000", "ldr x0, #0x402c", "ret"]
    assert code[44:] == (42).to_bytes(8, "little")


def test_unbound_and_double_bound_labels():
    b = Builder()
    lab = b.label("nowhere")
    b.cbz(x0, lab)
    with pytest.raises(LabelError, match="nowhere"):
        b.finish()
    b.bind(lab)
    with pytest.raises(LabelError, match="already bound"):
        b.bind(lab)


@pytest.mark.parametrize("emit,distance", [
    (lambda b, t: b.tbz(x0, 1, t), 32 << 10),
    (lambda b, t: b.b_ne(t), 1 << 20),
    (lambda b, t: b.cbnz(x0, t), 1 << 20),
    (lambda b, t: b.ldr(x0, t), 1 << 20),
    (lambda b, t: b.adr(x0, t), 1 << 20),
])
def test_out_of_range_is_an_error_naming_the_instruction(emit, distance):
    b = Builder(relax=False)
    far = b.label("far")
    emit(b, far)
    b.data(bytes(distance - 8))
    b.bind(far)
    b.finish()                          # the farthest target in range: fine
    b = Builder(relax=False)
    far = b.label("far")
    emit(b, far)
    b.data(bytes(distance - 4))
    b.bind(far)
    with pytest.raises(RangeError, match="far.*out of range|out of range"):
        b.finish()


def test_b_range_error():
    b = Builder()
    b.b(128 << 20)
    with pytest.raises(RangeError, match=r"^b "):
        b.finish()
    b = Builder()
    b.bl((128 << 20) - 4)
    assert len(b.finish()) == 4


@pytest.mark.parametrize("cond,nzcv,taken", [("eq", 0b0100, True), ("eq", 0, False),
                                             ("lt", 0b1000, True), ("lt", 0b1001, False)])
def test_veneer_for_far_conditional_branch_runs_right(cond, nzcv, taken):
    # 40 KiB > tbz range and 2 MiB > b.cond range: both become inverted
    # branch + b, and behave like the short form in Unicorn.
    b = Builder()
    far = b.label("far")
    b.b_cond(cond, far)
    b.tbz(x1, 0, far)
    b.movz(x0, 1)
    b.b(b.label("out"))
    b.data(bytes(2 << 20))
    b.bind(far)
    b.movz(x0, 2)
    b.bind("out")
    code = b.finish(0x100000)
    head = asmkit.disassemble(code[:16], "aarch64", 0x100000)
    inverted = {"eq": "ne", "lt": "ge"}[cond]
    assert head[0] == f"b.{inverted} #0x100008" and head[1].startswith("b #")
    assert head[2] == "tbnz w1, #0, #0x100010" and head[3].startswith("b #")
    import unicorn
    from unicorn import arm64_const as c
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
    uc.mem_map(0x100000, 4 << 20)
    uc.mem_write(0x100000, code)
    uc.reg_write(c.UC_ARM64_REG_NZCV, nzcv << 28)
    uc.reg_write(c.UC_ARM64_REG_X1, 1)            # bit 0 set: tbz not taken
    uc.emu_start(0x100000, 0x100000 + len(code), count=10)
    assert uc.reg_read(c.UC_ARM64_REG_X0) == (2 if taken else 1)


def test_short_branch_stays_four_bytes_with_relaxation():
    b = Builder()
    end = b.label()
    b.cbz(x0, end)
    b.nop()
    b.bind(end)
    assert b.finish().hex() == "400000b4" + "1f2003d5"


def test_listing_and_align():
    b = Builder()
    b.add(x0, x1, 1)
    b.align(16)
    lab = b.here("L")
    b.ldr(x0, mem(x1, 8))
    b.b(lab)
    rows = b.listing(0x1000)
    assert [r[0] for r in rows] == [0x1000, 0x1004, 0x1010, 0x1014]
    assert rows[1][1] == bytes.fromhex("1f2003d5") * 3      # nop padding
    assert rows[0][2] == "add x0, x1, #1"
    assert rows[2][2] == "ldr x0, [x1, #8]" and rows[3][2] == "b L"


def test_mov_wide_constant_in_unicorn():
    for value in (0x123456789ABCDEF0, 0xFFFF0000FFFF0000 ^ 0x1234, 0x00FF00FF00FF1234, -5):
        b = Builder()
        b.mov(x0, value)
        r = asmkit.emulate(b.finish(), "aarch64")
        assert r["x0"] == value & (2**64 - 1)


# measures wall time per call: never beside another timing test (make test: --dist loadgroup)
@pytest.mark.xdist_group('timing')
def test_builder_emit_speed_is_about_a_microsecond():
    import time
    b = Builder()
    t0 = time.perf_counter()
    for _ in range(5000):
        b.add(x0, x1, 3)
        b.ldr(x2, mem(x1, 16))
    per = (time.perf_counter() - t0) / 10000
    assert per < 60e-6     # generous: loaded CI machines, qemu (~10x); see bench_asm.py
