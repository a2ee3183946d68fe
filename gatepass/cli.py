"""The ``gatepass`` command line: one entry point, a subcommand group per service.

Each package contributes its own click group (``edge.cli``, ``sync.cli``,
``drivers.cli``); heavy imports happen inside the commands so that
``gatepass --help`` stays fast on a Pi Zero.
"""

from __future__ import annotations

import errno
import logging
import os
import sys

import click

from gatepass import __version__, logsetup
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gatepass")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--log-level", default="INFO", show_default=True, help="Logging level (DEBUG, INFO, WARNING...).")
def cli(debug: bool, log_level: str) -> None:
    """gatepass: scan, measure, decide and log at community gates; sync to a central console."""
    logsetup.configure("DEBUG" if debug else log_level)


def _register() -> None:
    from central.cli import central_group
    from drivers.cli import sim_group
    from edge.cli import doctor_command, edge_group
    from gatepass.demo import demo_command
    from sync.cli import sync_group

    for command in (edge_group, sync_group, central_group, sim_group, demo_command, doctor_command):
        cli.add_command(command)


_register()


def _explain_os_error(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"{exc.strerror}: another program already listens there (stop it or choose another port)"
    if exc.errno in (errno.ENOENT, errno.ENODEV):
        return f"{exc.strerror}: {exc.filename or ''} (is the device plugged in and the path right?)".strip()
    if exc.errno == errno.EACCES:
        return f"{exc.strerror}: {exc.filename or ''} (add the user to the dialout/video group)".strip()
    if exc.errno == errno.ENOSPC:
        return "the disk is full (free space on the data partition)"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and turn known failures into one-line errors."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or bool(os.environ.get("GATEPASS_DEBUG"))
    try:
        result = cli.main(args=argv, prog_name="gatepass", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    except KeyboardInterrupt:
        return 130
    except GatepassError as exc:
        if debug:
            raise
        click.echo(f"gatepass: error: {exc}", err=True)
        return 2
    except OSError as exc:
        if debug:
            raise
        click.echo(f"gatepass: error: {_explain_os_error(exc)}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
