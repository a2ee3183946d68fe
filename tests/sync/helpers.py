"""Shared parts of the sync tests: a real central server on loopback, devices, entries."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from central import db as centraldb
from central import ingest, signing
from central.settings import CentralSettings
from gatepass import serve as serving
from gatepass.sqlitedb import transaction
from sync.devicedb import open_db as open_edge
from sync.entryid import EntryIds
from sync.locallog import GENESIS, LocalLog, entry_hash
from sync.settings import SyncSettings
from tests import waiting

SECRET = "s" * 32
HERE = Path(__file__).parent


def entry(i: int = 0, **over: Any) -> dict[str, Any]:
    """Fields for :meth:`LocalLog.append`."""
    base = dict(device_id="gate-a", gate_id="g1", wall_ts=1_790_000_000.0 + i, mono_ts=100.0 + i, boot_id="b1",
                clock_trusted=True, event="scan", pass_id=str(1000 + i), household="3-2-401", person=1,
                pass_kind="resident", direction="in", temp_c=36.5, temps=[36.4, 36.5], decision="pass",
                reason="ok")
    base.update(over)
    return base


def fill(path: Path, n: int, start: int = 0, **over: Any) -> list[dict[str, Any]]:
    """Append ``n`` entries to the edge db at ``path``; returns the stored rows."""
    db = open_edge(path)
    log = LocalLog(db)
    rows = [log.append(**entry(start + i, **over)) for i in range(n)]
    db.close()
    return rows


def bulk_fill(path: Path, n: int) -> None:
    """``n`` chained entries in the edge db, written in one transaction (as if appended one by one)."""
    db = open_edge(path)
    prev = GENESIS
    rows = []
    ids = EntryIds()  # the ids LocalLog.append gives (time-ordered by wall_ts)
    for i in range(n):
        row = {**entry(i), "seq": i + 1, "extra": None, "extra_hash": None,
               "fever": int(i % 50 == 0), "priority": int(i % 50 == 0), "clock_trusted": 1, "temps": "[36.4,36.5]"}
        row["uuid"] = ids.new(row["wall_ts"])
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(prev, row)
        rows.append(row)
    cols = list(rows[0])
    with transaction(db):
        db.conn.executemany(f"INSERT INTO entries ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            [[r[c] for c in cols] for r in rows])
    db.close()


def wait_until(cond, timeout: float = 30.0, every: float = 0.05) -> bool:
    """:func:`tests.waiting.wait_until` with the longer bound a server or a sync round needs."""
    return waiting.wait_until(cond, timeout, every)


def answers(url: str) -> bool:
    """Whether the server at ``url`` answers its health check (``/healthz``) with 200."""
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Where the next Central keeps its database: None = SQLite in its data dir; else a function returning a fresh
# PostgreSQL database's URL. Set for each test by the ``central_backend`` fixture (tests/sync/conftest.py).
CENTRAL_DATABASE: Callable[[], str] | None = None


class Central:
    """A central data dir, with the server in a thread of this process or in a subprocess."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        if database_url is None and CENTRAL_DATABASE is not None:
            database_url = CENTRAL_DATABASE()
        self.settings = CentralSettings(data_dir=data_dir, host="127.0.0.1", port=8000, session_secret=SECRET,
                                        database_url=database_url)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = centraldb.open_db(self.settings.db_target)
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_device(self, device_id: str, **kw: Any) -> str:
        return ingest.add_device(self.db, device_id, **kw)

    def public_pem(self) -> str:
        return signing.root_public_pem(self.data_dir)

    def start_thread(self, wrap: Callable[[Any], Any] | None = None) -> Central:
        """Serve in a thread of this process (``wrap``: an ASGI app around central's, e.g. an older central)."""
        from central.server import create_app

        sock = serving.bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        app = create_app(self.settings)
        self._server = serving.make_server(wrap(app) if wrap else app, sock)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        assert wait_until(lambda: self._server.started, 20)
        return self

    def start_process(self, port: int | None = None, script: str | None = None) -> Central:
        """Run the server in a subprocess (``script``: a wrapper under tests/sync, e.g. to crash on purpose)."""
        self.port = port or self.port or free_port()
        cfg = self.data_dir / "central.toml"
        url = self.settings.database_url
        cfg.write_text(f'data_dir = "{self.data_dir}"\nport = {self.port}\nsession_secret = "{SECRET}"\n'
                       + (f'database_url = "{url.get_secret_value()}"\n' if url else ""))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1"}
        argv = [sys.executable, str(HERE / script)] if script else [sys.executable, "-m", "gatepass"]
        self.proc = subprocess.Popen([*argv, "central", "serve", "--config", str(cfg)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.data_dir / "server.log", "ab"))
        assert wait_until(self._healthy, 30), (self.data_dir / "server.log").read_text()[-2000:]
        return self

    def _healthy(self) -> bool:
        return answers(self.url)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(10)
            self._server = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def entries(self, device_id: str | None = None) -> list[tuple]:
        sql = "SELECT device_id, seq, uuid FROM entries"
        args: list[Any] = []
        if device_id:
            sql += " WHERE device_id = ?"
            args.append(device_id)
        return self.db.execute(sql + " ORDER BY device_id, seq", args).fetchall()


def sync_settings(central_url: str, token: str, pem: str, data_dir: Path, **over: Any) -> SyncSettings:
    base = dict(central_url=central_url, device_token=token, central_public_key=pem, data_dir=data_dir,
                interval_s=0.1, backoff_base_s=0.05, backoff_cap_s=0.5, timeout_s=10.0, heartbeat_s=1.0,
                lists_interval_s=1.0)
    base.update(over)
    return SyncSettings(**base)


def sync_toml(path: Path, central_url: str, token: str, pem: str, data_dir: Path, **over: Any) -> Path:
    base = dict(central_url=central_url, device_token=token, data_dir=str(data_dir), interval_s=0.1,
                backoff_base_s=0.05, backoff_cap_s=0.5, timeout_s=10.0, heartbeat_s=1.0, lists_interval_s=1.0)
    base.update(over)
    lines = [f"{k} = {v!r}" if isinstance(v, (int, float)) else f'{k} = "{v}"' for k, v in base.items()]
    lines.append(f'central_public_key = """\n{pem.strip()}\n"""')
    path.write_text("\n".join(lines) + "\n")
    return path


def device_rows(path: Path) -> list[tuple]:
    db = open_edge(path)
    try:
        return db.execute("SELECT device_id, seq, uuid, synced FROM entries ORDER BY seq").fetchall()
    finally:
        db.close()


def rng(seed: int | None = None) -> random.Random:
    return random.Random(seed if seed is not None else int(os.environ.get("GATEPASS_TEST_SEED", "1234")))
