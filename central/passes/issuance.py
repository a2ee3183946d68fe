"""Issuing passes, revoking them, home quarantine and release (central side, library API).

Each function takes the central database (``central.db.open_db``) and,
where it signs, the central data dir holding the keys.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import segno

from central.passes import quarantine as quarantines
from central.passes.errors import PassAdminError
from central.passes.keys import active_key
from central.passes.store import append_change, note_household
from central.store import CentralDB
from sync.passes.codec import MAX_GATE_CHARS, MAX_GATES, MAX_HOUSEHOLD_CHARS, sign_pass
from sync.passes.model import KINDS, PassInfo

log = logging.getLogger(__name__)

DEFAULT_TZ = quarantines.DEFAULT_TZ  # the community's time zone: quarantine dates are local days
local_midnight = quarantines.local_midnight

#: The largest QR version a pass may need at error correction M (printed cards, cheap cameras).
MAX_QR_VERSION = 7


@dataclass(frozen=True)
class IssuedPass:
    """A newly issued pass: its claims, its text and the QR version it needs at error correction M."""

    info: PassInfo
    text: str
    qr_version: int
    name: str = ""


def make_qr(text: str, mask: int | None = None) -> segno.QRCode:
    """The pass as a QR code: alphanumeric mode, error correction M (not boosted).

    ``mask`` None picks the best mask (for printing; about 8 times slower); the version does not depend on it.
    """
    return segno.make(text, error="m", mode="alphanumeric", boost_error=False, micro=False, mask=mask)


def qr_version(text: str) -> int:
    """The QR version the pass text needs at error correction M."""
    version = make_qr(text, mask=0).version
    if not isinstance(version, int):  # segno gives a str only for Micro QR, which make_qr never makes
        raise TypeError(f"unexpected QR version {version!r}")
    return version


def _check_subject(household: str, person: int, kind: str, gates: tuple[str, ...] | None) -> None:
    if not household or len(household) > MAX_HOUSEHOLD_CHARS or household != household.strip():
        raise PassAdminError(f"household {household!r}: 1-{MAX_HOUSEHOLD_CHARS} characters, no outer spaces")
    if not 0 <= person <= 999:
        raise PassAdminError(f"person {person}: must be 0-999")
    if kind not in KINDS:
        raise PassAdminError(f"kind {kind!r}: must be one of {', '.join(KINDS)}")
    if gates is not None and (not 1 <= len(gates) <= MAX_GATES
                              or any(not g or len(g) > MAX_GATE_CHARS for g in gates)):
        raise PassAdminError(f"gates {gates!r}: 1-{MAX_GATES} gate ids of 1-{MAX_GATE_CHARS} characters")


#: A pass issued "now" starts this many seconds earlier, so that a gate whose clock runs a
#: little behind central's accepts it at once instead of saying "not yet valid" (seconds).
CLOCK_SKEW_ALLOWANCE_S = 300


def issue(db: CentralDB, data_dir: Path, *, household: str, person: int, kind: str, valid_from: float | None = None,
          valid_to: float | None = None, days: float | None = None, gates: tuple[str, ...] | None = None,
          name: str = "") -> IssuedPass:
    """Issue and record one pass, signed with the active key.

    Validity: from ``valid_from`` (default: now less :data:`CLOCK_SKEW_ALLOWANCE_S`) to ``valid_to``, or for
    ``days``; the end is rounded up to a whole minute. ``gates`` None means
    every gate. ``name`` stays at central (printed on the card), never in the pass.
    """
    _check_subject(household, person, kind, gates)
    now = int(time.time())
    start = int(valid_from if valid_from is not None else now - CLOCK_SKEW_ALLOWANCE_S)
    if valid_to is None:
        if days is None or days <= 0:
            raise PassAdminError("give a positive number of days or an end time")
        valid_to = start + days * 86400
    minutes = -(-(int(valid_to) - start) // 60)
    if minutes <= 0:
        raise PassAdminError("the pass would end before it starts")
    kid, key = active_key(db, data_dir)
    with db.transaction():
        note_household(db, household, now)
        cur = db.execute("INSERT INTO passes (household, person, kind, name, valid_from, valid_to, issued_at, gates, "
                         "kid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING pass_id",
                         [household, person, kind, name, start, start + 60 * minutes, now,
                          None if gates is None else json.dumps(list(gates)), kid])
        info = PassInfo(int(cur.fetchone()[0]), household, person, kind, start, start + 60 * minutes, now,
                        None if gates is None else tuple(gates), bytes.fromhex(kid))
        text = sign_pass(info, key)
        version = qr_version(text)
        db.execute("UPDATE passes SET text = ?, qr_version = ? WHERE pass_id = ?", [text, version, info.pass_id])
    if version > MAX_QR_VERSION:
        log.warning("pass %d needs QR version %d (> %d): shorten the household id or the gate list",
                    info.pass_id, version, MAX_QR_VERSION)
    return IssuedPass(info, text, version, name)


def _row_to_issued(row: tuple) -> IssuedPass:
    pass_id, household, person, kind, name, vf, vt, iat, gates, kid, text, version = row
    info = PassInfo(pass_id, household, person, kind, vf, vt, iat,
                    None if gates is None else tuple(json.loads(gates)), bytes.fromhex(kid))
    return IssuedPass(info, text, version, name)


_SELECT = ("SELECT pass_id, household, person, kind, name, valid_from, valid_to, issued_at, gates, kid, text, "
           "qr_version FROM passes")


def get_pass(db: CentralDB, pass_id: int) -> IssuedPass:
    """One issued pass by id."""
    row = db.execute(_SELECT + " WHERE pass_id = ?", [pass_id]).fetchone()
    if row is None:
        raise PassAdminError(f"no pass with id {pass_id}")
    return _row_to_issued(row)


def find_passes(db: CentralDB, *, household: str | None = None, pass_ids: list[int] | None = None,
                include_revoked: bool = False, valid_at: float | None = None) -> list[IssuedPass]:
    """Issued passes, filtered by household, ids, revocation and validity at a time; oldest first."""
    where = ["text IS NOT NULL"]
    args: list[str | int | float] = []
    if household is not None:
        where.append("household = ?")
        args.append(household)
    if pass_ids is not None:
        where.append(f"pass_id IN ({','.join('?' * len(pass_ids))})" if pass_ids else "0")
        args.extend(pass_ids)
    if not include_revoked:
        where.append("revoked_at IS NULL")
    if valid_at is not None:
        where.append("valid_to > ?")
        args.append(valid_at)
    rows = db.execute(_SELECT + " WHERE " + " AND ".join(where) + " ORDER BY pass_id", args).fetchall()
    return [_row_to_issued(r) for r in rows]


def revoke(db: CentralDB, pass_id: int, reason: str = "") -> int:
    """Revoke a pass; gates refuse it after their next sync. Returns the change version (idempotent)."""
    with db.transaction():
        row = db.execute("SELECT revoked_at FROM passes WHERE pass_id = ?", [pass_id]).fetchone()
        if row is None:
            raise PassAdminError(f"no pass with id {pass_id}", "see the id printed on the card or by 'issue'")
        if row[0] is not None:
            return int(db.execute("SELECT COALESCE(MAX(v), 0) FROM pass_changes").fetchone()[0])
        db.execute("UPDATE passes SET revoked_at = ?, revoke_reason = ? WHERE pass_id = ?",
                   [time.time(), reason, pass_id])
        return append_change(db, "revoke", pass_id=pass_id, reason=reason)


def unrevoke(db: CentralDB, pass_id: int) -> int:
    """Undo a revocation made by mistake. Returns the change version."""
    with db.transaction():
        cur = db.execute("UPDATE passes SET revoked_at = NULL, revoke_reason = NULL WHERE pass_id = ? "
                         "AND revoked_at IS NOT NULL", [pass_id])
        if cur.rowcount == 0:
            raise PassAdminError(f"pass {pass_id} does not exist or is not revoked")
        return append_change(db, "unrevoke", pass_id=pass_id)


def quarantine(db: CentralDB, household: str, first_day: date, last_day: date, note: str = "",
               tz: str = DEFAULT_TZ, *, person: int | None = None, by: str = "") -> int:
    """Put a household (or one ``person`` of it) under home quarantine, ``first_day`` to ``last_day`` both
    included (see :func:`central.passes.quarantine.place`). Returns the change version."""
    return quarantines.place(db, household, first_day, last_day, note, tz, person=person, by=by)


def release(db: CentralDB, household: str, person: int | None = None, *, by: str = "", note: str = "") -> int:
    """End a household's (or a person's) home quarantine now, keeping the record. Returns the change version."""
    return quarantines.release(db, household, person, by=by, note=note)


def set_policy(db: CentralDB, key: str, value: object) -> int:
    """Set a policy value sent to every gate (JSON). Returns the change version."""
    with db.transaction():
        db.execute("INSERT INTO pass_policy (key, value) VALUES (?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, json.dumps(value)])
        return append_change(db, "policy", key=key, value=value)
