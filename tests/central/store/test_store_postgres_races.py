"""Review of the central store on PostgreSQL: secrets in errors, a connection lost inside a transaction, and
read-then-write races that SQLite's single writer hides (each test fails without its fix)."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central import db as centraldb
from central import ingest
from central.backup import BackupError
from central.backup_pg import client_args
from central.passes import keys
from central.store import StoreError, connect
from central.store.postgres import redact, scrub

# -- secrets -----------------------------------------------------------------------------------------------------


def test_a_password_in_a_malformed_url_never_reaches_the_error():
    url = "postgresql://gp:hunter2%zz@127.0.0.1:1/gp"  # libpq quotes the bad token: the password
    with pytest.raises(StoreError) as err:
        connect(url)
    assert "hunter2" not in str(err.value) and "percent-encoded" in str(err.value)
    with pytest.raises(BackupError) as err2:
        client_args(url)
    assert "hunter2" not in str(err2.value)


def test_a_password_given_as_a_query_parameter_is_redacted():
    assert redact("postgresql://gp@db/gp?sslmode=require&password=hunter2") == \
        "postgresql://gp@db/gp?sslmode=require&password=***"
    assert redact("postgresql://gp:pw@db/gp?password=hunter2") == "postgresql://gp:***@db/gp?password=***"
    assert redact("postgresql://gp@db/gp?sslmode=require") == "postgresql://gp@db/gp?sslmode=require"


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="*"), min_size=1, max_size=30))
def test_any_password_is_redacted_and_scrubbed(password):
    raw = quote(password, safe="")
    url = f"postgresql://gp:{raw}@db.local:5432/gp?application_name=x&password={raw}"
    red = urlsplit(redact(url))
    assert red.password == "***" and red.query == "application_name=x&password=***"
    for shown in (raw, password):
        assert password not in scrub(f'invalid token: "{shown}" in {shown}', url)


# -- a connection lost inside a transaction ----------------------------------------------------------------------


def test_a_connection_lost_inside_a_transaction_commits_none_of_it(pg_server):
    url = pg_server.new_database()
    db, admin = centraldb.open_db(url), connect(url)
    try:
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        with pytest.raises(StoreError), db.transaction():
            db.execute("INSERT INTO t VALUES (1)")
            admin.execute("SELECT pg_terminate_backend(?)", [db.execute("SELECT pg_backend_pid()").fetchone()[0]])
            with pytest.raises(StoreError, match="lost the connection"):
                db.execute("INSERT INTO t VALUES (2)")
            db.execute("INSERT INTO t VALUES (3)")  # a caller that swallowed the error must not autocommit this
        assert admin.execute("SELECT k FROM t").fetchall() == []
        assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0  # reconnected after the transaction
    finally:
        db.close()
        admin.close()


# -- read-then-write races (PostgreSQL: writers are not serialised) ----------------------------------------------


def _wait_for_waiters(admin, n: int, timeout_s: float = 20.0) -> None:
    """Until ``n`` sessions wait for a lock (not a timed assertion: only a guard against hanging)."""
    deadline = time.monotonic() + timeout_s
    while admin.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted").fetchone()[0] < n:
        assert time.monotonic() < deadline, "the writers never blocked"
        time.sleep(0.02)


def _in_threads(fns):
    results: list = [None] * len(fns)

    def run(i, fn):
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - examined by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    return threads, results


def test_two_first_issuers_leave_exactly_one_active_key(pg_server, tmp_path):
    url = pg_server.new_database()
    a, b, holder, admin = (centraldb.open_db(url) for _ in range(4))
    try:
        with holder.transaction():
            holder.lock("pass_changes")  # both issuers get as far as they can, then wait here
            threads, results = _in_threads([lambda: keys.active_key(a, tmp_path)[0],
                                            lambda: keys.active_key(b, tmp_path)[0]])
            _wait_for_waiters(admin, 2)
        for t in threads:
            t.join(30)
        assert not any(isinstance(r, Exception) for r in results), results
        active = admin.execute("SELECT kid FROM pass_keys WHERE status = 'active'").fetchall()
        assert len(active) == 1 and results == [active[0][0]] * 2
    finally:
        for db in (a, b, holder, admin):
            db.close()


def test_adding_one_device_twice_at_once_is_a_clear_error(pg_server):
    url = pg_server.new_database()
    a, holder, admin = (centraldb.open_db(url) for _ in range(3))
    try:
        with holder.transaction():  # another admin's add of the same id, not yet committed
            holder.lock("device:gate-1")
            holder.execute("INSERT INTO devices (device_id, token_hash, created_at) VALUES ('gate-1', 'x', 0)")
            threads, results = _in_threads([lambda: ingest.add_device(a, "gate-1")])
            _wait_for_waiters(admin, 1)
        threads[0].join(30)
        assert isinstance(results[0], ingest.DeviceExistsError), results
    finally:
        for db in (a, holder, admin):
            db.close()
