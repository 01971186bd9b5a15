"""Shared fixtures for the asmkit tests."""

import pytest


@pytest.fixture(scope="session")
def x86_proof():
    """The full x86-64 proof, run once per test session (about 25 s)."""
    from asmkit.x86_64.proof import run_proof
    return run_proof()
