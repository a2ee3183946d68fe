"""Visitors at central: the same person (same phone number) is one visitor across visits and gates.

A gate's visitor form (name, phone, host household, reason) reaches central as the JSON ``extra`` of a ``visitor``
entry. On the way in (:func:`link_uploaded`, called by :func:`central.ingest.ingest` in its transaction) each such
entry is linked to a row of ``visitors`` keyed by :func:`visitor_key`: an HMAC-SHA256 of the normalised phone
number under a random secret central keeps in its database (``visitor_secret``), so the key alone reveals no phone
number and the same number always gives the same key. The visitor's name and phone are those of their latest visit;
``first_seen``/``last_seen`` are the times (``wall_ts``) of their first and last visit entry.

A gate records a visitor's exit as an information entry ``visitor_exit`` whose ``ref_uuid`` is the visit's uuid;
:func:`ledger` gives each visit with its time out (None: still inside).

Retention (:mod:`central.retention`) deletes a visitor's row with the details of their entries ``visitor_days``
after their last visit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from central.store import CentralDB
from central.store.migrations import Migrations

log = logging.getLogger(__name__)

migrations = Migrations("central-visitors")
LEDGER_LIMIT = 5000  # visits one ledger query returns at most
EXIT_EVENT = "visitor_exit"
_PHONE_SEPARATORS = re.compile(r"[\s\-().\u3000]")
_PHONE = re.compile(r"^\+?[0-9]{3,20}$")


@migrations()
def m001_visitors(db: CentralDB) -> None:
    """The visitors table, central's secret for their keys, and the entries' link to their visitor."""
    db.execute("CREATE TABLE visitor_secret (id INTEGER PRIMARY KEY, secret TEXT NOT NULL)")
    db.execute("INSERT INTO visitor_secret (id, secret) VALUES (1, ?)", [secrets.token_hex(32)])
    db.execute("""
        CREATE TABLE visitors (
            visitor_key TEXT PRIMARY KEY,     -- HMAC-SHA256 hex of the normalised phone (visitor_secret)
            name TEXT NOT NULL DEFAULT '',    -- as given at their latest visit
            phone TEXT NOT NULL DEFAULT '',   -- normalised
            first_seen REAL NOT NULL,         -- wall_ts of their first visit entry
            last_seen REAL NOT NULL           -- wall_ts of their latest visit entry
        )""")
    db.execute("CREATE INDEX visitors_last_seen ON visitors (last_seen)")
    db.execute("ALTER TABLE entries ADD COLUMN visitor_key TEXT")
    db.execute("CREATE INDEX entries_visitor_key ON entries (visitor_key, wall_ts) WHERE visitor_key IS NOT NULL")
    db.execute("CREATE INDEX entries_event_wall ON entries (event, wall_ts)")
    rows = [r[0] for r in db.execute("SELECT uuid FROM entries WHERE event = 'visitor' AND extra IS NOT NULL")]
    link_uploaded(db, rows)  # visitors recorded before this table existed


@migrations()
def m002_visit_refs(db: CentralDB) -> None:
    """Entries by visit reference: the console names the visitor of an entry, an alert or a trace row by it."""
    db.execute("CREATE INDEX entries_visitor_ref ON entries (visitor_ref) WHERE visitor_ref IS NOT NULL")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-visitors`` migrations (after ``central-sync``: they extend ``entries``)."""
    migrations.apply(db)


# -- pure rules ------------------------------------------------------------------------------------


def normalise_phone(text: str) -> str | None:
    """A phone number as digits (spaces, dashes, brackets and dots dropped; a +86/0086 country code removed from a
    mainland mobile number), or None when it is no phone number (3-20 digits)."""
    if not isinstance(text, str):
        return None
    digits = _PHONE_SEPARATORS.sub("", text.strip())
    if not _PHONE.match(digits):
        return None
    digits = digits.lstrip("+")
    for prefix in ("0086", "86"):
        rest = digits[len(prefix):]
        if digits.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


def visitor_key(secret: str, phone: str) -> str:
    """The key of the visitor with ``phone`` (normalised when it can be): an HMAC, so it reveals nothing."""
    normal = normalise_phone(phone) or "raw:" + " ".join(phone.split())[:64]
    return hmac.new(secret.encode(), normal.encode(), hashlib.sha256).hexdigest()[:32]


def mask_phone(phone: str | None) -> str:
    """A phone for those who may not see it: 138****5678 (short numbers: all stars but the last two)."""
    phone = phone or ""
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(0, len(phone) - 2) + phone[-2:]


def mask_name(name: str | None) -> str:
    """A name for those who may not see it: its first character and a star per other character (张**)."""
    name = name or ""
    return name[:1] + "*" * max(0, len(name) - 1)


def _extra(extra: str | None) -> dict[str, Any]:
    try:
        data = json.loads(extra) if extra else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def visit_details(extra: str | None) -> dict[str, str]:
    """The visitor form's text fields of a visit entry's ``extra`` (anything else is dropped)."""
    return {k: v for k, v in _extra(extra).items() if isinstance(k, str) and isinstance(v, str)}


def outside_answer(extra: str | None) -> bool | None:
    """The visit's answer to "outside the city in the last 14 days" (None: not asked)."""
    value = _extra(extra).get("outside_14d")
    return value if isinstance(value, bool) else None


# -- the ingest hook -------------------------------------------------------------------------------


def secret(db: CentralDB) -> str:
    """Central's secret for visitor keys."""
    return str(db.execute("SELECT secret FROM visitor_secret WHERE id = 1").fetchone()[0])


def link_uploaded(db: CentralDB, uuids: Iterable[str]) -> int:
    """Link the visitor entries among ``uuids`` (not yet linked) to their visitor, creating or updating the
    visitor (name and phone of their latest visit, first and last seen); the number of entries linked."""
    wanted = list(uuids)
    if not wanted:
        return 0
    key_secret = secret(db)
    touched: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT uuid, wall_ts, extra FROM entries WHERE uuid IN ({marks}) AND event = 'visitor' "
                          "AND visitor_key IS NULL AND extra IS NOT NULL", chunk).fetchall()
        for uuid, wall_ts, extra in rows:
            details = visit_details(extra)
            phone = details.get("phone", "").strip()
            if not phone:
                continue
            key = visitor_key(key_secret, phone)
            _upsert(db, key, details.get("name", "").strip()[:100], normalise_phone(phone) or phone[:40],
                    float(wall_ts))
            db.execute("UPDATE entries SET visitor_key = ? WHERE uuid = ?", [key, uuid])
            touched.add(key)
    _refresh_seen(db, touched)
    return len(touched)


def _upsert(db: CentralDB, key: str, name: str, phone: str, wall_ts: float) -> None:
    """Create the visitor, or take this visit's name and phone when it is their latest."""
    db.execute("INSERT INTO visitors (visitor_key, name, phone, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT (visitor_key) DO UPDATE SET "
               "name = CASE WHEN excluded.last_seen >= visitors.last_seen THEN excluded.name ELSE visitors.name END, "
               "phone = CASE WHEN excluded.last_seen >= visitors.last_seen THEN excluded.phone ELSE visitors.phone END",
               [key, name, phone, wall_ts, wall_ts])


def _refresh_seen(db: CentralDB, keys: Iterable[str]) -> None:
    """First and last seen of the visitors with ``keys`` from their entries (the times central re-dated too)."""
    for key in keys:
        db.execute("UPDATE visitors SET first_seen = COALESCE((SELECT MIN(wall_ts) FROM entries WHERE visitor_key = ?"
                   "), first_seen), last_seen = COALESCE((SELECT MAX(wall_ts) FROM entries WHERE visitor_key = ?), "
                   "last_seen) WHERE visitor_key = ?", [key, key, key])


# -- the ledger ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerQuery:
    """What the ledger shows: visits between ``since`` and ``until`` (unix s) matching the optional texts."""

    since: float
    until: float
    name: str | None = None
    phone: str | None = None
    household: str | None = None
    inside_only: bool = False


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its wildcards escaped with \\)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def ledger(db: CentralDB, q: LedgerQuery, limit: int = LEDGER_LIMIT) -> list[dict[str, Any]]:
    """Visits matching ``q``, newest first: time in and out (None: no exit recorded), gate, host household,
    reason, temperature, decision, the form's optional answers (``id_last4``, ``from_city``, ``outside_14d``) and
    the visitor (key, name, phone)."""
    where = ["e.event = 'visitor'", "e.wall_ts >= ?", "e.wall_ts < ?"]
    args: list[Any] = [q.since, q.until]
    if q.name:
        where.append("v.name LIKE ? ESCAPE '\\'")
        args.append(_like(q.name.strip()))
    if q.phone:
        full = normalise_phone(q.phone)
        if full is not None and len(full) >= 11:
            where.append("e.visitor_key = ?")
            args.append(visitor_key(secret(db), full))
        else:
            where.append("v.phone LIKE ? ESCAPE '\\'")
            args.append(_like("".join(ch for ch in q.phone if ch.isdigit()) or q.phone.strip()))
    if q.household:
        where.append("e.household = ?")
        args.append(q.household.strip())
    out_ts = (f"(SELECT MIN(x.wall_ts) FROM entries x WHERE x.ref_uuid = e.uuid AND x.event = '{EXIT_EVENT}')")
    if q.inside_only:
        let_in = ("(e.decision = 'pass' OR EXISTS "
                  "(SELECT 1 FROM entries o WHERE o.ref_uuid = e.uuid AND o.event = 'override'))")
        where.append(f"{let_in} AND {out_ts} IS NULL")  # a refused visitor the guard let in is inside too
    rows = db.query(
        f"SELECT e.uuid, e.wall_ts, e.gate_id, e.community, e.household, e.temp_c, e.fever, e.decision, e.reason, "
        f"e.guard_id, e.extra, e.visitor_key, v.name, v.phone, {out_ts} AS out_ts "
        f"FROM entries e LEFT JOIN visitors v ON v.visitor_key = e.visitor_key WHERE {' AND '.join(where)} "
        "ORDER BY e.wall_ts DESC LIMIT ?", [*args, limit])
    names = gate_names(db)
    out = []
    for r in rows:
        extra = r.pop("extra")
        details = visit_details(extra)
        r["reason_text"] = details.get("reason", "")
        r["id_last4"], r["from_city"] = details.get("id_last4", ""), details.get("from_city", "")
        r["outside_14d"] = outside_answer(extra)
        r["gate_name"] = names.get(r["gate_id"]) or r["gate_id"]
        if r["name"] is None and r["visitor_key"] is None:  # erased, or never linked: what the entry says
            r["name"], r["phone"] = details.get("name", ""), details.get("phone", "")
        out.append(r)
    return out


def gate_names(db: CentralDB) -> dict[str, str]:
    """Gate id -> the name people know it by (its device's name, e.g. 东门), where a device has one."""
    names: dict[str, str] = {}
    for gate_id, name in db.execute("SELECT gate_id, name FROM devices WHERE name <> '' ORDER BY device_id"):
        names.setdefault(str(gate_id), str(name))
    return names


def people(db: CentralDB, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The visitors with ``keys`` (name, phone, first and last seen), by key."""
    wanted = sorted(set(keys))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT * FROM visitors WHERE visitor_key IN ({marks})", chunk):
            found[r["visitor_key"]] = r
    return found


def erase_before(db: CentralDB, cutoff: float | None) -> int:
    """Delete the visitors last seen before ``cutoff`` (None: every visitor); how many (:mod:`central.retention`
    unlinks their entries)."""
    if cutoff is None:
        return db.execute("DELETE FROM visitors").rowcount
    return db.execute("DELETE FROM visitors WHERE last_seen < ?", [cutoff]).rowcount
