"""Shared fixtures for the asmkit tests. Each proof runs once per process
and records its report for the summary at the end of the run
(tests/support/summary.py); the proof modules are xdist groups, so under
`make test` each proof runs in exactly one worker."""

import pytest

from tests.support import summary


@pytest.fixture(scope="session")
def x86_proof():
    """The full x86-64 proof, run once per test session (about 25 s)."""
    from asmkit.x86_64.proof import run_proof
    report = run_proof()
    summary.line(summary.PROOF, "x86_64", report.details())
    return report


@pytest.fixture(scope="session")
def aarch64_proof():
    """The full AArch64 proof, run once per test session (about 10 s)."""
    from asmkit.aarch64.proof import run_proof
    report = run_proof()
    summary.line(summary.PROOF, "aarch64", report.details())
    return report
