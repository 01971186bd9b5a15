"""The AArch64 runtime routines (enter, exit, resume, print, printc,
uncompiled) under Unicorn, driven by small compiled functions written with
the Builder: what they print must be what the interpreter prints for the
same values, a full output buffer must yield and resume exactly where it
was, and the host's callee-saved registers and stack must come back intact."""
from __future__ import annotations

import pytest

from asmkit.aarch64 import Builder
from asmkit.aarch64.operands import mem, post, pre
from backends import abi
from backends.aarch64.regs import BASE, BUDGET, MEM, POOL, SP, STATE, X, LR, ZERO
from backends.aarch64.runtime import SLOT, field, runtime_routines
from backends.aarch64.target import TARGET
from vm.api import RunConfig, execute, load
from vm.codecache import CodeCache
from vm.executors import UnicornExecutor
from vm.memory import CellMemory
from vm.state import OUT_CAPACITY, NativeState

INT64_MIN = -(1 << 63)
VALUES = [INT64_MIN, 0, -1, 1, 9, 10, -10, 1 << 62, (1 << 63) - 1, 1234567890123, -987654321]


def interpreted_output(values, chars=()) -> bytes:
    """What the interpreter writes for PRINT of each value, then PRINTC of each char."""
    lines = [f'PUSH {v}\nPRINT' for v in values] + [f'PUSH {c}\nPRINTC' for c in chars]
    out = execute('\n'.join(lines) + '\nHALT\n', RunConfig(jit=False))
    assert out.exit_code == 0
    return out.stdout


def interpreted_loop(value, count: int, op: str) -> bytes:
    """What the interpreter writes for `count` times `PUSH value; op`."""
    source = f"""
.memory 1
        PUSH {count}
        STORE 0
top:    PUSH {value}
        {op}
        LOAD 0
        PUSH 1
        SUB
        DUP
        STORE 0
        JNZ top
        HALT
"""
    out = execute(source, RunConfig(jit=False))
    assert out.exit_code == 0
    return out.stdout


class Machine:
    """A state block, code cache and Unicorn executor for one test."""

    def __init__(self, memory_cells=64, max_call_depth=100):
        program = load(f'.memory {memory_cells}\n.func main\nHALT\n.end\n')
        self.memory = CellMemory(program.memory_cells)
        self.state = NativeState(program, self.memory, max_call_depth, TARGET.abi)
        code, self.names = runtime_routines()
        self.cache = CodeCache(1 << 16, code)
        base = self.cache.runtime_address
        for name in ('exit', 'print', 'printc', 'uncompiled'):
            self.state.set('rt_' + name, base + self.names[name])
        self.rt = {name: base + off for name, off in self.names.items()}
        self.state.set_function(0, self.rt['uncompiled'])
        self.state.set('entry_base', self.state.vstack.address)
        self.state.set('depth_left', 77)
        self.ex = UnicornExecutor(self.state, self.cache, self.names, TARGET)
        self.output = b''

    def place(self, b: Builder) -> int:
        blob = self.cache.arena.load(b.finish())
        self.ex.code_changed(blob.address, blob.size)
        return blob.address

    def run(self, address: int) -> int:
        """enter at address, flushing and resuming until a final exit."""
        self.state.set('entry_addr', address)
        reason = self.ex.enter()
        while reason == abi.EXIT_FLUSH:
            self.output += self.state.take_output()
            reason = self.ex.resume()
        self.output += self.state.take_output()
        return reason

    def close(self):
        self.ex = None
        self.cache.close()
        self.state.close()
        self.memory.close()


@pytest.fixture
def machine():
    m = Machine()
    yield m
    m.close()


def entry(b):
    b.str(LR, pre(SP, -SLOT))


def ret(b):
    b.ldr(LR, post(SP, SLOT))
    b.ret()


def call_routine(b, name, value=None):
    if value is not None:
        b.mov(X[0], value)
    b.ldr(X[16], field(name))
    b.blr(X[16])


def test_print_values_like_the_interpreter(machine):
    b = Builder()
    entry(b)
    for v in VALUES:
        call_routine(b, 'rt_print', v)
    for c in (65, 10, 0x1FF, -1):
        call_routine(b, 'rt_printc', c)
    b.mov(X[9], 42)
    b.str(X[9], mem(BASE))
    ret(b)
    assert machine.run(machine.place(b)) == abi.EXIT_RETURNED
    assert machine.output == interpreted_output(VALUES, (65, 10, 0x1FF, -1))
    assert machine.state.read_words(machine.state.vstack.address, 1) == [42]
    assert machine.state.get('depth_left') == 77


@pytest.mark.parametrize('routine', ['rt_print', 'rt_printc'])
def test_full_buffer_yields_and_resumes_exactly(machine, routine):
    """Enough output to fill the buffer several times: each yield resumes
    after the PRINT it interrupted, with x19, x22 and x30 intact (the loop
    counter lives in a frame slot, as compiled code keeps values across a
    print), and nothing written twice."""
    value, op = (INT64_MIN, 'PRINT') if routine == 'rt_print' else (ord('x'), 'PRINTC')
    per = len(interpreted_loop(value, 1, op))
    count = 3 * OUT_CAPACITY // per + 7
    counter, seq = POOL[0], POOL[1]
    b = Builder()
    entry(b)
    b.mov(counter, count)
    b.str(counter, mem(BASE, 0))
    b.str(ZERO, mem(BASE, 8))
    top = b.here()
    call_routine(b, routine, value)
    b.ldp(counter, seq, mem(BASE, 0))   # base survives the yields
    b.add(seq, seq, 1)
    b.sub(counter, counter, 1)
    b.stp(counter, seq, mem(BASE, 0))
    b.cbnz(counter, top)
    b.str(BUDGET, mem(BASE, 16))
    b.mov(X[9], SP)
    b.str(X[9], mem(BASE, 24))
    ret(b)
    flushes = []
    original = machine.ex.resume

    def resume():
        flushes.append(len(machine.output))
        return original()
    machine.ex.resume = resume
    assert machine.run(machine.place(b)) == abi.EXIT_RETURNED
    assert machine.output == interpreted_loop(value, count, op)
    assert len(flushes) >= 2
    words = machine.state.read_words(machine.state.vstack.address + 8, 3)
    assert words[0] == count and words[1] == 77
    assert words[2] == machine.state.get('entry_sp') - SLOT     # one slot: this frame


def test_roles_and_host_registers(machine):
    """enter loads the roles; exit gives the host back x19-x30 and its sp."""
    b = Builder()
    entry(b)
    for i, r in enumerate((BASE, MEM, STATE, BUDGET)):
        b.str(r, mem(MEM, 8 * i))
    b.mov(X[9], SP)
    b.str(X[9], mem(MEM, 32))
    for r in X[19:31]:                  # clobber everything the host keeps
        if r not in (BASE, STATE, BUDGET):
            b.mov(r, 0xBAD)
    ret(b)
    uc, reg = machine.ex._uc, machine.ex._reg
    host = {f'x{i}': 0x1000 + i for i in range(19, 30)}
    original_run = machine.ex._run

    def run(begin):
        for name, value in host.items():
            uc.reg_write(reg[name], value)
        return original_run(begin)
    machine.ex._run = run
    assert machine.run(machine.place(b)) == abi.EXIT_RETURNED
    cells = machine.memory.cells
    st = machine.state
    assert cells[:5].tolist() == [st.get('entry_base'), st.memory.address, st.address, 77,
                                  st.get('entry_sp') - SLOT]
    assert cells[4] % 16 == 0
    for name, value in host.items():
        assert uc.reg_read(reg[name]) == value, name
    assert uc.reg_read(reg['sp']) == machine.ex._host.address + machine.ex._host.size - 256
    assert st.get('host_sp') % 16 == 0


def test_uncompiled_hands_back_with_the_return_site_at_exit_sp(machine):
    """A call through the function table to `uncompiled`: exit_sp holds the
    address after the blr, the next slot entry_return; exit_base and
    depth_left are the caller's."""
    b = Builder()
    entry(b)
    b.add(BASE, BASE, 48)
    b.sub(BUDGET, BUDGET, 1)
    b.ldr(X[16], mem(STATE, abi.FUNC_TABLE))
    b.blr(X[16])
    back = b.here()
    b.brk(1)
    code, (back_off,) = b.finish_with_labels([back])
    blob = machine.cache.arena.load(code)
    assert machine.run(blob.address) == abi.EXIT_DEOPT
    st = machine.state
    sp = st.get('exit_sp')
    assert sp % 16 == 0
    assert st.read_words(sp, 1) == [blob.address + back_off]
    assert st.read_words(sp + SLOT, 1) == [machine.rt['entry_return']]
    assert sp + 2 * SLOT == st.get('entry_sp')
    assert st.get('exit_base') == st.vstack.address + 48
    assert st.get('depth_left') == 76


def test_trap_exit_records_the_state(machine):
    """A trap tail: fields set by compiled code, then br to exit with x0."""
    b = Builder()
    entry(b)
    b.mov(X[16], 17)
    b.str(X[16], field('exit_pc'))
    b.mov(X[16], abi.TRAP_CODE['division by zero'])
    b.str(X[16], field('exit_value'))
    b.mov(X[0], abi.EXIT_TRAP)
    b.ldr(X[16], field('rt_exit'))
    b.br(X[16])
    assert machine.run(machine.place(b)) == abi.EXIT_TRAP
    st = machine.state
    assert (st.get('exit_pc'), abi.TRAPS[st.get('exit_value')]) == (17, 'division by zero')
    assert st.get('exit_sp') == st.get('entry_sp') - SLOT


def test_routine_names_are_the_abi_ones():
    code, names = runtime_routines()
    assert tuple(names) == abi.ROUTINES
    assert TARGET.abi.return_slot == SLOT == 16
    assert len(code) % 4 == 0 and all(off % 4 == 0 for off in names.values())
