"""Long differential-fuzzing campaigns for the JIT.

Generates random valid programs (tests/support/progen.py), runs each on
every engine of tests/jit/diffengines.py (interpreter, native JIT at
threshold 0, mixed mode, mixed mode in a one-page code cache, Unicorn) and
compares what a user would see. A mismatching program is saved with the
seed and the differences in a comment header, and the command that
replays it is printed. The CI runs the same comparison on ~1,000 programs
(tests/jit/test_differential.py); this tool is for millions.

    python tools/fuzz_jit.py --count 100000
    python tools/fuzz_jit.py --duration 3600 --seed 42 --traps 50
    python tools/fuzz_jit.py --replay fuzz-failures/mismatch-seed42.asm

Program k of a campaign is `generate_from_seed(SEED + k, traps)`, with
traps for the first PERCENT of every 100 programs, so `--seed S --count 1
--traps 100` (or `--traps 0`) regenerates program S exactly.
If the process itself dies (a crash in native code), the program it was
running is in OUT/last.asm.

Exit status: 0 when every engine agreed, 1 when any program mismatched,
2 for bad options.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.jit.diffengines import ENGINES, REFERENCE, compare  # noqa: E402
from tests.support.progen import generate_from_seed  # noqa: E402


class Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    WIDTH = 30

    def __init__(self, total: int | None, duration: float | None, stream=sys.stderr):
        self.total, self.duration, self.stream = total, duration, stream
        self.started = time.monotonic()
        self.drawn = 0.0
        self.enabled = True

    def fraction(self, done: int) -> float:
        parts = []
        if self.total:
            parts.append(done / self.total)
        if self.duration:
            parts.append((time.monotonic() - self.started) / self.duration)
        return min(1.0, max(parts, default=0.0))

    def update(self, done: int, failures: int, force: bool = False):
        now = time.monotonic()
        if not self.enabled or (not force and now - self.drawn < 0.1):
            return
        self.drawn = now
        elapsed = now - self.started
        frac = self.fraction(done)
        filled = int(frac * self.WIDTH)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (elapsed / frac - elapsed) if frac > 0 else 0.0
        count = f'{done}/{self.total}' if self.total else str(done)
        self.stream.write(f'\r[{"#" * filled}{"." * (self.WIDTH - filled)}] {count} programs, '
                          f'{rate:.1f}/s, {failures} mismatches, {_clock(elapsed)} elapsed, '
                          f'eta {_clock(eta)} ')
        self.stream.flush()

    def close(self, done: int, failures: int):
        self.update(done, failures, force=True)
        if self.enabled:
            self.stream.write('\n')
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f'{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def with_traps(k: int, percent: int) -> bool:
    return k % 100 < percent


def select_engines(names: str | None, timeout: float | None) -> dict:
    """The engines to compare (the reference always included), each with
    the per-run wall-clock limit, so a JIT bug that loops forever shows up
    as a mismatch instead of a hung campaign."""
    chosen = list(ENGINES) if not names else [REFERENCE] + [
        n for n in names.split(',') if n and n != REFERENCE]
    unknown = [n for n in chosen if n not in ENGINES]
    if unknown:
        raise ValueError(f'unknown engine(s) {", ".join(unknown)}; '
                         f'choose from {", ".join(ENGINES)}')
    return {n: (lambda make=ENGINES[n]: dataclasses.replace(make(), timeout=timeout))
            for n in chosen}


def save_mismatch(out_dir: Path, name: str, source: str, bad: dict, header: list[str]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'{name}.asm'
    lines = [f'; {line}' for line in header]
    for engine, diffs in bad.items():
        lines += [f'; {engine}: {d}' for d in diffs]
    path.write_text('\n'.join(lines) + '\n' + source, encoding='utf-8')
    return path


def campaign(seed: int, count: int | None, duration: float | None, traps: int, engines: dict,
             out_dir: Path, progress: Progress, max_failures: int,
             log=sys.stdout) -> tuple[int, list[Path]]:
    """Run programs SEED, SEED+1, ... until count or duration; returns how
    many ran and the files the mismatching programs were saved to."""
    saved: list[Path] = []
    started = time.monotonic()
    last = out_dir / 'last.asm'
    k = 0
    while (count is None or k < count) and \
            (duration is None or time.monotonic() - started < duration):
        trapping = with_traps(k, traps)
        source = generate_from_seed(seed + k, traps=trapping)
        out_dir.mkdir(parents=True, exist_ok=True)
        last.write_text(source, encoding='utf-8')
        _, bad = compare(source, engines)
        k += 1
        if bad:
            flag = 100 if trapping else 0
            path = save_mismatch(out_dir, f'mismatch-seed{seed + k - 1}', source, bad,
                                 [f'seed {seed + k - 1}, traps {trapping}: engines disagree'])
            saved.append(path)
            progress.stream.write('\n')
            print(f'MISMATCH seed {seed + k - 1}: ' + '; '.join(
                f'{e}: {d[0]}' for e, d in bad.items()), file=log)
            print(f'  saved to {path}\n  reproduce: python tools/fuzz_jit.py --replay {path}\n'
                  f'  or regenerate: python tools/fuzz_jit.py --seed {seed + k - 1} --count 1 '
                  f'--traps {flag}', file=log)
            if len(saved) >= max_failures:
                break
        progress.update(k, len(saved))
    progress.close(k, len(saved))
    if last.exists():
        last.unlink()
    return k, saved


def replay(path: Path, engines: dict, log=sys.stdout) -> int:
    """Run one saved program on every engine and print how they differ."""
    source = path.read_text(encoding='utf-8')
    outcomes, bad = compare(source, engines, filename=path.name)
    for name, got in outcomes.items():
        status = 'DIFFERS' if name in bad else 'same'
        print(f'{name:24} {status:8} exit {got.exit_code} result {got.result} '
              f'{got.error or ""}', file=log)
        for d in bad.get(name, []):
            print(f'    {d}', file=log)
    return 1 if bad else 0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seed', type=int, default=None, help='first program seed (default: random)')
    p.add_argument('--count', type=int, default=None, help='programs to run (default 1000 '
                   'unless --duration is given)')
    p.add_argument('--duration', type=float, default=None, metavar='SECONDS',
                   help='stop after this much wall-clock time')
    p.add_argument('--traps', type=int, default=30, metavar='PERCENT',
                   help='share of programs that may trap (default 30)')
    p.add_argument('--engines', default=None,
                   help=f'comma-separated subset of: {", ".join(ENGINES)}')
    p.add_argument('--timeout', type=float, default=20.0, metavar='SECONDS',
                   help='wall-clock limit per run on each engine (default 20)')
    p.add_argument('--out', type=Path, default=Path('fuzz-failures'),
                   help='where mismatching programs are saved (default ./fuzz-failures)')
    p.add_argument('--max-failures', type=int, default=10, help='stop after this many mismatches')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    p.add_argument('--replay', type=Path, metavar='FILE.asm', help='run one saved program')
    args = p.parse_args(argv)
    if not 0 <= args.traps <= 100:
        p.error('--traps is a percentage, 0..100')
    if args.count is not None and args.count < 0:
        p.error('--count must be >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        engines = select_engines(args.engines, args.timeout)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if args.replay:
        return replay(args.replay, engines)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    count = args.count if args.count is not None or args.duration else 1000
    print(f'fuzz_jit: seed {seed}, {count if count is not None else "unlimited"} programs'
          f'{f", at most {args.duration:g} s" if args.duration else ""}, traps {args.traps}%, '
          f'engines {", ".join(engines)}', file=sys.stderr)
    progress = Progress(count, args.duration)
    progress.enabled = not args.no_progress
    t0 = time.monotonic()
    ran, saved = campaign(seed, count, args.duration, args.traps, engines, args.out, progress,
                     args.max_failures)
    elapsed = time.monotonic() - t0
    print(f'fuzz_jit: {ran} programs x {len(engines)} engines in {elapsed:.1f} s, '
          f'{len(saved)} mismatches' + (f' (saved in {args.out})' if saved else ''))
    return 1 if saved else 0


if __name__ == '__main__':
    sys.exit(main())
