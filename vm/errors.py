"""The errors a user sees: each knows its exit status (spec section 7) and
renders as one `error: ` line, never a traceback."""
from __future__ import annotations

EXIT_OK = 0
EXIT_TRAP = 1
EXIT_BAD_INPUT = 2
EXIT_SIGINT = 130

_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


def shown(name: str) -> str:
    """A file, source or function name as an error line shows it: control
    and other unprintable characters (and the backslash) escaped the way
    repr() does, so a name can never split the line or forge a second one."""
    if name.isprintable() and '\\' not in name:
        return name
    return ''.join(_escape(c) for c in name)


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c.isprintable():
        return c
    code = ord(c)
    return f'\\x{code:02x}' if code < 0x100 else f'\\u{code:04x}' if code < 0x10000 else f'\\U{code:08x}'


class VMError(Exception):
    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def line(self) -> str:
        return 'error: ' + self.message


class UsageError(VMError):
    """Bad command-line use or an unreadable file."""


class AsmError(VMError):
    """A `.asm` text that does not assemble: `file:line:col: problem`."""

    def __init__(self, problem: str, file: str = '', line: int = 0, col: int = 0):
        name = shown(file)
        where = f'{name or "<input>"}:{line}:{col}: ' if line else (f'{name}: ' if name else '')
        super().__init__(where + problem)
        self.problem, self.file, self.lineno, self.col = problem, file, line, col


class BCFormatError(VMError):
    """A malformed `.bc` file."""


def _where(func: str, offset: int, line: int | None, source: str = '') -> str:
    """`in function 'f' at offset N`, then the source file and line where
    known: `(prog.asm:12)`, `(line 12)` or `(prog.bc)`."""
    text = f'in function {func!r} at offset {offset}'
    source = shown(source)
    if line:
        text += f' ({source}:{line})' if source else f' (line {line})'
    elif source:
        text += f' ({source})'
    return text


class VerifyError(VMError):
    """A verifier rejection (spec section 3): phrase plus where."""

    def __init__(self, phrase: str, func: str, offset: int, line: int | None = None, source: str = ''):
        super().__init__(f'{phrase} {_where(func, offset, line, source)}')
        self.phrase, self.func, self.offset, self.lineno = phrase, func, offset, line


class Trap(VMError):
    """A run-time trap (spec section 4)."""
    exit_code = EXIT_TRAP

    def __init__(self, phrase: str, func: str = '', offset: int | None = None,
                 line: int | None = None, source: str = ''):
        msg = phrase if offset is None else f'{phrase} {_where(func, offset, line, source)}'
        super().__init__(msg)
        self.phrase, self.func, self.offset, self.lineno = phrase, func, offset, line


class TimeLimit(Trap):
    def __init__(self):
        super().__init__('time limit exceeded')


class Interrupted(VMError):
    exit_code = EXIT_SIGINT

    def __init__(self):
        super().__init__('interrupted')
