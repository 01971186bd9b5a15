"""Thin adapters over Keystone, Capstone and Unicorn.

Each takes an arch package's descriptors (constant *names*, resolved here), so
the oracles are imported only when a proof, ``disassemble`` or ``emulate``
needs them: nothing on the JIT's hot path imports this package.
"""
