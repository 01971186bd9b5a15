"""Code generators, one per architecture, found through the `jitvm.backends`
entry-point group (so a third-party package can add one) and chosen by the
host's architecture at run time."""
from __future__ import annotations

import platform
from importlib.metadata import entry_points

ALIASES = {'x86-64': 'x86_64', 'amd64': 'x86_64', 'x64': 'x86_64',
           'arm64': 'aarch64', 'a64': 'aarch64'}


def host_arch() -> str:
    m = platform.machine().lower()
    return ALIASES.get(m, m)


def available() -> dict:
    """name -> entry point of every registered backend."""
    return {ep.name: ep for ep in entry_points(group='jitvm.backends')}


def load_backend(name: str):
    """The Target of the named backend, or None if none is registered."""
    name = ALIASES.get(name.lower(), name.lower())
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
