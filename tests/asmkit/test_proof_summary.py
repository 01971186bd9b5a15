"""The proof reports and test counts reach the end of `make test`'s output,
under pytest-xdist too: tests/support/summary.py and its hooks."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import summary

ROOT = Path(__file__).resolve().parents[2]


class FakeReporter:
    def __init__(self):
        self.lines = []

    def write_sep(self, sep, title):
        self.lines.append(f"{sep} {title}")

    def write_line(self, line):
        self.lines.append(line)


def test_counts_from_two_workers_add_up_and_the_proof_comes_last():
    worker = []
    for n, seen in ((3, 1), (4, 0)):
        records = {}
        summary.merge(records, [[summary.PROOF, "x86_64", "{text}", {},
                                 {"text": "x86_64: 1 forms, 0 mismatches\n  3 label programs"}]]
                      if seen else [])
        summary.merge(records, [[summary.COUNTS, "differential",
                                 "differential: {total} programs x {engines} engines",
                                 {"total": n}, {"engines": 11}]])
        worker.append(summary.exported(records))
    controller = {}
    for items in worker:
        summary.merge(controller, items)
    reporter = FakeReporter()
    summary.write(reporter, controller)
    assert reporter.lines == [f"= {summary.COUNTS}",
                              "differential: 7 programs x 11 engines",
                              f"= {summary.PROOF}",
                              "x86_64: 1 forms, 0 mismatches",
                              "  3 label programs"]


def test_no_summary_when_nothing_was_recorded():
    reporter = FakeReporter()
    summary.write(reporter, {})
    assert reporter.lines == []


def test_an_xdist_run_prints_what_every_worker_recorded(tmp_path):
    """A real `pytest -n 2` with the suite's hooks: each worker records
    counts for the tests it ran, the controller prints their sum."""
    (tmp_path / "conftest.py").write_text(
        "from tests.support.summary_hooks import (pytest_sessionfinish,  # noqa: F401\n"
        "    pytest_terminal_summary, pytest_testnodedown)\n")
    (tmp_path / "test_counting.py").write_text(textwrap.dedent("""
        import os
        import time

        import pytest

        from tests.support import summary


        @pytest.mark.parametrize("i", range(8))
        def test_counted(i):
            time.sleep(0.05)            # both workers get some of the tests
            summary.record(summary.COUNTS, "demo", "demo: {n} tests counted, {engines} engines",
                           {"n": 1}, engines=3)
            summary.line(summary.COUNTS, "worker " + os.environ["PYTEST_XDIST_WORKER"],
                         "ran on " + os.environ["PYTEST_XDIST_WORKER"])


        def test_proof():
            summary.line(summary.PROOF, "fake", "fake: 2 forms, 0 mismatches")
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-n", "2",
                           "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert "demo: 8 tests counted, 3 engines" in out
    assert "ran on gw0" in out and "ran on gw1" in out
    counts = next(i for i, line in enumerate(out) if summary.COUNTS in line)
    proof = next(i for i, line in enumerate(out) if summary.PROOF in line)
    assert counts < proof and out[proof + 1] == "fake: 2 forms, 0 mismatches"
