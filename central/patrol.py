"""Patrol log ("巡查记录", migration set ``central-patrol``): a patrol post's rounds and the defects found.

A round is one walk of a patrol post (:mod:`central.duty`, kind ``patrol``) by a signed-in staff member: when
it started and finished, the route or area walked ("巡查围挡安全"), and zero or more defects (what, where,
fixed on the spot or not). Text is bounded and free of control characters; a refusal says why (zh-CN / English).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field

from central.errors import CentralError
from central.store import CentralDB
from central.store.migrations import Migrations

log = logging.getLogger(__name__)

migrations = Migrations("central-patrol")

MAX_AREA = 100
MAX_WHAT = 60
MAX_WHERE = 60
MAX_NAME = 60
MAX_DEFECTS = 200  # per round
COMMON_DEFECTS = ("围挡松动", "门锁损坏", "照明故障", "积水", "其他")


class PatrolError(CentralError):
    """A round or defect cannot be recorded as asked (the message says why, zh-CN / English)."""


@migrations()
def m001_patrol(db: CentralDB) -> None:
    """Rounds and their defects."""
    db.execute("CREATE TABLE patrol_rounds (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "post_id INTEGER NOT NULL REFERENCES duty_posts(id), username TEXT NOT NULL, "
               "walker TEXT NOT NULL, area TEXT NOT NULL DEFAULT '', started_at REAL NOT NULL, finished_at REAL)")
    db.execute("CREATE INDEX patrol_rounds_started ON patrol_rounds (started_at)")
    db.execute("CREATE TABLE patrol_defects (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "round_id INTEGER NOT NULL REFERENCES patrol_rounds(id) ON DELETE CASCADE, what TEXT NOT NULL, "
               "place TEXT NOT NULL DEFAULT '', fixed INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL)")
    db.execute("CREATE INDEX patrol_defects_round ON patrol_defects (round_id)")


def migrate(db: CentralDB) -> None:
    """Create or upgrade the patrol tables."""
    migrations.apply(db)


@dataclass(frozen=True)
class Defect:
    """A defect found on a round."""

    id: int
    what: str
    place: str
    fixed: bool
    created_at: float


@dataclass
class Round:
    """One patrol round with its defects."""

    id: int
    post_id: int
    post_name: str
    username: str
    walker: str
    area: str
    started_at: float
    finished_at: float | None
    defects: list[Defect] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """Not finished yet."""
        return self.finished_at is None


def clean_text(text: str | None, label_zh: str, label_en: str, limit: int, *, required: bool = False) -> str:
    """``text`` with its whitespace collapsed; refused when it holds control characters, is too long or is
    empty while ``required``."""
    text = text or ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in "\t\n\r " for ch in text):
        raise PatrolError(f"{label_zh}含有不可见的控制字符 / {label_en} holds control characters")
    text = " ".join(text.split())
    if len(text) > limit:
        raise PatrolError(f"{label_zh}最多 {limit} 个字 / {label_en} has at most {limit} characters")
    if required and not text:
        raise PatrolError(f"请填写{label_zh} / {label_en} is needed")
    return text


def patrol_posts(db: CentralDB) -> list[tuple[int, str]]:
    """The patrol posts (id, name), by name."""
    rows = db.execute("SELECT id, name FROM duty_posts WHERE kind = 'patrol' ORDER BY name").fetchall()
    return [(int(r[0]), r[1]) for r in rows]


def start(db: CentralDB, post_id: int, username: str, walker: str, area: str, now: float) -> int:
    """Start a round of patrol post ``post_id`` by ``username`` (shown as ``walker``); returns its id. A member
    has one open round at a time."""
    area = clean_text(area, "巡查路线或区域", "the route or area", MAX_AREA)
    walker = clean_text(walker, "巡查人", "the walker", MAX_NAME) or username
    with db.transaction():
        post = db.execute("SELECT kind FROM duty_posts WHERE id = ?", [post_id]).fetchone()
        if post is None or post[0] != "patrol":
            raise PatrolError("请选择巡查岗位 / choose a patrol post")
        if db.execute("SELECT 1 FROM patrol_rounds WHERE username = ? AND finished_at IS NULL",
                      [username]).fetchone():
            raise PatrolError("您有未结束的巡查，请先结束 / you have a round under way: finish it first")
        row = db.execute("INSERT INTO patrol_rounds (post_id, username, walker, area, started_at) "
                         "VALUES (?, ?, ?, ?, ?) RETURNING id", [post_id, username, walker, area, now]).fetchone()
    return int(row[0])


def _open_round(db: CentralDB, round_id: int, username: str) -> None:
    """Refuse unless ``round_id`` is an open round of ``username``."""
    row = db.execute("SELECT username, finished_at FROM patrol_rounds WHERE id = ?", [round_id]).fetchone()
    if row is None or row[0] != username:
        raise PatrolError("没有您的这次巡查 / no such round of yours")
    if row[1] is not None:
        raise PatrolError("这次巡查已结束 / this round is finished")


def add_defect(db: CentralDB, round_id: int, username: str, what: str, place: str, fixed: bool,
               now: float) -> int:
    """Record a defect on an open round of ``username``; returns its id."""
    what = clean_text(what, "问题", "the defect", MAX_WHAT, required=True)
    place = clean_text(place, "位置", "the place", MAX_WHERE)
    with db.transaction():
        _open_round(db, round_id, username)
        count = db.execute("SELECT COUNT(*) FROM patrol_defects WHERE round_id = ?", [round_id]).fetchone()[0]
        if int(count) >= MAX_DEFECTS:
            raise PatrolError(f"一次巡查最多记录 {MAX_DEFECTS} 个问题 / at most {MAX_DEFECTS} defects a round")
        row = db.execute("INSERT INTO patrol_defects (round_id, what, place, fixed, created_at) "
                         "VALUES (?, ?, ?, ?, ?) RETURNING id", [round_id, what, place, int(fixed), now]).fetchone()
    return int(row[0])


def finish(db: CentralDB, round_id: int, username: str, now: float) -> None:
    """Finish an open round of ``username``."""
    with db.transaction():
        _open_round(db, round_id, username)
        db.execute("UPDATE patrol_rounds SET finished_at = ? WHERE id = ?", [max(now, 0.0), round_id])


def rounds(db: CentralDB, limit: int = 50, username: str | None = None, open_only: bool = False) -> list[Round]:
    """The newest rounds first (of ``username`` if given; only open ones if ``open_only``), with their defects."""
    where, args = ["1 = 1"], []
    if username is not None:
        where.append("r.username = ?")
        args.append(username)
    if open_only:
        where.append("r.finished_at IS NULL")
    rows = db.execute("SELECT r.id, r.post_id, COALESCE(p.name, ''), r.username, r.walker, r.area, r.started_at, "
                      "r.finished_at FROM patrol_rounds r LEFT JOIN duty_posts p ON p.id = r.post_id "
                      f"WHERE {' AND '.join(where)} ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
                      [*args, limit]).fetchall()
    found = {int(r[0]): Round(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], float(r[6]),
                              None if r[7] is None else float(r[7])) for r in rows}
    if found:
        marks = ", ".join("?" * len(found))
        for d in db.execute(f"SELECT round_id, id, what, place, fixed, created_at FROM patrol_defects "
                            f"WHERE round_id IN ({marks}) ORDER BY id", list(found)).fetchall():
            found[int(d[0])].defects.append(Defect(int(d[1]), d[2], d[3], bool(d[4]), float(d[5])))
    return list(found.values())


def open_round(db: CentralDB, username: str) -> Round | None:
    """The round ``username`` has under way, if any."""
    mine = rounds(db, 1, username, open_only=True)
    return mine[0] if mine else None
