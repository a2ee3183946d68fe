"""Guard shifts: PINs (stored as argon2 hashes), sign-in/sign-out, hand-over summaries.

Tables in the edge database (migration set ``edge-shifts``): ``guard_pins``
(set with ``gatepass edge set-pin``) and ``shifts``. PINs may also come from
the config (``[guards] pins``, argon2 hashes); the database wins for a guard
listed in both. A shift covers the local log entries committed between its
start and its end (by ``seq``), so the summary needs no clock.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils.migrations import Migrations

from edge.errors import EdgeError
from edge.events import ShiftNote, ShiftSummary
from gatepass.sqlitedb import transaction

log = logging.getLogger(__name__)

migrations = Migrations("edge-shifts")

#: Modest argon2id costs: a Pi Zero 2 W checks a PIN in well under a second with 19 MiB.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_PIN = re.compile(r"^\d{4,12}$")
_GUARD_ID = re.compile(r"^[\w.@-]{1,64}$")


@migrations()
def m001_shift_tables(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE guard_pins (guard_id TEXT PRIMARY KEY, pin_hash TEXT NOT NULL, set_at REAL NOT NULL)")
    db.execute("""CREATE TABLE shifts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guard_id TEXT NOT NULL,
        started_ts REAL NOT NULL,      -- unix seconds
        ended_ts REAL,                 -- NULL while on duty
        start_seq INTEGER NOT NULL,    -- last local log seq before the shift
        end_seq INTEGER)""")


def migrate(db: sqlite_utils.Database) -> None:
    """Apply pending ``edge-shifts`` migrations."""
    migrations.apply(db)


class ShiftError(EdgeError):
    """A guard id or PIN is malformed."""


def hash_pin(pin: str) -> str:
    """The argon2id hash of ``pin`` (4-12 digits)."""
    if not _PIN.match(pin or ""):
        raise ShiftError("a PIN is 4 to 12 digits")
    return _HASHER.hash(pin)


def check_pin(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` matches ``pin_hash`` (False for a malformed hash)."""
    try:
        return _HASHER.verify(pin_hash, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class ShiftBook:
    """Guards' PINs and shifts in an open edge database."""

    def __init__(self, db: sqlite_utils.Database, config_pins: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.config_pins = dict(config_pins or {})
        migrate(db)

    def set_pin(self, guard_id: str, pin: str, now: float | None = None) -> None:
        """Store (or replace) a guard's PIN, hashed."""
        if not _GUARD_ID.match(guard_id or ""):
            raise ShiftError("a guard id is 1-64 letters, digits, '.', '@', '_' or '-'")
        pin_hash = hash_pin(pin)
        with transaction(self.db):
            self.db.execute("INSERT INTO guard_pins (guard_id, pin_hash, set_at) VALUES (?, ?, ?) "
                            "ON CONFLICT(guard_id) DO UPDATE SET pin_hash = excluded.pin_hash, "
                            "set_at = excluded.set_at",
                            [guard_id, pin_hash, time.time() if now is None else now])
        log.info("PIN set for guard %s", guard_id)

    def _pin_hash(self, guard_id: str) -> str | None:
        row = self.db.execute("SELECT pin_hash FROM guard_pins WHERE guard_id = ?", [guard_id]).fetchone()
        return row[0] if row else self.config_pins.get(guard_id)

    def verify(self, guard_id: str, pin: str) -> bool:
        """Whether ``pin`` is this guard's PIN."""
        pin_hash = self._pin_hash(guard_id)
        return pin_hash is not None and check_pin(pin_hash, pin)

    def current(self) -> tuple[int, str, float, int] | None:
        """The open shift as ``(id, guard_id, started_ts, start_seq)``, or None."""
        row = self.db.execute("SELECT id, guard_id, started_ts, start_seq FROM shifts WHERE ended_ts IS NULL "
                              "ORDER BY id DESC LIMIT 1").fetchone()
        return tuple(row) if row else None

    def start(self, guard_id: str, pin: str, last_seq: int, now: float | None = None) -> bool:
        """Sign ``guard_id`` in (ending any open shift); False if the PIN is wrong."""
        if not self.verify(guard_id, pin):
            log.warning("wrong PIN for guard %s", guard_id)
            return False
        now = time.time() if now is None else now
        with transaction(self.db):
            self.db.execute("UPDATE shifts SET ended_ts = ?, end_seq = ? WHERE ended_ts IS NULL", [now, last_seq])
            self.db.execute("INSERT INTO shifts (guard_id, started_ts, start_seq) VALUES (?, ?, ?)",
                            [guard_id, now, last_seq])
        log.info("guard %s signed in", guard_id)
        return True

    def end(self, last_seq: int, now: float | None = None) -> ShiftSummary | None:
        """Sign the current guard out; the hand-over summary, or None if nobody was signed in."""
        shift = self.current()
        if shift is None:
            return None
        now = time.time() if now is None else now
        with transaction(self.db):
            self.db.execute("UPDATE shifts SET ended_ts = ?, end_seq = ? WHERE id = ?", [now, last_seq, shift[0]])
        log.info("guard %s signed out", shift[1])
        return self.summary(shift[0])

    def summary(self, shift_id: int | None = None) -> ShiftSummary | None:
        """Counts of a shift (default: the current one)."""
        if shift_id is None:
            cur = self.current()
            if cur is None:
                return None
            shift_id = cur[0]
        row = self.db.execute("SELECT guard_id, started_ts, ended_ts, start_seq, end_seq FROM shifts WHERE id = ?",
                              [shift_id]).fetchone()
        if row is None:
            return None
        guard_id, started, ended, start_seq, end_seq = row
        span = [start_seq, end_seq if end_seq is not None else 2**62]
        counts = self.db.execute(
            "SELECT count(*), coalesce(sum(decision = 'pass'), 0), coalesce(sum(decision = 'refuse'), 0), "
            "coalesce(sum(fever), 0), coalesce(sum(event = 'override'), 0), coalesce(sum(event = 'visitor'), 0), "
            "coalesce(sum(reason = 'temp_high'), 0) "
            "FROM entries WHERE seq > ? AND seq <= ? AND decision != 'info'", span).fetchone()
        entries, passed, refused, fevers, overrides, visitors, high = (int(c) for c in counts)
        return ShiftSummary(guard_id, started, ended, entries, passed, refused, fevers, overrides, visitors,
                            high_readings=high, refusals_by_reason=self._refusals(span),
                            override_notes=self._override_notes(span))

    def _refusals(self, span: list[int]) -> tuple[tuple[str, int], ...]:
        rows = self.db.execute("SELECT reason, count(*) AS n FROM entries WHERE seq > ? AND seq <= ? "
                               "AND decision = 'refuse' GROUP BY reason ORDER BY n DESC, reason", span).fetchall()
        return tuple((str(r), int(n)) for r, n in rows)

    def _override_notes(self, span: list[int]) -> tuple[ShiftNote, ...]:
        rows = self.db.execute("SELECT override_reason, extra, wall_ts FROM entries WHERE seq > ? AND seq <= ? "
                               "AND event = 'override' ORDER BY seq", span).fetchall()
        return tuple(ShiftNote(str(reason or ""), _note(extra), float(at)) for reason, extra, at in rows)

    def last_shifts(self, limit: int = 10) -> list[ShiftSummary]:
        """Summaries of the latest shifts, newest first."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM shifts ORDER BY id DESC LIMIT ?", [limit])]
        return [s for s in (self.summary(i) for i in ids) if s is not None]


def _note(extra: str | None) -> str:
    """The guard's note in an override entry's extra JSON ("" when none)."""
    try:
        value = json.loads(extra) if extra else {}
    except ValueError:
        return ""
    note = value.get("note") if isinstance(value, dict) else None
    return note if isinstance(note, str) else ""
