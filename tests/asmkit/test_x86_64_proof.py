"""The x86-64 proof: Keystone bytes, Capstone round trips, Unicorn semantics."""

import pytest

from asmkit.x86_64.cases import all_forms

# one worker runs the session's proof for every test here (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("x86_64-proof")


def test_proof_has_no_mismatch(x86_proof):
    assert x86_proof.mismatches == []


def test_proof_counts_cover_every_form(x86_proof):
    forms = all_forms()
    assert x86_proof.forms >= len(forms) > 360
    # every case of every form reached Keystone, and came back via Capstone
    assert x86_proof.keystone_cases >= sum(len(f.cases()) for f in forms)
    assert x86_proof.roundtrips >= x86_proof.keystone_cases
    assert x86_proof.unicorn_runs >= 200 * 150
    assert x86_proof.label_programs == 300
    assert x86_proof.range_checks == 36


def test_summary_line(x86_proof):
    line = x86_proof.summary()
    assert line.startswith("x86_64: ") and " 0 mismatches;" in line


def test_every_register_in_every_memory_position():
    from asmkit.x86_64.cases import memory_operands
    mems = memory_operands(64)
    assert {m.base.num for m in mems if m.base is not None and m.base.num >= 0} == set(range(16))
    assert {m.index.num for m in mems if m.index is not None} == set(range(16)) - {4}
    assert {m.scale for m in mems} == {1, 2, 4, 8}
