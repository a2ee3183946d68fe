"""``gatepass central`` commands for passes: issue, issue-bulk, cards, revoke, quarantine, release, keys.

Registered on :data:`central.cli.central_group` by :func:`register`. Heavy imports
happen inside the commands so ``gatepass --help`` stays fast.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from gatepass.clickutil import config_option


def _open(config_path: str | None):
    """(settings, database) for a central command."""
    from central.db import open_db
    from central.settings import CentralSettings
    from gatepass.config import load_settings

    settings = load_settings(CentralSettings, config_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings, open_db(settings.db_target)


def _audit(db, action: str, **detail) -> None:
    """Record an export of personal data (cards name people) in central's audit log, as the OS user."""
    import getpass

    from central.console.audit import record

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (e.g. a container with an arbitrary uid)
        user = "unknown"
    record(db, user, "cli", action, "cli", **detail)


def _parse_when(text: str | None) -> float | None:
    if not text:
        return None
    from zoneinfo import ZoneInfo

    from central.passes.issuance import DEFAULT_TZ

    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(DEFAULT_TZ)).timestamp()
        except ValueError:
            continue
    raise click.BadParameter(f"{text!r}: use YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (local time)")


def _gates(text: str) -> tuple[str, ...] | None:
    if text.strip().lower() in ("", "all"):
        return None
    return tuple(g.strip() for g in text.replace(";", ",").split(",") if g.strip())


def _describe(issued) -> str:
    from zoneinfo import ZoneInfo

    from central.passes.cards import when_text
    from central.passes.issuance import DEFAULT_TZ

    info, tz = issued.info, ZoneInfo(DEFAULT_TZ)
    gates = "all" if info.gates is None else ",".join(info.gates)
    return (f"pass {info.pass_id}: {info.household} #{info.person} {info.kind}, "
            f"{when_text(info.valid_from, tz)} .. {when_text(info.valid_to, tz)}, gates {gates}, key {info.kid.hex()}, "
            f"{len(issued.text)} chars, QR version {issued.qr_version}-M")


@click.command("issue")
@config_option
@click.option("--household", required=True, help="Household / unit id, e.g. 3-2-401.")
@click.option("--person", type=click.IntRange(0, 999), required=True, help="Person index within the household.")
@click.option("--kind", type=click.Choice(["resident", "temporary", "visitor", "staff", "delivery"]),
              default="resident", show_default=True, help="Kind of pass.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=30, show_default=True,
              help="Validity in days (ignored with --until).")
@click.option("--from", "valid_from", default=None, help="Start, YYYY-MM-DD[ HH:MM] local time (default: now).")
@click.option("--until", "valid_to", default=None, help="End, YYYY-MM-DD[ HH:MM] local time.")
@click.option("--gates", default="all", show_default=True, help="Allowed gate ids, comma separated, or 'all'.")
@click.option("--name", default="", help="Name printed on the card (kept at central, not in the pass).")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), default=None, help="Also write the QR as PNG.")
def issue_command(config_path, household, person, kind, days, valid_from, valid_to, gates, name, png_path) -> None:
    """Issue one pass and print its id, text and QR version."""
    from central.passes.issuance import issue, make_qr

    settings, db = _open(config_path)
    issued = issue(db, settings.data_dir, household=household, person=person, kind=kind,
                   valid_from=_parse_when(valid_from), valid_to=_parse_when(valid_to),
                   days=None if valid_to else days, gates=_gates(gates), name=name)
    click.echo(_describe(issued))
    click.echo(issued.text)
    if png_path:
        make_qr(issued.text).save(png_path, scale=8, border=4)
        _audit(db, "export_pass_png", path=str(Path(png_path).resolve()), pass_ids=[issued.info.pass_id])
        click.echo(f"QR written to {png_path}")


@click.command("issue-bulk")
@config_option
@click.argument("register", type=click.Path(exists=True, dir_okay=False))
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=30, show_default=True,
              help="Validity in days for rows without days or valid_to.")
@click.option("--reissue", is_flag=True, help="Issue even to people who already hold a valid pass of that kind.")
@click.option("--cards", "cards_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the new passes' printable cards (HTML) here.")
def issue_bulk_command(config_path, register, days, reissue, cards_path) -> None:
    """Issue passes for every good row of a CSV/XLSX household register; report bad rows by line.

    Columns: household, person, kind (required); name, valid_from, days, valid_to, gates (optional);
    Chinese headers (户号, 序号, 类型, 姓名, 起始日期, 天数, 截止日期, 通行门) work too.
    Exit status 1 when some rows were refused (the rest are issued).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from central.passes.bulk import issue_register

    settings, db = _open(config_path)
    console = Console(stderr=True)
    with Progress(TextColumn("issuing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        task = progress.add_task("issue", total=None)
        report = issue_register(db, settings.data_dir, Path(register), default_days=days, reissue=reissue,
                                on_start=lambda n: progress.update(task, total=n),
                                on_row=lambda row: progress.advance(task))
    click.echo(f"issued {len(report.issued)}, skipped {len(report.skipped)}, refused {len(report.errors)}")
    for line, reason in report.skipped:
        click.echo(f"  line {line}: skipped: {reason}")
    for line, reason in report.errors:
        click.echo(f"  line {line}: refused: {reason}")
    if cards_path and report.issued:
        from central.passes.cards import render_cards

        Path(cards_path).write_text(render_cards(report.issued), encoding="utf-8")
        _audit(db, "export_cards", path=str(Path(cards_path).resolve()), cards=len(report.issued),
               pass_ids=[p.info.pass_id for p in report.issued])
        click.echo(f"cards for {len(report.issued)} pass(es) written to {cards_path}")
    if report.errors:
        raise click.exceptions.Exit(1)


@click.command("cards")
@config_option
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True, help="HTML file to write.")
@click.option("--household", "households", multiple=True, help="Only this household (repeatable).")
@click.option("--pass-id", "pass_ids", type=int, multiple=True, help="Only this pass (repeatable).")
@click.option("--title", default="小区通行证", show_default=True, help="Heading printed on each card.")
def cards_command(config_path, out_path, households, pass_ids, title) -> None:
    """Write an A4 print-ready HTML sheet of pass cards (default: every valid, unrevoked pass)."""
    import time

    from central.passes.cards import render_cards
    from central.passes.issuance import find_passes

    _, db = _open(config_path)
    passes = []
    for household in households or [None]:
        passes += find_passes(db, household=household, pass_ids=list(pass_ids) or None, valid_at=time.time())
    if not passes:
        raise click.ClickException("no valid pass matches")
    Path(out_path).write_text(render_cards(passes, title=title), encoding="utf-8")
    _audit(db, "export_cards", path=str(Path(out_path).resolve()), cards=len(passes),
           pass_ids=[p.info.pass_id for p in passes])
    click.echo(f"{len(passes)} card(s) on {-(-len(passes) // 8)} A4 page(s) written to {out_path}")


@click.command("revoke")
@config_option
@click.argument("pass_id", type=int)
@click.option("--reason", default="", help="Why (kept in the log, e.g. 'card lost').")
def revoke_command(config_path, pass_id, reason) -> None:
    """Revoke a pass: gates refuse it after their next sync."""
    from central.passes.issuance import revoke

    _, db = _open(config_path)
    version = revoke(db, pass_id, reason)
    click.echo(f"pass {pass_id} revoked (list version {version})")


@click.command("unrevoke")
@config_option
@click.argument("pass_id", type=int)
def unrevoke_command(config_path, pass_id) -> None:
    """Undo a revocation made by mistake."""
    from central.passes.issuance import unrevoke

    _, db = _open(config_path)
    version = unrevoke(db, pass_id)
    click.echo(f"pass {pass_id} valid again (list version {version})")


@click.command("quarantine")
@config_option
@click.argument("household")
@click.option("--start", "--first-day", "start", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="First day of quarantine (YYYY-MM-DD).")
@click.option("--last-day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day of quarantine, included (YYYY-MM-DD); default: --days days from the first.")
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True,
              help="Length in days (first and last day included) when --last-day is not given.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Old form: the day they may go out again (the last day is the day before).")
@click.option("--person", type=int, default=None, help="Only this person of the household (the pass's person).")
@click.option("--note", default="", help="Note for staff.")
def quarantine_command(config_path, household, start, last_day, days, end, person, note) -> None:
    """Put a household, or one person of it, under home quarantine: gates refuse their exits through the last day."""
    from datetime import timedelta

    from central.passes.issuance import quarantine
    from central.passes.quarantine import last_day_of

    first = start.date()
    last = last_day.date() if last_day else (end.date() - timedelta(days=1)) if end else last_day_of(first, days)
    _, db = _open(config_path)
    version = quarantine(db, household, first, last, note, person=person, by="cli")
    who = household if person is None else f"{household} person {person}"
    click.echo(f"{who} under home quarantine {first} .. {last} (last day included; list version {version})")


@click.command("release")
@config_option
@click.argument("household")
@click.option("--person", type=int, default=None, help="Only this person of the household.")
@click.option("--note", default="", help="Why (kept with the record).")
def release_command(config_path, household, person, note) -> None:
    """End a household's (or a person's) home quarantine now; the record is kept."""
    from central.passes.issuance import release

    _, db = _open(config_path)
    version = release(db, household, person, by="cli", note=note)
    click.echo(f"{household} released from home quarantine (list version {version})")


@click.group("keys")
def keys_group() -> None:
    """Pass-signing keys: list, rotate, retire; the root list-signing public key."""


@keys_group.command("list")
@config_option
def keys_list(config_path) -> None:
    """List pass-signing keys and their status."""
    from central.passes.keys import list_keys

    _, db = _open(config_path)
    for key in list_keys(db):
        until = "open" if key.not_after is None else datetime.fromtimestamp(key.not_after).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{key.kid}  {key.status:8s} created {datetime.fromtimestamp(key.created_at):%Y-%m-%d %H:%M}"
                   f"  verifies until {until}")


@keys_group.command("rotate")
@config_option
def keys_rotate(config_path) -> None:
    """Sign new passes with a new key; the old one verifies its passes until they expire."""
    from central.passes.keys import rotate

    settings, db = _open(config_path)
    new, old = rotate(db, settings.data_dir)
    click.echo(f"new signing key {new.kid}" + (f"; {old.kid} now verify-only" if old else ""))


@keys_group.command("retire")
@config_option
@click.argument("kid")
def keys_retire(config_path, kid) -> None:
    """Stop trusting a key: gates refuse every pass it signed after their next sync."""
    from central.passes.keys import retire

    _, db = _open(config_path)
    key = retire(db, kid)
    click.echo(f"key {key.kid} retired")


@keys_group.command("root-public")
@config_option
def keys_root_public(config_path) -> None:
    """Print the root list-signing public key (PEM) for devices to pin."""
    from central.passes.keys import root_public_pem

    settings, _ = _open(config_path)
    click.echo(root_public_pem(settings.data_dir), nl=False)


COMMANDS = (issue_command, issue_bulk_command, cards_command, revoke_command, unrevoke_command, quarantine_command,
            release_command, keys_group)


def register(group: click.Group) -> None:
    """Add the pass commands to ``gatepass central``."""
    for command in COMMANDS:
        group.add_command(command)
