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


class StopGate:
    """Where a stop (time limit, SIGINT) may be raised. Signal handlers call
    stop(); while the gate is held (`with gate:`, around every write of
    output and every move of native output into the buffer) the stop waits
    and is raised when the last hold ends, so it never lands between
    writing a buffer and clearing it."""

    def __init__(self):
        self.held = 0
        self.pending = None

    def __enter__(self):
        self.held += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        self.held -= 1
        if not self.held and self.pending is not None:
            stop, self.pending = self.pending, None
            if exc_type is None:        # something else already ends the run: it wins
                raise stop()
        return False

    def stop(self, error: type):
        if self.held:
            if self.pending is None:
                self.pending = error
            return
        raise error()

    def close(self):
        """From now on (cleanup after the run) stops are dropped."""
        self.held += 1


@contextlib.contextmanager
def stops(gate: StopGate, seconds: float | None):
    """Turn SIGALRM after `seconds` into TimeLimit and SIGINT into
    Interrupted, both through the gate (main thread only; native code learns
    of them through the JIT's signal watchdog). SIGINT ignored by the
    parent stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = []
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            saved.append((signal.SIGINT, signal.signal(
                signal.SIGINT, lambda signum, frame: gate.stop(Interrupted))))
        if seconds:
            def expire(signum, frame):
                signal.setitimer(signal.ITIMER_REAL, 0)
                gate.stop(TimeLimit)
            saved.append((signal.SIGALRM, signal.signal(signal.SIGALRM, expire)))
            signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, old in reversed(saved):
            signal.signal(signum, old)


def run_program(program, config, out, log=None) -> int:
    """Run program per config, writing output to the binary stream out and
    JIT logs to the text stream log. Returns the result or raises a Trap,
    TimeLimit or Interrupted; output written before either is kept, once."""
    gate = StopGate()
    output = Output(out, gate)
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
    with stops(gate, config.timeout):
        try:
            try:
                if jit is not None:
                    return jit.run(interp)
                return interp.run()
            except KeyboardInterrupt:
                raise Interrupted() from None
        finally:
            gate.close()
            output.flush()
            if jit is not None:
                jit.finish(time.perf_counter() - started)
            elif config.stats and log is not None:
                print(f'[JIT stats] no JIT: compiled regions: 0, code bytes: 0, compile time: 0 ms; '
                      f'time in interpreter: {(time.perf_counter() - started) * 1000:.3f} ms, '
                      f'in compiled code: 0 ms', file=log)
            memory.close()
