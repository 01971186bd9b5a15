"""CodeBuffer on a toy architecture: labels, fixups, relaxation, align, listing."""

import pytest

from asmkit.buffer import BranchForms, CodeBuffer, LabelError, RangeError


def _short(pc, target):
    d = target - (pc + 2)
    return bytes((0xB0, d & 0xFF)) if -128 <= d <= 127 else None


def _long(pc, target):
    d = target - (pc + 5)
    return bytes((0xB1,)) + (d & 0xFFFFFFFF).to_bytes(4, "little") if -2**31 <= d < 2**31 else None


JUMP = BranchForms(2, 5, _short, _long)


def _nop(buf, n=1):
    buf._recs.append((len(buf._code), len(buf._var), "nop"))
    buf._code += b"\x90" * n


def _patch_abs16(code, start, pc, target, arg):
    if not 0 <= target < 0x10000:
        return False
    code[start + 1:start + 3] = target.to_bytes(2, "little")


def test_forward_branch_relaxes_to_short():
    b = CodeBuffer()
    end = b.label("end")
    b.branch(end, JUMP, "jmp", end)
    _nop(b, 3)
    b.bind(end)
    assert b.finish() == bytes([0xB0, 3, 0x90, 0x90, 0x90])


def test_forward_branch_grows_when_far():
    b = CodeBuffer()
    end = b.label()
    b.branch(end, JUMP, "jmp", end)
    _nop(b, 200)
    b.bind(end)
    out = b.finish()
    assert out[:5] == bytes([0xB1, 200, 0, 0, 0]) and len(out) == 205


def test_chain_of_branches_grows_to_fixpoint():
    # The second branch's growth pushes the first out of rel8 range.
    b = CodeBuffer()
    end = b.label()
    b.branch(end, JUMP, "jmp", end)
    _nop(b, 124)
    far = b.label()
    b.branch(far, JUMP, "jmp", far)
    _nop(b, 130)
    b.bind(far)
    b.bind(end)
    out = b.finish()
    assert out[0] == 0xB1 and out[5 + 124] == 0xB1
    assert int.from_bytes(out[1:5], "little") == len(out) - 5


def test_backward_branch_and_relax_off():
    for relax, first in ((True, 0xB0), (False, 0xB1)):
        b = CodeBuffer(relax=relax)
        top = b.here("top")
        _nop(b)
        b.branch(top, JUMP, "jmp", top)
        out = b.finish()
        assert out[1] == first
        assert b.finish() == out


def test_absolute_target_depends_on_address():
    b = CodeBuffer()
    b.branch(0x1010, JUMP, "jmp", 0x1010)
    assert b.finish(0x1000) == bytes([0xB0, 0x0E])
    assert b.finish(0)[0] == 0xB1


def test_align_uses_absolute_address_and_listing():
    b = CodeBuffer()
    _nop(b)
    b.align(8, b"\xcc")
    lab = b.here("x")
    _nop(b)
    assert b.finish() == b"\x90" + b"\xcc" * 7 + b"\x90"
    assert b.finish(0x1003) == b"\x90" + b"\xcc" * 4 + b"\x90"
    rows = b.listing(0x100)
    assert rows == [(0x100, b"\x90", "nop"), (0x101, b"\xcc" * 7, ".align 8"),
                    (0x108, b"\x90", "nop")]
    assert lab.bound


def test_fixup_patch_and_range():
    b = CodeBuffer()
    t = b.label("t")
    b._recs.append((len(b._code), len(b._var), "ld16", t))
    b._code += b"\x01\x00\x00"
    b.fixup(t, _patch_abs16)
    b.bind(t)
    assert b.finish(0x20) == bytes([1, 0x23, 0x00])
    with pytest.raises(RangeError, match="ld16 t"):
        b.finish(0xFFFFFF)


def test_label_errors():
    b = CodeBuffer()
    lab = b.here("a")
    with pytest.raises(LabelError, match="already bound"):
        b.bind(lab)
    with pytest.raises(LabelError, match="already exists"):
        b.label("a")
    missing = b.label("nowhere")
    b.branch(missing, JUMP, "jmp", missing)
    with pytest.raises(LabelError, match="'nowhere' is never bound.*jmp nowhere"):
        b.finish()
    other = CodeBuffer().label("z")
    with pytest.raises(LabelError, match="another buffer"):
        b.bind(other)


def test_data_and_max_size():
    b = CodeBuffer()
    b.data(b"\x01\x02")
    end = b.label()
    b.branch(end, JUMP, "jmp", end)
    b.align(16)
    b.bind(end)
    assert b.max_size() == 2 + 5 + 15
    assert b.finish() == bytes([1, 2, 0xB0, 12]) + bytes(12)
    assert b.listing()[0] == (0, b"\x01\x02", ".byte 0x01, 0x02")
