"""Property tests over random programs (tests/support/progen.py):

(a) valid programs survive  .asm -> assemble -> .bc -> read -> disassemble
    -> assemble -> .bc  byte for byte, and run without a verifier rejection;
(b) mutated `.bc` files (CRC recomputed, so they reach the verifier) and
    random `.asm` text only ever give an Outcome: an exit status of 0, 1 or 2
    and, on failure, one `error: ` line; never an exception, never a hang
    (every run has a wall-clock limit);
(c) the same through the `jitvm run --timeout` command line: no traceback.

The number of examples is fixed per test (EXAMPLES) and the counts actually
run are printed at the end of the module.
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support import summary
from tests.support.progen import generate_from_seed, programs
from vm.api import Outcome, RunConfig, execute
from vm.bcfile import read_bc, write_bc
from vm.disasm import disassemble
from vm.opcodes import BY_NAME
from vm.textasm import assemble

EXAMPLES = {'roundtrip': 300, 'roundtrip_traps': 100, 'valid_runs': 300, 'bc_mutation': 1000,
            'asm_tokens': 600, 'asm_text': 300, 'cli': 12}
RUN_LIMIT = RunConfig(jit=False, timeout=0.5)
HEADER = 20
MEMORY_FIELD = range(8, 12)     # left alone: a mutated memory_cells of ~2^26 costs 512 MiB per run
COUNTS: Counter = Counter()

common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope='module', autouse=True)
def report_counts():
    """This process's counts; the summary adds up those of every xdist worker."""
    yield
    counts = {k: COUNTS[k] for k in EXAMPLES}
    counts['total'] = sum(COUNTS.values())
    summary.record(summary.COUNTS, 'properties', 'property examples run: '
                   + ', '.join(f'{k} {{{k}}}' for k in EXAMPLES) + ' (total {total})', counts)


def assert_clean(outcome: Outcome) -> None:
    """What every run must look like, whatever its input."""
    assert isinstance(outcome, Outcome)
    assert outcome.exit_code in (0, 1, 2)
    if outcome.exit_code == 0:
        assert outcome.error is None and isinstance(outcome.result, int)
        assert -(1 << 63) <= outcome.result < (1 << 63)
    else:
        assert outcome.error.startswith('error: ') and '\n' not in outcome.error
        assert 'Traceback' not in outcome.error


def bc_of(text: str) -> bytes:
    return write_bc(assemble(text, 'gen.asm'))


def with_crc(data: bytes) -> bytes:
    if len(data) < HEADER:
        return data
    return data[:16] + struct.pack('<I', zlib.crc32(data[HEADER:])) + data[HEADER:]


# ------------------------------------------------------------------ (a)

def roundtrip(text: str) -> None:
    first = bc_of(text)
    again = write_bc(assemble(disassemble(read_bc(first, 'gen.bc')), 'gen.asm'))
    assert again == first


@settings(max_examples=EXAMPLES['roundtrip'], **common)
@given(programs())
def test_roundtrip_valid_programs(text):
    COUNTS['roundtrip'] += 1
    roundtrip(text)


@settings(max_examples=EXAMPLES['roundtrip_traps'], **common)
@given(programs(traps=True))
def test_roundtrip_programs_that_may_trap(text):
    COUNTS['roundtrip_traps'] += 1
    roundtrip(text)


@settings(max_examples=EXAMPLES['valid_runs'], **common)
@given(st.integers(0, 2 ** 32), st.booleans())
def test_generated_programs_verify_and_run(seed, traps):
    """The generator's promise: valid, terminating, and trap-free unless asked."""
    COUNTS['valid_runs'] += 1
    outcome = execute(generate_from_seed(seed, traps), RunConfig(jit=False, timeout=10))
    assert_clean(outcome)
    if traps:
        assert outcome.exit_code in (0, 1) and outcome.phrase != 'time limit exceeded'
    else:
        assert outcome.exit_code == 0, outcome.error


# ------------------------------------------------------------------ (b)

def code_range(data: bytes) -> range:
    """Where the CODE payload lies in a well-formed file."""
    pos = HEADER
    while pos < len(data):
        length = struct.unpack_from('<I', data, pos + 4)[0]
        if data[pos:pos + 4] == b'CODE':
            return range(pos + 8, pos + 8 + length)
        pos += 8 + length
    raise AssertionError('no CODE section')


@st.composite
def mutated_bc(draw):
    """A valid .bc with 1..4 edits: mostly inside CODE, in place (so the file
    stays well-formed and the verifier or the run is what gets tested), and
    sometimes anywhere, of any kind (so the reader gets tested)."""
    data = bytearray(bc_of(generate_from_seed(draw(st.integers(0, 2 ** 32)))))
    code = code_range(bytes(data))
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 9)) < 7 and len(code):
            at = draw(st.sampled_from(code))
            kind = draw(st.sampled_from(('set', 'flip', 'opcode', 'opcode')))
        else:
            at = draw(st.integers(0, len(data) - 1))
            kind = draw(st.sampled_from(('set', 'flip', 'opcode', 'insert', 'delete', 'truncate')))
        if at in MEMORY_FIELD or at >= len(data):
            continue
        if kind == 'set':
            data[at] = draw(st.integers(0, 255))
        elif kind == 'flip':
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == 'opcode':        # a valid opcode where any byte was: shifts decoding
            data[at] = draw(st.sampled_from(sorted(op.code for op in BY_NAME.values())))
        elif kind == 'insert':
            data[at:at] = bytes(draw(st.lists(st.integers(0, 255), min_size=1, max_size=9)))
        elif kind == 'delete':
            del data[at:at + draw(st.integers(1, 9))]
        else:
            del data[max(at, 4):]
    return with_crc(bytes(data))


@settings(max_examples=EXAMPLES['bc_mutation'], **common)
@given(mutated_bc())
def test_mutated_bc_gives_an_outcome(data):
    COUNTS['bc_mutation'] += 1
    started = time.monotonic()
    assert_clean(execute(data, RUN_LIMIT, 'mut.bc'))
    assert time.monotonic() - started < 10


TOKENS = sorted(BY_NAME) + [m.lower() for m in BY_NAME] + [
    '.func', '.end', '.memory', '.const', '.data', '.entry', '.FUNC', '.bogus',
    'main', 'f', 'loop', 'loop:', 'x:', ':', 'L1', '0', '1', '-1', '7', '9', '1024', '65535', '65536',
    '0x7fffffffffffffff', '18446744073709551615', '18446744073709551616', '-9223372036854775808',
    '0b101', '0x', "'a'", "'\\n'", "'", '"', ';', '#', ',', '$', '@', '\t', 'é', '\x00']


@st.composite
def token_text(draw):
    lines = draw(st.lists(st.lists(st.sampled_from(TOKENS), max_size=5), max_size=25))
    return '\n'.join(' '.join(words) for words in lines)


@settings(max_examples=EXAMPLES['asm_tokens'], **common)
@given(token_text())
def test_random_asm_tokens_give_an_outcome(text):
    COUNTS['asm_tokens'] += 1
    assert_clean(execute(text, RUN_LIMIT, 'rand.asm'))


@settings(max_examples=EXAMPLES['asm_text'], **common)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_random_text_and_bytes_give_an_outcome(data):
    COUNTS['asm_text'] += 1
    assert_clean(execute(data, RUN_LIMIT, 'rand.asm'))


# ------------------------------------------------------------------ (c)

@settings(max_examples=EXAMPLES['cli'], **common)
@given(mutated_bc())
def test_cli_never_shows_a_traceback(tmp_path_factory, data):
    COUNTS['cli'] += 1
    path = tmp_path_factory.mktemp('cli') / 'mut.bc'
    path.write_bytes(data)
    proc = subprocess.run([sys.executable, '-m', 'vm.cli', 'run', '--no-jit', '--timeout', '1', str(path)],
                          capture_output=True, timeout=60, env={**os.environ, 'PYTHONFAULTHANDLER': ''})
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert b'Traceback' not in proc.stderr
    if proc.returncode:
        lines = proc.stderr.decode('utf-8', 'replace').strip().splitlines()
        assert lines and lines[-1].startswith('error: ')
