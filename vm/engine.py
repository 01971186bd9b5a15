"""Run a verified program with the options of `jitvm run`: memory, output,
time limit, SIGINT, and the choice between interpreter and JIT."""
from __future__ import annotations

import contextlib
import signal
import threading
import time

from .errors import Interrupted, TimeLimit
from .interp import Interpreter, Output
from .memory import CellMemory


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise TimeLimit in the main thread after `seconds` of wall-clock time
    (native code learns of it through the JIT's signal watchdog)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise TimeLimit()

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_program(program, config, out, log=None) -> int:
    """Run program per config, writing output to the binary stream out and
    JIT logs to the text stream log. Returns the result or raises a Trap,
    TimeLimit or Interrupted; output written before either is kept."""
    output = Output(out)
    jit = None
    if config.jit:
        from .jit import make_jit
        jit = make_jit(program, config, log)
    memory = CellMemory(program.memory_cells, native=jit is not None)
    memory.load(program.data)
    started = time.perf_counter()
    if jit is not None:
        jit.attach(memory, output)
    interp = Interpreter(program, memory.cells, output,
                         max_call_depth=config.max_call_depth, jit=jit,
                         threshold=config.jit_threshold)
    try:
        with time_limit(config.timeout):
            try:
                if jit is not None:
                    return jit.run(interp)
                return interp.run()
            except KeyboardInterrupt:
                raise Interrupted() from None
    finally:
        output.flush()
        if jit is not None:
            jit.finish(time.perf_counter() - started)
        elif config.stats and log is not None:
            print(f'[JIT stats] no JIT: compiled regions: 0, code bytes: 0, compile time: 0 ms; '
                  f'time in interpreter: {(time.perf_counter() - started) * 1000:.3f} ms, '
                  f'in compiled code: 0 ms', file=log)
        memory.close()
