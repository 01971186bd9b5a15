"""The distribution's own top-level module: its version and the start of
its console commands.

The packages are installed under short top-level names (`vm`, `backends`,
`asmkit`), so a folder of one of those names in the working directory
would hide them whenever the working directory is on `sys.path`: under
`python -m`, or with `PYTHONPATH=.` (or an empty entry such as
`PYTHONPATH=:/x`).  The console commands therefore start here, in a module
whose name no user folder is likely to share, and drop the working
directory from `sys.path` before anything of ours is imported (as Python's
own `-P` does).  A command never imports from the working directory.
"""
from __future__ import annotations

import os
import sys

DISTRIBUTION = 'jitvm'
HERE = os.path.dirname(os.path.abspath(__file__))     # where vm/, backends/, asmkit/ live


def version() -> str:
    """The version in the package metadata (pyproject.toml, the one
    source); in a checkout that is not installed, pyproject.toml itself."""
    from importlib import metadata
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    import tomllib
    try:
        with open(os.path.join(HERE, 'pyproject.toml'), 'rb') as f:
            return tomllib.load(f)['project']['version']
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return 'unknown'


def drop_working_directory() -> None:
    """Remove every `sys.path` entry that means the working directory,
    unless our own packages live there (a checkout run from its root)."""
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:                       # the directory was removed under us
        sys.path[:] = [p for p in sys.path if p not in ('', '.')]
        return
    if cwd == os.path.realpath(HERE):
        return
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or '.') != cwd]


def jitvm() -> None:
    """The `jitvm` console command."""
    drop_working_directory()
    from vm.cli import main
    main()


def asmkit() -> None:
    """The `asmkit` console command."""
    drop_working_directory()
    from asmkit.cli import main
    main()
