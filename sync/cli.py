"""``gatepass sync ...``: the device's uplink."""

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
        from sync.signing import kid_of, load_public_key

        kid = kid_of(load_public_key(settings.central_public_key))
        click.echo(f"config OK: central {settings.central_url} (list key {kid}), data in {settings.data_dir}")
        return
    from gatepass.startup import check_not_root
    from sync.client import run

    check_not_root()
    run(settings)
