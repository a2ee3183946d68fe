"""Counting what a device request costs the central database: statements on SQLite, round trips on PostgreSQL.

:func:`counting` wraps one :class:`~central.store.CentralDB` connection for the duration of a ``with`` block:

* SQLite: every statement the engine starts (its trace callback), ``BEGIN``/``COMMIT`` included, trigger
  sub-statements not (they run inside the statement that fired them);
* PostgreSQL: every statement sent (one round trip each; a pipelined ``executemany`` is one), plus ``BEGIN`` and
  ``COMMIT`` of each outermost transaction (psycopg sends each on its own).

:func:`device_requests` counts the device API's three requests as the routes run them (the token look-up of the
``Device`` dependency, then the route's work): a 1-entry upload, a heartbeat (an upload with no entries) and a list
poll. Used by ``tests/central/test_round_trips.py`` (which pins the counts) and ``bench/bench_fleet.py``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central import api, ingest
from central.signing import SignedPages
from central.state import CentralState
from sync.protocol import encode_upload


@dataclass
class Count:
    """What ran inside a :func:`counting` block."""

    trips: int = 0
    statements: list[str] = field(default_factory=list)

    def note(self, sql: str) -> None:
        self.trips += 1
        self.statements.append(" ".join(sql.split())[:120])


@contextlib.contextmanager
def counting(db: Any) -> Iterator[Count]:
    """Count the statements (SQLite) or round trips (PostgreSQL) ``db`` makes in the block."""
    count = Count()
    if db.dialect == "sqlite":
        def traced(sql: str) -> None:
            if not sql.lstrip().startswith("--"):  # "-- TRIGGER name": a sub-statement of the one that fired it
                count.note(sql)
        db.conn.set_trace_callback(traced)
        try:
            yield count
        finally:
            db.conn.set_trace_callback(None)
        return
    run, many, transaction = db._run, db.insert_ignore_many, db.transaction

    def counted_run(sql: str, params: Any) -> Any:
        count.note(sql)
        return run(sql, params)

    def counted_many(table: str, columns: Any, rows: Any) -> int:
        count.note(f"INSERT INTO {table} ... (executemany, pipelined)")
        return many(table, columns, rows)

    @contextlib.contextmanager
    def counted_transaction(**kw: Any) -> Iterator[Any]:
        outer = not db.in_transaction
        if outer:
            count.note("BEGIN")
        try:
            with transaction(**kw) as t:
                yield t
        finally:
            if outer:
                count.note("COMMIT")

    db._run, db.insert_ignore_many, db.transaction = counted_run, counted_many, counted_transaction
    try:
        yield count
    finally:
        del db._run, db.insert_ignore_many, db.transaction  # the class's methods again


class _Creds:
    scheme = "Bearer"

    def __init__(self, token: str) -> None:
        self.credentials = token


def _report(seq: int, pending: int) -> dict[str, Any]:
    return {"boot_id": "boot-1", "mono_now": 500.0 + seq, "wall_now": 1_795_000_000.0 + seq, "list_version": 0,
            "backlog": 0, "last_seq": seq, "pending_min_seq": pending, "software_version": "count",
            "retained_from_seq": 1, "faults": []}


def _entry(device_id: str, seq: int) -> dict[str, Any]:
    return {"device_id": device_id, "seq": seq, "uuid": uuid.uuid4().hex, "gate_id": device_id,
            "wall_ts": 1_795_000_000.0 + seq, "mono_ts": 400.0 + seq, "boot_id": "boot-1", "clock_trusted": 1,
            "event": "scan", "pass_id": "p1", "household": "3-2-401", "person": 1, "pass_kind": "resident",
            "visitor_ref": None, "direction": "in", "temp_c": 36.5, "temps": "[36.4,36.5]", "decision": "pass",
            "reason": "ok", "guard_id": None, "override_reason": None, "ref_uuid": None, "fever": 0,
            "priority": 0, "extra": None, "extra_hash": None, "hash": "h" * 64, "prev_hash": "0" * 64}


def device_requests(db: Any, device_id: str = "count-gate") -> dict[str, Count]:
    """The statements of a 1-entry upload, a heartbeat and a list poll by one registered gate, each as the device
    API runs it (token look-up, then the route's work), after a first upload (the steady state)."""
    from central.deps import device as device_dependency

    token = ingest.add_device(db, device_id)
    state = CentralState(db, signing_key=None)
    creds = _Creds(token)

    def upload(seq: int, rows: list[dict[str, Any]]) -> None:
        dev = device_dependency(creds, state)  # type: ignore[arg-type]
        raw = encode_upload(uuid.uuid4().hex, rows, _report(seq, seq + 1))
        api._ingest(state, dev, raw, "gzip", 1_795_000_000.0 + seq)

    upload(1, [_entry(device_id, 1)])  # the gate's first upload: its device row and counts exist from here on
    out = {}
    with counting(db) as out["upload"]:
        upload(2, [_entry(device_id, 2)])
    with counting(db) as out["heartbeat"]:
        upload(2, [])
    pages = SignedPages(Ed25519PrivateKey.generate())

    def poll() -> None:
        device_dependency(creds, state)  # type: ignore[arg-type]
        api._changes(state, pages, 0, 500, 1)

    with counting(db) as out["list poll"]:
        poll()  # the page built and signed
    with counting(db) as out["list poll, page built already"]:
        poll()  # the same page handed out again (for at most 1 s)
    return out
