"""Architecture names, aliases and lazy loading of the per-arch packages."""

from __future__ import annotations

import importlib
import platform

ARCHES = ("x86_64", "aarch64")

ALIASES = {
    "x86_64": "x86_64", "x86-64": "x86_64", "amd64": "x86_64", "x64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64", "a64": "aarch64",
}


class UnknownArch(ValueError):
    """A name that is not one of ARCHES or their aliases."""


def resolve(name: str) -> str:
    """The canonical name (``x86_64`` or ``aarch64``) for ``name``."""
    canon = ALIASES.get(str(name).strip().lower())
    if canon is None:
        known = ", ".join(sorted(ALIASES))
        raise UnknownArch(f"unknown architecture {name!r} (known: {known})")
    return canon


def load(name: str):
    """The ``asmkit.<arch>`` package for ``name`` (imported on first use)."""
    canon = resolve(name)
    try:
        return importlib.import_module(f"asmkit.{canon}")
    except ImportError as exc:
        if exc.name and exc.name.startswith(f"asmkit.{canon}"):
            raise UnknownArch(f"architecture {canon!r} is not available") from exc
        raise


def available() -> list[str]:
    """The architectures whose package can be imported here."""
    out = []
    for arch in ARCHES:
        try:
            mod = load(arch)
        except UnknownArch:
            continue
        if hasattr(mod, "Builder"):
            out.append(arch)
    return out


def host_arch() -> str | None:
    """The canonical name of the machine we run on, or None if unsupported."""
    try:
        return resolve(platform.machine())
    except UnknownArch:
        return None
