"""Guard shifts: PINs (stored as peppered argon2 hashes), sign-in/sign-out, hand-over summaries.

Tables in the edge database (migration set ``edge-shifts``): ``guard_pins``
(set with ``gatepass edge set-pin``, never in a config file) and ``shifts``.
A shift covers the local log entries committed between its start and its end
(by ``seq``), so the summary needs no clock.

A PIN is a few digits: from a stolen copy of the database its argon2 hash alone falls to offline guessing.
So new PINs have at least 6 digits and are hashed as ``argon2(HMAC-SHA256(pepper, pin))``, the pepper being a
per-device secret in its own 0600 file next to the database (``pin-pepper``, made on first use,
:func:`gatepass.private_files.secret_bytes`): a copy of the database without that file is no help. Hashes stored
before the pepper (plain argon2 of the PIN) still verify, and are replaced by a peppered hash at the guard's
next successful sign-in.

Central may keep the guard too (list format 3, :mod:`sync.lists` ``list_guards``; people and PINs are managed
in central's console, :mod:`central.people`). Central wins: for a guard central keeps, only central's hash counts
(argon2id of the PIN, unpeppered: central does not know this device's pepper) and a guard central bars
(disabled, called back, or no PIN set at central yet) is refused even with a PIN set here. Guards central does
not keep sign in with the PIN set here.

What a stolen copy of the database gives away: local PINs are peppered (useless without ``pin-pepper``), but
central's hashes are not; they use strong argon2id costs (64 MiB, 3 passes, :data:`central.people.HASHER`),
which makes guessing a 6-digit PIN take days, not forever: after a device is lost, reset its guards' PINs at
central.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from pathlib import Path

import sqlite_utils
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils.migrations import Migrations

from edge.errors import EdgeError
from edge.events import ShiftNote, ShiftSummary
from gatepass.private_files import secret_bytes
from gatepass.sqlitedb import transaction
from sync import lists as edge_lists

log = logging.getLogger(__name__)

migrations = Migrations("edge-shifts")

#: Modest argon2id costs: a Pi Zero 2 W checks a PIN in well under a second with 19 MiB.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PIN_DIGITS = 6
_NEW_PIN = re.compile(rf"[0-9]{{{MIN_PIN_DIGITS},12}}")  # fullmatch: ASCII digits, no trailing newline
_PIN = re.compile(r"[0-9]{4,12}")  # what a sign-in may try (PINs set before the 6-digit rule still work)
_GUARD_ID = re.compile(r"^[\w.@-]{1,64}$")
PEPPERED = "hmac-sha256$"  # prefix of a stored hash of HMAC-SHA256(pepper, pin)
PEPPER_FILE = "pin-pepper"
#: Bounds on the costs of a hash from central (a Pi must still check it in a few seconds).
MAX_CENTRAL_MEMORY_KIB = 256 * 1024
MAX_CENTRAL_TIME_COST = 10


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


def _peppered(pepper: bytes, pin: str) -> str:
    return hmac.new(pepper, pin.encode(), hashlib.sha256).hexdigest()


def hash_pin(pin: str, pepper: bytes) -> str:
    """The stored form of a new ``pin`` (6-12 digits): ``hmac-sha256$`` + argon2id of HMAC-SHA256(pepper, pin)."""
    if not _NEW_PIN.fullmatch(pin or ""):
        raise ShiftError(f"PIN 须为 {MIN_PIN_DIGITS}-12 位数字 / a PIN is {MIN_PIN_DIGITS} to 12 digits")
    return PEPPERED + _HASHER.hash(_peppered(pepper, pin))


def check_pin(pin_hash: str, pin: str, pepper: bytes) -> bool:
    """Whether ``pin`` matches ``pin_hash``, peppered or (from before the pepper) plain; False when malformed."""
    if not _PIN.fullmatch(pin or ""):
        return False
    peppered = pin_hash.startswith(PEPPERED)
    try:
        if peppered:
            return _HASHER.verify(pin_hash.removeprefix(PEPPERED), _peppered(pepper, pin))
        return _HASHER.verify(pin_hash, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_central_pin(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` matches a hash central issued (argon2id of the PIN, whatever its costs); False when
    malformed."""
    if not _PIN.fullmatch(pin or ""):
        return False
    try:
        params = extract_parameters(pin_hash)
        if params.memory_cost > MAX_CENTRAL_MEMORY_KIB or params.time_cost > MAX_CENTRAL_TIME_COST:
            log.error("a central PIN hash asks for more than this device can afford: refused")
            return False
        return PasswordHasher().verify(pin_hash, pin)  # the costs are read from the hash
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(pin_hash: str) -> bool:
    """Whether a hash that just verified should be stored anew (no pepper yet, or older argon2 costs)."""
    if not pin_hash.startswith(PEPPERED):
        return True
    try:
        return _HASHER.check_needs_rehash(pin_hash.removeprefix(PEPPERED))
    except InvalidHashError:
        return True


def database_file(db: sqlite_utils.Database) -> Path:
    """The file of an open database (the pepper lives next to it)."""
    name = db.execute("PRAGMA database_list").fetchone()[2]
    if not name:
        raise ShiftError("PINs need the edge database in a file (its pepper lives next to it)")
    return Path(name)


class ShiftBook:
    """Guards' PINs and shifts in an open edge database."""

    def __init__(self, db: sqlite_utils.Database, pepper_file: Path | None = None) -> None:
        """``pepper_file``: the device's PIN pepper (default: ``pin-pepper`` next to the database file)."""
        self.db = db
        self.pepper_file = pepper_file
        self._pepper: bytes | None = None
        migrate(db)

    @property
    def pepper(self) -> bytes:
        """The device's PIN pepper (read, or made, on first use)."""
        if self._pepper is None:
            path = self.pepper_file or database_file(self.db).with_name(PEPPER_FILE)
            self._pepper = secret_bytes(path)
        return self._pepper

    def set_pin(self, guard_id: str, pin: str, now: float | None = None) -> None:
        """Store (or replace) a guard's PIN (6-12 digits), peppered and hashed; refused for a guard central keeps
        (central's PIN wins there, a local one would never count)."""
        if not _GUARD_ID.match(guard_id or ""):
            raise ShiftError("工号为 1-64 个字母、数字或 . @ _ - / "
                             "a guard id is 1-64 letters, digits, '.', '@', '_' or '-'")
        if edge_lists.central_guard(self.db, guard_id)[0]:
            raise ShiftError(f"保安 {guard_id} 由中心管理：请在中心控制台“值班人员”中设置 PIN / guard {guard_id} is "
                             "kept by central: set the PIN in the console's people page")
        self._store(guard_id, hash_pin(pin, self.pepper), now)
        log.info("PIN set for guard %s", guard_id)

    def _store(self, guard_id: str, pin_hash: str, now: float | None = None) -> None:
        with transaction(self.db):
            self.db.execute("INSERT INTO guard_pins (guard_id, pin_hash, set_at) VALUES (?, ?, ?) "
                            "ON CONFLICT(guard_id) DO UPDATE SET pin_hash = excluded.pin_hash, "
                            "set_at = excluded.set_at",
                            [guard_id, pin_hash, time.time() if now is None else now])

    def _pin_hash(self, guard_id: str) -> str | None:
        row = self.db.execute("SELECT pin_hash FROM guard_pins WHERE guard_id = ?", [guard_id]).fetchone()
        return str(row[0]) if row else None

    def verify(self, guard_id: str, pin: str) -> bool:
        """Whether ``pin`` is this guard's PIN: central's hash for a guard central keeps (none: refused), else the
        PIN set here; a local hash from before the pepper is stored peppered once it matched."""
        known, central_hash = edge_lists.central_guard(self.db, guard_id)
        if known:
            return central_hash is not None and check_central_pin(central_hash, pin)
        pin_hash = self._pin_hash(guard_id)
        if pin_hash is None or not check_pin(pin_hash, pin, self.pepper):
            return False
        if needs_rehash(pin_hash):
            self._store(guard_id, PEPPERED + _HASHER.hash(_peppered(self.pepper, pin)))
            log.info("PIN hash of guard %s renewed (peppered)", guard_id)
        return True

    def allowed(self, guard_id: str) -> bool:
        """Whether central has not barred ``guard_id`` (disabled, called back or without a PIN there)."""
        known, central_hash = edge_lists.central_guard(self.db, guard_id)
        return not known or central_hash is not None

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
