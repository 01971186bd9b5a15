"""How every tool in tools/ runs its click command: `--help` prints the
help and exits 0; bad input is one `error: ...` line on stderr, exit 2
(the rule of the jitvm and asmkit commands); Ctrl-C is `error:
interrupted`, exit 130; an int the command returns is the exit status."""
from __future__ import annotations

import sys

import click


def run_tool(command: click.Command, argv=None) -> None:
    try:
        result = command.main(args=argv, standalone_mode=False)
    except click.ClickException as e:
        print(f'error: {e.format_message()}', file=sys.stderr)
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except (click.Abort, KeyboardInterrupt):
        print('error: interrupted', file=sys.stderr)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == '__main__':
    @click.command(help=__doc__)
    def _about():
        """Nothing to run: the helper the other tools import."""
        click.echo(__doc__.split('\n')[0])
    run_tool(_about)
