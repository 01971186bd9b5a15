"""Keystone adapter: the reference assembler of the proofs."""

from __future__ import annotations

import functools


INSTALL_HINT = ("keystone-engine is not installed: pip install keystone-engine "
                "(it has wheels for x86-64 hosts only)")


class KeystoneUnavailable(RuntimeError):
    """keystone-engine is not installed (it has no aarch64 wheel)."""


def require():
    """The keystone module, or KeystoneUnavailable saying how to install it."""
    try:
        import keystone
    except ImportError as exc:
        raise KeystoneUnavailable(INSTALL_HINT) from exc
    return keystone


@functools.lru_cache(maxsize=None)
def _engine(arch_name: str, mode_name: str):
    keystone = require()
    return keystone.Ks(getattr(keystone, arch_name), getattr(keystone, mode_name))


def assemble(text: str, arch_mod, address: int = 0) -> bytes:
    """Keystone's bytes for ``text`` (many lines per call is much faster)."""
    arch_name, mode_name = arch_mod.KEYSTONE
    enc, _count = _engine(arch_name, mode_name).asm(text, address)
    return bytes(enc or b"")


def error_type():
    import keystone
    return keystone.KsError
