"""``gatepass edge ...``: the checkpoint service and its maintenance commands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

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


def _settings(config_path: str | None):
    from edge.settings import EdgeSettings
    from gatepass.config import load_settings

    return load_settings(EdgeSettings, config_path)


@contextlib.contextmanager
def _open_log(config_path: str | None) -> Iterator[tuple[Any, Any]]:
    """The settings and the local log of an existing edge database (closed afterwards)."""
    from edge.errors import EdgeError
    from sync.devicedb import open_db
    from sync.locallog import LocalLog

    settings = _settings(config_path)
    if not settings.db_path.exists():
        raise EdgeError(f"no local log at {settings.db_path}", "check data_dir in the config")
    db = open_db(settings.db_path)
    try:
        yield settings, LocalLog(db)
    finally:
        db.conn.close()


@edge_group.command("verify-log")
@config_option
def verify_log_command(config_path: str | None) -> None:
    """Check the local log's hash chain; exit 1 if an entry was changed, inserted or deleted."""
    with _open_log(config_path) as (_, locallog):
        report = locallog.verify_chain()
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}")
    click.echo(f"checked {report.checked} entries: {'chain OK' if report.ok else 'chain BROKEN'}")
    if not report.ok:
        raise click.exceptions.Exit(1)


@edge_group.command("purge")
@config_option
@click.option("--days", type=float, default=None, help="Retention in days (default: [health] retention_days).")
def purge_command(config_path: str | None, days: float | None) -> None:
    """Delete synced entries older than the retention; unsynced entries are never deleted."""
    with _open_log(config_path) as (settings, locallog):
        days = settings.health.retention_days if days is None else days
        purged = locallog.purge(days)
        erased = locallog.erase_synced_personal_data()
        backlog = locallog.backlog()
    click.echo(f"purged {purged} synced entries older than {days:g} days; erased visitor details of {erased}; "
               f"{backlog} unsynced entries kept")


@edge_group.command("set-pin")
@config_option
@click.option("--guard", "guard_id", required=True, help="The guard's id (as on the duty roster).")
def set_pin_command(config_path: str | None, guard_id: str) -> None:
    """Set a guard's shift PIN, 6-12 digits, asked twice (or two lines on stdin); never on the command line.

    Stored peppered and hashed in the edge database (the pepper: pin-pepper next to it, mode 0600).
    """
    from edge.shifts import MIN_PIN_DIGITS, ShiftBook

    pin = click.prompt(f"PIN（{MIN_PIN_DIGITS}-12 位数字 / {MIN_PIN_DIGITS}-12 digits）", hide_input=True,
                       confirmation_prompt="再输入一次 / Repeat", err=True)
    with _edge_db(config_path) as db:
        ShiftBook(db).set_pin(guard_id, pin)
    click.echo(f"已设置保安 {guard_id} 的PIN / PIN set for guard {guard_id}")


@contextlib.contextmanager
def _edge_db(config_path: str | None) -> Iterator[Any]:
    """The edge database (made if missing, its files mode 0600), closed afterwards."""
    from gatepass.private_files import make_db_private
    from sync.devicedb import open_db

    settings = _settings(config_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    try:
        yield db
    finally:
        db.conn.close()
        make_db_private(settings.db_path)


@edge_group.group("kiosk")
def kiosk_group() -> None:
    """Pair browsers other than the Pi's own with the guard page (see edge/web/README.md)."""


@kiosk_group.command("pair")
@config_option
@click.option("--minutes", type=click.FloatRange(1, 60), default=5, show_default=True,
              help="How long the code stays valid.")
def kiosk_pair_command(config_path: str | None, minutes: float) -> None:
    """Print a one-time code to enter at the guard page's /pair on the browser to pair."""
    from edge.kiosk import KioskPairings

    with _edge_db(config_path):
        pairings = KioskPairings(_settings(config_path).db_path)
        try:
            code = pairings.new_code(minutes * 60)
        finally:
            pairings.close()
    click.echo(f"配对码 / pairing code: {code[:4]} {code[4:]}")
    click.echo(f"在要配对的屏幕上打开保安页面 /pair 并输入，{minutes:g} 分钟内有效，只能用一次 / enter it at the "
               f"guard page's /pair on the screen to pair; valid {minutes:g} min, once")


@kiosk_group.command("list")
@config_option
def kiosk_list_command(config_path: str | None) -> None:
    """List the paired browsers."""
    import time

    from edge.kiosk import KioskPairings

    with _edge_db(config_path):
        pairings = KioskPairings(_settings(config_path).db_path)
        try:
            rows = pairings.pairings()
        finally:
            pairings.close()
    if not rows:
        click.echo("没有已配对的屏幕 / no paired screens")
    for p in rows:
        click.echo(f"{p.id}  {time.strftime('%Y-%m-%d %H:%M', time.localtime(p.paired_ts))}  {p.label}")


@kiosk_group.command("unpair")
@config_option
@click.option("--id", "pairing_id", type=int, default=None, help="The pairing to revoke (see 'kiosk list').")
@click.option("--all", "every", is_flag=True, help="Revoke every pairing and every unused code.")
def kiosk_unpair_command(config_path: str | None, pairing_id: int | None, every: bool) -> None:
    """Revoke a paired browser (--id N) or all of them (--all); they see the pairing page again."""
    from edge.kiosk import KioskPairings

    if (pairing_id is None) == (not every):
        raise click.UsageError("give --id N or --all / 请指定 --id N 或 --all")
    with _edge_db(config_path):
        pairings = KioskPairings(_settings(config_path).db_path)
        try:
            count = pairings.unpair(pairing_id)
        finally:
            pairings.close()
    click.echo(f"已撤销 {count} 个配对 / {count} pairing(s) revoked")


@edge_group.command("shift-summary")
@config_option
@click.option("--last", "last", type=int, default=5, show_default=True, help="How many recent shifts to show.")
def shift_summary_command(config_path: str | None, last: int) -> None:
    """Show the hand-over summary of the current and recent shifts."""
    import time

    from edge.shifts import ShiftBook

    with _open_log(config_path) as (_, locallog):
        summaries = ShiftBook(locallog.db).last_shifts(last)
    if not summaries:
        click.echo("no shifts yet")
    for s in summaries:
        start = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started_ts))
        end = time.strftime("%H:%M", time.localtime(s.ended_ts)) if s.ended_ts else "on duty"
        click.echo(f"{s.guard_id}  {start} - {end}: {s.entries} entries, {s.passed} passed, {s.refused} refused, "
                   f"{s.fevers} fevers, {s.overrides} overrides, {s.visitors} visitors")


def _register_install() -> None:
    from edge.install import install_command, uninstall_command

    edge_group.add_command(install_command)
    edge_group.add_command(uninstall_command)


_register_install()


def _register_enroll() -> None:
    from edge.enrol_cli import enroll_command

    edge_group.add_command(enroll_command)


_register_enroll()


@click.command("doctor")
@config_option
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds to wait for each device.")
@click.option("--pulse-gate", is_flag=True, help="Also pulse the gate relay once (the gate opens!).")
@click.option("--release-gate", is_flag=True, help="Only drive the gate output off and exit (systemd ExecStopPost).")
def doctor_command(config_path: str | None, timeout: float, pulse_gate: bool, release_gate: bool) -> None:
    """List serial ports and cameras, open the configured devices and give a verdict for each."""
    from drivers import doctor
    from edge.settings import EdgeSettings
    from gatepass.config import load_settings

    settings = load_settings(EdgeSettings, config_path)
    if release_gate:
        verdict = doctor.release_gate(settings.relay)
        click.echo(verdict.line())
        raise SystemExit(0 if verdict.ok else 1)
    ok = doctor.run_doctor(settings, timeout, pulse_gate, click.echo)
    raise SystemExit(0 if ok else 1)
