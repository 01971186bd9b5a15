"""Random Capstone round-trip campaign (asmkit/roundtrip.py) for long runs.

Random instruction bytes -> Capstone's text -> asmkit at the same address ->
the same bytes, or bytes Capstone prints as the same instruction.  Prints,
per architecture, the classification table, the rejection rate beyond the
documented exclusions and the most rejected forms.  The tests run a few
thousand cases; this tool is for 100,000 and more.

    python tools/roundtrip.py --count 100000
    python tools/roundtrip.py --arch aarch64 --count 1000000 --seed 3 --jobs 2
    python tools/roundtrip.py --file some.bin --arch x86_64 --address 0x1000

Case k of a campaign comes from chunk k // 1000 with its own seeded
generator, so the cases do not depend on --jobs.  Capstone's own test files
are not shipped with the capstone wheel; --file takes any raw code file
(Capstone's tests, an object's .text) instead.

Exit status: 0 when nothing was WRONG, 1 when any case was, 2 for bad options.
"""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from asmkit import roundtrip  # noqa: E402


def _chunk(args):
    arch, seed, chunk, size = args
    return roundtrip.run_chunk(arch, seed, chunk, size)


def campaign(arch, count, seed, jobs):
    """One architecture's report, chunks spread over ``jobs`` processes."""
    size = roundtrip.CHUNK
    work = [(arch, seed, c, min(size, count - c * size))
            for c in range((count + size - 1) // size)]
    report = roundtrip.RoundTripReport(arch)
    with click.progressbar(length=count, label=f"{arch:<8}", file=sys.stderr) as bar:
        if jobs <= 1:
            for item in work:
                report.merge(_chunk(item))
                bar.update(item[3])
        else:
            with ProcessPoolExecutor(jobs) as pool:
                for item, part in zip(work, pool.map(_chunk, work)):
                    report.merge(part)
                    bar.update(item[3])
    return report


@click.command()
@click.option("--arch", "arches", multiple=True, type=click.Choice(["x86_64", "aarch64"]),
              help="architecture (repeatable; default: both)")
@click.option("--count", default=100_000, show_default=True,
              help="decoded random instructions per architecture")
@click.option("--seed", default=1, show_default=True)
@click.option("--jobs", default=1, show_default=True, help="worker processes")
@click.option("--top", default=25, show_default=True, help="rejected forms to list")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="raw code file to round-trip instead of random bytes (needs one --arch)")
@click.option("--address", default="0x100000000", show_default=True,
              help="load address of --file code")
def main(arches, count, seed, jobs, top, files, address):
    """Classify random instructions: round trip, equivalent, excluded, rejected, WRONG."""
    arches = arches or ("x86_64", "aarch64")
    wrong = 0
    if files:
        if len(arches) != 1:
            raise click.UsageError("--file needs exactly one --arch")
        for name in files:
            report = roundtrip.roundtrip_bytes(arches[0], Path(name).read_bytes(),
                                               int(address, 0))
            click.echo(f"{name}:\n{report.table(top)}")
            wrong += report.classes["wrong"]
    else:
        for arch in arches:
            report = campaign(arch, count, seed, jobs)
            click.echo(report.table(top))
            wrong += report.classes["wrong"] + len(report.crashes)
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
