"""JITVM_TEST_ENGINES narrows the engine tables (placeholder until the
arm64-root work lands: keeps every engine)."""
from __future__ import annotations


def selected(table: dict) -> dict:
    return table
