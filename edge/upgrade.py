"""Upgrading the gate with automatic rollback: ``gatepass edge upgrade VERSION|PATH`` / ``--rollback``.

Layout (inside ``--root``)::

    /opt/gatepass/venv           -> venvs/0.4.1   (the units run /opt/gatepass/venv/bin/gatepass)
    /opt/gatepass/venv-previous  -> venvs/0.4.0   (what --rollback goes back to)
    /opt/gatepass/venvs/0.4.1, venvs/0.4.0        (older ones are deleted: two are kept)

An upgrade is a list of :class:`~gatepass.installer.Step` (``--dry-run`` prints them): the new release is installed
with pip into a NEW virtualenv ``venvs/<version>`` while the gate keeps running, checked as the service user
(``gatepass --version`` names the version, ``gatepass edge run --check-config`` accepts the installed config);
then the services stop, ``edge.db`` is backed up (SQLite's backup API), an install whose ``venv`` is still a plain
directory is moved to ``venvs/<its version>`` (the migration: its scripts keep working through the link), the
``venv`` link is replaced atomically (``os.replace`` of a new symlink) and ``gatepass-edge`` starts. It must reach
READY (``ActiveState=active``: a Type=notify unit is active once it sent READY=1) within ``--ready-timeout``
without restarting (``NRestarts`` stays 0: a crash and an automatic restart count as a failure). Then
``gatepass-sync`` starts again (if it ran before) and venvs beyond two are deleted.

Otherwise the upgrade switches back by itself: services stopped, the link put back, the database handled as below,
the edge started (and checked READY) and the sync too; the failed venv is deleted and the command exits with status
3 and the reason (the last lines of the edge's log).

**The database on rollback.** A new version may migrate ``edge.db`` (sqlite-utils migrations) when it starts. The
backup taken before the switch is restored only if the new version never reached READY and changed no row of any
table the old version had (no entry logged, no shift, nothing synced): then the old version gets back exactly the
database it left, the new version's migrations undone. If anything was written, the database is kept as it is,
never losing an entry, and the old version runs on the newer schema (gatepass's migrations only add tables and
columns, which older code does not read); the backup stays as ``edge.db.before-upgrade`` for a person to look at.
A manual ``--rollback`` never restores the backup (the newer version ran and logged).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from gatepass.clock import SYSTEM, Clock
from gatepass.installer import InstallError, Step, carry_out, need_root_for_real

log = logging.getLogger(__name__)

USER = "gatepass"
EDGE = "gatepass-edge.service"
SYNC = "gatepass-sync.service"
HOME = "/opt/gatepass"
EDGE_CONFIG = "/etc/gatepass/edge.toml"
KEEP = 2  # the current venv and the previous one
ROLLED_BACK = 3  # exit status after an automatic rollback
#: What a version may look like (PEP 440's public versions, no local part): it names a directory.
VERSION_RE = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")
WHEEL_RE = re.compile(r"^gatepass-(?P<version>[^-]+)-.+\.whl$")


class UpgradeError(InstallError):
    """An upgrade cannot be done; nothing was switched."""


class RolledBack(InstallError):
    """The new version did not reach READY: the gate was switched back to the previous one."""


def default_python() -> Path:
    """The interpreter new venvs are made with: the one the running venv was made from (``/usr/bin/python3`` on a
    Pi)."""
    return Path(getattr(sys, "_base_executable", sys.executable))


@dataclass
class UpgradeOptions:
    """What to upgrade to, and where."""

    target: str | None = None  # a version (from the index / --find-links), a wheel, or a directory of wheels
    root: Path = Path("/")
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    python: Path = field(default_factory=default_python)
    ready_timeout_s: float = 120.0
    rollback: bool = False  # switch back to venv-previous by hand
    user: str = USER
    clock: Clock = SYSTEM
    poll_s: float = 0.2

    @property
    def real(self) -> bool:
        """True for the running system: then the services are stopped and started, and checks run as the user."""
        return self.root.resolve() == Path("/")

    def path(self, absolute: str) -> Path:
        """``absolute`` inside the root."""
        return self.root / absolute.lstrip("/")

    @property
    def home(self) -> Path:
        return self.path(HOME)

    @property
    def link(self) -> Path:
        return self.home / "venv"

    @property
    def previous_link(self) -> Path:
        return self.home / "venv-previous"

    @property
    def venvs(self) -> Path:
        return self.home / "venvs"


# -- what to install (pure) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """The release to install: its version and what pip is given."""

    version: str
    pip_args: tuple[str, ...]


def resolve_target(target: str, find_links: tuple[str, ...] = (), no_index: bool = False) -> Release:
    """A version (``0.4.1``), a wheel file or a directory of wheels as a :class:`Release`; :class:`UpgradeError`
    when it is none of those."""
    links = [a for link in find_links for a in ("--find-links", link)]
    path = Path(target)
    if path.is_dir():
        wheels = sorted(p for p in path.glob("gatepass-*.whl") if WHEEL_RE.match(p.name))
        versions = {WHEEL_RE.match(p.name).group("version") for p in wheels}  # type: ignore[union-attr]
        if len(versions) != 1:
            raise UpgradeError(f"{path} 中应有且只有一个版本的 gatepass 轮子，找到 {sorted(versions) or '无'} / {path} "
                               f"must hold the wheels of exactly one gatepass version, found {sorted(versions)}")
        version = versions.pop()
        return Release(_checked_version(version), ("--no-index", "--find-links", str(path.absolute()), *links,
                                                   f"gatepass=={version}"))
    match = WHEEL_RE.match(path.name)
    if match and path.is_file():
        return Release(_checked_version(match.group("version")),
                       (*(("--no-index",) if no_index else ()), *links, str(path.absolute())))
    if match or "/" in target:
        raise UpgradeError(f"找不到 {target} / {target} does not exist", "给出轮子文件、轮子目录或版本号 / "
                           "give a wheel file, a directory of wheels or a version")
    return Release(_checked_version(target), (*(("--no-index",) if no_index else ()), *links, f"gatepass=={target}"))


def _checked_version(version: str) -> str:
    if not VERSION_RE.match(version):
        raise UpgradeError(f"无效的版本号 {version!r} / not a version: {version!r}", "例如 / e.g. 0.4.1")
    return version


def version_from_output(text: str) -> str | None:
    """The version in ``gatepass --version``'s output (``gatepass, version 0.4.1``)."""
    match = re.search(r"version (\S+)", text)
    return match.group(1) if match else None


def venv_version(venv: Path) -> str | None:
    """The gatepass version installed in ``venv`` (from its ``.dist-info``), None when there is none."""
    for info in sorted(venv.glob("lib/python3*/site-packages/gatepass-*.dist-info")):
        version = info.name.removeprefix("gatepass-").removesuffix(".dist-info")
        if VERSION_RE.match(version):
            return version
    return None


# -- the venv links ------------------------------------------------------------------------------------------


def current_venv(opts: UpgradeOptions) -> Path | None:
    """The venv the units run now (``venvs/X`` through the link, or the plain directory of an older install)."""
    if opts.link.is_symlink():
        return opts.home / os.readlink(opts.link)
    return opts.link if opts.link.is_dir() else None


def previous_venv(opts: UpgradeOptions) -> Path | None:
    """The venv ``--rollback`` goes back to (None when there is none)."""
    if opts.previous_link.is_symlink() and (opts.home / os.readlink(opts.previous_link)).is_dir():
        return opts.home / os.readlink(opts.previous_link)
    return None


def point(link: Path, venv: Path) -> None:
    """Make ``link`` a symlink to ``venv`` atomically (a new link renamed over it with ``os.replace``), relative so
    that a staging root works as well."""
    tmp = link.with_name(f".{link.name}.new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(venv, link.parent))
    os.replace(tmp, link)


def migrate_plain_venv(opts: UpgradeOptions) -> Path:
    """An older install's plain-directory ``venv`` moved to ``venvs/<its version>`` and linked back (the services
    are stopped meanwhile); its scripts name ``/opt/gatepass/venv/bin/python``, which the link keeps valid while it
    is the current one. Returns where it went."""
    version = venv_version(opts.link) or time.strftime("old-%Y%m%d%H%M%S")
    dest = opts.venvs / version
    if dest.exists():
        dest = opts.venvs / f"{version}-old"
    opts.venvs.mkdir(parents=True, exist_ok=True)
    os.rename(opts.link, dest)
    try:
        point(opts.link, dest)
    except OSError:
        os.rename(dest, opts.link)
        raise
    return dest


def switch(opts: UpgradeOptions, new: Path, old: Path) -> None:
    """``venv`` -> ``new`` and ``venv-previous`` -> ``old``, each replaced atomically."""
    point(opts.previous_link, old)
    point(opts.link, new)


def prune(opts: UpgradeOptions) -> list[Path]:
    """Delete the venvs other than the current and the previous one; returns the deleted ones."""
    keep = {p.resolve() for p in (current_venv(opts), previous_venv(opts)) if p is not None}
    gone = []
    for venv in sorted(opts.venvs.iterdir()) if opts.venvs.is_dir() else []:
        if venv.is_dir() and venv.resolve() not in keep:
            shutil.rmtree(venv)
            gone.append(venv)
    return gone


# -- the database (see the module's docstring for the policy) -----------------------------------------------


def edge_db_path(opts: UpgradeOptions) -> Path:
    """The edge database the installed config names (``/var/lib/gatepass/edge.db`` when it cannot be read)."""
    from edge.settings import EdgeSettings
    from gatepass.config import load_settings

    config = opts.path(EDGE_CONFIG)
    try:
        db_path = load_settings(EdgeSettings, str(config)).db_path if config.exists() else None
    except Exception as exc:  # noqa: BLE001 - the check step reports a broken config; the default is right then
        log.warning("cannot read %s (%s); assuming the default data directory", config, exc)
        db_path = None
    return opts.path(str(db_path or "/var/lib/gatepass/edge.db"))


def fingerprint(db_path: Path) -> dict[str, tuple[int, int]]:
    """Rows per table: ``{table: (count, max rowid)}``, to tell whether anything was written since a backup."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        out = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            try:
                row = conn.execute(f"SELECT count(*), coalesce(max(rowid), 0) FROM {quoted}").fetchone()
            except sqlite3.OperationalError:  # a WITHOUT ROWID table
                row = (conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0], 0)
            out[table] = (int(row[0]), int(row[1]))
        return out
    finally:
        conn.close()
        _match_owner(db_path)


def unchanged_since(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> bool:
    """Whether every table the backup had holds the same rows (count and last rowid); tables added since (a new
    version's migrations) do not count as writes."""
    return all(after.get(table) == rows for table, rows in before.items())


def copy_db(source: Path, dest: Path) -> None:
    """Copy an SQLite database with its backup API (consistent, whatever sits in the WAL); ``dest`` keeps or takes
    the source's owner and is never readable by others (it holds PIN hashes and personal data)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(dest, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(dest, 0o600)
    st = source.stat()
    for path in (source, dest):
        _match_owner(path, (st.st_uid, st.st_gid))


def _match_owner(db_path: Path, ids: tuple[int, int] | None = None) -> None:
    """Give ``db_path`` and its -wal/-shm files the database's owner (opened as root, SQLite may make them)."""
    if ids is None:
        st = db_path.stat()
        ids = (st.st_uid, st.st_gid)
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        try:
            if path.exists() and (path.stat().st_uid, path.stat().st_gid) != ids:
                os.chown(path, *ids)
        except PermissionError:
            log.warning("not allowed to give %s back to uid %d", path, ids[0])


# -- systemd -------------------------------------------------------------------------------------------------


def _run(argv: list[str], what: str, timeout_s: float = 1800.0) -> str:
    """Run a tool; its output, or :class:`UpgradeError` with its last lines."""
    log.debug("running %s", argv)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, umask=0o022, cwd="/",
                              env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpgradeError(f"{what}失败 / {what} failed: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr.strip() or proc.stdout.strip()).splitlines()[-8:])
        raise UpgradeError(f"{what}失败 / {what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def systemctl(*args: str) -> str:
    """``systemctl ARGS``; :class:`UpgradeError` when it fails."""
    return _run(["systemctl", *args], f"systemctl {' '.join(args)} ", timeout_s=120)


def show(unit: str, *props: str) -> dict[str, str]:
    """Unit properties (``systemctl show -p``)."""
    out = systemctl("show", unit, "-p", ",".join(props))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def unit_output_file(unit: str) -> str | None:
    """The file the unit's ``StandardOutput=file:|append:|truncate:`` names (``systemctl show`` gives only the kind):
    the last such line of ``systemctl cat``, drop-ins included. None: the journal."""
    value = ""
    for line in systemctl("cat", unit).splitlines():
        if line.strip().startswith("StandardOutput="):
            value = line.strip().split("=", 1)[1].strip()
    kind, _, path = value.partition(":")
    return path if kind in ("file", "append", "truncate") and path else None


def unit_log_tail(opts: UpgradeOptions, unit: str = EDGE, lines: int = 12) -> str:
    """The last lines the unit wrote: its output file when it has one, else its journal."""
    try:
        path = unit_output_file(unit)
    except UpgradeError as exc:
        log.debug("%s", exc)
        path = None
    if path:
        try:
            return "\n".join(opts.path(path).read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"({path}: {exc})"
    try:
        return _run(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "cat"], "journalctl",
                    timeout_s=60).strip()
    except UpgradeError as exc:
        return str(exc)


@dataclass
class Verdict:
    """How a start went: READY or not, whether READY was ever reached, and why not in words."""

    ready: bool
    reached_ready: bool = False
    why: str = ""


def wait_ready(opts: UpgradeOptions, settle_s: float = 5.0) -> Verdict:
    """Watch the edge after its start: READY (active/running) within ``ready_timeout_s`` and still so ``settle_s``
    later without an automatic restart (``NRestarts`` 0 since the start: a restart loop is a failure)."""
    deadline = opts.clock.monotonic() + opts.ready_timeout_s
    ready_since: float | None = None
    while True:
        props = show(EDGE, "ActiveState", "SubState", "NRestarts", "Result", "ExecMainStatus")
        now = opts.clock.monotonic()
        restarts = int(props.get("NRestarts") or 0)
        if restarts or props.get("ActiveState") == "failed" or props.get("SubState") == "auto-restart":
            return Verdict(False, ready_since is not None,
                           f"{EDGE} 启动后退出（Result={props.get('Result')}，退出码 {props.get('ExecMainStatus')}，"
                           f"已自动重启 {restarts} 次）/ exited after its start (Result={props.get('Result')}, exit "
                           f"status {props.get('ExecMainStatus')}, restarted {restarts} time(s))")
        if props.get("ActiveState") == "active" and props.get("SubState") == "running":
            ready_since = now if ready_since is None else ready_since
            if now - ready_since >= settle_s:
                return Verdict(True, True)
        elif ready_since is not None:
            return Verdict(False, True, f"{EDGE} 就绪后停止（{props.get('ActiveState')}）/ stopped after READY "
                                        f"({props.get('ActiveState')})")
        if now > deadline and ready_since is None:
            return Verdict(False, False, f"{EDGE} 在 {opts.ready_timeout_s:g} 秒内未就绪（{props.get('ActiveState')}"
                                         f"/{props.get('SubState')}）/ not READY within {opts.ready_timeout_s:g} s "
                                         f"({props.get('ActiveState')}/{props.get('SubState')})")
        time.sleep(opts.poll_s)


def start_services(opts: UpgradeOptions, with_sync: bool, say: Callable[[str], None]) -> Verdict:
    """Start the edge (its restart counter and start limit cleared first), wait for READY, then the sync."""
    _reset_failed(EDGE)  # a restart loop may have hit StartLimitBurst; also zeroes NRestarts
    systemctl("start", "--no-block", EDGE)
    verdict = wait_ready(opts)
    if verdict.ready:
        say(f"    {EDGE} 已就绪 / is READY")
        if with_sync:
            _reset_failed(SYNC)
            systemctl("start", SYNC)
            say(f"    {SYNC} 已启动 / started")
    return verdict


def _reset_failed(unit: str) -> None:
    """``systemctl reset-failed UNIT``; a unit systemd has unloaded meanwhile (stopped cleanly) has nothing to
    reset."""
    try:
        systemctl("reset-failed", unit)
    except UpgradeError as exc:
        log.debug("%s", exc)


def stop_services() -> None:
    """Stop the sync and the edge (the edge database is then idle)."""
    systemctl("stop", SYNC, EDGE)


# -- the plan --------------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """What the steps of one upgrade learn and hand on."""

    new: Path
    old: Path
    prior_previous: Path | None
    db_path: Path
    sync_was_active: bool = False
    backup: Path | None = None
    before: dict[str, tuple[int, int]] | None = None


def plan_upgrade(opts: UpgradeOptions, say: Callable[[str], None] = click.echo) -> list[Step]:
    """Every step of an upgrade (or of ``--rollback``), in order; :class:`UpgradeError` when it cannot start."""
    old = current_venv(opts)
    if old is None:
        raise UpgradeError(f"{opts.link} 处没有已安装的 gatepass / no gatepass installed at {opts.link}",
                           "先用 'gatepass edge install' 安装 / install it first ('gatepass edge install')")
    if opts.rollback:
        return _plan_rollback(opts, old, say)
    release = resolve_target(opts.target or "", opts.find_links, opts.no_index)
    if venv_version(old) == release.version:
        raise UpgradeError(f"已经是 {release.version} 版 / {release.version} is already the running version")
    run = _Run(new=opts.venvs / release.version, old=old, prior_previous=previous_venv(opts),
               db_path=edge_db_path(opts))
    steps = _install_steps(opts, release, run)
    if opts.real:
        steps.append(Step(f"停止 {SYNC} 和 {EDGE} / stop {SYNC} and {EDGE}", lambda: _stop(run)))
    steps.append(Step(f"备份 {run.db_path} 到 {_backup_path(run)} / back up the edge database (SQLite backup)",
                      _while_stopped(opts, run, lambda: _backup(run), say)))
    if not opts.link.is_symlink():
        was = venv_version(opts.link) or "old"
        steps.append(Step(f"旧安装：把目录 {opts.link} 移到 {opts.venvs / was} 并改为链接 / older install: move the "
                          f"plain directory {opts.link} to {opts.venvs / was} and link it there",
                          _while_stopped(opts, run, lambda: setattr(run, "old", migrate_plain_venv(opts)), say)))
    steps.append(Step(f"切换 {opts.link} -> {run.new}（原子替换）/ switch {opts.link} to {run.new} atomically",
                      _while_stopped(opts, run, lambda: switch(opts, run.new, run.old), say)))
    if opts.real:
        steps.append(Step(f"启动 {EDGE}，{opts.ready_timeout_s:g} 秒内须就绪，否则自动切回 / start {EDGE}: READY "
                          f"within {opts.ready_timeout_s:g} s or switch back by itself; then {SYNC}",
                          lambda: _start_or_roll_back(opts, run, say)))
    steps.append(Step(f"只保留当前和上一个虚拟环境 / keep the current and the previous venv, delete older ones in "
                      f"{opts.venvs}", lambda: _prune(opts, say)))
    return steps


def _while_stopped(opts: UpgradeOptions, run: _Run, action: Callable[[], None],
                   say: Callable[[str], None]) -> Callable[[], None]:
    """A step done while the services are stopped: if it fails, the link goes back to the old venv and the services
    start again before the error is raised (the gate is never left stopped)."""
    def guarded() -> None:
        try:
            action()
        except Exception:
            say("    出错：切回旧版本并重新启动服务 / failed: back to the old version, starting the services again")
            if run.old != opts.link:  # the old venv is under venvs/ (not a plain directory left in place)
                point(opts.link, run.old)
            if opts.real:
                start_services(opts, run.sync_was_active, say)
            raise

    return guarded


def _install_steps(opts: UpgradeOptions, release: Release, run: _Run) -> list[Step]:
    """Make the new venv, pip-install the release, check it as the service user (the gate keeps running)."""
    new = run.new
    as_user = ["runuser", "-u", opts.user, "--"] if opts.real and os.geteuid() == 0 else []
    gatepass = [str(new / "bin" / "python"), str(new / "bin" / "gatepass")]  # not through the script's shebang
    who = (f" {opts.user} 用户", f"the {opts.user} user") if as_user else ("当前用户", "the current user")
    config = str(opts.path(EDGE_CONFIG))  # the installed config (in a staging root: the root's)

    def make_venv() -> None:
        if new.exists():  # a failed attempt's leftover, or an older copy of this version (not the current one)
            shutil.rmtree(new)
        new.parent.mkdir(parents=True, exist_ok=True)
        _run([str(opts.python), "-m", "venv", str(new)], "创建虚拟环境 / creating the venv")

    def install() -> None:
        try:
            _run([str(new / "bin" / "python"), "-m", "pip", "install", "--quiet", *release.pip_args],
                 f"安装 gatepass {release.version} / installing gatepass {release.version}")
        except UpgradeError:
            shutil.rmtree(new, ignore_errors=True)
            raise

    def check() -> None:
        try:
            said = version_from_output(_run([*as_user, *gatepass, "--version"], "gatepass --version"))
            if said != release.version:
                raise UpgradeError(f"新环境报告版本 {said}，应为 {release.version} / the new venv says version "
                                   f"{said}, not {release.version}")
            _run([*as_user, *gatepass, "edge", "run", "--check-config", "--config", config],
                 "配置检查 / edge run --check-config")
        except UpgradeError:
            shutil.rmtree(new, ignore_errors=True)
            raise

    return [Step(f"用 {opts.python} 创建新虚拟环境 {new} / create the venv {new} with {opts.python}", make_venv),
            Step(f"安装 / install: pip install {' '.join(release.pip_args)}", install),
            Step(f"以{who[0]}身份检查新版本（--version 与 edge run --check-config --config {config}）/ "
                 f"check it as {who[1]}: --version and edge run --check-config", check)]


def _backup_path(run: _Run) -> Path:
    return run.db_path.with_name(run.db_path.name + ".before-upgrade")


def _stop(run: _Run) -> None:
    run.sync_was_active = show(SYNC, "ActiveState").get("ActiveState") in ("active", "activating", "reloading")
    stop_services()


def _backup(run: _Run) -> None:
    if not run.db_path.exists():
        log.info("no edge database at %s yet: nothing to back up", run.db_path)
        return
    run.backup = _backup_path(run)
    copy_db(run.db_path, run.backup)
    run.before = fingerprint(run.backup)


def _prune(opts: UpgradeOptions, say: Callable[[str], None]) -> None:
    for venv in prune(opts):
        say(f"    已删除 / deleted {venv}")


def _start_or_roll_back(opts: UpgradeOptions, run: _Run, say: Callable[[str], None], by_hand: bool = False) -> None:
    """Start the new version; when it does not reach READY, switch back, start the old one and raise
    :class:`RolledBack` with the reason. The failed venv is deleted, unless ``by_hand`` (``--rollback``: it is the
    previous one again, and the database is never restored)."""
    verdict = start_services(opts, run.sync_was_active, say)
    if verdict.ready:
        return
    reason = f"{verdict.why}\n{EDGE} 的最后几行日志 / the last lines of its log:\n{unit_log_tail(opts)}"
    say(f"    新版本未就绪，正在切回 {run.old.name} / the new version is not READY: switching back to {run.old.name}")
    stop_services()
    say("    " + _database_on_rollback(run, verdict))
    point(opts.link, run.old)
    if run.prior_previous is not None:
        point(opts.previous_link, run.prior_previous)
    else:
        opts.previous_link.unlink(missing_ok=True)
    again = start_services(opts, run.sync_was_active, say)
    if not by_hand:
        shutil.rmtree(run.new, ignore_errors=True)
    if not again.ready:
        raise UpgradeError(f"已切回 {run.old.name}，但它也未就绪 / switched back to {run.old.name} but it is not "
                           f"READY either: {again.why}\n{unit_log_tail(opts)}\n(the upgrade failed because: {reason})",
                           "查看 journalctl -u gatepass-edge / see journalctl -u gatepass-edge")
    raise RolledBack(f"升级到 {run.new.name} 失败，已自动切回 {run.old.name}（已就绪）/ upgrade to {run.new.name} "
                     f"failed: switched back to {run.old.name} (READY)\n原因 / reason: {reason}")


def _database_on_rollback(run: _Run, verdict: Verdict) -> str:
    """Restore the pre-upgrade backup when the new version never reached READY and wrote no row; say what was
    done."""
    if run.backup is None or run.before is None:
        return "数据库保持不变 / the database is kept as it is"
    if not run.db_path.exists():
        copy_db(run.backup, run.db_path)
        return f"已从备份恢复 {run.db_path} / restored {run.db_path} from the backup"
    if verdict.reached_ready or not unchanged_since(run.before, fingerprint(run.db_path)):
        return (f"新版本已写入数据，保留当前数据库（不丢记录），备份留在 {run.backup} / the new version wrote to "
                f"{run.db_path}: kept as it is (no entry lost); the backup stays at {run.backup}")
    copy_db(run.backup, run.db_path)
    return (f"新版本未写入任何记录：已从备份恢复 {run.db_path}（撤销其迁移）/ the new version wrote nothing: "
            f"{run.db_path} restored from the backup (its migrations undone)")


def _plan_rollback(opts: UpgradeOptions, current: Path, say: Callable[[str], None]) -> list[Step]:
    """``--rollback``: back to ``venv-previous`` (the database kept: the newer version ran), with the same watch."""
    previous = previous_venv(opts)
    if previous is None:
        raise UpgradeError(f"没有可回退的上一个版本（{opts.previous_link}）/ no previous version to go back to "
                           f"({opts.previous_link})")
    run = _Run(new=previous, old=current, prior_previous=previous, db_path=edge_db_path(opts))
    steps = []
    if opts.real:
        steps.append(Step(f"停止 {SYNC} 和 {EDGE} / stop {SYNC} and {EDGE}", lambda: _stop(run)))
    steps.append(Step(f"切换 {opts.link} -> {previous}，{opts.link.name}-previous -> {current}（数据库保持不变）/ "
                      f"switch {opts.link} to {previous} (the database is kept)",
                      lambda: switch(opts, previous, current)))
    if opts.real:
        steps.append(Step(f"启动 {EDGE}，须就绪，否则切回 {current.name} / start {EDGE}: READY or back to "
                          f"{current.name}", lambda: _start_or_roll_back(opts, run, say, by_hand=True)))
    return steps


# -- the command (registered on ``gatepass edge`` by edge/cli.py) ----------------------------------------------


@click.command("upgrade")
@click.argument("target", required=False)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"), show_default=True,
              help="Work on this staging root instead of the running system (no service is touched).")
@click.option("--dry-run", is_flag=True, help="Only print what would be done.")
@click.option("--ready-timeout", type=click.FloatRange(5, 3600), default=120.0, show_default=True,
              help="Seconds the new version has to reach READY before the gate switches back.")
@click.option("--find-links", multiple=True, help="A wheelhouse (directory or URL) for pip; may be repeated.")
@click.option("--no-index", is_flag=True, help="Do not ask the package index (only --find-links).")
@click.option("--python", "python", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The interpreter for the new venv (default: the one this venv was made from).")
@click.option("--rollback", is_flag=True, help="Go back to the previous version (kept by the last upgrade).")
def upgrade_command(target: str | None, root: Path, dry_run: bool, ready_timeout: float, find_links: tuple[str, ...],
                    no_index: bool, python: Path | None, rollback: bool) -> None:
    """Install VERSION (from the index or --find-links) or PATH (a wheel or a directory of wheels) into a new venv,
    switch to it and switch back by itself if the edge does not reach READY (exit status 3)."""
    if (target is None) != rollback:
        raise click.UsageError("给出 VERSION|PATH 或 --rollback 之一 / give VERSION|PATH or --rollback")
    need_root_for_real(root, dry_run)
    opts = UpgradeOptions(target=target, root=root.absolute(), find_links=find_links, no_index=no_index,
                          ready_timeout_s=ready_timeout, rollback=rollback)
    if python is not None:
        opts.python = python
    steps = plan_upgrade(opts)
    try:
        carry_out(steps, dry_run, click.echo)
    except RolledBack as exc:
        click.echo(f"gatepass: {exc}", err=True)
        raise click.exceptions.Exit(ROLLED_BACK) from exc
    if not dry_run:
        now = current_venv(opts)
        click.echo(f"完成：{opts.link} -> {now}（上一个 / previous: {previous_venv(opts)}）/ done")
