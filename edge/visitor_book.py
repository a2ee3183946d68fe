"""The gate's visitor book: who came in and has not left yet ("now inside"), in the edge database.

The local log is the record: a visit is a ``visitor`` entry, its exit a ``visitor_exit`` information entry whose
``ref_uuid`` is the visit's uuid (:meth:`edge.guard_desk.GuardDesk.record_visitor_exit`). The log erases a visitor's
details once central holds them (:meth:`sync.locallog.LocalLog.erase_synced_personal_data`), so the guard page
lists those still inside from this book (migration set ``edge-visitors``): a row per visit, with their name, phone,
host household and reason, and the time they left. A refused visit is noted too, not admitted (``admitted`` 0): a
guard's override of it admits it (:meth:`VisitorBook.admit`), and only admitted visits are inside. A visit with an
exit entry in the log counts as left even when its row missed the update. Rows go :data:`KEEP_DAYS` after the visit
(:meth:`VisitorBook.purge`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import sqlite_utils
from sqlite_utils.migrations import Migrations

from gatepass.sqlitedb import transaction

log = logging.getLogger(__name__)

migrations = Migrations("edge-visitors")
EXIT_EVENT = "visitor_exit"
KEEP_DAYS = 28.0  # the visitor retention of central (central.retention), on the gate too
INSIDE_HOURS = 24.0  # a visit older than this without an exit is no longer listed as inside (it is still logged)


@migrations()
def m001_visitor_book(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE visitor_book (
        uuid TEXT PRIMARY KEY,         -- the visit's entry in the local log
        visitor_ref TEXT,
        name TEXT NOT NULL,
        phone TEXT NOT NULL,
        household TEXT NOT NULL,       -- host household
        reason TEXT NOT NULL,
        in_ts REAL NOT NULL,           -- unix seconds (the entry's wall_ts)
        out_ts REAL,
        details TEXT                   -- JSON: the form's optional answers (ID card's last 4, city, 14 days)
        )""")
    db.execute("CREATE INDEX visitor_book_phone ON visitor_book (phone, in_ts)")
    db.execute("CREATE INDEX visitor_book_inside ON visitor_book (in_ts) WHERE out_ts IS NULL")


@migrations()
def m002_refused_visits(db: sqlite_utils.Database) -> None:
    """Refused visits are noted too (not admitted), so that a guard's override can admit them."""
    db.execute("ALTER TABLE visitor_book ADD COLUMN admitted INTEGER NOT NULL DEFAULT 1")


@dataclass(frozen=True)
class Visit:
    """A visit in the book."""

    uuid: str
    visitor_ref: str | None
    name: str
    phone: str
    household: str
    reason: str
    in_ts: float
    out_ts: float | None
    details: str | None = None  # JSON of the form's optional answers
    admitted: bool = True  # False: refused (until a guard's override admits the visit)

    def as_json(self, now: float) -> dict[str, object]:
        """For the guard page: the visit and how long they have been in (minutes)."""
        return {"details": _details(self.details), "uuid": self.uuid, "name": self.name, "phone": self.phone,
                "household": self.household,
                "reason": self.reason, "in_ts": self.in_ts, "minutes_in": max(0, int((now - self.in_ts) // 60))}


_COLUMNS = "uuid, visitor_ref, name, phone, household, reason, in_ts, out_ts, details, admitted"


def _visit(row: tuple | None) -> Visit | None:
    if row is None:
        return None
    uuid, ref, name, phone, household, reason, in_ts, out_ts, details, admitted = row
    return Visit(uuid, ref, name, phone, household, reason, in_ts, out_ts, details, bool(admitted))


class VisitorBook:
    """The visitor book of an open edge database (the caller holds the store's lock)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        migrations.apply(db)

    def add(self, visit: Visit) -> None:
        """Note a visit (one that let the visitor in, or a refused one: ``admitted`` False)."""
        with transaction(self.db):
            self.db.execute(f"INSERT OR IGNORE INTO visitor_book ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [visit.uuid, visit.visitor_ref, visit.name, visit.phone, visit.household, visit.reason,
                             visit.in_ts, visit.out_ts, visit.details, int(visit.admitted)])

    def admit(self, uuid: str, in_ts: float) -> bool:
        """A guard's override let the refused visit ``uuid`` in at ``in_ts``: it is inside now. False when the book
        does not hold that visit."""
        with transaction(self.db):
            return self.db.execute("UPDATE visitor_book SET admitted = 1, in_ts = ? WHERE uuid = ? AND admitted = 0",
                                   [in_ts, uuid]).rowcount > 0

    def get(self, uuid: str) -> Visit | None:
        """The visit ``uuid``; None when it is not in the book."""
        return _visit(self.db.execute(f"SELECT {_COLUMNS} FROM visitor_book WHERE uuid = ?", [uuid]).fetchone())

    def left(self, uuid: str, out_ts: float) -> None:
        """Note that the visitor of ``uuid`` left at ``out_ts``."""
        with transaction(self.db):
            self.db.execute("UPDATE visitor_book SET out_ts = ? WHERE uuid = ? AND out_ts IS NULL", [out_ts, uuid])

    def has_left(self, uuid: str) -> bool:
        """Whether the log holds an exit of the visit ``uuid``."""
        return self.db.execute("SELECT 1 FROM entries WHERE event = ? AND ref_uuid = ? LIMIT 1",
                               [EXIT_EVENT, uuid]).fetchone() is not None

    def inside(self, now: float, hours: float = INSIDE_HOURS) -> list[Visit]:
        """Visitors in since ``hours`` before ``now`` with no exit, longest inside first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM visitor_book b WHERE admitted = 1 AND out_ts IS NULL AND in_ts >= ? "
            "AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.event = ? AND e.ref_uuid = b.uuid) ORDER BY in_ts",
            [now - hours * 3600, EXIT_EVENT]).fetchall()
        return [v for v in map(_visit, rows) if v is not None]

    def latest(self, phone: str) -> Visit | None:
        """The latest visit of the visitor with ``phone`` (as the form gave it) still in the book."""
        return _visit(self.db.execute(
            f"SELECT {_COLUMNS} FROM visitor_book WHERE phone = ? ORDER BY in_ts DESC LIMIT 1", [phone]).fetchone())

    def purge(self, now: float, days: float = KEEP_DAYS) -> int:
        """Delete visits older than ``days``; how many."""
        with transaction(self.db):
            return self.db.execute("DELETE FROM visitor_book WHERE in_ts < ?", [now - days * 86400]).rowcount


def _details(text: str | None) -> dict[str, object]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}
