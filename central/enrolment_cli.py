"""``gatepass central enrolments ...``: enrolment of new gates from the command line, for a street office without a
browser at hand (the same rules as the console's 接入新设备 page, :mod:`central.enrolment`; audited as the OS user).

Registered on :data:`central.cli.central_group` by :func:`register`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import time

import click

from gatepass.clickutil import config_option


@click.group("enrolments")
def enrolments_group() -> None:
    """接入新设备：待批准的接入码 / enrolment codes of new gates."""


@enrolments_group.command("list")
@config_option
def enrolments_list(config_path: str | None) -> None:
    """列出等待批准的接入码 / list the codes waiting for approval."""
    from central import enrolment
    from central.passes.cli import _open

    _, db = _open(config_path)
    rows = enrolment.list_pending(db, time.time())
    if not rows:
        click.echo("没有等待批准的设备 / no enrolment waiting")
    for r in rows:
        prev = f"  原设备 / previous: {r['previous_device_id']}" if r["previous_device_id"] else ""
        click.echo(f"{r['code_shown']}  {r['hostname']}  {r['software_version']}  {r['address'] or '-'}  "
                   f"剩余 {int(r['left_s'] // 60)} 分钟 / {int(r['left_s'] // 60)} min left{prev}")


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from None


@enrolments_group.command("approve")
@config_option
@click.argument("code")
@click.option("--community", required=True, help="社区 / the community of the gate.")
@click.option("--gate-id", required=True, help="门岗编号 / the gate id its entries are filed under.")
@click.option("--gate-name", required=True, help="门岗名称，如 '3号楼东门' / the gate's name for people.")
@click.option("--direction", type=click.Choice(["both", "in", "out"]), default="both", show_default=True,
              help="进出方向 / which way people pass.")
@click.option("--mode", type=click.Choice(["guarded", "unattended"]), default="guarded", show_default=True,
              help="有人值守或无人值守 / guarded or unattended.")
@click.option("--replaces", default="", help="被替换的设备编号（换卡/换机）/ the device this one replaces (revoked).")
@click.option("--alongside", is_flag=True, help="同一门岗再加一台 / another device at a gate that has one.")
def enrolments_approve(config_path: str | None, code: str, community: str, gate_id: str, gate_name: str,
                       direction: str, mode: str, replaces: str, alongside: bool) -> None:
    """批准接入码 CODE / approve the enrolment code CODE; the gate fetches its credentials by itself."""
    from central import enrolment, signing
    from central.passes.cli import _audit, _open
    from sync import enrolment as wire

    settings, db = _open(config_path)
    try:
        bare = wire.parse_code(code)
        gate = enrolment.assignment(community, gate_id, gate_name, direction, mode)
        device_id = enrolment.approve(db, bare, gate, replaces=replaces.strip(), alongside=alongside,
                                      by="cli", now=time.time())
    except (enrolment.EnrolmentRefused, wire.EnrolmentError) as exc:
        _fail(exc)
        return
    _audit(db, "approve_enrolment", code=wire.format_code(bare), device_id=device_id, gate_id=gate.gate_id,
           community=gate.community, replaces=replaces.strip() or None)
    fingerprint = wire.key_fingerprint(signing.root_public_pem(settings.data_dir))
    click.echo(f"已批准：设备 {device_id} 将在几秒内自动接入 / approved: device {device_id} connects by itself")
    click.echo(f"请核对门岗屏幕上的中心密钥指纹 / check the gate shows this key fingerprint: {fingerprint}")


@enrolments_group.command("refuse")
@config_option
@click.argument("code")
def enrolments_refuse(config_path: str | None, code: str) -> None:
    """拒绝接入码 CODE / refuse the enrolment code CODE."""
    from central import enrolment
    from central.passes.cli import _audit, _open
    from sync import enrolment as wire

    _, db = _open(config_path)
    try:
        bare = wire.parse_code(code)
        enrolment.refuse(db, bare, by="cli", now=time.time())
    except (enrolment.EnrolmentRefused, wire.EnrolmentError) as exc:
        _fail(exc)
        return
    _audit(db, "refuse_enrolment", code=wire.format_code(bare))
    click.echo(f"已拒绝 {wire.format_code(bare)} / refused")


def register(group: click.Group) -> None:
    """Add ``enrolments`` to ``gatepass central``."""
    group.add_command(enrolments_group)
