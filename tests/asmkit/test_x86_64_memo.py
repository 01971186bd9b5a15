"""The x86-64 fast paths give exactly what the checked paths give.

The Builder memoises instructions, the buffer sizes branches with shortcuts
and the text assembler caches compiled lines; each of these is compared
here with the plain computation it replaces.
"""

import random

import pytest

import asmkit
from asmkit import memo
from asmkit.buffer import LabelError
from asmkit.x86_64 import Builder, Mem, encode, parse, qword
from asmkit.x86_64.cases import all_forms
from asmkit.x86_64.encode import Encoder
from asmkit.x86_64.regs import al, eax, r12, rax, rbx, rcx, rip

CASES_PER_FORM = 40


def _sample_cases():
    rng = random.Random(7)
    out = []
    for form in all_forms():
        cases = form.cases()
        picked = cases if len(cases) <= CASES_PER_FORM else rng.sample(cases, CASES_PER_FORM)
        out += [(form.method, ops) for ops in picked]
    return out


def _emit(builder, cases):
    for method, ops in cases:
        getattr(builder, method)(*ops)
    return builder.finish(), builder.listing()


def test_memo_hits_and_misses_equal_the_encoder(monkeypatch):
    monkeypatch.setattr(memo, "MISS_STREAK", 1 << 30)     # never bypass
    cases = _sample_cases()
    assert len(cases) > 10000
    encode.clear_memo()
    plain = _emit(Encoder(), cases)          # no memo at all
    missed = _emit(Builder(), cases)         # first sightings: a miss, not kept
    kept = _emit(Builder(), cases)           # second sightings: a miss, kept
    hit = _emit(Builder(), cases)            # every instruction a hit
    assert missed == plain
    assert kept == plain
    assert hit == plain


def test_memo_keeps_an_instruction_only_when_it_comes_again(monkeypatch):
    monkeypatch.setattr(memo, "MISS_STREAK", 1 << 30)
    memo.clear_memo()
    b = Builder()
    b.add(rax, 0x1234)
    assert b._recs[-1][0] == 0               # positional: nothing kept
    b.add(rax, 0x1234)                       # second sighting: kept, and
    kept = b._recs[-1]                       # the record made position free
    assert kept == (bytes.fromhex("480534120000"), "add", rax, 0x1234)
    b.add(rax, 0x1234)
    assert b._recs[-1] is kept               # a hit appends the shared record
    for i in range(100):                     # never-seen operands fill no memo
        b.add(rcx, 0x10000 + i)
    assert sum(len(m) for m in memo._MEMOS) == 1
    ref = Encoder()
    ref.add(rax, 0x1234); ref.add(rax, 0x1234); ref.add(rax, 0x1234)
    for i in range(100):
        ref.add(rcx, 0x10000 + i)
    assert b.finish() == ref.finish() and b.listing() == ref.listing()


def test_memo_never_confuses_an_int_with_bool_or_float():
    b = Builder()
    b.add(rax, 1)
    b.shl(rax, 1)
    for bad in (True, 1.0):
        with pytest.raises(asmkit.AsmError, match="operand 2"):
            b.add(rax, bad)
        with pytest.raises(asmkit.AsmError, match="operand 2"):
            b.shl(rax, bad)
    with pytest.raises(asmkit.AsmError):
        b.push(True)
    assert b.finish() == bytes.fromhex("4883c001" "48d1e0")


def test_memo_starts_over_when_full(monkeypatch):
    monkeypatch.setattr(memo, "MEMO_LIMIT", 8)
    encode.clear_memo()
    b, ref = Builder(), Encoder()
    for i in range(100):
        for target in (b, ref):
            target.mov(rax, i * 1000)
            target.add(qword[rbx + i], i)
    assert b.finish() == ref.finish()
    assert b.listing() == ref.listing()


def test_a_method_that_keeps_missing_bypasses_its_memo(monkeypatch):
    monkeypatch.setattr(memo, "MISS_STREAK", 4)
    monkeypatch.setattr(memo, "BYPASS", 8)
    memo.clear_memo()
    b, ref = Builder(), Encoder()
    for target in (b, ref):
        for i in range(4):
            target.add(rax, 0x1000 + i)          # four misses in a row
        target.add(rcx, 0x77)                    # bypassed: not even noted
        target.add(rcx, 0x77)                    # bypassed
    assert sum(len(m) for m in memo._MEMOS) == 0
    for target in (b, ref):
        for _ in range(9):                       # 6 bypassed, then noted,
            target.add(rcx, 0x77)                # kept and hit
    assert b._recs[-1] is b._recs[-2]
    assert b.finish() == ref.finish() and b.listing() == ref.listing()
    memo.clear_memo()                            # also forgets the streaks


def test_unhashable_operand_still_gets_the_encoders_error():
    with pytest.raises(asmkit.AsmError, match="operand 2"):
        Builder().add(rax, [1])


def test_labelled_memory_operands_are_not_memoised():
    b = Builder()
    here = b.here("here")
    for _ in range(3):
        b.lea(rax, Mem(rip, label=here))
    code = b.finish()
    assert code == bytes.fromhex("488d05f9ffffff" "488d05f2ffffff" "488d05ebffffff")


def test_listing_positions_with_shared_records():
    b = Builder()
    top = b.here("top")
    skip = b.label("skip")
    for _ in range(3):
        b.mov(rax, qword[r12 + rcx * 8])
        b.jg(skip)
        b.data(b"\xcc")
        b.sete(al)
    b.align(8)
    b.bind(skip)
    b.movzx(eax, al)
    b.jne(top)
    rows = b.listing(0x400)
    code = b.finish(0x400)
    assert b"".join(r[1] for r in rows) == code
    assert [r[0] for r in rows] == [0x400 + sum(len(x[1]) for x in rows[:i]) for i in range(len(rows))]
    assert [r[2] for r in rows[:4]] == ["mov rax, qword ptr [r12 + rcx*8]", "jg skip",
                                        ".byte 0xcc", "sete al"]
    assert asmkit.disassemble(code[:4], "x86_64") == ["mov rax, qword ptr [r12 + rcx*8]"]


def test_anonymous_labels_are_named_on_demand():
    b = Builder()
    named = b.label("L0")
    anon = b.label()
    assert str(anon) == "L0_" and named.name == "L0"
    assert b.get_label("L0") is named
    b.jmp(anon)
    with pytest.raises(LabelError, match="'L0_' is never bound"):
        b.finish()


def test_mem_compares_by_identity_and_key_by_value():
    a, c = qword[rbx + 8], qword[rbx + 8]
    assert a is not c and a != c
    assert a.key() == c.key()
    assert (rbx + 8).key() == Mem(rbx, None, 1, 8).key()
    assert (rcx * 8 + r12 - 3).key() == Mem(r12, rcx, 8, -3).key()


# --------------------------------------------------------- relaxation model
#
# A plain model of LLVM's relaxation: every branch starts short; repeat
# "lay out, make every branch that does not fit long" until nothing changes.
# Programs mix forward/backward labels, absolute targets, alignment and data.

JCC_LONG = {"jmp": 5, "jne": 6, "jl": 6}


def _model(program, address):
    long_ = set()
    while True:
        where, at = {}, address
        for i, (kind, arg) in enumerate(program):
            if kind == "label":
                where[arg] = at
            elif kind == "bytes":
                at += len(arg)
            elif kind == "align":
                at += -at % arg
            else:
                at += JCC_LONG[kind] if i in long_ else 2
        grow, at = set(), address
        for i, (kind, arg) in enumerate(program):
            if kind in JCC_LONG:
                target = where[arg] if isinstance(arg, str) else arg
                size = JCC_LONG[kind] if i in long_ else 2
                if i not in long_ and not -128 <= target - (at + 2) <= 127:
                    grow.add(i)
                at += size
            elif kind == "bytes":
                at += len(arg)
            elif kind == "align":
                at += -at % arg
        if not grow:
            return where, long_
        long_ |= grow


def _random_program(rng):
    names = [f"l{i}" for i in range(rng.randint(1, 6))]
    program, bound = [], set()
    for _ in range(rng.randint(1, 40)):
        r = rng.random()
        if r < 0.2:
            name = rng.choice(names)
            if name not in bound:
                bound.add(name)
                program.append(("label", name))
        elif r < 0.5:
            program.append((rng.choice(list(JCC_LONG)), rng.choice(names)))
        elif r < 0.55:
            program.append((rng.choice(list(JCC_LONG)), 0x1000 + rng.randint(-200, 400)))
        elif r < 0.6:
            program.append(("align", rng.choice([2, 4, 16])))
        else:
            program.append(("bytes", b"\x90" * rng.choice([1, 3, 30, 60, 100])))
    program += [("label", n) for n in names if n not in bound]
    return program


def test_relaxation_matches_the_plain_model():
    rng = random.Random(11)
    address = 0x1000
    longs = shorts = 0
    for _ in range(400):
        program = _random_program(rng)
        b = Builder()
        for kind, arg in program:
            if kind == "label":
                b.bind(b.get_label(arg))
            elif kind == "bytes":
                for _ in arg:
                    b.nop()
            elif kind == "align":
                b.align(arg)
            else:
                target = b.get_label(arg) if isinstance(arg, str) else arg
                getattr(b, kind)(target)
        where, long_ = _model(program, address)
        code = b.finish(address)
        rows = [r for r in b.listing(address) if r[2].split()[0] in JCC_LONG]
        branches = [i for i, (k, _) in enumerate(program) if k in JCC_LONG]
        assert [len(r[1]) for r in rows] == [
            JCC_LONG[program[i][0]] if i in long_ else 2 for i in branches]
        for (at, raw, _), i in zip(rows, branches):     # each lands on its target
            arg = program[i][1]
            target = where[arg] if isinstance(arg, str) else arg
            assert asmkit.disassemble(raw, "x86_64", at)[0].endswith(f"{target:#x}")
        assert len(code) == sum(len(r[1]) for r in b.listing(address))
        longs += len(long_)
        shorts += len(branches) - len(long_)
    assert longs > 300 and shorts > 300


# -------------------------------------------------------------- text caches

def test_cached_lines_resolve_labels_per_builder():
    text = "top: dec eax\njne top\njmp end\nnop\nend: ret"
    first = asmkit.assemble(text, "x86_64")
    second = asmkit.assemble(text, "x86_64", 0x1000)
    assert first == second == bytes.fromhex("ffc875fceb0190c3")


def test_cached_lines_still_name_the_line_of_an_error():
    asmkit.assemble("add rax, 1\nnop", "x86_64")
    with pytest.raises(asmkit.AsmError, match=r"line 3: 'x: nop': label 'x' is already bound"):
        asmkit.assemble("nop\nx: nop\nadd rax, 1; x: nop", "x86_64")
    with pytest.raises(asmkit.AsmError, match=r"line 2: 'mov eax, 0x100000000'"):
        asmkit.assemble("nop\nmov eax, 0x100000000", "x86_64")
    with pytest.raises(asmkit.AsmError, match=r"line 2: 'mov eax, 0x100000000'"):
        asmkit.assemble("nop\nmov eax, 0x100000000", "x86_64")


def test_text_caches_start_over_when_full(monkeypatch):
    monkeypatch.setattr(parse, "_CACHE_LIMIT", 4)
    lines = [f"add rax, {i}" for i in range(30)]
    b = Builder()
    for i in range(30):
        b.add(rax, i)
    assert asmkit.assemble("\n".join(lines), "x86_64") == b.finish()


def test_identifiers_are_labels_and_numbers_start_with_a_digit():
    code = asmkit.assemble("jmp beh\nbeh: mov eax, 0beh", "x86_64")
    assert code == bytes.fromhex("eb00" "b8be000000")
    rows = Builder()
    parse.parse_into(rows, "mov rbx, r13\ncall qword ptr [r13 + 0x20]")
    assert [r[2] for r in rows.listing()] == ["mov rbx, r13", "call qword ptr [r13 + 0x20]"]
