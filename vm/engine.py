"""Run a verified program with the options of `jitvm run`: memory, output,
time limit, SIGINT, and the choice between interpreter and JIT."""
from __future__ import annotations

import sys
import time

# `_signal` is the C half of `signal`; the Python half only wraps numbers
# in enums, and importing `enum` costs more than the rest of a small run
# (docs/bytecode.md, "Start-up and Ctrl-C"). The handlers installed are the same objects.
import _signal as signal

from .errors import Interrupted, TimeLimit
from .interp import NEVER, Interpreter, Output
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


class stops:
    """Turn SIGALRM after `seconds` into TimeLimit and SIGINT into
    Interrupted, both through the gate (main thread only; native code learns
    of them through the JIT's signal watchdog). SIGINT ignored by the
    parent stays ignored."""

    def __init__(self, gate: StopGate, seconds: float | None):
        self.gate, self.seconds, self.saved = gate, seconds, []

    def __enter__(self):
        gate, saved = self.gate, self.saved
        if off_main_thread():       # signals are the main thread's to take
            return self
        current = signal.getsignal(signal.SIGINT)
        if current is signal.default_int_handler or getattr(current, 'replaceable', False):
            saved.append((signal.SIGINT, signal.signal(
                signal.SIGINT, lambda signum, frame: gate.stop(Interrupted))))
        # a stop raised where Python only reports exceptions (a weakref
        # callback, a finalizer, a gc callback) is lost: raise its signal
        # again, so that it lands at the next instruction instead
        self.hook = sys.unraisablehook
        sys.unraisablehook = self._lost
        if self.seconds:
            def expire(signum, frame):
                signal.setitimer(signal.ITIMER_REAL, 0)
                gate.stop(TimeLimit)
            saved.append((signal.SIGALRM, signal.signal(signal.SIGALRM, expire)))
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def _lost(self, unraisable):
        kind = unraisable.exc_type
        ours = {signum for signum, _ in self.saved}
        if kind is not None and issubclass(kind, TimeLimit) and signal.SIGALRM in ours:
            signal.raise_signal(signal.SIGALRM)
        elif kind is not None and issubclass(kind, (Interrupted, KeyboardInterrupt)) \
                and signal.SIGINT in ours:
            signal.raise_signal(signal.SIGINT)
        else:
            self.hook(unraisable)

    def __exit__(self, *exc):
        if getattr(self, 'hook', None) is not None:
            sys.unraisablehook = self.hook
            self.hook = None
        if self.saved:
            if self.seconds:
                signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, old in reversed(self.saved):
                signal.signal(signum, old)
        return False


def off_main_thread() -> bool:
    """Without `threading` imported there is only the main thread (every
    other thread comes from it), so a plain run does not import it."""
    threading = sys.modules.get('threading')
    return threading is not None and threading.current_thread() is not threading.main_thread()


class DeadlinePoll:
    """Interpreter hooks for a run without the JIT that has a time limit
    outside the main thread: nothing is asked until the timer expires, then
    the next call or backward jump raises TimeLimit."""

    def __init__(self, nfuncs: int):
        self.watch = [False] * nfuncs
        self.waits = [NEVER] * nfuncs
        self.expired = False
        self.interp = None

    def expire(self):
        self.expired = True
        self.interp.ask_soon(self)

    def on_call(self, callee: int, depth: int):
        if self.expired:
            raise TimeLimit()
        return None

    def on_hot_loop(self, fidx: int, header: int, L, S, depth: int):
        if self.expired:
            raise TimeLimit()
        return None


class Deadline:
    """A time limit for a run outside the main thread, where SIGALRM cannot
    be used: a timer thread calls hooks.expire() (the JIT's, which also sets
    the native stop flag, or a DeadlinePoll's). Cancelled, under a lock,
    before the run's memory is released."""

    def __init__(self, seconds: float, hooks):
        import threading
        self.hooks = hooks
        self.lock = threading.Lock()
        self.done = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True
        self.timer.start()

    def _expire(self):
        with self.lock:
            if not self.done:
                self.hooks.expire()

    def cancel(self):
        with self.lock:
            self.done = True
        self.timer.cancel()


def run_program(program, config, out, log=None) -> int:
    """Run program per config, writing output to the binary stream out and
    JIT logs to the text stream log. Returns the result or raises a Trap,
    TimeLimit or Interrupted; output written before either is kept, once."""
    gate = StopGate()
    output = Output(out, gate)
    jit = None
    setup_started = time.perf_counter()
    if config.jit:
        from .jit import make_jit
        jit = make_jit(program, config, log)
    memory = CellMemory(program.memory_cells, native=jit is not None)
    memory.load(program.data)
    if jit is not None:
        jit.attach(memory, output)
        jit.setup_ns = int((time.perf_counter() - setup_started) * 1e9)
    started = time.perf_counter()       # --stats: the run itself, set-up left out
    hooks, threshold = jit, config.jit_threshold
    off_main = bool(config.timeout) and off_main_thread()
    if off_main and jit is None:
        hooks, threshold = DeadlinePoll(len(program.functions)), NEVER
    interp = Interpreter(program, memory.cells, output,
                         max_call_depth=config.max_call_depth, jit=hooks, threshold=threshold)
    deadline = None
    if off_main:
        hooks.interp = interp
        deadline = Deadline(config.timeout, hooks)
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
            if deadline is not None:
                deadline.cancel()
            output.flush()
            if jit is not None:
                jit.finish(time.perf_counter() - started)
            elif config.stats and log is not None:
                print(f'[JIT stats] no JIT: compiled regions: 0, code bytes: 0, compile time: 0 ms; '
                      f'time in interpreter: {(time.perf_counter() - started) * 1000:.3f} ms, '
                      f'in compiled code: 0 ms', file=log)
            memory.close()
