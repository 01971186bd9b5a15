"""pytest hooks that carry tests/support/summary.py's records from the
xdist workers to the controller and print them at the end of the run.
tests/conftest.py imports them; without xdist the same hooks print the
records of the one process."""
from __future__ import annotations

import pytest

from tests.support import summary


def pytest_sessionfinish(session):
    """In a worker: hand the records to xdist, which sends them back."""
    workeroutput = getattr(session.config, 'workeroutput', None)
    if workeroutput is not None:
        workeroutput[summary.WORKER_KEY] = summary.exported()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """In the controller: a worker finished; add up what it recorded."""
    items = getattr(node, 'workeroutput', {}).get(summary.WORKER_KEY, [])
    summary.merge(summary.RECORDS, items)


def pytest_terminal_summary(terminalreporter, config):
    if getattr(config, 'workeroutput', None) is None:
        summary.write(terminalreporter)
