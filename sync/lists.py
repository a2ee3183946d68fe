"""The gate's copy of central's lists: revoked passes, home quarantine, trust keys, policy, guards' PIN hashes.

Tables live in the edge SQLite database (migration set ``edge-lists``, applied
by :func:`migrate`). Central sends changes as *pages* (produced by
``central.passes.changelog``); :func:`apply_page` applies one in a single
transaction; :func:`load` builds the immutable snapshot the pure
:func:`sync.passes.verify` uses.

Page format (JSON-compatible dict, ``format`` "gatepass-lists/1" or "gatepass-lists/2")::

    {"format": "gatepass-lists/1",
     "version": V,          # list version after applying this page (central's change counter)
     "since": S,            # the page holds the changes with S < v <= V (0 for a snapshot)
     "snapshot": false,     # true: the whole current state; replaces everything held
     "more": false,         # more changes wait after V (ask again with since=V)
     "issued_at": T,        # central's clock when it produced the page (unix seconds)
     "changes": [
       {"v": 7, "op": "revoke", "pass_id": 123, "reason": "lost card"},
       {"v": 8, "op": "unrevoke", "pass_id": 123},
       {"v": 9, "op": "quarantine", "household": "3-2-401", "start": "2026-11-20", "end": "2026-12-04",
        "start_ts": 1763568000.0, "end_ts": 1764777600.0},      # local midnights, computed at central
       {"v": 10, "op": "release", "household": "3-2-401"},
       {"v": 11, "op": "key_add", "kid": "a1b2c3d4", "public_key": "<64 hex chars: raw Ed25519>",
        "not_before": 1763568000.0, "not_after": null},          # also updates an existing key
       {"v": 12, "op": "key_retire", "kid": "a1b2c3d4"},
       {"v": 13, "op": "policy", "key": "fever_c", "value": 37.3}]}

Format 2 (asked for with ``format=2`` on ``/api/v1/changes``; format 1 is what central sends a gate that does
not ask) differs only in the quarantine changes, which carry just what the gate needs: the household, the
person for an individual (absent: the whole household), and the two instants::

       {"v": 9, "op": "quarantine", "household": "3-2-401", "person": 2,
        "start_ts": 1763568000.0, "end_ts": 1764777600.0},     # end: local midnight ending the last day
       {"v": 10, "op": "release", "household": "3-2-401", "person": 2}

Format 3 (``format=3``) adds the guards central keeps (:mod:`central.people`): a guard's PIN hash as central
issued it (argon2id of the PIN, never the PIN), or that the guard may not sign in at any gate::

       {"v": 14, "op": "guard", "guard_id": "1001", "pin_hash": "$argon2id$v=19$m=65536,t=3,p=1$..."},
       {"v": 15, "op": "guard_off", "guard_id": "1001"}     # disabled, called back or no PIN: refused

Format 4 (``format=4``) adds the households central knows (every household a pass was issued to), so that a gate
can tell a visitor's host household exists; central never takes one back::

       {"v": 16, "op": "household", "household": "3-2-401"}

Gates on formats 1 and 2 never see the guard changes, nor formats 1-3 the household ones (central leaves them
out of their pages; the version still advances). A gate that held an older format asks for a snapshot once
(:func:`ask_since`), so changes made before it was updated reach it too.

A gate reads all four formats (a format-1 quarantine is a household's). A page older than the held version is
refused (:class:`StaleListError`); one
that starts after the held version leaves a gap and is refused too
(:class:`ListGapError`); changes already held are skipped, so re-applying a
page is harmless. Pages reach the gate signed by central's root key; checking
that signature is the sync client's job before it calls :func:`apply_page`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from gatepass.sqlitedb import transaction
from sync.errors import SyncError
from sync.passes.model import Lists, TrustKey, TrustList

log = logging.getLogger(__name__)

PAGE_FORMAT = "gatepass-lists/1"
PAGE_FORMAT_2 = "gatepass-lists/2"
PAGE_FORMAT_3 = "gatepass-lists/3"
PAGE_FORMAT_4 = "gatepass-lists/4"
PAGE_FORMATS = (PAGE_FORMAT, PAGE_FORMAT_2, PAGE_FORMAT_3, PAGE_FORMAT_4)
#: The ``format`` query value a gate sends to ``/api/v1/changes`` to get format-4 pages.
FORMAT_QUERY = 4
OPS = ("revoke", "unrevoke", "quarantine", "release", "key_add", "key_retire", "policy", "guard", "guard_off",
       "household")
#: The ops only format 3 (and later) carries.
GUARD_OPS = ("guard", "guard_off")
#: The ops only format 4 carries.
HOUSEHOLD_OPS = ("household",)
MAX_HOUSEHOLD = 64  # characters of a household id (central's own limit is lower)
MAX_PIN_HASH = 512

migrations = Migrations("edge-lists")


@migrations()
def m001_list_tables(db: Database) -> None:
    """Create the list tables."""
    db.execute("CREATE TABLE list_revoked (pass_id INTEGER PRIMARY KEY, reason TEXT NOT NULL DEFAULT '', "
               "v INTEGER NOT NULL)")
    db.execute("CREATE TABLE list_quarantine (household TEXT PRIMARY KEY, start TEXT NOT NULL, end TEXT NOT NULL, "
               "start_ts REAL NOT NULL, end_ts REAL NOT NULL, v INTEGER NOT NULL)")
    db.execute("CREATE TABLE list_trust_keys (kid TEXT PRIMARY KEY, public_key TEXT NOT NULL, "
               "not_before REAL NOT NULL, not_after REAL, retired INTEGER NOT NULL DEFAULT 0, v INTEGER NOT NULL)")
    db.execute("CREATE TABLE list_policy (key TEXT PRIMARY KEY, value TEXT NOT NULL, v INTEGER NOT NULL)")
    db.execute("CREATE TABLE list_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m002_person_quarantine(db: Database) -> None:
    """Individuals under home quarantine (list format 2)."""
    db.execute("CREATE TABLE list_quarantine_person (household TEXT NOT NULL, person INTEGER NOT NULL, "
               "start_ts REAL NOT NULL, end_ts REAL NOT NULL, v INTEGER NOT NULL, PRIMARY KEY (household, person))")


@migrations()
def m003_guards(db: Database) -> None:
    """Guards central keeps (list format 3): their central-issued PIN hash, NULL when refused at every gate."""
    db.execute("CREATE TABLE list_guards (guard_id TEXT PRIMARY KEY, pin_hash TEXT, v INTEGER NOT NULL)")


@migrations()
def m004_households(db: Database) -> None:
    """The households central knows (list format 4)."""
    db.execute("CREATE TABLE list_households (household TEXT PRIMARY KEY, v INTEGER NOT NULL)")


LIST_TABLES = ("list_revoked", "list_quarantine", "list_quarantine_person", "list_trust_keys", "list_policy",
               "list_guards", "list_households")


class ListError(SyncError):
    """A list page cannot be applied."""


class StaleListError(ListError):
    """The page is older than the lists already held."""


class ListGapError(ListError):
    """The page starts after the held version: changes in between are missing."""


@dataclass(frozen=True)
class ListMeta:
    """Version bookkeeping of the held lists."""

    version: int = 0
    issued_at: float | None = None
    server_time: float | None = None


def migrate(db: Database) -> None:
    """Create or upgrade the list tables in the edge database."""
    migrations.apply(db)


def _meta_get(db: Database, key: str) -> Any:
    row = db.execute("SELECT value FROM list_meta WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else None


def _meta_set(db: Database, key: str, value: Any) -> None:
    db.execute("INSERT INTO list_meta (key, value) VALUES (?, ?) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, json.dumps(value)])


def _write(db: Database) -> contextlib.AbstractContextManager:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or a savepoint inside a caller's transaction."""
    return db.atomic() if db.conn.in_transaction else transaction(db)


def meta(db: Database) -> ListMeta:
    """The held list version, when central issued it, and the latest time central confirmed."""
    return ListMeta(int(_meta_get(db, "version") or 0), _meta_get(db, "issued_at"), _meta_get(db, "server_time"))


def note_server_time(db: Database, t: float) -> None:
    """Record a time central *signed* (kept if later than the one held); the clock never goes back.

    Only for a time verified against central's key (a list page's ``issued_at``, which :func:`apply_page` notes
    itself): this time is the gate's clock floor for good, so an unsigned one (an upload reply's
    ``server_time``) must never come here."""
    if not math.isfinite(t):  # an infinite time would make every pass expired for good
        log.warning("lists: ignoring a server time that is not a finite number (%r)", t)
        return
    with _write(db):
        held = _meta_get(db, "server_time")
        if held is None or t > held:
            _meta_set(db, "server_time", float(t))


def _need(change: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    value = change.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ListError(f"change v{change.get('v')}: field {key!r} missing or of the wrong type")
    return value


def _time(change: dict, key: str, default: float | None = None, required: bool = False) -> float | None:
    """A finite time in unix seconds (``default`` when absent); NaN or infinity would disable a check."""
    value = change.get(key)
    if value is None and not required:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ListError(f"change v{change.get('v')}: field {key!r} is not a finite number of seconds")
    return float(value)


def _check_key(change: dict) -> None:
    kid = _need(change, "kid", str)
    raw = bytes.fromhex(_need(change, "public_key", str))
    Ed25519PublicKey.from_public_bytes(raw)  # raises ValueError if not a key
    bytes.fromhex(kid)


def _apply_quarantine(db: Database, change: dict, v: int) -> None:
    household = _need(change, "household", str)
    start, end = _time(change, "start_ts", required=True), _time(change, "end_ts", required=True)
    if change.get("person") is not None:
        db.execute("INSERT OR REPLACE INTO list_quarantine_person (household, person, start_ts, end_ts, v) "
                   "VALUES (?, ?, ?, ?, ?)", [household, _need(change, "person", int), start, end, v])
        return
    first, last = change.get("start", ""), change.get("end", "")  # format 1 also names the days
    db.execute("INSERT OR REPLACE INTO list_quarantine (household, start, end, start_ts, end_ts, v) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               [household, first if isinstance(first, str) else "", last if isinstance(last, str) else "", start,
                end, v])


def _apply_release(db: Database, change: dict) -> None:
    household = _need(change, "household", str)
    if change.get("person") is not None:
        db.execute("DELETE FROM list_quarantine_person WHERE household = ? AND person = ?",
                   [household, _need(change, "person", int)])
    else:
        db.execute("DELETE FROM list_quarantine WHERE household = ?", [household])


def _apply_guard(db: Database, change: dict, v: int) -> None:
    guard_id = _need(change, "guard_id", str)
    if not 0 < len(guard_id) <= 64:
        raise ListError(f"change v{v}: guard id of 1-64 characters")
    pin_hash = None
    if change.get("op") == "guard":
        pin_hash = _need(change, "pin_hash", str)
        if not pin_hash.startswith("$argon2") or len(pin_hash) > MAX_PIN_HASH:
            raise ListError(f"change v{v}: pin_hash is not an argon2 hash")
    db.execute("INSERT OR REPLACE INTO list_guards (guard_id, pin_hash, v) VALUES (?, ?, ?)", [guard_id, pin_hash, v])


def _apply_change(db: Database, change: dict) -> None:
    op, v = change.get("op"), _need(change, "v", int)
    if op in GUARD_OPS:
        _apply_guard(db, change, v)
    elif op == "household":
        household = _need(change, "household", str)
        if not 0 < len(household) <= MAX_HOUSEHOLD:
            raise ListError(f"change v{v}: household id of 1-{MAX_HOUSEHOLD} characters")
        db.execute("INSERT OR REPLACE INTO list_households (household, v) VALUES (?, ?)", [household, v])
    elif op == "revoke":
        db.execute("INSERT OR REPLACE INTO list_revoked (pass_id, reason, v) VALUES (?, ?, ?)",
                   [_need(change, "pass_id", int), str(change.get("reason", "")), v])
    elif op == "unrevoke":
        db.execute("DELETE FROM list_revoked WHERE pass_id = ?", [_need(change, "pass_id", int)])
    elif op == "quarantine":
        _apply_quarantine(db, change, v)
    elif op == "release":
        _apply_release(db, change)
    elif op == "key_add":
        _check_key(change)
        db.execute("INSERT OR REPLACE INTO list_trust_keys (kid, public_key, not_before, not_after, retired, v) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [change["kid"].lower(), change["public_key"].lower(),
                    _time(change, "not_before", 0.0), _time(change, "not_after"),
                    int(bool(change.get("retired", False))), v])
    elif op == "key_retire":
        db.execute("UPDATE list_trust_keys SET retired = 1, v = ? WHERE kid = ?",
                   [v, _need(change, "kid", str).lower()])  # stored lower-case by key_add
    elif op == "policy":
        db.execute("INSERT OR REPLACE INTO list_policy (key, value, v) VALUES (?, ?, ?)",
                   [_need(change, "key", str), json.dumps(change.get("value")), v])
    else:
        raise ListError(f"change v{v}: unknown op {op!r}")


def apply_page(db: Database, page: dict) -> int:
    """Apply one page of changes (or a snapshot) in one transaction; returns the version now held.

    Raises :class:`StaleListError` for a page older than the held version,
    :class:`ListGapError` when changes between the held version and the page
    are missing, :class:`ListError` for a malformed page (nothing applied).
    """
    if not isinstance(page, dict) or page.get("format", PAGE_FORMAT) not in PAGE_FORMATS:
        raise ListError("not a gatepass-lists/1, /2, /3 or /4 page")
    version = _need(page, "version", int)
    changes = _need(page, "changes", list)
    snapshot = bool(page.get("snapshot", False))
    with _write(db):
        held = int(_meta_get(db, "version") or 0)
        if version < held:
            raise StaleListError(f"page version {version} is older than the held version {held}")
        if not snapshot:
            since = _need(page, "since", int)
            if since > held:
                raise ListGapError(f"page starts after version {since} but only {held} is held")
        if snapshot:
            for table in LIST_TABLES:
                db.execute(f"DELETE FROM {table}")
        applied = 0
        for change in changes:
            if not isinstance(change, dict):
                raise ListError("a change is not an object")
            try:
                if snapshot or _need(change, "v", int) > held:
                    _apply_change(db, change)
                    applied += 1
            except (ValueError, TypeError, KeyError) as exc:
                raise ListError(f"change v{change.get('v')}: {exc}") from None
        _meta_set(db, "version", version)
        _meta_set(db, "format", PAGE_FORMATS.index(page.get("format", PAGE_FORMAT)) + 1)
        issued_at = page.get("issued_at")
        if isinstance(issued_at, (int, float)) and not isinstance(issued_at, bool) and math.isfinite(issued_at):
            _meta_set(db, "issued_at", float(issued_at))
            server_time = _meta_get(db, "server_time")
            if server_time is None or issued_at > server_time:
                _meta_set(db, "server_time", float(issued_at))
    log.log(logging.INFO if applied or snapshot else logging.DEBUG, "lists: applied %d change(s)%s, now version %d",
            applied, " (snapshot)" if snapshot else "", version)
    return version


def ask_since(db: Database, fmt: int = FORMAT_QUERY) -> int:
    """The ``since`` a gate asks central for in list format ``fmt``: its held version, or 0 (a snapshot) when
    what it holds came in an older list format than ``fmt`` (central left the newer changes out of those pages)."""
    held = meta(db).version
    held_format = _meta_get(db, "format")
    return held if held == 0 or (isinstance(held_format, int) and held_format >= fmt) else 0


def central_guard(db: Database, guard_id: str) -> tuple[bool, str | None]:
    """Whether central keeps ``guard_id`` (list format 3) and, if so, its PIN hash (None: refused at the gate)."""
    try:
        row = db.execute("SELECT pin_hash FROM list_guards WHERE guard_id = ?", [guard_id]).fetchone()
    except sqlite3.OperationalError:  # the list tables are not made yet: central keeps no guard here
        return False, None
    return (True, row[0]) if row else (False, None)


def load(db: Database) -> tuple[TrustList, Lists, dict[str, Any], ListMeta]:
    """Read the held lists into the immutable snapshot :func:`sync.passes.verify` uses."""
    keys = [TrustKey(bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)), nbf, naf,
                     bool(retired))
            for kid, pub, nbf, naf, retired in db.execute(
                "SELECT kid, public_key, not_before, not_after, retired FROM list_trust_keys")]
    revoked = frozenset(row[0] for row in db.execute("SELECT pass_id FROM list_revoked"))
    quarantine = {hh: (s, e) for hh, s, e in db.execute("SELECT household, start_ts, end_ts FROM list_quarantine")}
    persons = {(hh, p): (s, e) for hh, p, s, e in db.execute(
        "SELECT household, person, start_ts, end_ts FROM list_quarantine_person")}
    policy = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM list_policy")}
    held_format = _meta_get(db, "format")
    households = {row[0] for row in db.execute("SELECT household FROM list_households")} \
        if isinstance(held_format, int) and held_format >= 4 else None  # older formats carry no households
    return TrustList.of(keys), Lists.of(revoked, quarantine, persons, households), policy, meta(db)
