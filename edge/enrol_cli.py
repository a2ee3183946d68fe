"""``gatepass edge enroll``: enrol this gate with central (registered on ``gatepass edge`` by edge/cli.py).

By hand (``sudo gatepass edge enroll --central URL``) it prints the code, a QR of central's approve URL and the
URL, waits for staff to approve it (Ctrl-C safe: run it again before the code expires to resume the same one)
and writes the token, central's key and the gate profile (see :mod:`edge.enrol`). With ``--screen`` it runs
as ``gatepass-enrol.service`` on a gate installed without a token: the code is shown on the guard screen, a new
one is asked for when it expires, and once approved the services named by ``--then-restart`` are restarted so
they start with their new credentials.
"""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import click

from edge.enrol import (
    EnrolClient,
    EnrolError,
    Enroller,
    EnrolPaths,
    Offer,
    ScreenState,
    Stopped,
    install_result,
    previous_device_id,
    screen_writer,
    write_screen,
)
from gatepass.clickutil import config_option
from gatepass.config import read_toml

DEFAULT_CONFIG_DIR = Path("/etc/gatepass")


def _paths(config_path: str | None) -> EnrolPaths:
    """The enrolment paths for the edge config at ``config_path`` (its folder holds the credentials)."""
    from edge.settings import EdgeSettings
    from gatepass.config import load_settings

    settings = load_settings(EdgeSettings, config_path)
    config_dir = Path(config_path).absolute().parent if config_path else DEFAULT_CONFIG_DIR
    return EnrolPaths(config_dir=config_dir, data_dir=settings.data_dir, profile=settings.enrolled_profile)


def _central_from_sync_toml(paths: EnrolPaths) -> str:
    sync_toml = paths.config_dir / "sync.toml"
    url = read_toml(sync_toml).get("central_url") if sync_toml.exists() else None
    if not isinstance(url, str) or not url:
        raise click.UsageError(f"请用 --central 指定中心服务器地址 / give --central URL ({sync_toml} names none)")
    return url


class TerminalView:
    """Prints each new code (with a QR and the approve URL) and each status change, once."""

    def __init__(self) -> None:
        self.last: tuple[str | None, str] | None = None

    def __call__(self, state: ScreenState) -> None:
        key = (state.code, state.status)
        if key == self.last:
            return
        self.last = key
        if state.status == "waiting" and state.code:
            self._code(state)
        else:
            click.echo(f"{state.message_zh} / {state.message_en}")

    @staticmethod
    def _code(state: ScreenState) -> None:
        import segno

        until = time.strftime("%H:%M", time.localtime(state.expires_at or 0))
        click.echo(f"\n接入码 / enrolment code:  {state.code}   （{until} 前有效 / valid until {until}）")
        if state.approve_url:
            out = io.StringIO()
            segno.make(state.approve_url, error="m").terminal(out=out, compact=True)
            click.echo(out.getvalue())
            click.echo(f"批准地址 / approve at: {state.approve_url}")
        click.echo(f"{state.message_zh}\n{state.message_en}\n等待批准…（Ctrl-C 可中断，到期前再次运行会继续同一接入码）"
                   " / waiting for approval... (Ctrl-C is safe: run again before expiry to resume)")


def _restart(units: tuple[str, ...]) -> None:
    if units:
        subprocess.run(["systemctl", "reset-failed", *units], check=False, capture_output=True)
        subprocess.run(["systemctl", "restart", *units], check=True, timeout=120)


def _finish(paths: EnrolPaths, offer: Offer, approved, screen: bool, show_s: float) -> None:
    install_result(paths, offer, approved, time.time())
    gate = approved.gate
    click.echo(f"已接入：设备 {approved.device_id}，{gate.community} / {gate.gate_name}（{gate.gate_id}）"
               f" / enrolled as device {approved.device_id}, gate {gate.gate_id}")
    click.echo(f"中心密钥指纹 / central key fingerprint: {approved.central_key_fingerprint}"
               "  （请与管理后台显示的核对 / compare with the one the console shows）")
    click.echo(f"写入 / wrote: {paths.token} (0600), {paths.public_key}, {paths.profile}")
    if screen:
        write_screen(paths, ScreenState(
            status="approved", fingerprint=approved.central_key_fingerprint, central_url=offer.central_url,
            message_zh=f"已接入：{gate.gate_name}。正在启动，请稍候…",
            message_en=f"Enrolled as {gate.gate_name}. Starting, please wait...", updated_at=time.time()))
        time.sleep(show_s)


@click.command("enroll")
@config_option
@click.option("--central", "central_url", default=None,
              help="Central server URL (default: central_url of sync.toml next to the config).")
@click.option("--screen", is_flag=True, help="Show the code on the guard screen instead of the terminal "
              "(gatepass-enrol.service).")
@click.option("--then-restart", "units", multiple=True, help="Restart these systemd units once enrolled.")
@click.option("--show-s", type=click.FloatRange(0, 600), default=15.0, show_default=True,
              help="With --screen: how long the screen shows the result before the restart (seconds).")
@click.option("--again", is_flag=True, help="Enrol again although this gate already has a device token.")
def enroll_command(config_path: str | None, central_url: str | None, screen: bool, units: tuple[str, ...],
                   show_s: float, again: bool) -> None:
    """Enrol this gate with central: show a code, wait for staff to approve it, write token, key and profile."""
    paths = _paths(config_path)
    if paths.token.exists() and not again:
        raise click.ClickException(f"本设备已有设备令牌（{paths.token}）；要重新接入请加 --again / this gate already "
                                   f"has a device token ({paths.token}); add --again to enrol it again")
    client = EnrolClient(central_url or _central_from_sync_toml(paths))
    previous = previous_device_id(paths, Path(config_path) if config_path else DEFAULT_CONFIG_DIR / "edge.toml")
    enroller = Enroller(client, paths, screen_writer(paths) if screen else TerminalView(), previous=previous)
    if not screen:
        click.echo(f"中心 / central: {client.central_url}; 原设备 / previous device: {previous or '-'}")
    try:
        offer, approved = enroller.run()
    except (KeyboardInterrupt, Stopped):
        click.echo("\n已暂停；接入码到期前再次运行本命令即可继续 / paused; run this command again before the code "
                   "expires to resume it", err=True)
        raise click.exceptions.Exit(130) from None
    except EnrolError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    _finish(paths, offer, approved, screen, show_s)
    if units:
        _restart(units)
    elif not screen:
        click.echo("下一步 / next: sudo systemctl restart gatepass-edge gatepass-sync")

