"""`jit_target`: run a test once per way of executing compiled code (the
host's backend natively, every backend under Unicorn), from the registry."""
from __future__ import annotations

import pytest

from tests.support.backend_engines import jit_targets

from . import tiering_support

TARGETS = jit_targets()


@pytest.fixture(params=[options for _, options in TARGETS], ids=[name for name, _ in TARGETS])
def jit_target(request, monkeypatch):
    monkeypatch.setattr(tiering_support, 'TARGET', request.param)
    return request.param
