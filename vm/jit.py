"""Tiering policy: when to compile, where to enter native code, and what to
do with what native code hands back.

* A loop header whose backward jumps reach the threshold, or a function
  called that many times, is compiled: its whole function, plus every
  function it can call that is not compiled yet (so hot code calling cold
  code stays native). A loop is entered at its header from the live
  interpreter frame (locals and operand stack copied in, nothing
  recomputed).
* Compiled code must never make a run much slower than the interpreter.
  A function that cannot be placed at all (bigger than the cache) or
  whose code was evicted MAX_EVICTIONS times stays interpreted for the
  rest of the run: the interpreter then stops asking about it (no call
  counting, loop counters that never run out), and -v says so once.
  Every eviction of a function after its first, every placement that
  found no room and every native entry at it that ends in a hand-back
  doubles the calls or backward jumps before it is compiled
  or entered again (a clean return forgets the hand-backs), so code that
  keeps being thrown away, or keeps handing back, costs a logarithmic
  number of attempts; compiled code is kept, so placing it again after an
  eviction costs no compilation. A group (a hot function and what it can call) never
  evicts its own members to make room for itself.
* Native code returns to Python only to end (RET of the entry frame, HALT,
  a trap, the time limit or SIGINT), to flush a full output buffer (then it
  resumes), or to hand frames back when it calls a function that is not
  compiled (evicted, or too big for the cache): the frames are rebuilt from
  the value stack and the return addresses, and the interpreter continues.
"""
from __future__ import annotations

import gc
import time

from backends import abi

from .errors import Interrupted, TimeLimit, Trap, UsageError
from .interp import NEVER
from .memory import PAGE


def make_jit(program, config, log):
    """The JIT for this run, or None when there is no backend to use.

    A built-in backend is only imported when the first function gets hot
    (see Tiering.start): a run that stays interpreted, a hello world, pays
    for no backend, code cache or state block. The choice is checked here,
    so a bad --backend is still an error before anything runs."""
    from backends import BUILTIN, canonical, host_arch, load_backend
    say = (lambda msg: print(f'[JIT] {msg}', file=log)) if config.verbose and log else (lambda msg: None)
    name = canonical(host_arch() if config.backend == 'auto' else config.backend)
    if name in BUILTIN:
        target_name, target = name, None
    else:
        target = load_backend(name)
        if target is None:
            if config.backend != 'auto':
                from backends import names
                raise UsageError(f'backend {config.backend!r} has no code generator '
                                 f'(available: {", ".join(names())})')
            say(f'no {host_arch()} backend: running the interpreter')
            return None
        target_name = target.name
    if target_name != host_arch() and not config.emulate:
        raise UsageError(f'the {target_name} backend cannot run natively on '
                         f'{host_arch()}; add --emulate to run it in Unicorn')
    return Tiering(program, config, target or name, say, log)


DISCARD_ABOVE = 1 << 20  # a hand-back that touched more value stack gives it back
MAX_EVICTIONS = 3        # evicted this often: the function stays interpreted
MAX_BACKOFF = 40         # at most threshold * 2^40 before the next try
OPT_FACTOR = 10          # the optimizing tier's threshold: this many times the first
COUNTER_OFF = 1 << 62    # a tier-up counter that never runs out


_ENTRY_ADDR, _ENTRY_BASE, _DEPTH_LEFT, _OUT_LEN = (
    abi.OFF[name] // abi.WORD for name in ('entry_addr', 'entry_base', 'depth_left', 'out_len'))


class _Halt(Exception):
    def __init__(self, value: int):
        self.value = value


class Tiering:
    def __init__(self, program, config, target, say, log):
        """target: a Target, or the name of a built-in one to import at start()."""
        self.program = program
        self.config = config
        self.target = target if not isinstance(target, str) else None
        self.target_name = target if isinstance(target, str) else target.name
        self.started = False                 # start() ran to its end
        self.state = self.cache = self.executor = self.watchdog = self.perf_map = None
        self.started_ns = 0
        self.say = say
        self.log = log
        self.threshold = config.jit_threshold
        self.max_depth = config.max_call_depth
        n = len(program.functions)
        self.calls = [0] * n                 # calls counted towards need
        self.need = [self.threshold] * n     # calls / backward jumps before the next try
        self.waits = [self.threshold] * n    # what the interpreter resets loop counters to
        self.watch = [True] * n              # False: the interpreter need not ask on_call
        self.evicted = [0] * n
        self.deopts = [0] * n                # native entries in a row that handed back
        self.failed = [0] * n                # placements that found no room
        self.codes = [None] * n              # compiled code, kept to place again after eviction
        self.group = [()] * n                # the group a function was left out of, if any
        self.banned = [None] * n             # why it stays interpreted for good
        self.backed_off = [False] * n        # said so under -v already
        self.entry_of = [None] * n           # fidx -> Placed, when compiled
        self.runners = [None] * n
        self.expired = False                 # a time limit run outside the main thread ran out
        self.setup_ns = 0                    # backend, code cache, state block, executor
        self.compile_ns = 0
        self.compiled_ops = 0
        self.compilations = 0
        self.native_ns = 0
        self.entries = 0
        self.handbacks = 0
        self.discarded = 0                   # value-stack bytes given back after hand-backs
        # the optimizing tier (backends/opt): baseline code counts down a
        # per-function counter at entry and loop headers and exits with
        # EXIT_TIERUP when it runs out; the function is then recompiled
        # optimized and the very frame resumes in the new code
        self.opt = config.opt
        ot = config.opt_threshold
        self.opt_threshold = ot if ot is not None else OPT_FACTOR * max(self.threshold, 1)
        self.opt_direct = self.opt > 0 and (self.threshold == 0 or self.opt_threshold == 0)
        self.opt_codes = [None] * n          # optimized code, kept like self.codes
        self.opt_failed = [None] * n         # why the optimizing tier gave up on a function
        self.tierups = 0

    # -- set-up ------------------------------------------------------------------
    def attach(self, memory, output):
        """The run's memory and output; the native side waits for start()."""
        self.memory = memory
        self.output = output

    def start(self):
        """Everything native code needs, made when the first function gets
        hot: the backend, the state block, the runtime routines, the code
        cache, the executor and the signal watchdog."""
        if self.started:
            return
        started = time.perf_counter_ns()
        from .codecache import CodeCache
        from .state import NativeState
        if self.target is None:
            from backends import load_backend
            self.target = load_backend(self.target_name)
        memory = self.memory
        self.state = NativeState(self.program, memory, self.max_depth, self.target.abi)
        code, self.routines = self.target.runtime_routines()
        self.cache = CodeCache(self.config.code_cache, code, self._code_changed)
        base = self.cache.runtime_address
        for name in abi.STATE_ROUTINES:
            self.state.set('rt_' + name, base + self.routines[name])
        self.perf_map = self._open_perf_map(code, base) if self.config.perf_map else None
        self.uncompiled = base + self.routines['uncompiled']
        self.entry_return = base + self.routines['entry_return']
        for i in range(len(self.program.functions)):
            self.state.set_function(i, self.uncompiled)
            self.state.set_counter(i, self.opt_threshold if self.opt else COUNTER_OFF)
        if self.config.emulate:
            from .executors import UnicornExecutor
            self.executor = UnicornExecutor(self.state, self.cache, self.routines, self.target)
        else:
            from .executors import NativeExecutor
            self.executor = NativeExecutor(self.state, self.cache, self.routines, self.target)
        self._enter = self.executor.enter
        self.fields = self.state.fields
        self.watchdog = _Watchdog(self.state)
        if self.expired:
            self.state.set('flag', abi.STOP_TIMEOUT)
        self.started_ns = time.perf_counter_ns() - started     # inside the run: left out below
        self.setup_ns += self.started_ns
        self.started = True
        self.say(f'{self.target.name} backend, {self.executor.name} execution, '
                 f'threshold {self.threshold}, code cache {self.cache.describe()}')

    def _open_perf_map(self, runtime_code, base):
        from .perfmap import PerfMap
        perf_map = PerfMap()
        perf_map.add_runtime(base, len(runtime_code), self.routines)
        self.say(f'perf map: {perf_map.path}')
        return perf_map

    def _code_changed(self, address, size):
        ex = getattr(self, 'executor', None)
        if ex is not None:
            ex.code_changed(address, size)

    # -- running -----------------------------------------------------------------
    def run(self, interp) -> int:
        self.interp = interp
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
        """Called by the interpreter at a CALL of a watched function: a
        native runner for the callee if it is (or has just become)
        compiled and worth entering, else None."""
        if self.expired:
            raise TimeLimit()
        runner = self.runners[callee]
        if runner is not None:
            return runner
        if self.banned[callee] is not None:
            return None
        self.calls[callee] += 1
        if self.calls[callee] < self.need[callee]:
            return None
        n, self.calls[callee] = self.calls[callee], 0
        if self.entry_of[callee] is None:
            self.say(f'hot function {self.program.functions[callee].name} after {n} calls')
            self.compile(callee, 'hot function')
        elif self.runners[callee] is None:          # compiled, entries paused: try again
            self.runners[callee] = self._make_runner(callee)
        return self.runners[callee]

    def on_hot_loop(self, fidx: int, header: int, L, S, depth: int):
        """A loop counter of fidx ran out: compile and enter the loop, or
        None (the interpreter then resets the counter to waits[fidx])."""
        if self.expired:
            raise TimeLimit()
        f = self.program.functions[fidx]
        if self.banned[fidx] is not None:
            return None
        if self.entry_of[fidx] is None:
            self.say(f'hot loop {f.name}+{header} after {self.need[fidx]} backward jumps')
            self.compile(fidx, 'hot loop')
        placed = self.entry_of[fidx]
        if placed is None or header not in placed.code.osr:
            if self.expired:        # the timer came while this reset counters: ask again
                raise TimeLimit()
            return None
        st = self.state
        base = st.vstack.address
        st.write_words(base, L)
        st.write_words(base + abi.WORD * f.nslots, S)
        frames = self._execute(fidx, placed.address + placed.code.osr[header], base,
                               self.max_depth - depth, placed.region)
        if frames is None:
            S.append(st.read_words(base, 1)[0])
            return 'returned'
        return frames

    def _make_runner(self, fidx: int):
        """A closure that calls compiled fidx from the interpreter (made
        while fidx is placed; dropped when it is evicted or paused)."""
        from array import array
        nargs = self.program.functions[fidx].nargs
        placed = self.entry_of[fidx]
        address, region = placed.address + placed.code.entry, placed.region
        words, base = self.state.vstack_words, self.state.vstack.address
        execute, max_depth = self._execute, self.max_depth

        def run_native(S, depth):
            if nargs:
                words[:nargs] = array('q', S[-nargs:])
                del S[-nargs:]
            frames = execute(fidx, address, base, max_depth - depth - 1, region)
            if frames is None:
                S.append(words[0])
            return frames
        return run_native

    def _enter_function(self, fidx: int, args, depth: int):
        placed = self.entry_of[fidx]
        base = self.state.vstack.address
        self.state.write_words(base, args)
        return self._execute(fidx, placed.address + placed.code.entry, base,
                             self.max_depth - depth, placed.region)

    def _execute(self, fidx: int, address: int, base: int, budget: int, region):
        """One native run entered at function fidx; None when the entry
        frame returned (its result at base[0]), else the frames to continue
        in the interpreter. Kept lean: a call from the interpreter to a
        small compiled function must cost about what interpreting it does."""
        fields = self.fields
        fields[_ENTRY_ADDR] = address
        fields[_ENTRY_BASE] = base
        fields[_DEPTH_LEFT] = budget
        self.cache.touch(region)
        self.entries += 1
        if not self.watchdog.tried:
            self.watchdog.start()
        t0 = time.perf_counter_ns()
        try:
            reason = self._enter()
            while reason == abi.EXIT_FLUSH or reason == abi.EXIT_TIERUP:
                if reason == abi.EXIT_FLUSH:
                    self._drain()
                    reason = self.executor.resume()
                else:
                    reason = self._tier_up()
        finally:
            self.native_ns += time.perf_counter_ns() - t0
            if fields[_OUT_LEN]:
                self._drain()
        if reason == abi.EXIT_RETURNED:
            self.deopts[fidx] = 0
            return None
        return self._exited(fidx, reason)

    def _exited(self, fidx: int, reason: int):
        """Every way out of native code but a plain return."""
        st = self.state
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
            frames = self._hand_back()
            self.deopts[fidx] += 1
            self._back_off(fidx, 'its native runs keep handing frames back')
            return frames
        raise RuntimeError(f'native code exited with unknown reason {reason}')

    def _drain(self):
        """Move native output to the output buffer; a stop that arrives
        meanwhile waits (taking the bytes and appending them is one step)."""
        with self.output.gate:
            data = self.state.take_output()
            if data:
                self.output.buf += data
                if len(self.output.buf) > 65536:
                    self.output.flush()

    def _hand_back(self):
        """Rebuild interpreter frames (outermost first) from the machine
        stack's return addresses and the value stack. The walk only collects
        each frame's base; the words are then sliced out of the value stack
        in bulk, so a hand-back of 10^6 big frames costs a list slice per
        frame, not a ctypes read per word."""
        st = self.state
        sp, base = st.get('exit_sp'), st.get('exit_base')
        step = self.target.abi.return_slot        # one return address per frame
        ret_word = st.mstack_word
        functions, facts = self.program.functions, self.program.facts
        sites = {}          # return address -> (function, CALL offset, delta, height, resume pc, kept)
        walk = []           # (site, base), innermost first
        while True:
            ret = ret_word(sp)
            if ret == self.entry_return:
                break
            site = sites.get(ret)
            if site is None:
                placed, off = self.cache.lookup(ret)
                fidx = placed.code.func_index
                call_pc, delta, height = placed.code.return_sites[off]
                ins = facts[fidx].at[call_pc]
                site = sites[ret] = (fidx, call_pc, delta, height, ins.end,
                                     height - functions[ins.arg].nargs)
            base -= site[2]
            walk.append((site, base))
            sp += step
        words, origin = st.vstack_words, st.vstack.address
        discard = st.vstack.discard
        released = 0        # value-stack bytes below this are given back already
        frames = []
        collecting = gc.isenabled()
        gc.disable()        # millions of new lists: no collection passes over them midway
        try:
            for i in range(len(walk) - 1, -1, -1):
                (fidx, call_pc, _, height, resume, kept), base = walk[i]
                lo = (base - origin) // abi.WORD
                mid = lo + functions[fidx].nslots
                if abi.WORD * lo - released > DISCARD_ABOVE:
                    # frames below are copied: their pages go back as we
                    # go, so a deep hand-back never holds both copies
                    self.discarded += discard(released, abi.WORD * lo - released)
                    released = abi.WORD * lo // PAGE * PAGE
                if i:           # a suspended caller: resumes after its CALL, args consumed
                    frames.append((fidx, resume, words[lo:mid].tolist(),
                                   words[mid:mid + kept].tolist()))
                else:           # the innermost: redoes its CALL in the interpreter
                    frames.append((fidx, call_pc, words[lo:mid].tolist(),
                                   words[mid:mid + height].tolist()))
        finally:
            if collecting:
                gc.enable()
        # the frames now live in the interpreter: the value-stack pages the
        # native frames touched are dead (a deep recursion of big frames
        # would otherwise keep them resident for the rest of the run)
        if walk:
            (fidx, _, _, height, _, _), base = walk[0]         # the innermost frame
            top = base - origin + abi.WORD * (functions[fidx].nslots + height + 1)
            if top > DISCARD_ABOVE:
                self.discarded += discard(released, top - released)
        self.handbacks += 1
        inner = frames[-1]
        self.say(f'fallback to the interpreter at {functions[inner[0]].name}+{inner[1]} '
                 f'({len(frames)} frame{"s" if len(frames) != 1 else ""} handed back)')
        return frames

    # -- compiling ---------------------------------------------------------------
    def compile(self, fidx: int, why: str):
        self.start()
        try:
            self._compile(fidx, why)
        finally:
            if self.expired:        # the timer came meanwhile: counters may be reset
                raise TimeLimit()

    def _compile(self, fidx: int, why: str):
        """Compile fidx and every function it can reach that is not compiled,
        as one region; if that does not fit, each function on its own, the
        hot one first. Neither way evicts code of the group itself (what
        fidx can reach, and the group fidx was once left out of), so callees
        never throw out their caller."""
        todo, compiled = self._reachable(fidx)
        todo = [k for k in todo if self.banned[k] is None]
        if not todo:
            return
        codes = []
        for k in todo:
            code = self._optimized(k) if self.opt_direct else None
            if code is None:
                code = self._baseline(k)
            if len(code.code) > self.cache.capacity:
                self._ban(code.func_index, f'{len(code.code)} bytes do not fit the '
                                           f'{self.cache.capacity}-byte code cache')
            else:
                codes.append(code)
        if not codes:
            return
        members = set(todo).union(compiled, *(self.group[k] for k in todo))
        keep = {self.entry_of[k].region for k in members if self.entry_of[k] is not None}
        if self._install(codes, why, keep):
            return
        for code in codes:
            region = self._install([code], why, keep)
            if region is not None:
                keep.add(region)
            else:               # it waits; when it gets hot, it still may not evict the others
                k = code.func_index
                self.group[k] = frozenset(members)
                self.failed[k] += 1
                self._back_off(k, 'no room beside the code it runs with')

    def _install(self, codes, why, keep):
        from .codecache import CacheFull
        try:
            region = self.cache.place(codes, self._evict, keep)
        except CacheFull:
            return None
        for p in region.placed:
            code = p.code
            k = code.func_index
            self.compiled_ops += code.ops
            self.compilations += 1
            self.entry_of[k] = p
            self.runners[k] = self._make_runner(k)
            self.state.set_function(k, p.address + code.entry)
            tier = 'optimized' if code.optimized else 'compiled'
            self.say(f'{tier} {self.program.functions[k].name} ({why}): {code.ops} ops -> '
                     f'{len(code.code)} bytes at {p.address:#x}, {code.compile_ns / 1000:.0f} us')
            if self.perf_map is not None:
                self.perf_map.add(p.address, len(code.code), self.program.functions[k].name)
        return region

    def _baseline(self, k: int):
        code = self.codes[k]
        if code is None:            # code is position-independent: compiled once per run
            t0 = time.perf_counter_ns()
            code = self.codes[k] = self.target.compile_function(
                self.program, k, vstack_checks=not self.state.vstack_covers_depth,
                counters=self.opt > 0 and not self.opt_direct)
            code.compile_ns = time.perf_counter_ns() - t0
            self.compile_ns += code.compile_ns
        else:
            code.compile_ns = 0
        self.state.set_counter(k, self.opt_threshold if self.opt else COUNTER_OFF)
        return code

    def _optimized(self, k: int):
        """The optimizing tier's code for k, or None when it cannot be had."""
        code = self.opt_codes[k]
        if code is not None:
            code.compile_ns = 0
            return code
        if self.opt_failed[k] is not None:
            return None
        from backends.opt.codegen import CannotCompile
        t0 = time.perf_counter_ns()
        try:
            code = self.target.compile_optimized(
                self.program, k, self.opt, self.config.opt_passes,
                vstack_checks=not self.state.vstack_covers_depth)
        except CannotCompile as e:
            self.opt_failed[k] = str(e)
            self.say(f'{self.program.functions[k].name} stays at the baseline tier: {e}')
            return None
        finally:
            self.compile_ns += time.perf_counter_ns() - t0
        code.compile_ns = time.perf_counter_ns() - t0
        code.optimized = True
        self.opt_codes[k] = code
        return code

    def _tier_up(self) -> int:
        """A counter ran out in baseline code (EXIT_TIERUP): place the
        function's optimized code and resume the very frame in it, at the
        loop header or entry where it stopped; when that cannot be had,
        resume the baseline there. Native frames are live, so nothing may
        be evicted meanwhile."""
        st = self.state
        f, pc = st.get('exit_func'), st.get('exit_pc')
        st.set_counter(f, COUNTER_OFF)
        baseline = self.entry_of[f]
        address = None
        code = self._optimized(f)
        if code is not None and (pc == abi.ENTRY_PC or pc in code.osr):
            name = self.program.functions[f].name
            region = self._install([code], f'tier-up of {name} at '
                                   f'{"entry" if pc == abi.ENTRY_PC else pc}',
                                   set(self.cache.regions))
            if region is not None:
                self.tierups += 1
                placed = region.placed[0]
                address = placed.address + (code.entry if pc == abi.ENTRY_PC else code.osr[pc])
        if address is None:
            address = baseline.address + (baseline.code.entry if pc == abi.ENTRY_PC
                                          else baseline.code.osr[pc])
        st.set('yield_sp', st.get('exit_sp'))
        st.set('yield_base', st.get('exit_base'))
        st.set('yield_depth', st.get('depth_left'))
        st.set('yield_routine', address)
        return self.executor.resume()

    def _reachable(self, fidx: int) -> tuple[list[int], list[int]]:
        """The functions fidx can reach (itself included): those not
        compiled, fidx first, and those compiled."""
        seen, order, compiled, work = {fidx}, [], [], [fidx]
        while work:
            k = work.pop()
            (order if self.entry_of[k] is None else compiled).append(k)
            facts = self.program.facts[k]
            for ins in facts.instrs:
                if ins.op.mnemonic == 'CALL' and ins.offset in facts.heights and ins.arg not in seen:
                    seen.add(ins.arg)
                    work.append(ins.arg)
        return order, compiled

    def _evict(self, region):
        names = ', '.join(self.program.functions[k].name for k in region.functions)
        self.say(f'evicted {names} ({region.size} bytes) to make room')
        for k in region.functions:
            if self.entry_of[k] is None or self.entry_of[k].region is not region:
                continue            # a baseline copy its optimized code replaced
            self.entry_of[k] = None
            self.runners[k] = None
            self.state.set_function(k, self.uncompiled)
            self.evicted[k] += 1
            if self.evicted[k] >= MAX_EVICTIONS:
                self._ban(k, f'evicted {self.evicted[k]} times: the code cache is too small '
                             'for the hot code')
            else:
                self._back_off(k, None)
        self.cache.remove(region)

    # -- the policy that keeps the JIT from costing more than it saves -----------
    def _back_off(self, k: int, why):
        """Double the calls / backward jumps before k is compiled or entered
        again (counted afresh); why, when given, is said once under -v."""
        if self.banned[k] is not None:
            return
        level = min(max(self.evicted[k] - 1, 0) + self.deopts[k] + self.failed[k], MAX_BACKOFF)
        self.need[k] = self.waits[k] = max(self.threshold, 1) << level
        self.calls[k] = 0
        self.runners[k] = None
        self.interp.rearm(k, self.need[k])
        if self.expired:
            raise TimeLimit()
        if why and not self.backed_off[k]:
            self.backed_off[k] = True
            self.say(f'backing off {self.program.functions[k].name}: {why} '
                     f'(each time, twice the calls or backward jumps before the next try)')

    def _ban(self, k: int, why: str):
        """k stays interpreted for the rest of the run: the interpreter stops
        counting it; said once under -v."""
        if self.banned[k] is not None:
            return
        self.banned[k] = why
        self.runners[k] = None
        self.watch[k] = False
        self.waits[k] = NEVER
        self.interp.rearm(k, NEVER)
        self.say(f'fallback: {self.program.functions[k].name} stays interpreted ({why})')

    def expire(self):
        """The time limit ran out (called from the timer thread of a run
        outside the main thread): compiled code sees the stop flag; the
        interpreter asks at its next backward jump or call."""
        self.expired = True
        if self.state is not None:
            self.state.set('flag', abi.STOP_TIMEOUT)
        self.interp.ask_soon(self)

    # -- reporting ---------------------------------------------------------------
    def finish(self, elapsed: float):
        """Print --stats, then release the code and stack mappings."""
        try:
            if self.config.stats and self.log is not None:
                self._print_stats(elapsed)
        finally:            # what start() made, even if a signal cut it short
            if self.watchdog is not None:
                self.watchdog.stop()
            self.executor = None          # Unicorn maps our memory: drop it first
            for made in (self.perf_map, self.cache, self.state):
                if made is not None:
                    made.close()

    def _print_stats(self, elapsed: float):
        native = self.native_ns / 1e9
        interp = max(0.0, elapsed - native - (self.compile_ns + self.started_ns) / 1e9)
        per_op = self.compile_ns / 1000 / self.compiled_ops if self.compiled_ops else 0.0
        if self.started:
            how = self.executor.name
            live, evicted = len(self.cache.regions), self.cache.evictions
            used, placed, cache = self.cache.used, self.cache.bytes_placed, self.cache.describe()
        else:       # nothing got hot: the backend was never loaded
            how, live, evicted, used, placed = 'not started: nothing got hot', 0, 0, 0, 0
            cache = 'not made'
        print(f'[JIT stats] backend {self.target_name} ({how}); '
              f'compiled regions: {self.compilations} functions, '
              f'{live} regions live, {evicted} evicted', file=self.log)
        print(f'[JIT stats] code bytes: {used} live, {placed} placed, cache {cache}', file=self.log)
        print(f'[JIT stats] compile time: {self.compile_ns / 1e6:.3f} ms for {self.compiled_ops} ops '
              f'({per_op:.2f} us/op); JIT set-up {self.setup_ns / 1e6:.3f} ms (not counted below)',
              file=self.log)
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
        self.tried = False

    def start(self):
        import signal
        import socket
        import threading
        self.tried = True
        if self.thread is not None or threading.current_thread() is not threading.main_thread():
            return
        self.rsock, self.wsock = socket.socketpair()
        self.wsock.setblocking(False)
        self.old_fd = signal.set_wakeup_fd(self.wsock.fileno(), warn_on_full_buffer=False)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        import signal
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
        import signal
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
