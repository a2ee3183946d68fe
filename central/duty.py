"""Posts, the roster and who is on duty now (migration set ``central-duty``).

Every gate is a post (made from the registered devices' gates); other posts (a patrol, a delivery point, a
quarantine building) are added by hand. A roster slot puts one person (:mod:`central.people`, by guard id) on
a post from one instant to another. Who is actually on duty comes from the gates: each sign-in is a
``shift_start`` entry (``extra.started_at``) and each sign-out or take-over a ``shift_end`` entry (the hand-over
summary, with the same ``started_at``), synced like every entry (:mod:`edge.guard_desk`).

:func:`board` puts the two together: per post, who is rostered now, who is signed in and since when, the
rostered people not signed in, a gate post with nobody signed in, and someone signed in who is not rostered.
A post that is not a gate has no sign-ins: only its roster is shown.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from central import people
from central.errors import CentralError
from central.store import CentralDB
from central.store.migrations import Migrations

log = logging.getLogger(__name__)

migrations = Migrations("central-duty")

POST_KINDS = ("gate", "patrol", "point", "building")
LOOKBACK_S = 3 * 86400  # sign-ins older than this are not read (a shift is shorter)
MAX_SHIFT_ROWS = 20000
MAX_SLOT_S = 24 * 3600
MAX_NAME = 40


class DutyError(CentralError):
    """A post or roster slot cannot be added as asked (the message says why, zh-CN / English)."""


@migrations()
def m001_duty(db: CentralDB) -> None:
    """Posts and roster slots."""
    db.execute("CREATE TABLE duty_posts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
               "kind TEXT NOT NULL, gate_id TEXT UNIQUE, created_at REAL NOT NULL)")
    db.execute("CREATE TABLE duty_slots (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "post_id INTEGER NOT NULL REFERENCES duty_posts(id), guard_id TEXT NOT NULL, "
               "start_ts REAL NOT NULL, end_ts REAL NOT NULL, created_by TEXT NOT NULL DEFAULT '', "
               "created_at REAL NOT NULL)")
    db.execute("CREATE INDEX duty_slots_time ON duty_slots (start_ts, end_ts)")


@migrations()
def m002_shift_index(db: CentralDB) -> None:
    """Sign-ins and hand-overs are read by event and time (the board reads them at every view)."""
    db.execute("CREATE INDEX IF NOT EXISTS entries_event_wall ON entries (event, wall_ts)")


@migrations()
def m003_stand_ins(db: CentralDB) -> None:
    """Stand-ins ("顶岗、补岗"): a slot keeps the person first rostered; each change says who approved it and why."""
    db.execute("ALTER TABLE duty_slots ADD COLUMN original_guard_id TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE TABLE duty_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "slot_id INTEGER NOT NULL REFERENCES duty_slots(id) ON DELETE CASCADE, "
               "old_guard_id TEXT NOT NULL, new_guard_id TEXT NOT NULL, reason TEXT NOT NULL, "
               "approved_by TEXT NOT NULL, created_at REAL NOT NULL)")
    db.execute("CREATE INDEX duty_changes_time ON duty_changes (created_at)")


def migrate(db: CentralDB) -> None:
    """Create or upgrade the duty tables."""
    migrations.apply(db)


@dataclass(frozen=True)
class Post:
    """A post: a gate (``gate_id``) or another place."""

    id: int
    name: str
    kind: str
    gate_id: str | None


@dataclass(frozen=True)
class Slot:
    """One person rostered on a post."""

    id: int
    post_id: int
    guard_id: str
    name: str
    start_ts: float
    end_ts: float
    original: str = ""  # the guard id first rostered, when someone stands in ("" otherwise)
    original_name: str = ""


@dataclass(frozen=True)
class Change:
    """A stand-in: who replaced whom on a slot, who approved it and why."""

    id: int
    slot_id: int
    post_id: int
    start_ts: float
    end_ts: float
    old_guard_id: str
    old_name: str
    new_guard_id: str
    new_name: str
    reason: str
    approved_by: str
    created_at: float


@dataclass(frozen=True)
class SignedIn:
    """A guard signed in at a gate (from the synced ``shift_start`` entries)."""

    guard_id: str
    since: float


@dataclass
class PostNow:
    """One post on the board."""

    post: Post
    rostered: list[Slot] = field(default_factory=list)
    signed_in: SignedIn | None = None
    signed_in_name: str = ""
    absent: list[Slot] = field(default_factory=list)  # rostered now, not signed in (gate posts)

    @property
    def empty(self) -> bool:
        """A gate post with nobody signed in."""
        return self.post.gate_id is not None and self.signed_in is None

    @property
    def unrostered(self) -> bool:
        """Someone signed in who is not rostered on this post now."""
        return self.signed_in is not None and self.signed_in.guard_id not in {s.guard_id for s in self.rostered}


def sync_gate_posts(db: CentralDB) -> None:
    """Make a post for every gate with a registered device (kept when the device goes), named as staff named the
    gate's device (东门), else by the gate id; "东门 (gate-7)" when that name is already a post's."""
    missing = db.execute("SELECT gate_id, MAX(name) FROM devices WHERE gate_id <> '' "
                         "AND gate_id NOT IN (SELECT gate_id FROM duty_posts WHERE gate_id IS NOT NULL) "
                         "GROUP BY gate_id").fetchall()
    if not missing:
        return  # the usual case: no write transaction for a page view
    with db.transaction():
        for gate_id, device_name in missing:
            name = " ".join((device_name or "").split())[:MAX_NAME] or gate_id
            if db.execute("SELECT 1 FROM duty_posts WHERE name = ?", [name]).fetchone():
                name = f"{name} ({gate_id})"
            db.execute("INSERT INTO duty_posts (name, kind, gate_id, created_at) VALUES (?, 'gate', ?, ?) "
                       "ON CONFLICT DO NOTHING", [name, gate_id, time.time()])


def posts(db: CentralDB) -> list[Post]:
    """All posts, gates first, by name."""
    rows = db.execute("SELECT id, name, kind, gate_id FROM duty_posts "
                      "ORDER BY CASE kind WHEN 'gate' THEN 0 ELSE 1 END, name").fetchall()
    return [Post(int(r[0]), r[1], r[2], r[3]) for r in rows]


def add_post(db: CentralDB, name: str, kind: str) -> int:
    """Add a post that is not a gate (gates come from their devices); returns its id."""
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise DutyError(f"岗位名称为 1-{MAX_NAME} 个字 / a post name has 1-{MAX_NAME} characters")
    if kind not in POST_KINDS or kind == "gate":
        raise DutyError("请选择岗位类型 / choose the kind of post")
    with db.transaction():
        if db.execute("SELECT 1 FROM duty_posts WHERE name = ?", [name]).fetchone():
            raise DutyError(f"岗位 {name} 已存在 / post {name} exists")
        row = db.execute("INSERT INTO duty_posts (name, kind, created_at) VALUES (?, ?, ?) RETURNING id",
                         [name, kind, time.time()]).fetchone()
    return int(row[0])


def add_slot(db: CentralDB, post_id: int, guard_id: str, start_ts: float, end_ts: float, *, by: str = "") -> int:
    """Roster ``guard_id`` on a post from ``start_ts`` to ``end_ts`` (at most a day); returns the slot's id."""
    if not end_ts > start_ts or end_ts - start_ts > MAX_SLOT_S:
        raise DutyError("班次须在开始之后结束，且不超过 24 小时 / a slot ends after it starts, within 24 hours")
    person = people.by_guard(db, guard_id)
    if person is None or not person.enabled or person.status != "active":
        raise DutyError(f"工号 {guard_id} 不是在岗的值班人员 / {guard_id} is no active person on duty")
    with db.transaction():
        if db.execute("SELECT 1 FROM duty_posts WHERE id = ?", [post_id]).fetchone() is None:
            raise DutyError("没有这个岗位 / no such post")
        row = db.execute("INSERT INTO duty_slots (post_id, guard_id, start_ts, end_ts, created_by, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                         [post_id, guard_id, start_ts, end_ts, by, time.time()]).fetchone()
    return int(row[0])


def copy_week(db: CentralDB, first: float, *, by: str = "") -> int:
    """Copy the roster of the 7 days before ``first`` (an instant, e.g. a local midnight) to the 7 days from it,
    each slot a week later with the person first rostered (a stand-in is for that week only); slots already
    there (same post, person and times) are not doubled. Returns how many were added."""
    week = 7 * 86400
    source = db.execute("SELECT post_id, CASE WHEN original_guard_id <> '' THEN original_guard_id "
                        "ELSE guard_id END, start_ts, end_ts FROM duty_slots WHERE start_ts >= ? "
                        "AND start_ts < ? ORDER BY start_ts LIMIT 5000", [first - week, first]).fetchall()
    added = 0
    with db.transaction():
        for post_id, guard_id, start_ts, end_ts in source:
            if db.execute("SELECT 1 FROM duty_slots WHERE post_id = ? AND guard_id = ? AND start_ts = ? "
                          "AND end_ts = ?", [post_id, guard_id, start_ts + week, end_ts + week]).fetchone():
                continue
            db.execute("INSERT INTO duty_slots (post_id, guard_id, start_ts, end_ts, created_by, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", [post_id, guard_id, start_ts + week, end_ts + week, by,
                                                     time.time()])
            added += 1
    return added


def remove_slot(db: CentralDB, slot_id: int) -> bool:
    """Take a slot off the roster (and its stand-in records); False when there was none."""
    with db.transaction():
        db.execute("DELETE FROM duty_changes WHERE slot_id = ?", [slot_id])
        return db.execute("DELETE FROM duty_slots WHERE id = ? RETURNING id", [slot_id]).fetchone() is not None


def slots(db: CentralDB, since: float, until: float) -> list[Slot]:
    """The roster slots overlapping ``since``..``until``, by start."""
    rows = db.execute("SELECT s.id, s.post_id, s.guard_id, COALESCE(p.name, ''), s.start_ts, s.end_ts, "
                      "s.original_guard_id, COALESCE(o.name, '') "
                      "FROM duty_slots s LEFT JOIN people p ON p.guard_id = s.guard_id "
                      "LEFT JOIN people o ON o.guard_id = s.original_guard_id "
                      "WHERE s.start_ts < ? AND s.end_ts > ? ORDER BY s.start_ts, s.id LIMIT 5000",
                      [until, since]).fetchall()
    return [Slot(int(r[0]), int(r[1]), r[2], r[3], float(r[4]), float(r[5]), r[6], r[7]) for r in rows]


MAX_REASON = 100


def stand_in(db: CentralDB, slot_id: int, guard_id: str, reason: str, *, approved_by: str,
             now: float | None = None) -> int:
    """Put ``guard_id`` on a slot in place of the person rostered ("顶岗、补岗"), approved by the signed-in
    member ``approved_by`` for ``reason``; the slot keeps the person first rostered. Returns the change's id."""
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise DutyError(f"请填写顶岗原因（1-{MAX_REASON} 字）/ give a reason (1-{MAX_REASON} characters)")
    person = people.by_guard(db, guard_id)
    if person is None or not person.enabled or person.status != "active":
        raise DutyError(f"工号 {guard_id} 不是在岗的值班人员 / {guard_id} is no active person on duty")
    with db.transaction():
        row = db.execute("SELECT guard_id, original_guard_id FROM duty_slots WHERE id = ?", [slot_id]).fetchone()
        if row is None:
            raise DutyError("没有这个班次 / no such slot")
        if row[0] == guard_id:
            raise DutyError(f"{guard_id} 已在这个班次 / {guard_id} is on this slot already")
        original = row[1] or row[0]
        db.execute("UPDATE duty_slots SET guard_id = ?, original_guard_id = ? WHERE id = ?",
                   [guard_id, "" if original == guard_id else original, slot_id])
        made = db.execute("INSERT INTO duty_changes (slot_id, old_guard_id, new_guard_id, reason, approved_by, "
                          "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                          [slot_id, row[0], guard_id, reason, approved_by,
                           time.time() if now is None else now]).fetchone()
    return int(made[0])


def changes(db: CentralDB, since: float, until: float, limit: int = 500) -> list[Change]:
    """The stand-ins on slots overlapping ``since``..``until``, newest first."""
    rows = db.execute("SELECT c.id, c.slot_id, s.post_id, s.start_ts, s.end_ts, c.old_guard_id, "
                      "COALESCE(a.name, ''), c.new_guard_id, COALESCE(b.name, ''), c.reason, c.approved_by, "
                      "c.created_at FROM duty_changes c JOIN duty_slots s ON s.id = c.slot_id "
                      "LEFT JOIN people a ON a.guard_id = c.old_guard_id "
                      "LEFT JOIN people b ON b.guard_id = c.new_guard_id "
                      "WHERE s.start_ts < ? AND s.end_ts > ? ORDER BY c.created_at DESC, c.id DESC LIMIT ?",
                      [until, since, limit]).fetchall()
    return [Change(int(r[0]), int(r[1]), int(r[2]), float(r[3]), float(r[4]), r[5], r[6], r[7], r[8], r[9], r[10],
                   float(r[11])) for r in rows]


@dataclass
class RosterRow:
    """One post of a week's printed roster: the slots starting on each of the 7 days."""

    post: Post
    days: list[list[Slot]]


def week_grid(all_posts: list[Post], week: list[Slot], day_starts: list[float]) -> list[RosterRow]:
    """The week's roster as posts x days (pure): a slot goes under the day it starts on (``day_starts``: the
    local midnights of the days, plus the end of the last); posts without any slot that week are left out."""
    first = day_starts[0]
    rows = []
    for post in all_posts:
        days: list[list[Slot]] = [[] for _ in range(len(day_starts) - 1)]
        for s in week:
            if s.post_id != post.id or not first <= s.start_ts < day_starts[-1]:
                continue
            i = max(k for k in range(len(days)) if day_starts[k] <= s.start_ts)
            days[i].append(s)
        if any(days):
            rows.append(RosterRow(post, days))
    return rows


def _started_at(extra: str | None, wall_ts: float) -> float:
    try:
        value = json.loads(extra).get("started_at") if extra else None
    except (ValueError, TypeError, AttributeError, RecursionError):
        value = None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float(wall_ts)


def on_duty(db: CentralDB, now: float) -> dict[str, SignedIn]:
    """Who is signed in at each gate now (gate id -> guard), from the synced sign-ins and hand-overs."""
    rows = db.execute("SELECT gate_id, guard_id, event, wall_ts, extra FROM entries "
                      "WHERE event IN ('shift_start', 'shift_end') AND wall_ts >= ? AND wall_ts <= ? "
                      "ORDER BY wall_ts, seq LIMIT ?", [now - LOOKBACK_S, now + 3600, MAX_SHIFT_ROWS]).fetchall()
    held: dict[str, SignedIn] = {}
    for gate_id, guard_id, event, wall_ts, extra in rows:
        if not guard_id:
            continue
        started = _started_at(extra, wall_ts)
        if event == "shift_start":
            held[gate_id] = SignedIn(guard_id, started)
        elif gate_id in held and held[gate_id].guard_id == guard_id and abs(held[gate_id].since - started) < 1.0:
            del held[gate_id]  # that shift was handed over
    return held


def board(db: CentralDB, now: float | None = None) -> list[PostNow]:
    """Every post now: rostered, signed in since when, absent, empty or signed in by someone not rostered."""
    now = time.time() if now is None else now
    sync_gate_posts(db)
    signed = on_duty(db, now)
    rostered = slots(db, now, now + 1e-6)
    names = {p.guard_id: p.name for p in people.everyone(db)}
    rows = []
    for post in posts(db):
        row = PostNow(post, [s for s in rostered if s.post_id == post.id])
        if post.gate_id is not None:
            row.signed_in = signed.get(post.gate_id)
            row.signed_in_name = names.get(row.signed_in.guard_id, "") if row.signed_in else ""
            row.absent = [s for s in row.rostered if row.signed_in is None or s.guard_id != row.signed_in.guard_id]
        rows.append(row)
    return rows


def summary(rows: list[PostNow]) -> dict[str, Any]:
    """Counts for the board's heading."""
    return {"posts": len(rows), "empty": sum(r.empty for r in rows), "absent": sum(len(r.absent) for r in rows),
            "unrostered": sum(r.unrostered for r in rows)}
