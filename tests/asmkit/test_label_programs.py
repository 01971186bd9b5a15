"""Label programs with repeated branch lines (asmkit/labelproof.py): text,
Builder and Keystone agree, and Capstone reads every line back to its label."""

import pytest

from asmkit import labelproof
from asmkit.aarch64 import parse as a64_parse


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_label_programs_agree_three_ways(arch):
    report = labelproof.run(arch, count=150, seed=7)
    print(report.summary())
    assert report.mismatches == []
    assert report.programs >= 150 + report.edge_programs
    assert report.keystone_programs >= 140
    assert report.long_forms > 0          # runs really cross the short limit
    if arch == "aarch64":
        assert report.range_errors == 8   # adr and ldr literal just out of reach


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_edge_runs_touch_and_cross_every_limit(arch):
    """Inside programs reach exactly the short limit, across programs pass it."""
    table, builder_class = labelproof.arch_table(arch)
    seen = set()
    for items in labelproof.edge_programs(table):
        try:
            code, starts, labels = labelproof.build(items, table, builder_class, table.base)
        except labelproof.RangeError:
            continue
        for i, item in enumerate(items):
            if item[0] == "line":
                form = item[1]
                dist = labels[item[2]] - starts[i]
                lo, hi = form.short_range
                seen.add((form.mnemonic, "lo" if dist == lo else "hi" if dist == hi
                          else "out" if not lo <= dist <= hi else "in"))
    for form in table.forms:
        if form.relaxable:
            assert {(form.mnemonic, "lo"), (form.mnemonic, "hi"),
                    (form.mnemonic, "out")} <= seen, form.text


def test_a_stale_line_cache_is_caught(monkeypatch):
    """With the line cache keeping pc-relative records again (the bug fixed
    by ``_position_free``), the label programs find it."""
    monkeypatch.setattr(a64_parse, "_position_free", lambda function, args: True)
    a64_parse.clear_caches()
    try:
        report = labelproof.run("aarch64", count=40, seed=7, edges=False)
    finally:
        a64_parse.clear_caches()
    assert any("text and Builder differ" in m for m in report.mismatches)
