"""``gatepass sync ...`` (device side) and ``gatepass central ...`` (central server)."""

from __future__ import annotations

import click

from gatepass.clickutil import check_config_option, config_option


@click.group("sync")
def sync_group() -> None:
    """Send the local log to central and bring lists back (runs on the device)."""


@sync_group.command("run")
@config_option
@check_config_option
def sync_run(config_path: str | None, check_config: bool) -> None:
    """Run the sync loop until stopped."""
    from gatepass.config import load_settings
    from sync.settings import SyncSettings

    settings = load_settings(SyncSettings, config_path)
    if check_config:
        click.echo(f"config OK: central {settings.central_url}, data in {settings.data_dir}")
        return
    from sync.client import run

    run(settings)


@click.group("central")
def central_group() -> None:
    """The central server: ingest, lists, passes and the staff console."""


@central_group.command("serve")
@config_option
@check_config_option
def central_serve(config_path: str | None, check_config: bool) -> None:
    """Serve the central API and console."""
    from gatepass.config import load_settings
    from sync.settings import CentralSettings

    settings = load_settings(CentralSettings, config_path)
    if check_config:
        click.echo(f"config OK: listening on {settings.host}:{settings.port}, data in {settings.data_dir}")
        return
    from sync.server import serve

    serve(settings)
