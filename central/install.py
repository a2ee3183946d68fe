"""Installing the central server on a Debian 12 machine: ``gatepass central install``.

Like ``gatepass edge install`` (:mod:`gatepass.installer`): every step is planned first, ``--dry-run`` prints them,
``--root DIR`` does them inside a staging root. What it installs (paths relative to the root):

- ``/usr/lib/sysusers.d/gatepass-central.conf`` and the ``gatepass-central`` user
- ``/etc/gatepass-central/`` (0755) with ``central.toml`` (0640, group gatepass-central; never overwritten) and
  ``credentials/`` (0700) holding a new random ``session-secret`` (0600 from its first byte; kept if present;
  systemd hands it over as a credential, never in a config file)
- ``/var/lib/gatepass-central`` (0700, owned by gatepass-central: the database and its backups hold personal
  data; the units keep that mode with ``StateDirectoryMode=0700``) with the database and, with ``--admin NAME``,
  the first admin account (its password is generated, meets :mod:`central.console.passwords` and is printed
  once); the database and its -wal/-shm files are 0600
- ``gatepass-central.service``, ``gatepass-central-backup.service`` and ``.timer`` (ExecStart rewritten to this
  installation's ``gatepass``), the service and the nightly backup timer enabled (and started on a real system)
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import click

from central.console import auth, passwords
from central.db import open_db
from gatepass.installer import (
    InstallError,
    Step,
    default_bin,
    give_to,
    lookup_ids,
    render_unit,
    run_command,
    write_file,
)
from gatepass.resources import systemd_dir

log = logging.getLogger(__name__)

USER = "gatepass-central"
SYSUSERS = "gatepass-central.conf"
UNITS = ("gatepass-central.service", "gatepass-central-backup.service", "gatepass-central-backup.timer")
ENABLED = ("gatepass-central.service", "gatepass-central-backup.timer")
CONFIG_DIR = "/etc/gatepass-central"
DATA_DIR = "/var/lib/gatepass-central"


@dataclass
class CentralOptions:
    """What to install and where."""

    root: Path = Path("/")
    bin: Path = field(default_factory=default_bin)
    source: Path = field(default_factory=systemd_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"
    admin: str | None = None
    start: bool = True

    @property
    def real(self) -> bool:
        """True when installing into the running system (not a staging root)."""
        return self.root.resolve() == Path("/")

    def path(self, absolute: str) -> Path:
        """``absolute`` inside the root."""
        return self.root / absolute.lstrip("/")


def _root_arg(opts: CentralOptions) -> list[str]:
    return [] if opts.real else [f"--root={opts.root}"]


def central_toml(opts: CentralOptions) -> str:
    """The config file (TOML): where the data lives, where the server listens, the time zone."""
    return (f'# gatepass central (gatepass central serve --config {CONFIG_DIR}/central.toml)\n'
            f'data_dir = "{DATA_DIR}"\nhost = "{opts.host}"\nport = {opts.port}\ntimezone = "{opts.timezone}"\n'
            '# database_url: a PostgreSQL URL for a city (put it in credentials/database-url instead when it holds\n'
            '# a password); empty: SQLite in data_dir\n')


def plan_central_install(opts: CentralOptions) -> list[Step]:
    """Every step of a central installation, in order."""
    if not (opts.source / UNITS[0]).exists():
        raise InstallError(f"unit files not found in {opts.source}", "reinstall gatepass (its package data is missing)")
    if not opts.bin.exists():
        raise InstallError(f"{opts.bin} does not exist", "pass --bin with the installed gatepass executable")
    return [*_user_and_dir_steps(opts), *_config_steps(opts), *_unit_steps(opts), *_service_steps(opts)]


def _create_user(opts: CentralOptions) -> None:
    sysusers = opts.path(f"/usr/lib/sysusers.d/{SYSUSERS}")
    write_file(sysusers, (opts.source / "sysusers.d" / SYSUSERS).read_text(), 0o644)
    opts.path("/etc").mkdir(parents=True, exist_ok=True)
    run_command(["systemd-sysusers", *_root_arg(opts), str(sysusers)])


def _make_dirs(opts: CentralOptions) -> None:
    for path, mode in ((CONFIG_DIR, 0o755), (f"{CONFIG_DIR}/credentials", 0o700), (DATA_DIR, 0o700)):
        opts.path(path).mkdir(parents=True, exist_ok=True)
        opts.path(path).chmod(mode)
    give_to(opts.root, opts.path(DATA_DIR), USER)


def _user_and_dir_steps(opts: CentralOptions) -> list[Step]:
    return [Step(f"create user {USER} from /usr/lib/sysusers.d/{SYSUSERS}", functools.partial(_create_user, opts)),
            Step(f"create {opts.path(CONFIG_DIR)}, its credentials/ (0700) and {opts.path(DATA_DIR)} (0700)",
                 functools.partial(_make_dirs, opts))]


def _write_config(opts: CentralOptions) -> None:
    target = opts.path(f"{CONFIG_DIR}/central.toml")
    if target.exists():
        log.info("keeping the existing %s", target)
        return
    write_file(target, central_toml(opts), 0o640)
    _group_readable(opts, target)


def _group_readable(opts: CentralOptions, path: Path) -> None:
    """Let the service's group read ``path`` (mode 0640, owner kept); a warning when that is not possible."""
    ids = lookup_ids(opts.root, USER)
    if ids is None:
        log.warning("user %s not found in %s; %s stays readable by its owner only", USER, opts.root, path)
        return
    try:
        os.chown(path, -1, ids[1])
    except PermissionError:
        log.warning("not allowed to give %s to the group of %s (run as root)", path, USER)


def _write_secret(opts: CentralOptions) -> None:
    target = opts.path(f"{CONFIG_DIR}/credentials/session-secret")
    if target.exists():
        log.info("keeping the existing %s", target)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target.with_name(target.name + ".tmp"), os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:  # owner-only from the first byte (no chmod afterwards)
        fh.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    os.replace(target.with_name(target.name + ".tmp"), target)


def _add_admin(opts: CentralOptions, admin: str) -> None:
    db_path = opts.path(f"{DATA_DIR}/central.db")
    db = open_db(str(db_path))
    try:
        password = passwords.generate([admin])
        auth.add_user(db, admin, password, "admin", admin)
    finally:
        db.close()
    for made in sorted(db_path.parent.glob("central.db*")):
        give_to(opts.root, made, USER)
    click.echo(f"# 管理员 {admin} 的初始密码（只显示这一次）/ the first password of {admin} (shown once): {password}")


def _config_steps(opts: CentralOptions) -> list[Step]:
    steps = [Step(f"write {opts.path(CONFIG_DIR + '/central.toml')} (kept if it exists)",
                  functools.partial(_write_config, opts)),
             Step(f"make a random session secret in {opts.path(CONFIG_DIR + '/credentials/session-secret')} (0600, "
                  "kept if it exists)", functools.partial(_write_secret, opts))]
    if opts.admin:
        steps.append(Step(f"create the database and the first admin account {opts.admin!r}",
                          functools.partial(_add_admin, opts, opts.admin)))
    return steps


def _write_unit(opts: CentralOptions, unit: str) -> None:
    write_file(opts.path("/etc/systemd/system") / unit, render_unit((opts.source / unit).read_text(), opts.bin), 0o644)


def _unit_steps(opts: CentralOptions) -> list[Step]:
    units_dir = opts.path("/etc/systemd/system")
    return [Step(f"install {units_dir / unit} (ExecStart={opts.bin})", functools.partial(_write_unit, opts, unit))
            for unit in UNITS]


def _service_steps(opts: CentralOptions) -> list[Step]:
    steps = []
    if opts.real:
        steps.append(Step("reload systemd", functools.partial(run_command, ["systemctl", "daemon-reload"])))
    steps.append(Step(f"enable {', '.join(ENABLED)}",
                      functools.partial(run_command, ["systemctl", *_root_arg(opts), "enable", *ENABLED])))
    if opts.real and opts.start:
        steps.append(Step(f"start {', '.join(ENABLED)}",
                          functools.partial(run_command, ["systemctl", "restart", *ENABLED])))
    return steps
