"""Small helpers shared by the packages' click commands."""

from __future__ import annotations

import click

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file (GATEPASS_* environment variables override it).",
)
check_config_option = click.option(
    "--check-config", is_flag=True, help="Validate the configuration, print a summary and exit."
)
