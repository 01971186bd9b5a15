"""`python -m backends.opt FILE [-O 0|1] [--passes a,b] [--run]`: print the
SSA of every function of a program (after the chosen passes), and with
--run evaluate it; for looking at what the builder and the passes do."""
from __future__ import annotations

import argparse
import sys

from vm.errors import EXIT_BAD_INPUT, VMError

from . import evaluate, passes, ssa
from .printer import format_program


class _Parser(argparse.ArgumentParser):
    def error(self, message):           # one line, the project's convention
        sys.stderr.write(f'error: {message}\n')
        sys.exit(EXIT_BAD_INPUT)


def main(argv=None) -> int:
    ap = _Parser(prog='python -m backends.opt', description=__doc__)
    ap.add_argument('file')
    ap.add_argument('-O', dest='level', type=int, choices=sorted(passes.LEVELS), default=1)
    ap.add_argument('--passes', help='comma-separated, in order: ' + ', '.join(passes.PASSES))
    ap.add_argument('--run', action='store_true', help='evaluate the SSA after printing it')
    args = ap.parse_args(argv)
    if args.passes is not None:
        chosen = tuple(p for p in args.passes.split(',') if p)
        unknown = [p for p in chosen if p not in passes.PASSES]
        if unknown:
            ap.error(f'unknown pass {unknown[0]!r} (known: {", ".join(passes.PASSES)})')
    else:
        chosen = passes.LEVELS[args.level]
    from vm.api import load
    try:
        with open(args.file, 'rb') as f:
            data = f.read()
        program = load(data, args.file)
    except OSError as e:
        sys.stderr.write(f'error: cannot read {args.file}: {e.strerror}\n')
        return EXIT_BAD_INPUT
    except VMError as e:
        sys.stderr.write(e.line() + '\n')
        return e.exit_code
    funcs = [passes.optimize(f, chosen, check=True) for f in ssa.build_program(program)]
    sys.stdout.write(format_program(funcs))
    if not args.run:
        return 0
    sys.stdout.flush()
    got = evaluate.run(program, funcs)
    sys.stdout.buffer.write(got.stdout)
    if got.error:
        sys.stderr.write(got.error + '\n')
    else:
        sys.stdout.write(f'result: {got.result}\n')
    return got.exit_code


if __name__ == '__main__':
    sys.exit(main())
