"""A throw-away PostgreSQL server for the test suite.

:class:`PgServer` runs Debian's ``initdb``/``pg_ctl`` to make a private cluster in a fresh temporary directory,
listening on a free loopback port and a private socket directory, so it neither needs nor disturbs a system
cluster (such as the one Debian's ``postgresql`` package may start on 5432). Each test gets its own database
from :meth:`PgServer.new_database`.

Running as root (CI), ``initdb`` refuses to run, so the cluster directory belongs to Debian's ``postgres`` user
and the PostgreSQL tools run through ``runuser -u postgres --``. As anyone else they run as the caller.

Set ``GATEPASS_TEST_PG_URL`` to an admin URL (a role that may ``CREATE DATABASE``) to use an existing server
instead of starting one.

Directories from killed runs (their owning process is gone) are stopped and removed by the next start.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from gatepass.errors import GatepassError
from gatepass.procs import free_port

log = logging.getLogger(__name__)

ENV_URL = "GATEPASS_TEST_PG_URL"
INSTALL_HINT = "PostgreSQL is not installed: run 'apt-get install postgresql' (or './run.sh test', which installs it)"
DIR_PREFIX = "gatepass-pg-"
OWNER_FILE = "owner"
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
START_ATTEMPTS = 3  # a port picked by free_port can be taken by someone else before postgres binds it
PG_CTL_TIMEOUT_S = 60


class PgServerError(GatepassError):
    """The test PostgreSQL server could not be started or used."""


class PgUnavailable(PgServerError):
    """PostgreSQL's server programs are not installed here."""


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``, else ``pg_config --bindir``,
    else ``None``."""

    def usable(path: Path) -> bool:
        return all(os.access(path / tool, os.X_OK) for tool in ("initdb", "pg_ctl"))

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name)) or (0,)

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if usable(Path(candidate)):
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        bindir = Path(out.stdout.strip())
        if out.stdout.strip() and usable(bindir):
            return bindir
    return None


def _process_start(pid: int) -> str | None:
    """An identity for process ``pid`` (its start time in clock ticks), or ``None`` if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 (starttime); fields 1-2 precede the ')'


def _owner_alive(directory: Path) -> bool:
    """Whether the process that created ``directory`` (recorded in its owner file) still runs."""
    try:
        pid_text, start = (directory / OWNER_FILE).read_text().split()
        return _process_start(int(pid_text)) == start
    except (OSError, ValueError):
        # no owner file yet: being created right now, or left by a run killed in its first instant
        try:
            return time.time() - directory.stat().st_mtime < 600
        except OSError:
            return False


def _tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a text file ('' if unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class PgServer:
    """A private PostgreSQL cluster on 127.0.0.1 (or the existing server named by ``GATEPASS_TEST_PG_URL``).

    Usage: ``with PgServer() as pg: url = pg.new_database()``. ``start()`` takes a few seconds (``initdb``);
    ``stop()`` kills the server at once and removes its directory; both are safe to repeat.
    """

    def __init__(self, admin_url: str | None = None, bin_dir: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        """``admin_url``: use that existing server (default: env ``GATEPASS_TEST_PG_URL``, else start one);
        ``bin_dir``: where ``initdb``/``pg_ctl`` live (default: :func:`find_pg_bin`); ``settings``: extra server
        settings (``-c name=value``)."""
        self.settings = dict(settings or {})
        self.admin_url = admin_url if admin_url is not None else (os.environ.get(ENV_URL) or None)
        self.bin_dir = bin_dir
        self.base_dir: Path | None = None
        self.port: int | None = None
        self._external = self.admin_url is not None
        self._counter = itertools.count(1)
        self._prefix = f"gp_{secrets.token_hex(3)}_" if self._external else "gp_"
        self._created: list[str] = []
        self._lock = threading.Lock()
        self._as_postgres = False
        self._started_external = False

    # -- paths -----------------------------------------------------------------------------------------------

    @property
    def external(self) -> bool:
        """Whether this uses an existing server (``GATEPASS_TEST_PG_URL``) rather than its own cluster."""
        return self._external

    @property
    def data_dir(self) -> Path | None:
        """The cluster's data directory (``None`` when not started or external)."""
        return self.base_dir / "data" if self.base_dir else None

    @property
    def log_path(self) -> Path | None:
        """The server log (``None`` when not started or external)."""
        return self.base_dir / "server.log" if self.base_dir else None

    @property
    def running(self) -> bool:
        """Whether :meth:`start` succeeded and :meth:`stop` has not run since."""
        return self._started_external if self._external else self.port is not None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> PgServer:
        """Start the private cluster (or check the external server answers). Raises :class:`PgUnavailable` if
        PostgreSQL is not installed, :class:`PgServerError` with the tail of the server log if it does not come up."""
        if self.running:
            return self
        if self._external:
            self._check_external()
            self.port = urlsplit(self.admin_url).port or 5432
            self._started_external = True
            return self
        self.bin_dir = self.bin_dir or find_pg_bin()
        if self.bin_dir is None:
            raise PgUnavailable(INSTALL_HINT)
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            self._postgres_ids()  # fail early with a clear message
            if shutil.which("runuser") is None:
                raise PgServerError("running as root needs 'runuser' (Debian package util-linux) to run initdb")
        parent = self._parent_dir()
        cleanup_stale(parent)
        started = time.monotonic()
        try:
            self._make_dir(parent)
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        log.info("PostgreSQL test server on 127.0.0.1:%s in %.1f s (%s)", self.port, time.monotonic() - started,
                 self.base_dir)
        return self

    def stop(self) -> None:
        """Stop the server immediately and remove its directory (external server: drop the databases made here).
        Harmless if never started or already stopped."""
        with self._lock:
            if self._external:
                self._drop_created()
                self._started_external, self.port = False, None
                return
            base, self.port = self.base_dir, None
            self.base_dir = None
        if base is None:
            return
        data = base / "data"
        if (data / "postmaster.pid").exists():
            result = self._run_pg("pg_ctl", "stop", "-D", str(data), "-m", "immediate", "-w", "-t", "30", check=False,
                                  cwd=base)
            if result.returncode != 0:
                log.warning("pg_ctl stop failed: %s", (result.stderr or result.stdout).strip())
        shutil.rmtree(base, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        """The URL of database ``dbname`` on this server."""
        if self._external:
            parts = urlsplit(self.admin_url)
            return urlunsplit(parts._replace(path="/" + dbname))
        if self.port is None:
            raise PgServerError("the PostgreSQL test server is not running")
        return f"postgresql://gatepass@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """Create a fresh, empty database (``gp_<n>``) and return its URL."""
        import psycopg  # imported here so that collecting tests does not need psycopg
        from psycopg import sql

        if not self.running:
            self.start()
        with self._lock:
            name = f"{self._prefix}{next(self._counter)}"
        admin = self.admin_url if self._external else self.url("postgres")
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise PgServerError(f"could not create database {name}: {exc}") from exc
        self._created.append(name)
        return self.url(name)

    # -- internals -------------------------------------------------------------------------------------------

    def _check_external(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise PgServerError(f"{ENV_URL} does not answer: {exc}") from exc

    def _drop_created(self) -> None:
        if not self._created:
            return
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
                for name in self._created:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            log.warning("could not drop test databases %s: %s", self._created, exc)
        self._created.clear()

    @staticmethod
    def _postgres_ids() -> tuple[int, int]:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise PgServerError("running as root needs the 'postgres' system user that Debian's postgresql "
                                "package creates; run 'apt-get install postgresql'") from None
        return entry.pw_uid, entry.pw_gid

    def _parent_dir(self) -> Path:
        """The system temp dir; as root, one the postgres user can reach (else /tmp)."""
        parent = Path(tempfile.gettempdir())
        if self._as_postgres and not all(p.stat().st_mode & 0o001 for p in (parent, *parent.parents)):
            parent = Path("/tmp")
        return parent

    def _make_dir(self, parent: Path) -> None:
        base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent))
        self.base_dir = base
        (base / OWNER_FILE).write_text(f"{os.getpid()} {_process_start(os.getpid())}\n")
        (base / "sock").mkdir()
        if self._as_postgres:
            uid, gid = self._postgres_ids()
            for path in (base, base / "sock"):
                os.chown(path, uid, gid)

    def _run_pg(self, tool: str, *args: str, check: bool = True, cwd: Path | None = None,
                timeout: float = PG_CTL_TIMEOUT_S + 15) -> subprocess.CompletedProcess:
        argv = [str(self.bin_dir / tool), *args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_"))}
        env["LANG"] = "C.UTF-8"
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
        if check and result.returncode != 0:
            raise PgServerError(f"{tool} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}")
        return result

    def _initdb(self) -> None:
        args = ["-D", str(self.data_dir), "--auth=trust", "-U", "gatepass", "-E", "UTF8", "--no-sync",
                "--no-instructions"]
        result = self._run_pg("initdb", *args, "--locale=C.UTF-8", check=False, cwd=self.base_dir)
        if result.returncode != 0 and "locale" in (result.stderr + result.stdout).lower():
            shutil.rmtree(self.data_dir, ignore_errors=True)
            result = self._run_pg("initdb", *args, "--locale=C", check=False, cwd=self.base_dir)
        if result.returncode != 0:
            raise PgServerError(f"initdb failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}")

    def _start_server(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port(0)
            extra = "".join(f" -c {name}={value}" for name, value in self.settings.items())
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.base_dir / 'sock'} {SERVER_OPTIONS}{extra}"
            result = self._run_pg("pg_ctl", "start", "-w", "-t", str(PG_CTL_TIMEOUT_S), "-D", str(self.data_dir),
                                  "-l", str(self.log_path), "-o", options, check=False, cwd=self.base_dir)
            if result.returncode == 0:
                self.port = port
                return
            tail = _tail(self.log_path)
            if attempt < START_ATTEMPTS and "could not bind" in tail:
                log.info("port %s was taken, trying another", port)
                continue
            raise PgServerError(f"the PostgreSQL test server did not start (pg_ctl exit {result.returncode}: "
                                f"{(result.stderr or result.stdout).strip()}); end of {self.log_path}:\n{tail}")


def cleanup_stale(parent: Path) -> None:
    """Stop and remove ``gatepass-pg-*`` clusters under ``parent`` whose creating process is gone."""
    for base in parent.glob(DIR_PREFIX + "*"):
        if not base.is_dir() or _owner_alive(base):
            continue
        data = base / "data"
        try:
            pid = int((data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        if pid is not None and "postgres" in _cmdline(pid):
            try:
                os.kill(pid, signal.SIGQUIT)  # what 'pg_ctl stop -m immediate' sends
                if not _wait_gone(pid):
                    os.kill(pid, signal.SIGKILL)
                    _wait_gone(pid)
            except ProcessLookupError:
                pass
            except OSError as exc:
                log.warning("could not stop stale PostgreSQL %s in %s: %s", pid, base, exc)
                continue
        log.info("removing stale test cluster %s", base)
        shutil.rmtree(base, ignore_errors=True)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Wait until process ``pid`` has exited (or is a zombie); whether it did within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _process_start(pid) is None or _process_state(pid) == "Z":
            return True
        time.sleep(0.05)
    return False


def _process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


# -- one server per test process --------------------------------------------------------------------------------

_shared: PgServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> PgServer:
    """The test process's one :class:`PgServer`, started on first use (stopped by :func:`stop_shared_server`, or
    at exit as a fallback)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            server = PgServer()
            atexit.register(server.stop)
            _shared = server
        if not _shared.running:
            _shared.start()
        return _shared


def stop_shared_server() -> None:
    """Stop the shared server if it was started."""
    with _shared_lock:
        if _shared is not None:
            _shared.stop()


def require_shared_server() -> PgServer:
    """:func:`shared_server`, or fail the test (env ``CI`` set) / skip it when PostgreSQL is not installed."""
    import pytest

    try:
        return shared_server()
    except PgUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


def new_central_target(backend: str, directory: Path) -> str:
    """A fresh central store for ``backend``: an SQLite file path in ``directory``, or a new PostgreSQL database
    URL. Usable from fixtures of any scope."""
    if backend == "sqlite":
        return str(Path(directory) / "central.db")
    if backend == "postgresql":
        return require_shared_server().new_database()
    raise ValueError(f"unknown central backend {backend!r} (sqlite or postgresql)")
