"""``gatepass central user add|passwd|list``: staff accounts of the console."""

from __future__ import annotations

import sys

import click

from gatepass.clickutil import config_option


def _db(config_path: str | None):
    from central.db import open_db
    from central.settings import CentralSettings
    from gatepass.config import load_settings

    settings = load_settings(CentralSettings, config_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    return open_db(settings.db_target)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password / 密码", hide_input=True, confirmation_prompt=True)


@click.group("user")
def user_group() -> None:
    """Staff accounts of the web console (roles: admin, staff, viewer)."""


@user_group.command("add")
@config_option
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "staff", "viewer"]), default="staff", show_default=True,
              help="admin: devices, users, keys; staff: passes, quarantine, reports, tracing; viewer: read-only.")
@click.option("--name", "display_name", default="", help="Name shown in the console and the audit log.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_add(config_path: str | None, username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a staff account."""
    from central.console import auth

    db = _db(config_path)
    auth.add_user(db, username, _password(password_stdin), role, display_name)
    click.echo(f"user {username} added ({role})")


@user_group.command("passwd")
@config_option
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_passwd(config_path: str | None, username: str, password_stdin: bool) -> None:
    """Set a new password (signs the user out everywhere)."""
    from central.console import auth

    db = _db(config_path)
    auth.set_password(db, username, _password(password_stdin))
    click.echo(f"password of {username} changed")


@user_group.command("list")
@config_option
def user_list(config_path: str | None) -> None:
    """List staff accounts."""
    from central.console import auth

    for u in auth.list_users(_db(config_path)):
        state = "disabled" if u["disabled"] else "active"
        click.echo(f"{u['username']:<20} {u['role']:<7} {state:<8} {u['display_name']}")


@user_group.command("unlock")
@config_option
@click.argument("username")
def user_unlock(config_path: str | None, username: str) -> None:
    """End a user's sign-in wait after failed sign-ins (audited). Waits of client addresses end by themselves
    after 15 minutes, or at once with the unlock button on the console's staff page."""
    import getpass

    from central.console import audit, signin

    db = _db(config_path)
    had = signin.unlock(db, username)
    audit.record(db, f"cli:{getpass.getuser()}", "cli", "unlock_user", "", target=username, had_wait=had)
    if had:
        click.echo(f"已解除 {username} 的登录等待 / sign-in wait of {username} ended")
    else:
        click.echo(f"{username} 没有登录等待 / {username} had no sign-in wait")
