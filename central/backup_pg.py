"""Backups and restore of a central kept in PostgreSQL (``database_url``), with Debian's ``pg_dump``/``pg_restore``.

``backup`` runs ``pg_dump --format=custom`` (one consistent snapshot while the server keeps writing) into a
``.partial`` file, checks it with ``pg_restore --list``, fsyncs it and only then renames it to
``central-YYYY-MM-DD.pgdump`` (one per local day; a second run the same day replaces it). The newest ``keep``
dumps stay; older ones are deleted (SQLite copies, ``central-*.db``, are not touched).

``restore`` checks the chosen dump, saves the current database first as
``central-before-restore-<UTC time>.pgdump`` (so a wrong restore loses nothing), then replays the dump with
``pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error``: all or nothing.

The password never appears on a command line (other users can read argv): the tools get the connection without
it in ``--dbname`` and the password in their ``PGPASSWORD`` environment variable. Every tool call has a timeout,
and a failed tool's stderr goes into the error.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from central.backup import BackupError, BackupResult
from gatepass.startup import fsync_dir

log = logging.getLogger(__name__)

PREFIX = "central-"
SUFFIX = ".pgdump"
NAME_RE = re.compile(r"^central-(\d{4}-\d{2}-\d{2})\.pgdump$")
LIB_GLOB = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = "install Debian's package postgresql-client (apt-get install postgresql-client)"
DUMP_TIMEOUT_S = 3600.0  # pg_dump / pg_restore of a whole database (seconds)
LIST_TIMEOUT_S = 300.0  # pg_restore --list of a file (seconds)
LOCK_WAIT = "60s"  # longest wait for a table lock (a migration, a restore holding it) before giving up
STDERR_LINES = 15


def find_tool(name: str, path: str | None = None, lib_glob: str = LIB_GLOB) -> Path:
    """The PostgreSQL client program ``name``: on ``PATH`` (or ``path``), else the newest
    ``/usr/lib/postgresql/<version>/bin/<name>``. Raises :class:`BackupError` naming the package when missing."""
    found = shutil.which(name, path=path)
    if found:
        return Path(found)

    def version(bindir: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(bindir).parent.name)) or (0,)

    for bindir in sorted(glob.glob(lib_glob), key=version, reverse=True):
        candidate = Path(bindir) / name
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{name} is not installed (needed to back up or restore a PostgreSQL central)", INSTALL_HINT)


def client_args(url: str) -> tuple[str, dict[str, str]]:
    """Split ``url`` into what a libpq tool gets: a connection string without the password (for ``--dbname``)
    and the child's environment, holding the password in ``PGPASSWORD`` when the URL has one."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
    except ImportError as exc:
        raise BackupError("PostgreSQL support is not installed",
                          "install it with: pip install 'gatepass[postgres]'") from exc
    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError: a malformed URL; libpq may quote the password in it
        from central.store.postgres import scrub

        raise BackupError(f"database_url is not a valid PostgreSQL URL: {scrub(str(exc).strip(), url)}") from None
    password = params.pop("password", None)
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    env["PGAPPNAME"] = "gatepass-backup"
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def label(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    from central.store.postgres import redact

    return redact(url)


def _run(argv: list[str | os.PathLike], *, env: dict[str, str] | None, timeout_s: float, what: str) -> None:
    """Run one tool; a non-zero exit or a timeout becomes a :class:`BackupError` with its stderr."""
    tool = Path(argv[0]).name
    try:
        result = subprocess.run([os.fspath(a) for a in argv], capture_output=True, text=True, errors="replace",
                                timeout=timeout_s, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what}: {tool} did not finish within {timeout_s:.0f} s and was stopped") from None
    except OSError as exc:
        raise BackupError(f"{what}: cannot run {argv[0]}: {exc}", INSTALL_HINT) from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()[-STDERR_LINES:]
        raise BackupError(f"{what}: {tool} failed (exit {result.returncode}): " + " | ".join(lines))


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def check_dump(path: str | os.PathLike, timeout_s: float = LIST_TIMEOUT_S) -> None:
    """Raise :class:`BackupError` unless ``pg_restore --list`` can read the dump at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist", "check the file name")
    _run([find_tool("pg_restore"), "--list", path], env=None, timeout_s=timeout_s,
         what=f"{path} is not a readable pg_dump custom-format archive")


def dump(url: str, path: str | os.PathLike, timeout_s: float = DUMP_TIMEOUT_S) -> Path:
    """Dump the database at ``url`` to ``path`` (custom format) via a ``.partial`` file: checked, fsynced and
    renamed into place only when complete. Returns ``path``."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    conninfo, env = client_args(url)
    partial.unlink(missing_ok=True)
    try:
        _run([find_tool("pg_dump"), "--format=custom", "--no-password", f"--lock-wait-timeout={LOCK_WAIT}",
              f"--file={partial}", f"--dbname={conninfo}"],
             env=env, timeout_s=timeout_s, what=f"backup of {label(url)} failed")
        check_dump(partial)
        os.chmod(partial, 0o640)  # it holds personal data: no world access
        _fsync_file(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    fsync_dir(path.parent)
    return path


def backup_name(now: float | None = None) -> str:
    """``central-YYYY-MM-DD.pgdump`` for the local date of ``now``."""
    return f"{PREFIX}{time.strftime('%Y-%m-%d', time.localtime(now))}{SUFFIX}"


def list_backups(dest: str | os.PathLike) -> list[Path]:
    """The daily PostgreSQL dumps in ``dest``, newest first."""
    dest = Path(dest)
    if not dest.is_dir():
        return []
    return sorted((p for p in dest.iterdir() if NAME_RE.match(p.name)), key=lambda p: p.name, reverse=True)


def backup(url: str, dest: str | os.PathLike, keep: int = 14, now: float | None = None,
           timeout_s: float = DUMP_TIMEOUT_S) -> BackupResult:
    """Dump the live PostgreSQL central at ``url`` into ``dest`` and keep the newest ``keep`` daily dumps."""
    if keep < 1:
        raise BackupError("keep must be at least 1")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True, mode=0o750)
    started = time.perf_counter()
    final = dump(url, dest / backup_name(now), timeout_s=timeout_s)
    result = BackupResult(final, final.stat().st_size, time.perf_counter() - started)
    for old in list_backups(dest)[keep:]:
        old.unlink()
        result.pruned.append(old)
    log.info("backed up %s to %s (%d bytes, %.2f s); removed %d old dumps", label(url), final, result.size_bytes,
             result.seconds, len(result.pruned))
    return result


def _save_path(save_dir: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = save_dir / f"{PREFIX}before-restore-{stamp}{SUFFIX}"
    n = 1
    while path.exists():  # two restores within a second: keep both saves
        n += 1
        path = save_dir / f"{PREFIX}before-restore-{stamp}-{n}{SUFFIX}"
    return path


def restore(backup_file: str | os.PathLike, url: str, save_dir: str | os.PathLike,
            timeout_s: float = DUMP_TIMEOUT_S) -> Path:
    """Replace the database at ``url`` with the dump ``backup_file``; returns where the previous contents were
    saved (a dump in ``save_dir``). All or nothing: on any error the database is left as it was."""
    backup_file, save_dir = Path(backup_file), Path(save_dir)
    check_dump(backup_file)
    save_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    saved = dump(url, _save_path(save_dir), timeout_s=timeout_s)
    conninfo, env = client_args(url)
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={LOCK_WAIT}".strip()
    try:
        _run([find_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--exit-on-error", "--no-password", f"--dbname={conninfo}", backup_file],
             env=env, timeout_s=timeout_s, what=f"restore of {label(url)} from {backup_file} failed")
    except BackupError as exc:
        raise BackupError(str(exc), f"nothing was changed: the restore is one transaction; the database was "
                                    f"also saved in {saved}") from None
    log.info("restored %s from %s (previous contents: %s)", label(url), backup_file, saved)
    return saved
