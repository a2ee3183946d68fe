"""``gatepass central backup`` and ``gatepass central restore``: SQLite (:mod:`central.backup`) or
PostgreSQL (:mod:`central.backup_pg`), by the configured database.

Every ``gatepass`` command registers these, so the modules they work with are imported when a command runs, not
when the command line starts (``gatepass edge run`` on a 512 MB Pi must not carry the central's settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from central.settings import CentralSettings


def _settings(config_path: str | None) -> CentralSettings:
    from central.settings import CentralSettings
    from gatepass.config import load_settings

    return load_settings(CentralSettings, config_path)


@click.command("backup")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config file (GATEPASS_* environment variables override it).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Backup folder (default: <data_dir>/backups).")
@click.option("--keep", type=click.IntRange(min=1), default=14, show_default=True,
              help="How many daily copies to keep.")
def backup_command(config_path: str | None, dest: Path | None, keep: int) -> None:
    """Back up the central database now (safe while the server runs)."""
    from central import backup

    settings = _settings(config_path)
    if settings.database_url:  # a PostgreSQL central: pg_dump (central/backup_pg.py)
        return _pg_backup(settings, dest, keep)
    result = backup.backup(settings.db_path, dest or settings.data_dir / "backups", keep=keep)
    click.echo(f"backup: {result.path} ({result.size_bytes} bytes, {result.seconds:.2f} s); "
               f"removed {len(result.pruned)} old copies")


@click.command("restore")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config file (GATEPASS_* environment variables override it).")
@click.argument("backup_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(config_path: str | None, backup_file: Path, yes: bool) -> None:
    """Replace the central database with BACKUP_FILE (stop gatepass-central first)."""
    from central import backup

    settings = _settings(config_path)
    if settings.database_url:  # a PostgreSQL central: pg_restore (central/backup_pg.py)
        return _pg_restore(settings, backup_file, yes)
    if not yes:
        click.confirm(f"replace {settings.db_path} with {backup_file}? 用备份替换当前数据库?", abort=True)
    saved = backup.restore(backup_file, settings.db_path)
    click.echo(f"restored {settings.db_path} from {backup_file}" + (f"; previous database saved as {saved}"
                                                                     if saved else ""))



def _pg_backup(settings: CentralSettings, dest: Path | None, keep: int) -> None:
    """``gatepass central backup`` for a central whose ``database_url`` is set."""
    from central import backup_pg

    url = settings.db_target
    result = backup_pg.backup(url, dest or settings.data_dir / "backups", keep=keep)
    click.echo(f"backup of {backup_pg.label(url)}: {result.path} ({result.size_bytes} bytes, {result.seconds:.2f} s); "
               f"removed {len(result.pruned)} old copies")


def _pg_restore(settings: CentralSettings, backup_file: Path, yes: bool) -> None:
    """``gatepass central restore`` for a central whose ``database_url`` is set; the previous contents are saved
    in ``data_dir``."""
    from central import backup_pg

    url = settings.db_target
    if not yes:
        click.confirm(f"replace {backup_pg.label(url)} with {backup_file}? 用备份替换当前数据库?", abort=True)
    saved = backup_pg.restore(backup_file, url, settings.data_dir)
    click.echo(f"restored {backup_pg.label(url)} from {backup_file}; previous database saved as {saved}")
