"""The lines `make test` prints at the end: proof reports, program counts,
timing ratios. pytest hides what tests print, and under pytest-xdist each
test runs in a worker process whose output nobody sees, so tests record
their lines here instead and the process that owns the terminal prints them.

A record is a template, numbers that are summed over every process that
recorded the same key (each worker counts only the tests it ran) and fixed
values that are the same everywhere. Workers hand their records to the
controller in `config.workeroutput`, which xdist sends back when a worker
finishes (the hooks are in tests/conftest.py).
"""
from __future__ import annotations

PROOF = 'asmkit proof'
COUNTS = 'test counts and timings'
SECTIONS = (COUNTS, PROOF)            # printed in this order, the proof last
WORKER_KEY = 'jitvm_summary'

# (section, key) -> {'template': str, 'counts': {name: number}, 'fixed': {name: value}}
RECORDS: dict[tuple[str, str], dict] = {}


def record(section: str, key: str, template: str, counts=None, **fixed) -> None:
    """Add a line to the summary; counts of the same key add up."""
    merge(RECORDS, [[section, key, template, dict(counts or {}), fixed]])


def line(section: str, key: str, text: str) -> None:
    """A line as it is, e.g. one measured by a single test."""
    record(section, key, '{text}', text=text)


def exported(records=None) -> list:
    """The records as plain lists (what execnet can send to the controller)."""
    records = RECORDS if records is None else records
    return [[section, key, r['template'], dict(r['counts']), dict(r['fixed'])]
            for (section, key), r in records.items()]


def merge(records: dict, items: list) -> dict:
    """Fold exported items into records: counts add up, a template or a
    fixed value that differs between processes is kept from the first."""
    for section, key, template, counts, fixed in items:
        r = records.setdefault((section, key), {'template': template, 'counts': {}, 'fixed': {}})
        for name, value in counts.items():
            r['counts'][name] = r['counts'].get(name, 0) + value
        for name, value in fixed.items():
            r['fixed'].setdefault(name, value)
    return records


def rendered(records=None) -> list[tuple[str, list[str]]]:
    """[(section, lines)] in print order."""
    records = RECORDS if records is None else records
    sections = list(SECTIONS) + sorted({s for s, _ in records} - set(SECTIONS))
    out = []
    for section in sections:
        lines = []
        for (s, key) in sorted(k for k in records if k[0] == section):
            r = records[(s, key)]
            lines += r['template'].format(**r['counts'], **r['fixed']).splitlines()
        if lines:
            out.append((section, lines))
    return out


def write(terminalreporter, records=None) -> None:
    """Print every section under its own separator line."""
    for section, lines in rendered(records):
        terminalreporter.write_sep('=', section)
        for text in lines:
            terminalreporter.write_line(text)
