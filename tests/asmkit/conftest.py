"""Shared fixtures for the asmkit tests, and the proof counts at the end of
the pytest run (pytest captures what the tests print, so ``make test`` would
otherwise never show them)."""

import pytest

# The reports of the proof fixtures that ran in this session, by architecture.
PROOF_REPORTS = {}


@pytest.fixture(scope="session")
def x86_proof():
    """The full x86-64 proof, run once per test session (about 25 s)."""
    from asmkit.x86_64.proof import run_proof
    PROOF_REPORTS["x86_64"] = report = run_proof()
    return report


@pytest.fixture(scope="session")
def aarch64_proof():
    """The full AArch64 proof, run once per test session (about 10 s)."""
    from asmkit.aarch64.proof import run_proof
    PROOF_REPORTS["aarch64"] = report = run_proof()
    return report


def pytest_terminal_summary(terminalreporter):
    """Print each proof's report, as ``asmkit verify`` does, when it ran."""
    if not PROOF_REPORTS:
        return
    terminalreporter.write_sep("=", "asmkit proof")
    for report in PROOF_REPORTS.values():
        for line in report.details().splitlines():
            terminalreporter.write_line(line)
