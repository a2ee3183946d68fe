"""``gatepass central ...``: the central server, its console, passes and backups."""

from __future__ import annotations

from pathlib import Path

import click

from gatepass.clickutil import check_config_option, config_option


@click.group("central")
def central_group() -> None:
    """The central server: ingest, lists, passes and the staff console."""


@central_group.command("serve")
@config_option
@check_config_option
def central_serve(config_path: str | None, check_config: bool) -> None:
    """Serve the central API and console."""
    from central.settings import CentralSettings
    from gatepass.config import load_settings

    settings = load_settings(CentralSettings, config_path)
    if check_config:
        from central.store.postgres import redact

        where = redact(settings.db_target) if settings.database_url else settings.db_target
        click.echo(f"config OK: listening on {settings.host}:{settings.port}, data in {settings.data_dir}, "
                   f"database {where}")
        return
    from central.server import serve
    from gatepass.startup import check_not_root

    check_not_root()
    serve(settings)


def _central_db(config_path: str | None):
    """(settings, database) for a central command."""
    from central.db import open_db
    from central.settings import CentralSettings
    from gatepass.config import load_settings

    settings = load_settings(CentralSettings, config_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    return settings, open_db(settings.db_target)


@central_group.command("add-device")
@config_option
@click.argument("device_id")
@click.option("--name", default="", help="A name for people, e.g. '3号楼东门'.")
@click.option("--community", default="", help="The community the gate belongs to.")
@click.option("--gate-id", default="", help="The gate id the device serves (default: the device id); central "
              "files every row the device sends under it.")
@click.option("--rotate", is_flag=True, help="The device exists: give it a new token (the old one stops working).")
def central_add_device(config_path: str | None, device_id: str, name: str, community: str, gate_id: str,
                       rotate: bool) -> None:
    """Register a gate device; prints its token (shown only this once) and central's public key."""
    from central import ingest, signing

    settings, db = _central_db(config_path)
    if rotate:
        token = ingest.rotate_token(db, device_id)
    else:
        token = ingest.add_device(db, device_id, name=name, community=community, gate_id=gate_id)
    pem = signing.root_public_pem(settings.data_dir)
    click.echo(f"# 设备 {device_id} 已登记 / device {device_id} registered.")
    click.echo("# 令牌只显示这一次 / The token is shown only this once: put these lines into the device's sync.toml")
    click.echo(f'device_token = "{token}"')
    click.echo(f'central_public_key = """\n{pem.strip()}\n"""')


@central_group.command("revoke-device")
@config_option
@click.argument("device_id")
def central_revoke_device(config_path: str | None, device_id: str) -> None:
    """Revoke a device's token: its uploads are refused (401) from now on; its entries stay."""
    from central import ingest

    _, db = _central_db(config_path)
    ingest.revoke_device(db, device_id)
    click.echo(f"设备 {device_id} 已停用 / device {device_id} revoked")


@central_group.command("devices")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def central_devices(config_path: str | None, as_json: bool) -> None:
    """List registered devices with their alarms (clock skew, stale lists, lost entries)."""
    import json
    import time

    from central import ingest, signing

    settings, db = _central_db(config_path)
    rows = ingest.list_devices(db, signing.central_list_version(db), lists_max_age_s=settings.lists_max_age_h * 3600)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("没有登记的设备 / no devices registered")
    now = time.time()
    for r in rows:
        seen = "never" if r["last_seen_at"] is None else f"{now - r['last_seen_at']:.0f} s ago"
        alarms = []
        if r["revoked_at"]:
            alarms.append("REVOKED")
        if r["clock_skewed"]:
            alarms.append(f"clock off by {r['clock_skew_s']:.0f} s")
        if r["lists_behind"]:
            alarms.append(f"lists v{r['list_version']} behind")
        if r["lists_too_old"]:
            alarms.append(f"lists {r['lists_age_s'] / 3600:.0f} h old")
        if r["open_gaps"]:
            alarms.append("entries lost on device: " + ", ".join(f"{a}-{b}" for a, b in r["open_gaps"]))
        alarms.extend(_fault_texts(r["faults"], now))
        click.echo(f"{r['device_id']}\t{r['name']}\tseen {seen}\tseq {r['highest_contiguous_seq']}\t"
                   f"backlog {r['backlog']}\t{'; '.join(alarms) or 'ok'}")


@central_group.command("purge")
@config_option
@click.option("--outbreak-end", is_flag=True,
              help="The outbreak is over: remove all personal data now (anonymous counts stay).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def central_purge(config_path: str | None, outbreak_end: bool, yes: bool) -> None:
    """Remove personal data: past the [retention] limits (what the server does every hour), or all of it at the
    end of an outbreak: visitors' details, who passed, quarantine records that are over, names on passes."""
    import getpass
    import time

    from central import retention

    settings, db = _central_db(config_path)
    now = time.time()
    if not outbreak_end:
        report = retention.purge_expired(db, settings.retention, now)
    else:
        if not yes:
            click.confirm("疫情结束清除：将删除所有访客信息，抹去出入记录中的通行证、户号、人员、体温和备注，删除已结束的"
                          "隔离记录和通行证上的姓名，只保留统计数字。此操作不可撤销，继续吗？\n"
                          "Outbreak-end purge: erase all visitor details, who passed in every entry, quarantine "
                          "records that are over and the names on passes; only the counts stay. This cannot be "
                          "undone. Continue?", abort=True)
        report = retention.purge_outbreak_end(db, f"cli:{getpass.getuser()}", now)
        active = retention.active_quarantines(db, now)
        if active:
            click.echo(f"仍在隔离中的记录已保留：{active} 条（请先在控制台解除）/ {active} quarantine records still "
                       "active were kept (release them in the console first)")
    for line in report.lines():
        click.echo(line)


def _fault_texts(open_faults: list[dict] | None, now: float) -> list[str]:
    """One alarm per open device fault: its plain name (zh-CN / English) and how long it has lasted."""
    from central.faults import fault_name

    out = []
    for f in open_faults or []:
        zh, en = fault_name(f["code"], "zh"), fault_name(f["code"], "en")
        out.append(f"{zh} / {en} ({max(0.0, now - f['started_at']) / 60:.0f} min)")
    return out


def _register_pass_commands() -> None:
    from central.passes.cli import register

    register(central_group)


_register_pass_commands()


def _register_homes_commands() -> None:
    from central.homes_cli import register

    register(central_group)


_register_homes_commands()


def _register_screening_commands() -> None:
    from central.screening_cli import register

    register(central_group)


_register_screening_commands()


def _register_console_commands() -> None:
    from central.console.cli import user_group

    central_group.add_command(user_group)


_register_console_commands()


def _register_enrolment_commands() -> None:
    from central.enrolment_cli import register

    register(central_group)


_register_enrolment_commands()


@central_group.command("install")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"), show_default=True,
              help="Install into this staging root instead of the running system.")
@click.option("--dry-run", is_flag=True, help="Only print what would be done.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address (TLS in a reverse proxy).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Listen TCP port.")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="The street office's time zone.")
@click.option("--admin", default=None, help="Create this first admin account (its password is printed once).")
@click.option("--bin", "bin_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The gatepass executable the units run (default: this one).")
@click.option("--no-start", is_flag=True, help="Enable the services but do not start them now.")
def central_install(root: Path, dry_run: bool, host: str, port: int, timezone: str, admin: str | None,
                            bin_path: Path | None, no_start: bool) -> None:
    """Install the central server: user, directories, config, session secret, units, backup timer, first admin."""
    from central.install import CentralOptions, plan_central_install
    from gatepass.installer import carry_out, default_bin, need_root_for_real

    need_root_for_real(root, dry_run)
    opts = CentralOptions(root=root, bin=bin_path or default_bin(), host=host, port=port, timezone=timezone,
                          admin=admin, start=not no_start)
    carry_out(plan_central_install(opts), dry_run, click.echo)
    if not dry_run:
        click.echo(f"中心服务器已安装，管理后台：http://{host}:{port}/（请在前面用反向代理提供 TLS）/ "
                   f"central installed; console: http://{host}:{port}/ (put TLS in a reverse proxy in front)")
    if not admin:
        click.echo("如还没有管理员账号，请加 --admin 用户名 再运行一次 / without an admin account yet, run it again "
                   "with --admin NAME")


def _register_backup_commands() -> None:
    from central.backup_cli import backup_command, restore_command

    central_group.add_command(backup_command)
    central_group.add_command(restore_command)


_register_backup_commands()
