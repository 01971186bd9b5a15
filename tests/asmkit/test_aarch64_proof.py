"""The AArch64 proof against Keystone, Capstone and Unicorn (about 10 s)."""

import pytest

from asmkit.aarch64.proof import KEYSTONE_GAPS

# one worker runs the session's proof for every test here (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("aarch64-proof")


@pytest.fixture
def report(aarch64_proof):
    """The session's AArch64 proof (conftest prints its counts at the end)."""
    return aarch64_proof


def test_no_oracle_disagrees(report):
    assert report.mismatches == []
    assert report.refused == [] or all("mov xzr" in r for r in report.refused)


def test_counts(report):
    assert report.forms >= 240
    assert report.keystone_cases >= 28000
    assert report.capstone_roundtrips == report.keystone_cases
    assert report.unicorn_forms >= 240
    assert report.unicorn_runs >= 200 * report.unicorn_forms
    line = report.summary()
    assert line.startswith("aarch64: ") and " 0 mismatches;" in line


def test_every_register_reaches_every_slot(report):
    from asmkit.aarch64.cases import all_cases
    from asmkit.aarch64.operands import Mem
    seen = {}
    for form, method, args in all_cases():
        for i, a in enumerate(args):
            reg = a.base if isinstance(a, Mem) else a
            if hasattr(reg, "num"):
                seen.setdefault((form, i), set()).add((reg.num, reg.is_sp, reg.is_zr))
    add_imm = seen[("add imm/64", 0)]
    assert len(add_imm) == 32 and (31, True, False) in add_imm           # sp as rd
    assert (31, False, True) in seen[("adds imm/64", 0)]                  # xzr as rd
    assert len(seen[("ldr/64 [base, #imm]", 1)]) == 32                   # sp as base


def test_semantic_model_catches_a_wrong_encoding():
    # Unicorn runs "sub" while the model believes "add": the proof must notice.
    from asmkit.aarch64 import semantics
    from asmkit.aarch64.encode import Builder
    from asmkit.aarch64.regs import X
    m = semantics.Machine()
    s = semantics.State([5] * 31, 0x1000, 0, bytes(512))
    b = Builder()
    b.sub(X[0], X[1], X[2])
    got = m.run(b.finish(semantics.CODE), s)
    exp = semantics._run_model(semantics.State(s.x, s.sp, s.nzcv, s.mem),
                               [("add", [X[0], X[1], X[2]])])
    assert semantics._diff(exp, got)


def test_gaps_are_documented():
    assert "adr" in KEYSTONE_GAPS
