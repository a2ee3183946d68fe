"""The throw-away PostgreSQL server the central tests run against (tests/pgserver.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests import pgserver
from tests.pgserver import PgServer, PgServerError, PgUnavailable, find_pg_bin

ROOT = Path(__file__).resolve().parent.parent


def _write_and_read(url: str, value: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (v text NOT NULL)")
        conn.execute("INSERT INTO t (v) VALUES (%s)", (value,))
        return [row[0] for row in conn.execute("SELECT v FROM t")]


def test_two_new_databases_are_distinct_and_writable(pg_server: PgServer) -> None:
    first, second = pg_server.new_database(), pg_server.new_database()
    assert first != second
    assert first.startswith("postgresql://") and f":{pg_server.port}/gp_" in first
    assert _write_and_read(first, "一号门") == ["一号门"]
    assert _write_and_read(second, "gate 2") == ["gate 2"]  # same table name: a separate database
    with psycopg.connect(first) as conn:
        assert conn.execute("SELECT current_database(), current_setting('server_encoding')").fetchone() == (
            first.rsplit("/", 1)[1], "UTF8")


@pytest.fixture
def local_bin(monkeypatch: pytest.MonkeyPatch) -> Path:
    """PostgreSQL's bin dir, for tests that start their own cluster even when ``GATEPASS_TEST_PG_URL`` is set."""
    monkeypatch.delenv(pgserver.ENV_URL, raising=False)
    found = find_pg_bin()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(pgserver.INSTALL_HINT, pytrace=False)
        pytest.skip(pgserver.INSTALL_HINT)
    return found


def test_stop_removes_the_directory_and_is_repeatable(local_bin: Path) -> None:
    server = PgServer(bin_dir=local_bin).start()
    base, url = server.base_dir, server.new_database()
    assert base is not None and (base / "data" / "PG_VERSION").is_file()
    assert _write_and_read(url, "x") == ["x"]
    server.stop()
    assert not base.exists()
    server.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_failed_start_reports_the_server_log_and_cleans_up(local_bin: Path) -> None:
    server = PgServer(bin_dir=local_bin, settings={"no_such_setting": "1"})
    with pytest.raises(PgServerError, match="no_such_setting") as info:
        server.start()  # the message quotes the server log: 'unrecognized configuration parameter'
    log_path = Path(re.search(r"end of (\S+server\.log):", str(info.value)).group(1))
    assert not log_path.parent.exists()
    assert server.base_dir is None and not server.running
    server.stop()  # harmless after a failed start


def test_cluster_of_a_killed_run_is_removed_by_the_next_start(local_bin: Path) -> None:
    code = ("import sys, time; from tests.pgserver import PgServer; s = PgServer().start(); "
            "print(s.base_dir, s.port, flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        base_text, port = proc.stdout.readline().split()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    base = Path(base_text)
    postmaster = int((base / "data" / "postmaster.pid").read_text().split()[0])
    assert base.is_dir() and Path(f"/proc/{postmaster}").exists()  # killed runs leave their server behind
    with PgServer(bin_dir=local_bin) as fresh:
        assert not base.exists()
        assert fresh.base_dir != base
        assert _write_and_read(fresh.new_database(), "ok") == ["ok"]
    assert not Path(f"/proc/{postmaster}").exists() or pgserver._process_state(postmaster) == "Z"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://gatepass@127.0.0.1:{port}/postgres", connect_timeout=2)


def test_existing_server_by_admin_url(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pgserver.ENV_URL, pg_server.url("postgres"))
    external = PgServer().start()
    assert external.base_dir is None
    url = external.new_database()
    name = url.rsplit("/", 1)[1]
    assert url.startswith(f"postgresql://gatepass@127.0.0.1:{pg_server.port}/gp_")
    assert _write_and_read(url, "外部") == ["外部"]
    external.stop()  # drops the databases it made, leaves the server running
    with psycopg.connect(pg_server.url("postgres")) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)


def test_unreachable_admin_url_is_a_clear_error() -> None:
    port = pgserver.free_port(0)
    with pytest.raises(PgServerError, match=pgserver.ENV_URL):
        PgServer(admin_url=f"postgresql://gatepass@127.0.0.1:{port}/postgres").start()


def test_central_targets_for_both_backends(central_backend: str, central_url: str, tmp_path: Path) -> None:
    if central_backend == "sqlite":
        assert central_url == str(tmp_path / "central.db")
    else:
        assert central_url.startswith("postgresql://")
        assert _write_and_read(central_url, central_backend) == [central_backend]
    other = pgserver.new_central_target(central_backend, tmp_path / "other")
    assert other != central_url
    with pytest.raises(ValueError, match="unknown central backend"):
        pgserver.new_central_target("mysql", tmp_path)


def test_find_pg_bin_and_missing_install(monkeypatch: pytest.MonkeyPatch) -> None:
    found = find_pg_bin()
    if found is not None:
        assert (found / "initdb").is_file() and (found / "pg_ctl").is_file()
    monkeypatch.delenv(pgserver.ENV_URL, raising=False)
    monkeypatch.setattr(pgserver, "find_pg_bin", lambda: None)  # no way to uninstall PostgreSQL for a test
    with pytest.raises(PgUnavailable, match="apt-get install postgresql"):
        PgServer().start()
