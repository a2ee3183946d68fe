"""Bounding sign-in attempts at central so that guessing is slow, bursts cost no memory, and nobody can lock a
staff member out by failing their sign-in.

Three limits, each taken *before* the password is hashed (an argon2 check costs ~64 MiB and tens of ms):

- **per client address** (:class:`gatepass.throttle.FailureCounter`, in memory): :data:`ADDRESS_LIMIT` attempts
  within :data:`ADDRESS_WINDOW_S`, counted at once and given back only when the password was right (or the
  check never ran because the hash queue was full); beyond it the
  address waits :data:`ADDRESS_LOCKOUT_S`. Concurrent attempts see the count one after the other.
- **per user name** (table ``signin_delays``, shared by every server process and by the command line): the first
  :data:`FREE_FAILURES` failures cost nothing, then each further one makes the next check of that name wait
  longer (:func:`name_wait`, at most :data:`MAX_DELAY_S`). The wait is reserved in one transaction before the check.
  It is a delay, not a lock: and a browser that signed in as that user before (it holds the *known browser*
  cookie, :func:`known_browser_token`) skips it, so a stranger failing someone's sign-in cannot keep them out.
  An administrator ends a wait with :func:`unlock` (console user page, ``gatepass central user unlock``).
- **hashing one at a time** (:class:`gatepass.throttle.HashQueue`): at most :data:`HASH_WORKERS` checks run at
  once, a few wait (two per address); the rest are told to retry in a second. Memory stays flat under a burst.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from central.db import transaction
from central.store import CentralDB
from central.store.migrations import Migrations
from gatepass.clock import SYSTEM, Clock
from gatepass.throttle import Busy, FailureCounter, HashQueue, Locked

log = logging.getLogger(__name__)

ADDRESS_LIMIT = 10            # attempts of one client address ...
ADDRESS_WINDOW_S = 15 * 60    # ... within this window; beyond, the address waits:
ADDRESS_LOCKOUT_S = 15 * 60
FREE_FAILURES = 5             # failures of one user name before its checks are spaced out
BASE_DELAY_S = 5.0            # the first wait; it doubles with each further failure ...
MAX_DELAY_S = 300.0           # ... up to this
NAME_WINDOW_S = 3600.0        # failures older than this (since the last one) are forgotten
HASH_WORKERS = 1
HASH_WAITING = 8
HASH_WAITING_PER_ADDRESS = 2
HASH_WAIT_S = 5.0
KNOWN_COOKIE = "gp_known"
KNOWN_COOKIE_MAX_AGE_S = 180 * 86400

migrations = Migrations("central-signin")


@migrations()
def m001_signin_delays(db: CentralDB) -> None:
    """Failed sign-ins per user name: how many (within the window), the last, and when the next check may run."""
    db.execute("CREATE TABLE signin_delays (username TEXT PRIMARY KEY, failures INTEGER NOT NULL, "
               "last_failure_at REAL NOT NULL, next_at REAL NOT NULL)")


def migrate(db: CentralDB) -> None:
    """Create or update the sign-in tables."""
    migrations.apply(db)


def name_wait(failures: int) -> float:
    """Seconds the next check of a name waits after its ``failures``-th failure in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_S, BASE_DELAY_S * 2 ** min(failures - FREE_FAILURES, 32))


def reserve_name(db: CentralDB, username: str, now: float) -> float:
    """Count an attempt on ``username`` as failed before it is checked; 0.0 if it may be checked now, else the
    seconds to wait (nothing counted then)."""
    with transaction(db):
        db.lock("signin_delays")
        db.execute("DELETE FROM signin_delays WHERE last_failure_at < ?", [now - NAME_WINDOW_S])
        row = db.execute("SELECT failures, next_at FROM signin_delays WHERE username = ?", [username]).fetchone()
        if row and row[1] > now:
            return float(row[1] - now)
        failures = (int(row[0]) if row else 0) + 1
        db.execute("DELETE FROM signin_delays WHERE username = ?", [username])
        db.execute("INSERT INTO signin_delays (username, failures, last_failure_at, next_at) VALUES (?, ?, ?, ?)",
                   [username, failures, now, now + name_wait(failures)])
    return 0.0


def unlock(db: CentralDB, username: str) -> bool:
    """Forget the failures of ``username`` (right password, or an administrator's unlock); True if there were."""
    return db.execute("DELETE FROM signin_delays WHERE username = ?", [username]).rowcount > 0


def delays(db: CentralDB, now: float) -> dict[str, dict]:
    """User name -> ``{"failures": n, "wait_s": seconds left}`` for names with recent failures."""
    return {r[0]: {"failures": int(r[1]), "wait_s": max(0.0, float(r[2]) - now)} for r in db.execute(
        "SELECT username, failures, next_at FROM signin_delays WHERE last_failure_at >= ?", [now - NAME_WINDOW_S])}


def known_browser_token(secret: bytes, username: str) -> str:
    """The cookie value marking a browser that signed in as ``username`` before."""
    name = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
    mac = hmac.new(secret, b"known-browser\0" + username.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{name}.{mac}"


def is_known_browser(secret: bytes, username: str, cookie: str | None) -> bool:
    """True if ``cookie`` is the known-browser mark of ``username``."""
    return bool(cookie) and len(cookie or "") < 400 and hmac.compare_digest(
        known_browser_token(secret, username).encode(), str(cookie).encode())


@dataclass(frozen=True)
class Outcome:
    """What a sign-in attempt came to: ``user_id`` when the password was right; else ``refused`` (``"bad"``:
    checked and wrong; ``"address"``, ``"name"``, ``"busy"``: not checked) and the seconds to wait."""

    user_id: int | None
    refused: str = ""
    wait_s: float = 0.0


class SignInGuard:
    """The limits of one server process (the per-name delays live in the database, shared by all)."""

    def __init__(self, clock: Clock = SYSTEM, *, address_limit: int = ADDRESS_LIMIT,
                 hash_workers: int = HASH_WORKERS) -> None:
        self.clock = clock
        self.addresses = FailureCounter(address_limit, ADDRESS_WINDOW_S, ADDRESS_LOCKOUT_S, clock=clock)
        self.hashing = HashQueue(hash_workers, HASH_WAITING, HASH_WAITING_PER_ADDRESS, HASH_WAIT_S)

    def attempt(self, db: CentralDB, username: str, client: str, known: bool,
                check: Callable[[], int | None]) -> Outcome:
        """Run ``check`` (the password hash) for ``username`` from ``client`` if the limits allow it now.

        ``known``: the browser holds the user's known-browser cookie (no per-name delay).
        """
        try:
            counted = self.addresses.begin(client or "-")
        except Locked as exc:
            return Outcome(None, "address", exc.retry_after_s)
        try:
            with self.hashing.slot(client or "-"):
                if not known:
                    wait = reserve_name(db, username, self.clock.time())
                    if wait > 0:  # still counted against the address: waiting is no free retry
                        return Outcome(None, "name", wait)
                user_id = check()
        except Busy as exc:
            self.addresses.take_back(counted)
            return Outcome(None, "busy", exc.retry_after_s)
        if user_id is None:
            return Outcome(None, "bad")
        self.addresses.take_back(counted)
        unlock(db, username)
        return Outcome(user_id)

    def unlock_addresses(self, clients: list[str]) -> None:
        """End the waits of these client addresses (an administrator unlocking a user from the console)."""
        for client in clients:
            self.addresses.clear(client)


def failed_clients(db: CentralDB, username: str, now: float) -> list[str]:
    """The client addresses that failed (or were held back) signing in as ``username`` lately (from the audit log)."""
    return [r[0] for r in db.execute(
        "SELECT DISTINCT client FROM audit_log WHERE username = ? AND action IN ('login_failed', 'login_locked') "
        "AND ts > ? LIMIT 100", [username, now - max(NAME_WINDOW_S, ADDRESS_WINDOW_S)]) if r[0]]


def guard_of(request: Request) -> SignInGuard:
    """The sign-in limits of this server process (``app.state.signin``; a FastAPI dependency)."""
    return request.app.state.signin
