"""The fast paths change no byte: memo vs Encoder, cached text vs cold text,
cached mem() operands, and the benchmark's program vs Keystone (about 3 s)."""

import pytest

import asmkit
from asmkit.aarch64 import encode, parse
from asmkit.aarch64.cases import KEYSTONE_OFFSET_FORMS, all_cases, fmt_text, resolve_args
from asmkit.aarch64.encode import Builder, Encoder, clear_memo
from asmkit.aarch64.operands import Mem, OperandError, mem
from asmkit.aarch64.regs import SP, W, X

x0, x1, x2 = X[0], X[1], X[2]
PC = 0x100000000


def _emit(cls, method, args):
    b = cls(relax=False)
    try:
        getattr(b, method)(*resolve_args(args, PC))
    except OperandError as exc:
        return ("error", str(exc))
    return b.finish(PC), b.listing(PC)


@pytest.fixture(scope="module")
def cases():
    """Every form with a spread of its cases: the caches key on forms and
    operands, so one case in seven plus the first case of every form
    exercises every path; the proof itself covers all of them."""
    every = all_cases()
    first = {}
    for case in every:
        first.setdefault(case[0], case)
    return every[::7] + [c for c in first.values() if c not in every[::7]]


def test_memo_gives_the_encoders_bytes_and_listing_for_every_case(cases, monkeypatch):
    from asmkit import memo
    monkeypatch.setattr(memo, "MISS_STREAK", 1 << 30)     # never bypass
    clear_memo()
    checked = 0
    for _form, method, args in cases:
        want = _emit(Encoder, method, args)
        assert _emit(Builder, method, args) == want, (method, args)      # miss
        assert _emit(Builder, method, args) == want, (method, args)      # miss, kept
        assert _emit(Builder, method, args) == want, (method, args)      # hit
        checked += 1
    assert checked >= 28000


def test_memo_keeps_int_bool_and_float_apart():
    b = Builder()
    b.add(x0, x1, 1)
    b.add(x0, x1, True)                 # the Encoder accepts a bool as 1
    with pytest.raises(OperandError):
        b.add(x0, x1, 1.0)
    b.csel(x0, x1, x2, 1)               # condition code 1 (ne)
    with pytest.raises(OperandError):
        b.csel(x0, x1, x2, 1.0)
    assert [row[2] for row in b.listing()] == [
        "add x0, x1, #1", "add x0, x1, #True", "csel x0, x1, x2, #1"]


def test_position_dependent_forms_are_never_remembered():
    for address in (0x800, 0x400, 0x800):
        b = Builder()
        b.nop()
        b.ldr(x0, 0x1000)                # literal: a fixup, so not memoised
        e = Encoder()
        e.nop()
        e.ldr(x0, 0x1000)
        assert b.finish(address) == e.finish(address)
        assert b._recs[-1][0] == 4       # a positional record


def test_repeated_instruction_shares_one_record():
    clear_memo()
    b = Builder()
    for _ in range(3):
        b.mul(x0, x1, x2)
    assert b._recs[-1] is b._recs[-2]         # kept at the second, hit at the third
    assert b._recs[0] is not b._recs[1]       # the first sighting is not kept
    assert b.finish().hex() == "207c029b" * 3


def test_never_seen_operands_fill_no_memo():
    from asmkit import memo
    clear_memo()
    b, e = Builder(), Encoder()
    for i in range(200):
        for target in (b, e):
            target.add(x0, x1, i)
            target.ldr(x2, Mem(x1, 8 * i))
    assert sum(len(m) for m in memo._MEMOS) == 0
    assert b.finish() == e.finish() and b.listing() == e.listing()


def test_mem_returns_the_cached_operand_only_for_equal_exact_types():
    assert mem(x1, 16) is mem(x1, 16)
    assert mem(x1, x2, "lsl", 3) is mem(x1, x2, "lsl", 3)
    assert mem(x1, 16) is not mem(X[3], 16)
    odd = mem(x1, 16.0)
    assert odd.offset.__class__ is float and odd is not mem(x1, 16)
    with pytest.raises(OperandError):
        mem(W[1], 16)
    assert isinstance(mem(SP, -8), Mem)


def test_cached_text_equals_cold_text_for_every_case(cases):
    accepted = [(m, a) for _f, m, a in cases if m not in KEYSTONE_OFFSET_FORMS
                and _emit(Encoder, m, a)[0] != "error"]
    lines = [fmt_text(m, a, PC + 4 * i) for i, (m, a) in enumerate(accepted)]
    text = "\n".join(lines)
    parse.clear_cache()
    clear_memo()
    cold = asmkit.assemble(text, "aarch64", PC)
    warm = asmkit.assemble(text, "aarch64", PC)
    assert warm == cold and len(cold) >= 4 * len(accepted) >= 4 * 28000
    b1 = parse.parse_into(Builder(), text)
    assert b1.listing(PC) == parse.parse_into(Encoder(), text).listing(PC)


def test_text_into_a_builder_subclass_takes_the_call_path():
    class Mine(Builder):
        pass

    text = "add x0, x1, #1\nldr x2, [x1, #8]\nloop:\nb.ne loop\nadd x0, x1, #1"
    direct = parse.parse_into(Builder(), text)       # caches the lines
    called = parse.parse_into(Mine(), text)
    assert called.listing(0x40) == direct.listing(0x40)
    assert called.finish().hex() == "20040091" "220440f9" "01000054" "20040091"


def test_errors_still_name_the_line_on_cached_lines():
    parse.clear_cache()
    asmkit.assemble("add x0, x1, x2", "aarch64")
    with pytest.raises(parse.ParseError, match=r"line 2: add x0, x1: add: wrong number"):
        asmkit.assemble("add x0, x1, x2\nadd x0, x1", "aarch64")
    with pytest.raises(parse.ParseError, match=r"line 1: add x0, w1, x2: "):
        asmkit.assemble("add x0, w1, x2", "aarch64")


def test_benchmark_program_agrees_with_keystone_and_the_text_assembler():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    try:
        import bench_asm
    finally:
        sys.path.pop(0)
    from asmkit.oracles import keystone as ks
    import asmkit.aarch64 as arch
    build, text, _ = bench_asm.aarch64_workload(20)
    program = text[0] if isinstance(text, tuple) else text
    code = build().finish()
    assert code == arch.assemble(program) == ks.assemble(program, arch)
    assert len(code) == 4 * (25 * 20 + 1)


def test_encoder_module_exports():
    assert encode.Builder is Builder and issubclass(Builder, Encoder)


def test_bitmask_table_holds_exactly_the_encodable_values():
    """tables.LOGIC_IMM is filled at import with every logical immediate;
    each entry is what encode_bitmask gives, and a value it refuses is not
    in the table (so the fast path and the generic one agree)."""
    import random
    from asmkit.aarch64.operands import encode_bitmask
    from asmkit.aarch64.tables import LOGIC_IMM
    assert len([v for v in LOGIC_IMM[64] if v >= 0]) >= 5334
    for bits in (64, 32):
        for value, fields in LOGIC_IMM[bits].items():
            if 0 <= value < 1 << bits:
                enc = encode_bitmask(value, bits)
                assert enc is not None and enc << 10 == fields
                assert bits == 64 or not enc >> 12
    rng = random.Random(8)
    for bits in (64, 32):
        for _ in range(20000):
            value = rng.getrandbits(bits) & rng.getrandbits(bits) if rng.random() < 0.5 \
                else rng.getrandbits(bits)
            enc = encode_bitmask(value, bits)
            encodable = enc is not None and (bits == 64 or not enc >> 12)
            assert encodable == (value in LOGIC_IMM[bits])


def test_movewide_fast_path_matches_the_generic_encoder():
    from asmkit.aarch64.regs import REGS
    for name, opc in (("movz", 2), ("movn", 0), ("movk", 3)):
        for r in list(REGS) + ["x0"]:
            for v in (0, 1, 0xFFFF, 0x10000, -1, True, 0x1234):
                for sh in (0, 16, 32, 48, 8, -16, True, 16.0):
                    a, b = Encoder(), Encoder()
                    try:
                        getattr(a, name)(r, v, sh)
                        got = (bytes(a._code), a._recs)
                    except Exception as exc:      # errors of every kind alike
                        got = (type(exc), str(exc))
                    try:
                        b._emit(b._movewide(opc, r, v, sh), name, (r, v, sh))
                        want = (bytes(b._code), b._recs)
                    except Exception as exc:
                        want = (type(exc), str(exc))
                    assert got == want, (name, r, v, sh)


def test_pair_and_test_branch_fast_paths_match_the_generic_encoder():
    """ldp/stp and tbz/tbnz take their plain cases inline; bytes, records and
    errors equal the generic encoder's for awkward operands too."""
    import itertools
    from asmkit.aarch64.operands import OFFSET, POST, PRE, RegOffset
    from asmkit.aarch64.regs import WZR, XZR
    regs = [X[0], X[1], X[30], W[0], W[1], SP, XZR, WZR, "x0"]
    for load, name in ((1, "ldp"), (0, "stp")):
        for rt, rt2 in itertools.product(regs, regs):
            for base in (X[0], X[1], SP):
                for off in (0, 8, 4, -8, -512, 504, 512, 252, 256, 3, 1.0, True):
                    for mode in (OFFSET, PRE, POST):
                        for addr in (Mem(base, off, mode), RegOffset(x1, x2)):
                            out = []
                            for fast in (True, False):
                                e = Encoder()
                                try:
                                    if fast:
                                        getattr(e, name)(rt, rt2, addr)
                                    else:
                                        e._emit(e._pair(load, rt, rt2, addr), name,
                                                (rt, rt2, addr))
                                    out.append((bytes(e._code), e._recs))
                                except Exception as exc:
                                    out.append((type(exc), str(exc)))
                            assert out[0] == out[1], (name, rt, rt2, base, off, mode)
    for name in ("tbz", "tbnz"):
        for rt in regs:
            for bit in (0, 5, 31, 32, 63, 64, -1, True):
                for relax in (True, False):
                    out = []
                    for b in (Encoder(relax=relax), Encoder(relax=relax)):
                        top = b.here()
                        b.nop()
                        try:
                            if out:   # the generic path, as before the fast one
                                bits = encode._width(rt)
                                if not 0 <= encode._int(bit, "bit number") < bits:
                                    raise OperandError(
                                        f"{name}: bit {bit} out of range 0..{bits - 1}")
                                word = (0x36000000 if name == "tbz" else 0x37000000) \
                                    | ((bit >> 5) << 31) | ((bit & 31) << 19) \
                                    | encode._rz(rt, bits, "register")
                                b._cond_branch(word, 14, name, (rt, bit, top), top)
                            else:
                                getattr(b, name)(rt, bit, top)
                            out.append((b.finish(0x1000), b.listing(0x1000)))
                        except Exception as exc:
                            out.append((type(exc), str(exc)))
                    assert out[0] == out[1], (name, rt, bit, relax)
