"""Every conformance case on every engine; non-reference engines must also
match the interpreter's Outcome field by field."""
from __future__ import annotations

import pytest

from .corpus import load_corpus, mismatches, run_case, same_as_reference
from .engines import ENGINES, REFERENCE

CASES = load_corpus()


def test_corpus_is_big_enough():
    assert len(CASES) >= 170


@pytest.mark.parametrize('engine', sorted(ENGINES))
@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_case(case, engine):
    got = run_case(case, ENGINES[engine]())
    problems = mismatches(case, got)
    assert not problems, f'{case.name} on {engine}:\n  ' + '\n  '.join(problems)
    if engine != REFERENCE:
        ref = run_case(case, ENGINES[REFERENCE]())
        diff = same_as_reference(ref, got)
        assert not diff, f'{case.name}: {engine} differs from {REFERENCE}:\n  ' + '\n  '.join(diff)
