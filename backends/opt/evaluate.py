"""A straightforward evaluator of the SSA: the spec's exact semantics, so
that every pass can be checked against the reference interpreter before
any machine code exists.

Calls go through the same loop with an explicit frame list (never Python
recursion), so `--max-call-depth 1000000` works here too. Values are kept
as wrapped int64 at all times. Traps raise the interpreter's `Trap` with
the function, bytecode offset and source line of the instruction that
carries the check; a wall-clock limit is polled at jumps and calls.
"""
from __future__ import annotations

import time

from vm.api import Outcome
from vm.errors import EXIT_OK, TimeLimit, Trap, VMError
from vm.opcodes import DEFAULT_MAX_CALL_DEPTH

MASK = (1 << 64) - 1
SIGN = 1 << 63
POLL_EVERY = 4096            # jumps and calls between two looks at the clock


def wrap(x: int) -> int:
    """The int64 that x is congruent to mod 2^64."""
    return ((x + SIGN) & MASK) - SIGN


def div(a: int, b: int) -> int:
    """Truncating division; b != 0 (its check ran before)."""
    q = abs(a) // abs(b)
    return wrap(-q if (a < 0) != (b < 0) else q)   # INT64_MIN / -1 wraps to INT64_MIN


def mod(a: int, b: int) -> int:
    """a - (a/b)*b: the sign of a; INT64_MIN % -1 = 0."""
    r = abs(a) % abs(b)
    return -r if a < 0 else r


BINARY_OPS = {
    'add': lambda a, b: wrap(a + b),
    'sub': lambda a, b: wrap(a - b),
    'mul': lambda a, b: wrap(a * b),
    'div': div,
    'mod': mod,
    'and': lambda a, b: a & b,
    'or': lambda a, b: a | b,
    'xor': lambda a, b: a ^ b,
    'shl': lambda a, b: wrap(a << (b & 63)),
    'shr': lambda a, b: wrap((a & MASK) >> (b & 63)),
    'sar': lambda a, b: a >> (b & 63),
    'eq': lambda a, b: int(a == b),
    'ne': lambda a, b: int(a != b),
    'lt': lambda a, b: int(a < b),
    'le': lambda a, b: int(a <= b),
    'gt': lambda a, b: int(a > b),
    'ge': lambda a, b: int(a >= b),
}
BINARY_OPS['mulhs'] = lambda a, b: (a * b) >> 64    # high half of the signed 128-bit product
UNARY_OPS = {'neg': lambda a: wrap(-a), 'not': lambda a: ~a}


class _Stop(Exception):
    """A trap inside the loop: phrase and the instruction that raised it."""

    def __init__(self, phrase, fn, ins):
        self.phrase, self.fn, self.ins = phrase, fn, ins


def run(program, functions, *, max_call_depth: int = DEFAULT_MAX_CALL_DEPTH,
        timeout: float | None = None) -> Outcome:
    """Run the SSA `functions` (one per bytecode function, by index) of a
    verified program; the Outcome a user would see, as vm.api.execute gives."""
    out = bytearray()
    try:
        result = _evaluate(program, functions, out, max_call_depth, timeout)
        return Outcome(bytes(out), result, EXIT_OK)
    except _Stop as s:
        func = program.functions[s.fn.index]
        pc = s.ins.pc
        e = Trap(s.phrase, func.name, pc, func.line_at(pc), program.source_name)
    except VMError as err:
        e = err
    return Outcome(bytes(out), None, e.exit_code, e.line(), getattr(e, 'phrase', None),
                   getattr(e, 'offset', None))


def _evaluate(program, functions, out: bytearray, max_depth: int, timeout) -> int:
    memory = program.initial_memory()
    ncells = program.memory_cells
    deadline = None if timeout is None else time.monotonic() + timeout
    ticks = POLL_EVERY
    binary, unary = BINARY_OPS, UNARY_OPS
    fn = functions[program.entry]
    vals = [0] * fn.next_id
    args: list[int] = []
    block = fn.entry
    insts, pos = block.insts, 0
    frames = []
    depth = 1
    while True:
        ins = insts[pos]
        pos += 1
        op = ins.op
        f = binary.get(op)
        if f is not None:
            a, b = ins.args
            vals[ins.id] = f(vals[a.id], vals[b.id])
            continue
        if op == 'const':
            vals[ins.id] = ins.imm
        elif op in ('jmp', 'br', 'enter'):
            succs = block.succs
            nxt = succs[0] if op != 'br' or vals[ins.args[0].id] else succs[1]
            if nxt.phis:
                k = nxt.preds.index(block)
                new = [vals[p.args[k].id] for p in nxt.phis]
                for p, v in zip(nxt.phis, new):
                    vals[p.id] = v
            block, insts, pos = nxt, nxt.insts, 0
            ticks -= 1
            if not ticks:
                ticks = POLL_EVERY
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeLimit()
        elif op in unary:
            vals[ins.id] = unary[op](vals[ins.args[0].id])
        elif op == 'copy':
            vals[ins.id] = vals[ins.args[0].id]
        elif op == 'load':
            vals[ins.id] = memory[ins.imm]
        elif op == 'store':
            memory[ins.imm] = vals[ins.args[0].id]
        elif op == 'chkzero':
            v = vals[ins.args[0].id]
            if not v:
                raise _Stop('division by zero', fn, ins)
            vals[ins.id] = v
        elif op == 'chkaddr':
            v = vals[ins.args[0].id]
            if not 0 <= v < ncells:
                raise _Stop('memory address out of range', fn, ins)
            vals[ins.id] = v
        elif op == 'loadi':
            vals[ins.id] = memory[vals[ins.args[0].id]]
        elif op == 'storei':
            memory[vals[ins.args[0].id]] = vals[ins.args[1].id]
        elif op == 'print':
            out += b'%d\n' % vals[ins.args[0].id]
        elif op == 'printc':
            out.append(vals[ins.args[0].id] & 255)
        elif op == 'param':
            vals[ins.id] = args[ins.imm]
        elif op == 'chkdepth':
            if depth >= max_depth:
                raise _Stop('call stack overflow', fn, ins)
        elif op == 'call':
            frames.append((fn, vals, args, block, insts, pos, ins))
            args = [vals[a.id] for a in ins.args]
            fn = functions[ins.imm]
            vals = [0] * fn.next_id
            block = fn.entry
            insts, pos = block.insts, 0
            depth += 1
            ticks -= 1
            if not ticks:
                ticks = POLL_EVERY
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeLimit()
        elif op == 'ret':
            v = vals[ins.args[0].id]
            if not frames:
                return v
            fn, vals, args, block, insts, pos, call = frames.pop()
            vals[call.id] = v
            depth -= 1
        elif op == 'halt':
            return vals[ins.args[0].id]
        elif op == 'mem0' or op == 'frame':
            pass
        else:  # pragma: no cover - ir.py and this loop must agree
            raise AssertionError(f'no evaluator rule for {op}')
