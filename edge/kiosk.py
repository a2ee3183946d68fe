"""Paired kiosks: which browsers other than the Pi's own may see the guard page.

A browser on the Pi itself (a loopback client, with an allowed ``Host``) is the kiosk and needs nothing. Any
other browser must be paired once: ``gatepass edge kiosk pair`` (run on the device) prints a one-time code
valid a few minutes; the browser enters it at ``/pair`` and gets a long random cookie. Only hashes are stored
(SHA-256 of the code and of the cookie), in the device database (migration set ``edge-kiosk``), so a copy of the
database pairs nobody. ``gatepass edge kiosk unpair`` revokes one pairing or all.

Codes are 8 digits and single-use; wrong codes are throttled by the page (:mod:`edge.web.access`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from edge.errors import EdgeError
from gatepass.clock import SYSTEM, Clock
from gatepass.private_files import make_db_private
from gatepass.sqlitedb import connect, migration_lock, transaction

log = logging.getLogger(__name__)

migrations = Migrations("edge-kiosk")

CODE_DIGITS = 8
CODE_TTL_S = 300.0
MAX_CODE_TTL_S = 3600.0
COOKIE = "gatepass_kiosk"


@migrations()
def m001_kiosk_tables(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE kiosk_codes (code_hash TEXT PRIMARY KEY, expires_ts REAL NOT NULL)")
    db.execute("""CREATE TABLE kiosk_pairings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,            -- the browser's address and user agent when it paired
        paired_ts REAL NOT NULL)""")


class KioskError(EdgeError):
    """A pairing code or pairing that cannot be used."""


@dataclass(frozen=True, slots=True)
class Pairing:
    """One paired browser."""

    id: int
    label: str
    paired_ts: float


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_code(text: str) -> str:
    """The digits of a code as typed ("1234 5678", "1234-5678" -> "12345678")."""
    return "".join(ch for ch in text if ch.isdigit())[:CODE_DIGITS * 2]


class KioskPairings:
    """Pairing codes and paired browsers in the device database at ``db_path`` (opened on first use)."""

    def __init__(self, db_path: Path, clock: Clock = SYSTEM) -> None:
        self.db_path, self.clock = db_path, clock
        self._db: sqlite_utils.Database | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite_utils.Database:
        if self._db is None:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            db = connect(self.db_path)
            with migration_lock(self.db_path):
                migrations.apply(db)
            make_db_private(self.db_path)
            self._db = db
        return self._db

    def close(self) -> None:
        """Close the connection (opened again when needed)."""
        with self._lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

    def new_code(self, ttl_s: float = CODE_TTL_S) -> str:
        """A fresh one-time code valid ``ttl_s`` seconds (expired codes are dropped)."""
        if not 0 < ttl_s <= MAX_CODE_TTL_S:
            raise KioskError(f"a pairing code lasts 1 to {MAX_CODE_TTL_S:.0f} seconds")
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        now = self.clock.time()
        with self._lock:
            db = self._open()
            with transaction(db):
                db.execute("DELETE FROM kiosk_codes WHERE expires_ts <= ?", [now])
                db.execute("INSERT INTO kiosk_codes (code_hash, expires_ts) VALUES (?, ?)",
                           [_digest(code), now + ttl_s])
        log.info("kiosk pairing code made (valid %.0f s)", ttl_s)
        return code

    def redeem(self, code: str, label: str) -> str | None:
        """The new pairing's cookie value for a valid unexpired ``code`` (used up), else None."""
        digits = normalise_code(code)
        if len(digits) != CODE_DIGITS:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            db = self._open()
            with transaction(db):
                used = db.execute("DELETE FROM kiosk_codes WHERE code_hash = ? AND expires_ts > ?",
                                  [_digest(digits), self.clock.time()]).rowcount
                if not used:
                    return None
                db.execute("INSERT INTO kiosk_pairings (token_hash, label, paired_ts) VALUES (?, ?, ?)",
                           [_digest(token), label[:200], self.clock.time()])
        log.info("kiosk paired: %s", label[:200])
        return token

    def is_paired(self, token: str | None) -> bool:
        """Whether ``token`` (a pairing cookie) belongs to a pairing not revoked."""
        if not token or len(token) > 128:
            return False
        with self._lock:
            row = self._open().execute("SELECT 1 FROM kiosk_pairings WHERE token_hash = ?",
                                       [_digest(token)]).fetchone()
        return row is not None

    def pairings(self) -> list[Pairing]:
        """Every paired browser, oldest first."""
        with self._lock:
            rows = self._open().execute("SELECT id, label, paired_ts FROM kiosk_pairings ORDER BY id").fetchall()
        return [Pairing(int(i), str(label), float(ts)) for i, label, ts in rows]

    def unpair(self, pairing_id: int | None = None) -> int:
        """Revoke pairing ``pairing_id`` (None: every pairing, and every unused code); how many were revoked."""
        with self._lock:
            db = self._open()
            with transaction(db):
                if pairing_id is None:
                    db.execute("DELETE FROM kiosk_codes")
                    count = db.execute("DELETE FROM kiosk_pairings").rowcount
                else:
                    count = db.execute("DELETE FROM kiosk_pairings WHERE id = ?", [pairing_id]).rowcount
        log.info("kiosk pairings revoked: %d", count)
        return int(count)
