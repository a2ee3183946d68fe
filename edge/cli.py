"""``gatepass edge ...``: the checkpoint service and its maintenance commands."""

from __future__ import annotations

import click

from gatepass.clickutil import check_config_option, config_option


@click.group("edge")
def edge_group() -> None:
    """The checkpoint on the gate's Raspberry Pi."""


@edge_group.command("run")
@config_option
@check_config_option
def run_command(config_path: str | None, check_config: bool) -> None:
    """Run the checkpoint: scan, measure, decide, log, open the gate, serve the guard screen."""
    from edge.settings import EdgeSettings
    from gatepass.config import load_settings

    settings = load_settings(EdgeSettings, config_path)
    if check_config:
        click.echo(f"config OK: gate {settings.gate.id} ({settings.gate.mode}), data in {settings.data_dir}")
        return
    from edge.service import run

    run(settings)
