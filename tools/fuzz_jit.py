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

import random
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.jit.diffengines import ENGINES, REFERENCE, compare  # noqa: E402
from tests.support.progen import generate_from_seed  # noqa: E402


class Progress:
    """click's progress bar on stderr while a campaign runs, drawn only on a
    terminal: a log file or a pipe gets the summary lines alone. The bar
    counts thousandths of the campaign: of its count or of its duration,
    whichever is further along."""

    STEPS = 1000

    def __init__(self, total: int | None, duration: float | None, stream=None,
                 enabled: bool | None = None):
        self.total, self.duration = total, duration
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.started = time.monotonic()
        self.bar = None
        self.steps = 0

    def fraction(self, done: int) -> float:
        parts = []
        if self.total:
            parts.append(done / self.total)
        if self.duration:
            parts.append((time.monotonic() - self.started) / self.duration)
        return min(1.0, max(parts, default=0.0))

    def update(self, done: int, failures: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=self.STEPS, label='fuzz_jit', file=self.stream,
                                         show_eta=True, item_show_func=lambda item: item)
            self.bar.__enter__()
        steps = int(self.fraction(done) * self.STEPS)
        count = f'{done}/{self.total}' if self.total else str(done)
        self.bar.update(steps - self.steps, f'{count} programs, {failures} mismatches')
        self.steps = steps

    def break_line(self) -> None:
        """End the bar's line, so that a message starts on its own."""
        if self.bar is not None:
            self.stream.write('\n')

    def close(self, done: int, failures: int) -> None:
        if self.bar is not None:
            self.update(done, failures)
            self.bar.__exit__(None, None, None)
            self.bar = None


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


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
    return {n: (lambda make=ENGINES[n]: make().replace(timeout=timeout))
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
            progress.break_line()
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


@click.command(help=__doc__)
@click.option('--seed', type=int, default=None, help='first program seed (default: random)')
@click.option('--count', type=click.IntRange(min=0), default=None,
              help='programs to run (default 1000 unless --duration is given)')
@click.option('--duration', type=click.FloatRange(min=0), default=None, metavar='SECONDS',
              help='stop after this much wall-clock time')
@click.option('--traps', type=click.IntRange(0, 100), default=30, show_default=True,
              metavar='PERCENT', help='share of programs that may trap')
@click.option('--engines', default=None, help=f'comma-separated subset of: {", ".join(ENGINES)}')
@click.option('--timeout', type=click.FloatRange(min=0, min_open=True), default=20.0,
              show_default=True, metavar='SECONDS', help='wall-clock limit per run on each engine')
@click.option('--out', type=click.Path(path_type=Path), default=Path('fuzz-failures'),
              show_default=True, help='where mismatching programs are saved')
@click.option('--max-failures', type=click.IntRange(min=1), default=10, show_default=True,
              help='stop after this many mismatches')
@click.option('--no-progress', is_flag=True, help='no progress bar (there is none off a terminal)')
@click.option('--replay', 'replay_file', type=click.Path(path_type=Path, dir_okay=False), metavar='FILE.asm',
              help='run one saved program')
def main(seed, count, duration, traps, engines, timeout, out, max_failures, no_progress,
         replay_file) -> int:
    try:
        chosen = select_engines(engines, timeout)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if replay_file:
        return replay(replay_file, chosen)
    seed = seed if seed is not None else random.SystemRandom().randrange(1 << 32)
    count = count if count is not None or duration else 1000
    print(f'fuzz_jit: seed {seed}, {count if count is not None else "unlimited"} programs'
          f'{f", at most {duration:g} s" if duration else ""}, traps {traps}%, '
          f'engines {", ".join(chosen)}', file=sys.stderr)
    progress = Progress(count, duration, enabled=False if no_progress else None)
    t0 = time.monotonic()
    ran, saved = campaign(seed, count, duration, traps, chosen, out, progress, max_failures)
    elapsed = time.monotonic() - t0
    print(f'fuzz_jit: {ran} programs x {len(chosen)} engines in {elapsed:.1f} s, '
          f'{len(saved)} mismatches' + (f' (saved in {out})' if saved else ''))
    return 1 if saved else 0


if __name__ == '__main__':
    from clitool import run_tool
    run_tool(main)
