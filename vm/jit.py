"""Tiering policy: when to compile, where to enter native code, and what to
do with what native code hands back.

* A loop header whose backward jumps reach the threshold, or a function
  called that many times, is compiled: its whole function, plus every
  function it can call that is not compiled yet (so hot code calling cold
  code stays native). A loop is entered at its header from the live
  interpreter frame (locals and operand stack copied in, nothing
  recomputed).
* Native code returns to Python only to end (RET of the entry frame, HALT,
  a trap, the time limit or SIGINT), to flush a full output buffer (then it
  resumes), or to hand frames back when it calls a function that is not
  compiled (evicted, or too big for the cache): the frames are rebuilt from
  the value stack and the return addresses, and the interpreter continues.
"""
from __future__ import annotations

import socket
import signal
import threading
import time

from backends import abi

from .errors import Interrupted, TimeLimit, Trap, UsageError


def make_jit(program, config, log):
    """The JIT for this run, or None when there is no backend to use."""
    from backends import host_arch, select_backend
    target = select_backend(config.backend)
    say = (lambda msg: print(f'[JIT] {msg}', file=log)) if config.verbose and log else (lambda msg: None)
    if target is None:
        if config.backend != 'auto':
            from backends import names
            raise UsageError(f'backend {config.backend!r} has no code generator '
                             f'(available: {", ".join(names())})')
        say(f'no {host_arch()} backend: running the interpreter')
        return None
    if target.name != host_arch() and not config.emulate:
        raise UsageError(f'the {target.name} backend cannot run natively on '
                         f'{host_arch()}; add --emulate to run it in Unicorn')
    return Tiering(program, config, target, say, log)


class _Halt(Exception):
    def __init__(self, value: int):
        self.value = value


class Tiering:
    def __init__(self, program, config, target, say, log):
        self.program = program
        self.config = config
        self.target = target
        self.say = say
        self.log = log
        self.threshold = config.jit_threshold
        self.max_depth = config.max_call_depth
        n = len(program.functions)
        self.calls = [0] * n
        self.entry_of = [None] * n           # fidx -> Placed, when compiled
        self.runners = [None] * n
        self.too_big = [False] * n           # bigger than the whole cache: never retried
        self.compile_ns = 0
        self.compiled_ops = 0
        self.compilations = 0
        self.native_ns = 0
        self.entries = 0
        self.handbacks = 0

    # -- set-up ------------------------------------------------------------------
    def attach(self, memory, output):
        from .codecache import CodeCache
        from .state import NativeState
        self.output = output
        self.state = NativeState(self.program, memory, self.max_depth, self.target.abi)
        code, self.routines = self.target.runtime_routines()
        self.cache = CodeCache(self.config.code_cache, code, self._code_changed)
        base = self.cache.runtime_address
        for name in abi.STATE_ROUTINES:
            self.state.set('rt_' + name, base + self.routines[name])
        self.uncompiled = base + self.routines['uncompiled']
        self.entry_return = base + self.routines['entry_return']
        for i in range(len(self.program.functions)):
            self.state.set_function(i, self.uncompiled)
        if self.config.emulate:
            from .executors import UnicornExecutor
            self.executor = UnicornExecutor(self.state, self.cache, self.routines, self.target)
        else:
            from .executors import NativeExecutor
            self.executor = NativeExecutor(self.state, self.cache, self.routines, self.target)
        self.say(f'{self.target.name} backend, {self.executor.name} execution, '
                 f'threshold {self.threshold}, code cache {self.config.code_cache} bytes')

    def _code_changed(self, address, size):
        ex = getattr(self, 'executor', None)
        if ex is not None:
            ex.code_changed(address, size)

    # -- running -----------------------------------------------------------------
    def run(self, interp) -> int:
        self.interp = interp
        self.watchdog = _Watchdog(self.state)
        try:
            if self.threshold == 0:
                entry = self.program.entry
                self.compile(entry, 'threshold 0')
                if self.entry_of[entry] is not None:
                    frames = self._enter_function(entry, [], 1)
                    if frames is None:
                        return self.state.read_words(self.state.vstack.address, 1)[0]
                    return interp.run_frames(frames)
            return interp.run()
        except _Halt as h:
            return h.value

    def on_call(self, callee: int, depth: int):
        """Called by the interpreter at each CALL: a native runner for the
        callee if it is (or has just become) compiled, else None."""
        runner = self.runners[callee]
        if runner is not None:
            return runner
        self.calls[callee] += 1
        if self.calls[callee] >= self.threshold:
            f = self.program.functions[callee]
            self.say(f'hot function {f.name} after {self.calls[callee]} calls')
            self.compile(callee, 'hot function')
            return self.runners[callee]
        return None

    def on_hot_loop(self, fidx: int, header: int, L, S, depth: int):
        f = self.program.functions[fidx]
        if self.entry_of[fidx] is None:
            self.say(f'hot loop {f.name}+{header} after {self.threshold} backward jumps')
            self.compile(fidx, 'hot loop')
        placed = self.entry_of[fidx]
        if placed is None or header not in placed.code.osr:
            return None
        st = self.state
        base = st.vstack.address
        st.write_words(base, L)
        st.write_words(base + abi.WORD * f.nslots, S)
        frames = self._execute(placed.address + placed.code.osr[header], base,
                               self.max_depth - depth, placed.region)
        if frames is None:
            S.append(st.read_words(base, 1)[0])
            return 'returned'
        return frames

    def _make_runner(self, fidx: int):
        nargs = self.program.functions[fidx].nargs

        def run_native(S, depth):
            if nargs:
                args = S[-nargs:]
                del S[-nargs:]
            else:
                args = []
            frames = self._enter_function(fidx, args, depth + 1)
            if frames is None:
                S.append(self.state.read_words(self.state.vstack.address, 1)[0])
            return frames
        return run_native

    def _enter_function(self, fidx: int, args, depth: int):
        placed = self.entry_of[fidx]
        base = self.state.vstack.address
        self.state.write_words(base, args)
        return self._execute(placed.address + placed.code.entry, base,
                             self.max_depth - depth, placed.region)

    def _execute(self, address: int, base: int, budget: int, region):
        """One native run; None when the entry frame returned (its result
        at base[0]), else the frames to continue in the interpreter."""
        st = self.state
        st.set('entry_addr', address)
        st.set('entry_base', base)
        st.set('depth_left', budget)
        self.cache.touch(region)
        self.entries += 1
        self.watchdog.start()
        t0 = time.perf_counter_ns()
        try:
            reason = self.executor.enter()
            while reason == abi.EXIT_FLUSH:
                self._drain()
                reason = self.executor.resume()
        finally:
            self.native_ns += time.perf_counter_ns() - t0
            self._drain()
        if reason == abi.EXIT_RETURNED:
            return None
        if reason == abi.EXIT_HALT:
            raise _Halt(st.get('exit_value'))
        if reason == abi.EXIT_TRAP:
            f = self.program.functions[st.get('exit_func')]
            pc = st.get('exit_pc')
            raise Trap(abi.TRAPS[st.get('exit_value')], f.name, pc, f.line_at(pc),
                       self.program.source_name)
        if reason == abi.EXIT_STOP:
            if st.get('flag') == abi.STOP_SIGINT:
                raise Interrupted()
            raise TimeLimit()
        if reason == abi.EXIT_DEOPT:
            return self._hand_back()
        raise RuntimeError(f'native code exited with unknown reason {reason}')

    def _drain(self):
        data = self.state.take_output()
        if data:
            self.output.buf += data
            if len(self.output.buf) > 65536:
                self.output.flush()

    def _hand_back(self):
        """Rebuild interpreter frames (outermost first) from the machine
        stack's return addresses and the value stack."""
        st = self.state
        sp, base = st.get('exit_sp'), st.get('exit_base')
        step = self.target.abi.return_slot        # one return address per frame
        frames = []
        while True:
            ret = st.read_words(sp, 1)[0]
            if ret == self.entry_return:
                break
            placed, off = self.cache.lookup(ret)
            call_pc, delta, height = placed.code.return_sites[off]
            base -= delta
            fidx = placed.code.func_index
            f = self.program.functions[fidx]
            words = st.read_words(base, f.nslots + height)
            L, S = words[:f.nslots], words[f.nslots:]
            if frames:          # a suspended caller: resumes after its CALL, args consumed
                callee = self.program.functions[self.program.facts[fidx].at[call_pc].arg]
                del S[len(S) - callee.nargs:]
                pc = self.program.facts[fidx].at[call_pc].end
            else:               # the innermost: redoes its CALL in the interpreter
                pc = call_pc
            frames.append((fidx, pc, L, S))
            sp += step
        frames.reverse()
        self.handbacks += 1
        inner = frames[-1]
        self.say(f'fallback to the interpreter at {self.program.functions[inner[0]].name}+{inner[1]} '
                 f'({len(frames)} frame{"s" if len(frames) != 1 else ""} handed back)')
        return frames

    # -- compiling ---------------------------------------------------------------
    def compile(self, fidx: int, why: str):
        """Compile fidx and every function it can reach that is not compiled,
        as one region; if that does not fit, each function on its own."""
        todo = [k for k in self._reachable_uncompiled(fidx) if not self.too_big[k]]
        if not todo:
            return
        codes = []
        for k in todo:
            t0 = time.perf_counter_ns()
            code = self.target.compile_function(self.program, k,
                                                vstack_checks=not self.state.vstack_covers_depth)
            code.compile_ns = time.perf_counter_ns() - t0
            self.compile_ns += code.compile_ns
            codes.append(code)
        if not self._install(codes, why):
            for code in codes:
                if not self._install([code], why):
                    f = self.program.functions[code.func_index]
                    self.calls[code.func_index] = 0
                    if len(code.code) > self.cache.capacity:
                        self.too_big[code.func_index] = True
                    self.say(f'fallback: {f.name} stays interpreted ({len(code.code)} bytes do not '
                             f'fit the {self.config.code_cache}-byte code cache)')

    def _install(self, codes, why) -> bool:
        from .codecache import CacheFull
        try:
            region = self.cache.place(codes, self._evict)
        except CacheFull:
            return False
        for p in region.placed:
            code = p.code
            k = code.func_index
            self.compiled_ops += code.ops
            self.compilations += 1
            self.entry_of[k] = p
            self.runners[k] = self._make_runner(k)
            self.state.set_function(k, p.address + code.entry)
            self.say(f'compiled {self.program.functions[k].name} ({why}): {code.ops} ops -> '
                     f'{len(code.code)} bytes at {p.address:#x}, {code.compile_ns / 1000:.0f} us')
        return True

    def _reachable_uncompiled(self, fidx: int) -> list[int]:
        seen, order, work = {fidx}, [], [fidx]
        while work:
            k = work.pop()
            if self.entry_of[k] is None:
                order.append(k)
            facts = self.program.facts[k]
            for ins in facts.instrs:
                if ins.op.mnemonic == 'CALL' and ins.offset in facts.heights and ins.arg not in seen:
                    seen.add(ins.arg)
                    work.append(ins.arg)
        return order

    def _evict(self, region):
        for k in region.functions:
            self.entry_of[k] = None
            self.runners[k] = None
            self.calls[k] = 0
            self.state.set_function(k, self.uncompiled)
            hot = self.interp.function(k).hot     # counted afresh in the interpreter
            hot[:] = [self.threshold] * len(hot)
        names = ', '.join(self.program.functions[k].name for k in region.functions)
        self.say(f'evicted {names} ({region.size} bytes) to make room')
        self.cache.remove(region)

    # -- reporting ---------------------------------------------------------------
    def finish(self, elapsed: float):
        """Print --stats, then release the code and stack mappings."""
        try:
            if self.config.stats and self.log is not None:
                self._print_stats(elapsed)
        finally:
            if hasattr(self, 'watchdog'):
                self.watchdog.stop()
            self.executor = None          # Unicorn maps our memory: drop it first
            self.cache.close()
            self.state.close()

    def _print_stats(self, elapsed: float):
        native = self.native_ns / 1e9
        interp = max(0.0, elapsed - native - self.compile_ns / 1e9)
        per_op = self.compile_ns / 1000 / self.compiled_ops if self.compiled_ops else 0.0
        print(f'[JIT stats] backend {self.target.name} ({self.executor.name}); '
              f'compiled regions: {self.compilations} functions, '
              f'{len(self.cache.regions)} regions live, {self.cache.evictions} evicted', file=self.log)
        print(f'[JIT stats] code bytes: {self.cache.used} live, {self.cache.bytes_placed} placed, '
              f'cache {self.config.code_cache}', file=self.log)
        print(f'[JIT stats] compile time: {self.compile_ns / 1e6:.3f} ms for {self.compiled_ops} ops '
              f'({per_op:.2f} us/op)', file=self.log)
        print(f'[JIT stats] time in interpreter: {interp * 1000:.3f} ms, in compiled code: '
              f'{native * 1000:.3f} ms ({self.entries} native entries, {self.handbacks} hand-backs)',
              file=self.log)


class _Watchdog:
    """Sets the state block's stop flag when SIGALRM (--timeout) or SIGINT
    arrives while native code runs: Python's signal handlers cannot run
    then, but the C-level handler writes to the wakeup fd, which this thread
    reads. The Python handlers still raise once native code returns.
    Started at the first native entry, so runs that stay interpreted pay
    nothing."""

    def __init__(self, state):
        self.state = state
        self.thread = None

    def start(self):
        if self.thread is not None or threading.current_thread() is not threading.main_thread():
            return
        self.rsock, self.wsock = socket.socketpair()
        self.wsock.setblocking(False)
        self.old_fd = signal.set_wakeup_fd(self.wsock.fileno(), warn_on_full_buffer=False)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while True:
            data = self.rsock.recv(64)
            if not data or 0 in data:
                return
            for signum in data:
                if signum == signal.SIGINT:
                    self.state.set('flag', abi.STOP_SIGINT)
                elif signum == signal.SIGALRM:
                    self.state.set('flag', abi.STOP_TIMEOUT)

    def stop(self):
        if self.thread is None:
            return
        signal.set_wakeup_fd(self.old_fd)
        try:
            self.wsock.send(b'\0')
        except OSError:
            pass
        self.thread.join(timeout=1)
        self.rsock.close()
        self.wsock.close()
        self.thread = None
