"""The programs in bytecode/ run in the interpreter and print what an
independent Python computation of the same algorithm says.

The benchmark programs run too, scaled down through their `.const` lines
(the same knob tools/bench.py turns), so their checksums are proved on
small sizes without making the suite slow.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from vm.api import RunConfig, execute

BYTECODE = Path(__file__).resolve().parent.parent / 'bytecode'


def run(name: str, **consts) -> bytes:
    text = (BYTECODE / name).read_text()
    for key, value in consts.items():
        if key == 'memory':
            text, n = re.subn(r'^\.memory\s+\d+', f'.memory {value}', text, flags=re.M)
        else:
            text, n = re.subn(rf'^\.const\s+{key}\s+\S+', f'.const {key} {value}', text, flags=re.M)
        assert n == 1, f'{name} has no single .const {key}'
    outcome = execute(text, RunConfig(jit=False, timeout=60), name)
    assert outcome.exit_code == 0, outcome.error
    assert outcome.result == 0
    return outcome.stdout


def lines(*values) -> bytes:
    return ''.join(f'{v}\n' for v in values).encode()


# ------------------------------------------------------------- references

def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def primes_below(n: int) -> list[int]:
    is_composite = bytearray(n)
    found = []
    for i in range(2, n):
        if not is_composite[i]:
            found.append(i)
            is_composite[i * i::i] = b"\1" * len(range(i * i, n, i))
    return found


def collatz_best(limit: int) -> tuple[int, int]:
    best, best_steps = 0, 0
    for start in range(1, limit):
        n, steps = start, 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        if steps > best_steps:
            best, best_steps = start, steps
    return best, best_steps


def matmul_checksum(n: int) -> tuple[int, int]:
    a = [[(7 * i + 3 * j) % 11 - 5 for j in range(n)] for i in range(n)]
    b = [[(i * j + 1) % 13 - 6 for j in range(n)] for i in range(n)]
    c = [[sum(a[i][k] * b[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
    return sum(map(sum, c)), sum(c[i][i] for i in range(n))


def mandelbrot(w, h, maxit, xmin, dx, ymin, dy):
    """Iteration counts per point, in the programs' 12-bit fixed point."""
    rows = []
    for row in range(h):
        ci, counts = ymin + row * dy, []
        for col in range(w):
            cr, zr, zi, it = xmin + col * dx, 0, 0, 0
            while it < maxit:
                zr2, zi2 = (zr * zr) >> 12, (zi * zi) >> 12
                if zr2 + zi2 > 16384:
                    break
                zi = ((zr * zi) >> 11) + ci
                zr = zr2 - zi2 + cr
                it += 1
            counts.append(it)
        rows.append(counts)
    return rows


# ------------------------------------------------------------- the examples

def test_sum():
    assert run('sum.asm') == lines(sum(range(1, 101)))


def test_loop():
    assert run('loop.asm') == lines(*range(1, 11))


def test_fib():
    assert run('fib.asm') == lines(*(fib(n) for n in range(21)))


def test_factorial():
    expected, f = [], 1
    for n in range(1, 21):
        f *= n
        expected.append(f)
    assert expected[-1] < 2 ** 63
    assert run('factorial.asm') == lines(*expected)


def test_deep_recursion_scaled():
    """900,000 frames in the file (README: --max-call-depth 1000000); here
    5,000, within the default depth."""
    assert run('deep.asm', N=5000) == lines(5000)


def test_hello():
    assert run('hello.asm') == b'Hello, world!\n'


def test_sieve():
    primes = primes_below(1000)
    assert run('sieve.asm') == lines(len(primes), primes[-1])


def test_collatz():
    assert run('collatz.asm') == lines(*collatz_best(1000))


def test_matmul_scaled():
    """200 x 200 is 8 million multiply-adds: too slow for the suite in the
    interpreter, so it runs at 24 x 24 (the same code, N scaled)."""
    assert run('matmul.asm', N=24, memory=3 * 24 * 24) == lines(*matmul_checksum(24))


def test_mandelbrot_draws_the_set():
    palette = ' .:-=+*#%@'
    counts = mandelbrot(80, 30, 100, -8602, 154, -4756, 328)
    art = ''.join(''.join(palette[min(it >> 1, 9)] for it in row) + '\n' for row in counts)
    out = run('mandelbrot.asm')
    assert out == art.encode()
    assert out.count(b'@') > 300 and len(out.splitlines()) == 30


# ------------------------------------------------------------- benchmarks, scaled

def test_bench_sum_scaled():
    assert run('bench_sum.asm', N=12345) == lines(12345 * 12346 // 2)


def test_bench_fib_scaled():
    assert run('bench_fib.asm', N=18) == lines(fib(18))


def test_bench_fib_default_is_35():
    assert re.search(r'^\.const N 35\b', (BYTECODE / 'bench_fib.asm').read_text(), re.M)


def test_bench_sieve_scaled():
    primes = primes_below(20000)
    assert run('bench_sieve.asm', N=20000, memory=20000) == lines(len(primes), primes[-1])


def test_bench_matmul_scaled():
    assert run('bench_matmul.asm', N=17, memory=3 * 17 * 17) == lines(*matmul_checksum(17))


def test_bench_collatz_scaled():
    assert run('bench_collatz.asm', LIMIT=3000) == lines(*collatz_best(3000))


def test_bench_mandelbrot_scaled():
    counts = mandelbrot(40, 12, 300, -8602, 77, -4756, 164)
    assert run('bench_mandelbrot.asm', W=40, H=12, MAXIT=300) == lines(sum(map(sum, counts)))


@pytest.mark.parametrize('name', ['bench_sum.asm', 'bench_fib.asm', 'bench_mandelbrot.asm',
                                  'bench_sieve.asm', 'bench_matmul.asm', 'bench_collatz.asm'])
def test_benchmarks_assemble_and_verify_at_full_size(name):
    from vm.api import load
    program = load((BYTECODE / name).read_text(), name)
    assert program.functions
