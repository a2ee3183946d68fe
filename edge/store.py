"""The device database as the checkpoint uses it: one connection, one lock, the local log and the shift book.

Opened by :meth:`LocalStore.open` (at :meth:`edge.checkpoint.Checkpoint.start`, never in a constructor) and
closed by :meth:`LocalStore.close`. Every use holds :attr:`LocalStore.lock` (the loops and the guard page's
threads share the connection). The queries the checkpoint makes of the log live here: the shift on duty,
a logged entry for an override, whether it was overridden, the holder's last passed direction
(:func:`edge.direction.last_passed`), and the health probe write.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass

import sqlite_utils

from edge.direction import ensure_index, last_passed
from edge.settings import EdgeSettings
from edge.shifts import ShiftBook
from gatepass.clock import Clock
from gatepass.private_files import make_db_private
from gatepass.sqlitedb import transaction
from sync.devicedb import open_db
from sync.locallog import LocalLog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """What an override needs of a logged entry (typed from the row)."""

    decision: str
    reason: str
    fever: bool
    temps: str | None
    pass_id: str | None
    household: str | None
    person: int | None
    pass_kind: str | None
    visitor_ref: str | None
    temp_c: float | None
    direction: str
    event: str = "scan"

    @classmethod
    def from_row(cls, row: dict[str, object]) -> LoggedEntry:
        """The entry of a row of the ``entries`` table."""
        def text(name: str) -> str | None:
            value = row.get(name)
            return None if value is None else str(value)

        person, temp = row.get("person"), row.get("temp_c")
        return cls(decision=str(row["decision"]), reason=str(row["reason"]), fever=bool(row["fever"]),
                   temps=text("temps"),
                   pass_id=text("pass_id"), household=text("household"),
                   person=int(person) if isinstance(person, int | float | str) else None,
                   pass_kind=text("pass_kind"), visitor_ref=text("visitor_ref"),
                   temp_c=float(temp) if isinstance(temp, int | float | str) else None,
                   direction=str(row["direction"]), event=str(row.get("event") or "scan"))


class LocalStore:
    """The open device database (None before :meth:`open`), its log and shift book, and their lock."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.db: sqlite_utils.Database | None = None
        self.locallog: LocalLog | None = None
        self.shifts: ShiftBook | None = None

    def open(self) -> None:
        """Open (and migrate) the database in ``data_dir``; its files get mode 0600."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = open_db(self.settings.db_path)
        make_db_private(self.settings.db_path)  # guards' PIN hashes, visitors' names and phones
        ensure_index(self.db)
        self.locallog = LocalLog(self.db)
        self.shifts = ShiftBook(self.db)

    def close(self) -> None:
        """Close the connection (nothing when it is not open)."""
        if self.db is not None:
            with self.lock:
                self.db.conn.close()
            self.db = None

    def shift_guard(self) -> str | None:
        """The guard signed in now (None: nobody, or the shift cannot be read)."""
        if self.shifts is None:
            return None
        try:
            with self.lock:
                cur = self.shifts.current()
        except sqlite3.Error as exc:  # not knowing who is on duty must not stop a decision
            log.warning("cannot read the current shift: %s", exc)
            return None
        return cur[1] if cur else None

    def entry(self, entry_uuid: str) -> LoggedEntry | None:
        """The logged entry ``entry_uuid``, or None."""
        with self.lock:
            cur = self.require_db().execute("SELECT * FROM entries WHERE uuid = ?", [entry_uuid])
            values = cur.fetchone()
        if not values:
            return None
        return LoggedEntry.from_row(dict(zip([d[0] for d in cur.description], values, strict=True)))

    def revocation_reason(self, pass_id: int) -> str:
        """Why central revoked ``pass_id`` (as staff wrote it; "" when unknown)."""
        with self.lock:
            row = self.require_db().execute("SELECT reason FROM list_revoked WHERE pass_id = ?", [pass_id]).fetchone()
        return str(row[0]) if row and row[0] else ""

    def overridden(self, entry_uuid: str) -> bool:
        """Whether an override refers to ``entry_uuid``."""
        with self.lock:
            return self.require_db().execute("SELECT 1 FROM entries WHERE event = 'override' AND ref_uuid = ? LIMIT 1",
                                      [entry_uuid]).fetchone() is not None

    def last_passed(self, gate_id: str, pass_id: str, person: int | None) -> str | None:
        """The holder's last passed direction here (None: none, or the log cannot be read)."""
        try:
            with self.lock:
                return last_passed(self.require_db(), gate_id, pass_id, person)
        except sqlite3.Error as exc:  # the direction is a best guess: never fail the scan over it
            log.warning("cannot read the holder's last direction: %s", exc)
            return None

    def probe(self, clock: Clock) -> bool:
        """A small write: whether the log can be written again (after a disk-full or locked fault)."""
        try:
            db = self.require_db()
            with self.lock, transaction(db):
                db.execute("CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, t REAL)")
                db.execute("INSERT OR REPLACE INTO health_probe (id, t) VALUES (1, ?)", [clock.time()])
        except sqlite3.Error as exc:
            log.debug("log probe still failing: %s", exc)
            return False
        return True

    def require_db(self) -> sqlite_utils.Database:
        """The open database (raises :class:`sqlite3.ProgrammingError` before :meth:`open`)."""
        if self.db is None:
            raise sqlite3.ProgrammingError("the device database is not open (the checkpoint is not started)")
        return self.db
