"""The reference interpreter: exact semantics of spec section 2, the traps of
section 4, an explicit frame stack (so call depth never touches Python's
recursion limit), and the hooks through which the JIT takes over hot code.

Each function is translated lazily into per-block Python closures
(vm.blockgen); the dispatch loop below only moves between blocks, calls and
returns.
"""
from __future__ import annotations


from .blockgen import ACT_CALL, ACT_HOT, ACT_RET, FunctionTranslator
from .errors import Trap


NEVER = 1 << 62          # a loop counter that never runs out


class _Trap(Exception):
    """Raised by generated block code: phrase and bytecode offset."""

    def __init__(self, phrase: str, pc: int):
        super().__init__(phrase)
        self.phrase, self.pc = phrase, pc


class CompiledFunction:
    """A function's block table and actions, plus its hot-loop counters."""
    __slots__ = ('index', 'func', 'blocks', 'actions', 'hot', 'loop_headers', 'nlocals_zero')

    def __init__(self, index, func, blocks, actions, hot, loop_headers):
        self.index, self.func = index, func
        self.blocks, self.actions, self.hot = blocks, actions, hot
        self.loop_headers = loop_headers
        self.nlocals_zero = [0] * func.nlocals


class Output:
    """The program's output stream: a buffer flushed to a binary stream in
    order, so nothing is lost or reordered at a trap. `gate` (a context
    manager, vm.engine.StopGate) holds back a time limit or SIGINT while a
    flush writes, so a stop can never land between the write and the
    clearing of the buffer (which wrote the buffer twice). A raw stream's
    partial writes (stdout under `python -u`, interrupted by a signal) are
    continued, not dropped."""

    def __init__(self, stream, gate=None):
        self.stream = stream
        self.buf = bytearray()
        self.gate = gate if gate is not None else _NoGate()

    def flush(self):
        with self.gate:
            if self.buf:
                data = memoryview(bytes(self.buf))
                self.buf.clear()
                while data:         # a raw stream (python -u) may take only part
                    n = self.stream.write(data)
                    data = data[n if n is not None else 0:]
            try:
                self.stream.flush()
            except (AttributeError, OSError, ValueError):
                pass


class Interpreter:
    """Runs a verified program. `jit` (optional) is consulted when a loop
    header or a function becomes hot; it may run the code natively and hand
    back the frames to continue with."""

    def __init__(self, program, memory, output: Output, *, max_call_depth: int,
                 jit=None, threshold: int = 1000, count: bool = False):
        self.program = program
        self.memory = memory
        self.output = output
        self.max_depth = max_call_depth
        self.jit = jit
        self.threshold = threshold
        self.count = [0]
        self._counting = count
        self._compiled: list[CompiledFunction | None] = [None] * len(program.functions)
        self.call_counts = [0] * len(program.functions)
        self._namespace = {
            'M': memory, '_NCELLS': program.memory_cells, '_Trap': _Trap,
            '_OB': output.buf, '_W': output.buf.extend, '_A': output.buf.append,
            '_FLUSH': output.flush, '_CNT': self.count,
        }

    # -- translation -----------------------------------------------------
    def function(self, index: int) -> CompiledFunction:
        cf = self._compiled[index]
        if cf is None:
            cf = self._compiled[index] = self._translate(index)
        return cf

    def _translate(self, index: int) -> CompiledFunction:
        func = self.program.functions[index]
        facts = self.program.facts[index]
        tr = FunctionTranslator(self.program, index, facts,
                                hot_counters=self.jit is not None, count=self._counting)
        t = tr.translate()
        hot = [self.threshold] * len(t.loop_headers)
        ns = dict(self._namespace, _HOT=hot)
        exec(compile(t.source, f'<jitvm:{func.name}>', 'exec'), ns)
        blocks = [None] * (len(func.code) + 1)
        for s in t.block_starts:
            blocks[s] = ns[f'b_{s}']
        return CompiledFunction(index, func, blocks, t.actions, hot, t.loop_headers)

    def rearm(self, index: int, count: int):
        """Set every loop counter of a function (if translated) to count."""
        cf = self._compiled[index]
        if cf is not None:
            cf.hot[:] = [count] * len(cf.hot)

    def ask_soon(self, hooks):
        """Make the interpreter call hooks (on_call / on_hot_loop) at its
        next call and backward jump, whatever the counters said: how a
        timer thread reaches a run outside the main thread. Each store
        replaces a whole list slice, which is atomic under the GIL."""
        n = len(hooks.watch)
        hooks.watch[:] = [True] * n
        hooks.waits[:] = [1] * n
        for cf in list(self._compiled):
            if cf is not None:
                cf.hot[:] = [1] * len(cf.hot)

    # -- running ---------------------------------------------------------
    def run(self) -> int:
        """Run from the entry function; returns the program's result."""
        entry = self.program.entry
        return self.run_frames([(entry, 0, [0] * self.program.functions[entry].nslots, [])])

    def _adopt(self, stack: list, handed: list):
        """Frames native code handed back: the innermost continues, the rest
        become suspended callers. Returns the new (cf, pc, L, S, depth)."""
        function = self.function
        stack.extend([(function(f), p, l2, s2) for f, p, l2, s2 in handed[:-1]])
        fidx, pc, L, S = handed[-1]
        return self.function(fidx), pc, L, S, len(stack) + 1

    def run_frames(self, frames: list) -> int:
        """Run a stack of interpreter frames (function, pc, locals, stack),
        outermost first, until the program ends."""
        stack = []       # suspended callers: (CompiledFunction, return pc, L, S)
        for fidx, pc, L, S in frames[:-1]:
            stack.append((self.function(fidx), pc, L, S))
        fidx, pc, L, S = frames[-1]
        cf = self.function(fidx)
        blocks, actions = cf.blocks, cf.actions
        depth = len(frames)
        max_depth = self.max_depth
        jit = self.jit
        if jit is not None:
            watch, waits = jit.watch, jit.waits     # the JIT's per-function answers, live
        try:
            while True:
                pc = blocks[pc](L, S)
                if pc >= 0:
                    continue
                act = actions[~pc]
                kind = act[0]
                if kind == ACT_HOT:       # a loop header crossed the threshold (only with hooks)
                    header, k = act[1], act[2]
                    handed = jit.on_hot_loop(cf.index, header, L, S, depth)
                    if handed is None:
                        cf.hot[k] = waits[cf.index]      # not entered: count again
                        pc = header
                        continue
                    if handed != 'returned':
                        cf, pc, L, S, depth = self._adopt(stack, handed)
                        blocks, actions = cf.blocks, cf.actions
                        continue
                    kind = ACT_RET                        # the frame returned; value on S
                if kind == ACT_CALL:
                    callee, ret_pc, call_pc = act[1], act[2], act[3]
                    if depth >= max_depth:
                        raise _Trap('call stack overflow', call_pc)
                    if jit is not None and watch[callee]:
                        native = jit.on_call(callee, depth)
                        if native is not None:
                            # run the callee natively from its first instruction
                            handed = native(S, depth)
                            if handed is None:        # returned; result is on S
                                pc = ret_pc
                                continue
                            stack.append((cf, ret_pc, L, S))
                            cf, pc, L, S, depth = self._adopt(stack, handed)
                            blocks, actions = cf.blocks, cf.actions
                            continue
                    n = self.program.functions[callee].nargs
                    if n:
                        args = S[-n:]
                        del S[-n:]
                    else:
                        args = []
                    stack.append((cf, ret_pc, L, S))
                    cf = self.function(callee)
                    blocks, actions = cf.blocks, cf.actions
                    L = args + cf.nlocals_zero if n else cf.nlocals_zero[:]
                    S = []
                    pc = 0
                    depth += 1
                elif kind == ACT_RET:
                    value = S.pop()
                    if not stack:
                        return value
                    cf, pc, L, S = stack.pop()
                    blocks, actions = cf.blocks, cf.actions
                    S.append(value)
                    depth -= 1
                else:                     # ACT_HALT
                    return S[-1] if S else 0
        except _Trap as t:
            func = cf.func
            raise Trap(t.phrase, func.name, t.pc, func.line_at(t.pc),
                       self.program.source_name) from None


class _NoGate:
    """The gate of an Output nobody stops (contextlib.nullcontext, without
    importing contextlib on the start-up path)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
