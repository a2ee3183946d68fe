"""Staff accounts, password hashing (argon2id), server-side sessions, roles and CSRF tokens.

Sessions: the browser holds a random 256-bit token in an HttpOnly, SameSite=Lax cookie; the database
holds only ``HMAC-SHA256(session_secret, token)``. A session ends after :data:`IDLE_TIMEOUT_S` without
use or :data:`ABSOLUTE_TIMEOUT_S` after sign-in, whichever comes first, and on sign-out or password change.
Each session has its own CSRF token, which every form posts back (:func:`check_csrf`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from central.console import passwords
from central.console.errors import ConsoleError
from central.db import transaction
from central.store import CentralDB

log = logging.getLogger(__name__)

ROLES = ("viewer", "staff", "admin")  # each role can do everything the ones before it can
IDLE_TIMEOUT_S = 30 * 60
ABSOLUTE_TIMEOUT_S = 12 * 3600
MIN_PASSWORD_LEN = passwords.MIN_LENGTH

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters (RFC 9106 low-memory)
_dummy_hash: str | None = None


def set_hasher(hasher: PasswordHasher) -> None:
    """Use other argon2 parameters (tests use cheaper ones); stored hashes keep verifying and are upgraded
    to the current parameters at the next successful sign-in."""
    global _hasher, _dummy_hash
    _hasher, _dummy_hash = hasher, None


def _dummy() -> str:
    """A hash to verify against when the user does not exist, so both cases take the same time."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a real password")
    return _dummy_hash


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a request."""

    user_id: int
    username: str
    display_name: str
    role: str
    csrf: str
    lang: str
    token_hash: str

    def can(self, role: str) -> bool:
        """True if this member's role is ``role`` or above."""
        return ROLES.index(self.role) >= ROLES.index(role)


def check_role(role: str) -> str:
    """Validate a role name."""
    if role not in ROLES:
        raise ConsoleError(f"unknown role {role!r}", f"use one of {', '.join(ROLES)}")
    return role


def context_words(db: CentralDB, *names: str) -> list[str]:
    """What an attacker would try first in a password here: ``names`` (user name, display name) and the names of
    the communities and gates this central serves."""
    words = [n for n in names if n]
    if db.table_exists("devices"):
        for row in db.execute("SELECT DISTINCT community, name, gate_id FROM devices LIMIT 500"):
            words.extend(str(v) for v in row if v)
    return words


def check_password(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> str:
    """Refuse passwords the policy refuses (:mod:`central.console.passwords`: length, zxcvbn score, names);
    :class:`~central.console.passwords.WeakPassword` says why in zh-CN and English."""
    return passwords.check(password, user_inputs)


def add_user(db: CentralDB, username: str, password: str, role: str, display_name: str = "") -> int:
    """Create a staff account; returns its id."""
    username = username.strip()
    if not username or len(username) > 64:
        raise ConsoleError("user name must be 1-64 characters")
    check_role(role)
    check_password(password, context_words(db, username, display_name))
    now = time.time()
    with transaction(db):
        db.lock("staff_users")
        if db.execute("SELECT 1 FROM staff_users WHERE username = ?", [username]).fetchone():
            raise ConsoleError(f"user {username!r} already exists", "use 'gatepass central user passwd'")
        cur = db.execute(
            "INSERT INTO staff_users (username, display_name, role, password_hash, created_at, password_changed_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [username, display_name or username, role, _hasher.hash(password), now, now])
        user_id = int(cur.fetchone()[0])
    log.info("staff user %s added with role %s", username, role)
    return user_id


def set_password(db: CentralDB, username: str, password: str) -> None:
    """Change a password (the policy applies) and end all of that user's sessions."""
    with transaction(db):
        row = db.execute("SELECT id, display_name FROM staff_users WHERE username = ?", [username]).fetchone()
        if not row:
            raise ConsoleError(f"no user {username!r}", "list users with 'gatepass central user list'")
        check_password(password, context_words(db, username, row[1]))
        db.execute("UPDATE staff_users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                   [_hasher.hash(password), time.time(), row[0]])
        db.execute("DELETE FROM staff_sessions WHERE user_id = ?", [row[0]])


def set_role(db: CentralDB, username: str, role: str | None = None, disabled: bool | None = None) -> None:
    """Change a user's role and/or disable them (ends their sessions)."""
    with transaction(db):
        row = db.execute("SELECT id FROM staff_users WHERE username = ?", [username]).fetchone()
        if not row:
            raise ConsoleError(f"no user {username!r}")
        if role is not None:
            db.execute("UPDATE staff_users SET role = ? WHERE id = ?", [check_role(role), row[0]])
        if disabled is not None:
            db.execute("UPDATE staff_users SET disabled = ? WHERE id = ?", [int(disabled), row[0]])
        db.execute("DELETE FROM staff_sessions WHERE user_id = ?", [row[0]])


def list_users(db: CentralDB) -> list[dict]:
    """Every staff account (without password hashes)."""
    return list(db.query("SELECT id, username, display_name, role, disabled, created_at FROM staff_users "
                         "ORDER BY username"))


def authenticate(db: CentralDB, username: str, password: str) -> int | None:
    """The user id if the name and password match an enabled account, else None (constant work either way)."""
    row = db.execute("SELECT id, password_hash, disabled FROM staff_users WHERE username = ?",
                     [username.strip()]).fetchone()
    stored = row[1] if row else _dummy()
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if not row or row[2]:
        return None
    if _hasher.check_needs_rehash(stored):
        db.execute("UPDATE staff_users SET password_hash = ? WHERE id = ?", [_hasher.hash(password), row[0]])
    return int(row[0])


def _token_hash(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


def start_session(db: CentralDB, secret: bytes, user_id: int, lang: str = "zh") -> str:
    """Create a session; returns the cookie token (shown to nobody else, never stored)."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    with transaction(db):
        db.execute("DELETE FROM staff_sessions WHERE expires_at < ? OR last_seen_at < ?", [now, now - IDLE_TIMEOUT_S])
        db.execute("INSERT INTO staff_sessions (token_hash, user_id, csrf, lang, created_at, last_seen_at, expires_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [_token_hash(secret, token), user_id, secrets.token_urlsafe(32), lang, now, now,
                    now + ABSOLUTE_TIMEOUT_S])
    return token


def load_session(db: CentralDB, secret: bytes, token: str | None, now: float | None = None) -> Staff | None:
    """The staff member of a valid session token, refreshing its idle timer; None if absent or expired."""
    if not token or len(token) > 200:
        return None
    now = time.time() if now is None else now
    th = _token_hash(secret, token)
    row = db.execute(
        "SELECT s.user_id, u.username, u.display_name, u.role, s.csrf, s.lang, s.last_seen_at, s.expires_at, "
        "u.disabled FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id WHERE s.token_hash = ?",
        [th]).fetchone()
    if not row:
        return None
    if row[8] or now > row[7] or now - row[6] > IDLE_TIMEOUT_S:
        db.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [th])
        return None
    if now - row[6] > 30:  # avoid a write on every request
        db.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ?", [now, th])
    return Staff(row[0], row[1], row[2], row[3], row[4], row[5], th)


def set_session_lang(db: CentralDB, staff: Staff, lang: str) -> None:
    """Remember the chosen language for this session."""
    db.execute("UPDATE staff_sessions SET lang = ? WHERE token_hash = ?", [lang, staff.token_hash])


def end_session(db: CentralDB, staff: Staff) -> None:
    """Sign out."""
    db.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [staff.token_hash])


def check_csrf(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the one a form posted."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
