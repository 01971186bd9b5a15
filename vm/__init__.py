"""jitvm: the bytecode toolchain (text assembler, `.bc` format, verifier,
interpreter) and the tiering JIT; `vm.api` is the entry point from Python."""


def __getattr__(name: str):
    """`vm.__version__`, read from the package metadata only when asked
    (importlib.metadata costs start-up time)."""
    if name == '__version__':
        from _jitvm import version
        return version()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
