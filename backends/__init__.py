"""Code generators, one per architecture, chosen by the host's architecture
at run time. The built-in ones are listed here; a third-party package adds
one through the `jitvm.backends` entry-point group (name -> a Target), which
is only scanned when the name is not built in, to keep start-up fast."""
from __future__ import annotations

import os

ALIASES = {'x86-64': 'x86_64', 'amd64': 'x86_64', 'x64': 'x86_64',
           'arm64': 'aarch64', 'a64': 'aarch64'}
BUILTIN = {'x86_64': 'backends.x86_64', 'aarch64': 'backends.aarch64'}
ENTRY_POINT_GROUP = 'jitvm.backends'


def host_arch() -> str:
    m = os.uname().machine.lower()      # what platform.machine() reads, without its import
    return ALIASES.get(m, m)


def available() -> dict:
    """name -> where its Target comes from (a module path or an entry point)."""
    from importlib.metadata import entry_points
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update(BUILTIN)
    return found


def names() -> list[str]:
    """Every backend name: the built-in ones first, then third-party ones."""
    third = sorted(set(available()) - set(BUILTIN))
    return list(BUILTIN) + third


def canonical(name: str) -> str:
    name = name.lower()
    return ALIASES.get(name, name)


def load_backend(name: str):
    """The Target of the named backend, or None if there is none."""
    name = canonical(name)
    if name in BUILTIN:
        import importlib
        return importlib.import_module(BUILTIN[name]).TARGET
    ep = available().get(name)
    if ep is None:
        return None
    try:
        return ep.load()
    except ImportError:
        return None


def select_backend(choice: str = 'auto'):
    """The Target for `--backend CHOICE` ('auto' picks the host's)."""
    return load_backend(host_arch() if choice == 'auto' else choice)


def engine_backends() -> list[tuple[str, bool]]:
    """(name, runs natively here) for every backend with a code generator:
    what the test engine tables are built from (native engines for the
    host's architecture, Unicorn engines for every backend)."""
    arch = host_arch()
    found = []
    for name in names():
        target = load_backend(name)
        if target is not None:
            found.append((name, target.name == arch))
    return found
