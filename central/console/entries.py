"""Searching central ``entries`` with filters and keyset pagination.

Rows are ordered newest first by ``(wall_ts, device_id, seq)``; a page ends with a cursor naming its
last row, and the next page asks for rows strictly before it (``(wall_ts, device_id, seq) < cursor``),
so page 1,000 costs what page 1 costs (no OFFSET). Every filter maps onto the agreed indexes:
``(wall_ts)``, ``(gate_id, wall_ts)``, ``(household, wall_ts)``, ``(pass_id, wall_ts)``,
``(community, wall_ts)`` and the partial ``(wall_ts) WHERE fever=1``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

from central import visitors
from central.console.errors import ConsoleError
from central.store import CentralDB

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
EXPORT_LIMIT = 100_000
MAX_CURSOR_CHARS = 1024
INT64 = 2**63  # seq is a 64-bit integer in both databases

# Columns shown and exported, in order.
COLUMNS = ("wall_ts", "community", "gate_id", "direction", "event", "decision", "reason", "temp_c", "fever",
           "pass_id", "household", "person", "pass_kind", "visitor_ref", "guard_id", "override_reason",
           "device_id", "seq", "uuid")
DIRECTIONS = ("in", "out")
DECISIONS = ("pass", "refuse", "guard", "info")  # info: a record, e.g. a shift hand-over


@dataclass(frozen=True)
class EntryFilter:
    """Search criteria; every field is optional (None = any)."""

    since: float | None = None       # unix s, inclusive
    until: float | None = None       # unix s, exclusive
    community: str | None = None
    gate_id: str | None = None
    direction: str | None = None
    decision: str | None = None
    reason: str | None = None
    fever: bool | None = None
    pass_id: str | None = None
    household: str | None = None
    visitor_ref: str | None = None
    guard_id: str | None = None

    def __post_init__(self) -> None:
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ConsoleError(f"unknown direction {self.direction!r}")
        if self.decision is not None and self.decision not in DECISIONS:
            raise ConsoleError(f"unknown decision {self.decision!r}")

    def as_dict(self) -> dict:
        """The non-empty criteria (for the audit log and links)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def where(self) -> tuple[list[str], list]:
        """SQL conditions and their arguments."""
        conds: list[str] = []
        args: list = []
        if self.since is not None:
            conds.append("wall_ts >= ?")
            args.append(self.since)
        if self.until is not None:
            conds.append("wall_ts < ?")
            args.append(self.until)
        for name in ("community", "gate_id", "direction", "decision", "reason", "pass_id", "household",
                     "visitor_ref", "guard_id"):
            value = getattr(self, name)
            if value is not None:
                conds.append(f"{name} = ?")
                args.append(value)
        if self.fever is not None:
            conds.append("fever = ?" if not self.fever else "fever = 1")
            if not self.fever:
                args.append(0)
        return conds, args


FILTER_FIELDS = tuple(f.name for f in fields(EntryFilter))


@dataclass(frozen=True)
class Cursor:
    """The position after the last row of a page."""

    wall_ts: float
    device_id: str
    seq: int

    def encode(self) -> str:
        """URL-safe text form."""
        raw = json.dumps([self.wall_ts, self.device_id, self.seq], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse :meth:`encode` output; ConsoleError on anything else (wrong types, a seq beyond 64 bits, a NUL
        in the device id, text too long to be a cursor)."""
        try:
            if len(text) > MAX_CURSOR_CHARS:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            ts, dev, seq = json.loads(raw)
            if isinstance(ts, bool) or not isinstance(ts, int | float) or not isinstance(dev, str) \
                    or isinstance(seq, bool) or not isinstance(seq, int) or not -INT64 <= seq < INT64 or "\x00" in dev:
                raise ValueError("wrong types")
            return cls(float(ts), dev, seq)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError, OverflowError):
            raise ConsoleError("bad page cursor", "start again from the first page") from None


@dataclass
class Page:
    """One page of rows and the cursor of the next page (None at the end)."""

    rows: list[dict]
    next_cursor: str | None


def search(db: CentralDB, flt: EntryFilter, cursor: str | None = None,
           limit: int = PAGE_SIZE) -> Page:
    """One page of entries matching ``flt``, newest first, after ``cursor``."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    conds, args = flt.where()
    if cursor:
        cur = Cursor.decode(cursor)
        conds.append("(wall_ts, device_id, seq) < (?, ?, ?)")
        args += [cur.wall_ts, cur.device_id, cur.seq]
    # Keys first: the indexes hold (wall_ts, device_id, seq) and the covering console_entries_scan holds the
    # low-cardinality filter columns, so this step mostly reads indexes; then the page's rows by primary key.
    sql = "SELECT wall_ts, device_id, seq FROM entries"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    sql += " ORDER BY wall_ts DESC, device_id DESC, seq DESC LIMIT ?"
    keys = db.execute(sql, [*args, limit + 1]).fetchall()
    more = len(keys) > limit
    keys = keys[:limit]
    rows = [_row(db, device_id, seq) for _, device_id, seq in keys]
    nxt = Cursor(*keys[-1]).encode() if more else None
    return Page(rows, nxt)


_ROW_SQL = f"SELECT {', '.join(COLUMNS)} FROM entries WHERE device_id = ? AND seq = ?"


def _row(db: CentralDB, device_id: str, seq: int) -> dict:
    cur = db.execute(_ROW_SQL, [device_id, seq])
    return dict(zip(COLUMNS, cur.fetchone(), strict=True))


def iter_all(db: CentralDB, flt: EntryFilter, limit: int = EXPORT_LIMIT) -> list[dict]:
    """Every matching row (newest first), up to ``limit`` rows, for exports."""
    rows: list[dict] = []
    cursor = None
    while len(rows) < limit:
        page = search(db, flt, cursor, MAX_PAGE_SIZE)
        rows.extend(page.rows)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    return rows[:limit]


def distinct_values(db: CentralDB, column: str, limit: int = 200) -> list[str]:
    """Known values of a low-cardinality column for filter drop-downs (from the device registry if present)."""
    if column not in ("community", "gate_id"):
        raise ConsoleError(f"no value list for {column}")
    if db.table_exists("devices"):
        rows = db.execute(f"SELECT DISTINCT {column} FROM devices WHERE {column} IS NOT NULL "
                          f"ORDER BY 1 LIMIT ?", [limit]).fetchall()
        if rows:
            return [r[0] for r in rows]
    return []


VISITOR_NAME_BATCH = 500  # visit references looked up per query


def visitor_names(db: CentralDB, refs: Iterable[str | None], full: bool) -> dict[str, str]:
    """The visitor's name for each visit reference (``visitor_ref``, e.g. ``d70d76f70b99``): the name of the
    visitor their phone links the visit to (:mod:`central.visitors`), else the name on the visit entry; masked
    (张**) unless ``full``. A reference whose details retention erased has no name (the hash stays)."""
    wanted = sorted({r for r in refs if r})
    names: dict[str, str] = {}
    for i in range(0, len(wanted), VISITOR_NAME_BATCH):
        part = wanted[i:i + VISITOR_NAME_BATCH]
        marks = ", ".join("?" * len(part))
        for ref, linked, extra in db.execute(
                "SELECT e.visitor_ref, v.name, e.extra FROM entries e LEFT JOIN visitors v "
                f"ON v.visitor_key = e.visitor_key WHERE e.event = 'visitor' AND e.visitor_ref IN ({marks})", part):
            name = linked or str(visitors.visit_details(extra).get("name") or "")
            if name:
                names[ref] = name if full else visitors.mask_name(name)
    return names


def with_visitor_names(db: CentralDB, rows: list[dict], full: bool) -> list[dict]:
    """``rows`` (with ``visitor_ref``) each given ``visitor_name`` ("" for none; masked unless ``full``)."""
    names = visitor_names(db, (r.get("visitor_ref") for r in rows), full)
    for r in rows:
        r["visitor_name"] = names.get(r.get("visitor_ref") or "", "")
    return rows
