"""Helpers shared by the tests and the fuzz tools (random program generator)."""
