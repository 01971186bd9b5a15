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


def quick_form(args: list[str]) -> str | None:
    """FILE when the command line is `run FILE` and nothing else: that form
    skips click (whose import is about twice a bare Python start-up); any
    option, `--`, or a FILE that looks like one goes through click."""
    if len(args) == 2 and args[0] == 'run' and not args[1].startswith('-'):
        return args[1]
    return None


def jitvm() -> None:
    """The `jitvm` console command."""
    guarded(_jitvm_main)


def _jitvm_main() -> None:
    drop_working_directory()
    path = quick_form(sys.argv[1:])
    if path is not None:
        from vm.command import quick_run
        quick_run(path)
    from vm.cli import main
    main()


def asmkit() -> None:
    """The `asmkit` console command."""
    guarded(_asmkit_main)


def _asmkit_main() -> None:
    drop_working_directory()
    from asmkit.cli import main
    main()


def guarded(main) -> None:
    """Ctrl-C at any moment from here on, our imports and Python's shutdown
    included, ends as `error: interrupted` with status 130, never a
    traceback. Outside a run, SIGINT ends the process from its handler
    instead of raising KeyboardInterrupt: raised inside a weakref callback
    or a finalizer (an import lock's, say), the exception would only be
    printed as "ignored" and the process would go on. A run replaces this
    handler with its own for its duration (vm/engine.py `stops`) and puts
    it back after. (Before this module runs, Python's own start-up, a few
    milliseconds, is the interpreter's.)"""
    import _signal              # signal's C half: `signal` itself imports enum, a slow start
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _on_interrupt(_interrupt_now)
    try:
        main()
    except KeyboardInterrupt:
        interrupted()


def _interrupt_now(signum, frame) -> None:
    interrupted()


_interrupt_now.replaceable = True     # vm/engine.py: a run may put its own handler in place


def _on_interrupt(handler) -> None:
    import _signal              # signal's C half: `signal` itself imports enum, a slow start
    try:
        _signal.signal(_signal.SIGINT, handler)
    except ValueError:          # not the main thread
        pass


def interrupted() -> None:
    """Keep what was written, say so in one line, exit 130 at once (so a
    second Ctrl-C cannot interrupt the exit)."""
    import _signal
    _on_interrupt(_signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    try:
        os.write(2, b'error: interrupted\n')
    except OSError:
        pass
    os._exit(130)
