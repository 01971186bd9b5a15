"""One entry point for every way of running a program: the CLI, the
conformance corpus and the fuzzers all go through `load` and `execute`, so
an engine is proved exactly as a user runs it."""
from __future__ import annotations

import io
import math
from .record import field, record

from .errors import EXIT_OK, UsageError, VMError
from .opcodes import DEFAULT_MAX_CALL_DEPTH, MAX_CALL_DEPTH_LIMIT
from .program import Program

BC_MAGIC = b'JVBC'
MAX_TIMEOUT = 10 ** 9           # seconds (31 years): what setitimer and timer threads accept
MAX_CODE_CACHE = 1 << 30        # bytes of executable memory: 1 GiB


@record
class RunConfig:
    """The options of `jitvm run` (spec section 7)."""
    jit: bool = True
    jit_threshold: int = 1000
    backend: str = 'auto'
    emulate: bool = False
    code_cache: int = 1 << 20
    max_call_depth: int = DEFAULT_MAX_CALL_DEPTH
    timeout: float | None = None
    verbose: bool = False
    stats: bool = False
    perf_map: bool = False            # append each placed function to /tmp/perf-PID.map
    opt: int = 0                      # 0 baseline tier only; 1, 2 the optimizing tier's levels
    opt_threshold: int | None = None  # native loop iterations / calls before tier 2 (None: default)
    opt_passes: tuple | None = None   # tests: exactly these optimizing passes (None: the level's)

    def check(self) -> None:
        """UsageError (exit 2) for a value no run can honour, before anything
        is allocated: a NaN, infinite or huge timeout, a code cache beyond
        MAX_CODE_CACHE, a call depth beyond the spec's limit."""
        t = self.timeout
        if t is not None and not (isinstance(t, (int, float)) and math.isfinite(t)
                                  and 0 <= t <= MAX_TIMEOUT):
            raise UsageError(f'timeout {t!r} is not a number of seconds from 0 to {MAX_TIMEOUT}')
        if not 0 <= self.code_cache <= MAX_CODE_CACHE:
            raise UsageError(f'code cache {self.code_cache} is not 0 to {MAX_CODE_CACHE} bytes')
        if not 1 <= self.max_call_depth <= MAX_CALL_DEPTH_LIMIT:
            raise UsageError(f'max call depth {self.max_call_depth} is not 1 to {MAX_CALL_DEPTH_LIMIT}')
        if self.jit_threshold < 0:
            raise UsageError(f'jit threshold {self.jit_threshold} is negative')


@record
class Outcome:
    """What a run showed the user: output, result, exit status, error line."""
    stdout: bytes
    result: int | None
    exit_code: int
    error: str | None = None          # the full `error: ...` line
    phrase: str | None = None         # the spec phrase inside it
    offset: int | None = None         # trap / verifier offset
    log: str = field(default='', repr=False)


def load(data: bytes | str, filename: str = '<input>') -> Program:
    """A verified Program from `.asm` text or `.bc` bytes."""
    from .verifier import verify
    if isinstance(data, bytes) and (data[:4] == BC_MAGIC or filename.endswith('.bc')):
        from .bcfile import read_bc
        program = read_bc(data, filename)
    else:
        from .textasm import assemble
        text = data.decode('utf-8', errors='replace') if isinstance(data, bytes) else data
        program = assemble(text, filename)
    if not program.source_name:   # no LINE section: errors name the file itself
        program.source_name = filename
    verify(program)
    return program


def run(program: Program, config: RunConfig, out, log=None) -> int:
    """Run a verified program, writing its output to the binary stream out.
    Returns the result; raises Trap / TimeLimit / Interrupted."""
    from .engine import run_program
    config.check()
    return run_program(program, config, out, log)


def execute(data: bytes | str, config: RunConfig | None = None,
            filename: str = '<input>') -> Outcome:
    """Load and run in-process, capturing everything the user would see."""
    config = config or RunConfig()
    out, log = io.BytesIO(), io.StringIO()
    try:
        program = load(data, filename)
        result = run(program, config, out, log)
        return Outcome(out.getvalue(), result, EXIT_OK, log=log.getvalue())
    except VMError as e:
        return Outcome(out.getvalue(), None, e.exit_code, e.line(),
                       getattr(e, 'phrase', None), getattr(e, 'offset', None), log.getvalue())
