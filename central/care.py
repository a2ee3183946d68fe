"""Home-quarantine care at central (migration set ``central-care``): why a quarantine was placed, twice-daily
temperatures, the needs log and care notes.

A quarantine itself is a :mod:`central.passes.quarantine` record (gates get every change through it); this module
adds what the staff keep while it lasts, keyed by the quarantine's id:

- ``care_quarantines``: the source (:data:`SOURCES`: 返乡人员 with the origin city, 密切接触者 named by the health
  authority, 其他), who started the care and, once retention reduced it, the counts that remain;
- ``care_readings``: one temperature per person, day and slot (:data:`SLOTS`: morning / afternoon), recorded by
  staff on a phone round or self-reported by the resident; a second reading for a slot corrects the first;
- ``care_needs``: 买菜, 买药, 倒垃圾, 就医 … (:data:`NEED_KINDS`): what, when asked, who handled it, when done;
- ``care_notes``: free notes by the staff;
- ``care_settings``: the care policy (slot ends, retention) and the self-report signing secret.

A household quarantine (``person`` None) covers every member of the household file; each member has their own
readings (a household without members in its file is read as person 0).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta

from central import homes
from central.errors import CentralError
from central.passes import quarantine
from central.passes.errors import PassAdminError
from central.store import CentralDB
from central.store.migrations import Migrations

log = logging.getLogger(__name__)

migrations = Migrations("central-care")

#: Why a quarantine was placed: code → (zh-CN, English).
SOURCES: dict[str, tuple[str, str]] = {
    "returnee": ("返乡人员", "returnee"),
    "close_contact": ("密切接触者", "close contact"),
    "other": ("其他", "other"),
}
#: The twice-daily temperature slots: code → (zh-CN, English).
SLOTS: dict[str, tuple[str, str]] = {"am": ("上午", "morning"), "pm": ("下午", "afternoon")}
#: Kinds of need: code → (zh-CN, English).
NEED_KINDS: dict[str, tuple[str, str]] = {
    "groceries": ("买菜", "groceries"),
    "medicine": ("买药", "medicine"),
    "rubbish": ("倒垃圾", "rubbish"),
    "medical": ("就医", "medical visit"),
    "other": ("其他", "other"),
}
MAX_CITY = 40
MAX_NOTE = 500
MAX_NAME = 40
#: The longest quarantine the console accepts (days), and how far ahead it may start.
MAX_DAYS = 60
MAX_AHEAD_DAYS = 30


class CareError(CentralError):
    """A care record cannot be made or changed as asked (the message says why, zh-CN / English)."""


@migrations()
def m001_care(db: CentralDB) -> None:
    """Care details of a quarantine, temperatures, needs, notes and the care settings."""
    db.execute("CREATE TABLE care_quarantines (quarantine_id INTEGER PRIMARY KEY REFERENCES quarantines(id), "
               "source TEXT NOT NULL CHECK (source IN ('returnee', 'close_contact', 'other')), "
               "origin_city TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, created_by TEXT NOT NULL DEFAULT '', "
               "reduced_at REAL, readings_count INTEGER, fever_count INTEGER, needs_count INTEGER)")
    db.execute("CREATE TABLE care_readings (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "quarantine_id INTEGER NOT NULL REFERENCES quarantines(id), person INTEGER NOT NULL, "
               "day TEXT NOT NULL, slot TEXT NOT NULL CHECK (slot IN ('am', 'pm')), temp_c REAL NOT NULL, "
               "via TEXT NOT NULL CHECK (via IN ('staff', 'self')), recorded_at REAL NOT NULL, "
               "recorded_by TEXT NOT NULL DEFAULT '', previous_c REAL, corrections INTEGER NOT NULL DEFAULT 0, "
               "UNIQUE (quarantine_id, person, day, slot))")
    db.execute("CREATE TABLE care_needs (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "quarantine_id INTEGER NOT NULL REFERENCES quarantines(id), household TEXT NOT NULL, person INTEGER, "
               "kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', asked_at REAL NOT NULL, "
               "recorded_by TEXT NOT NULL DEFAULT '', handled_by TEXT NOT NULL DEFAULT '', done_at REAL, "
               "done_by TEXT NOT NULL DEFAULT '')")
    db.execute("CREATE INDEX care_needs_household ON care_needs (household, asked_at)")
    db.execute("CREATE TABLE care_notes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "quarantine_id INTEGER NOT NULL REFERENCES quarantines(id), household TEXT NOT NULL, "
               "at REAL NOT NULL, noted_by TEXT NOT NULL DEFAULT '', note TEXT NOT NULL)")
    db.execute("CREATE INDEX care_notes_household ON care_notes (household, at)")
    db.execute("CREATE TABLE care_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-care`` migrations."""
    migrations.apply(db)


@dataclass(frozen=True)
class CareRecord:
    """A quarantine with its care details."""

    q: quarantine.QuarantineRecord
    source: str
    origin_city: str
    created_by: str
    reduced_at: float | None = None

    @property
    def id(self) -> int:
        return self.q.id

    @property
    def active(self) -> bool:
        return self.q.status == "active"


def check_start(household: str, person: int | None, first_day: date, last_day: date, source: str,
                origin_city: str, note: str, today: date | None = None) -> None:
    """Refuse a quarantine the console must not place (a :class:`CareError` says why); pure."""
    if source not in SOURCES:
        raise CareError(f"来源须为返乡人员、密切接触者或其他 / source is one of {', '.join(SOURCES)}")
    if len(origin_city) > MAX_CITY or len(note) > MAX_NOTE:
        raise CareError(f"来源城市最多 {MAX_CITY} 字，备注最多 {MAX_NOTE} 字 / origin city up to {MAX_CITY}, "
                        f"note up to {MAX_NOTE} characters")
    if last_day < first_day:
        raise CareError(f"末日 {last_day} 早于首日 {first_day} / the last day is before the first day")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise CareError(f"隔离期最长 {MAX_DAYS} 天 / a quarantine lasts at most {MAX_DAYS} days")
    if today is not None and first_day > today + timedelta(days=MAX_AHEAD_DAYS):
        raise CareError(f"首日最多在 {MAX_AHEAD_DAYS} 天之后 / the first day is at most {MAX_AHEAD_DAYS} days ahead")
    if not household.strip():
        raise CareError("请填写户号 / give the household")


def start_quarantine(db: CentralDB, *, household: str, person: int | None, first_day: date, last_day: date,
                     source: str, origin_city: str = "", note: str = "", by: str) -> int:
    """Place ``household`` (or its member ``person``) under home quarantine from ``first_day`` to ``last_day``
    (both included) and record why (``source``: ``returnee`` with ``origin_city``, ``close_contact`` or
    ``other``). Goes through :func:`central.passes.quarantine.place`, so gates get the change; a subject already
    under quarantine has its record changed. Returns the quarantine's id. Raises :class:`CareError`."""
    origin_city, note = origin_city.strip(), note.strip()
    check_start(household, person, first_day, last_day, source, origin_city, note)
    now = time.time()
    with db.transaction():
        try:
            quarantine.place(db, household, first_day, last_day, note, person=person, by=by)
        except PassAdminError as exc:
            raise CareError(f"无法隔离：{exc} / cannot place the quarantine: {exc}") from exc
        qid = _active_id(db, household, person)
        db.execute("INSERT INTO care_quarantines (quarantine_id, source, origin_city, created_at, created_by) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (quarantine_id) DO UPDATE SET source = excluded.source, "
                   "origin_city = excluded.origin_city", [qid, source, origin_city, now, by])
    log.info("quarantine %s of %s/%s (%s) %s..%s by %s", qid, household, person, source, first_day, last_day, by)
    return qid


def _active_id(db: CentralDB, household: str, person: int | None) -> int:
    who = "person IS NULL" if person is None else "person = ?"
    args: list = [household] if person is None else [household, person]
    row = db.execute(f"SELECT id FROM quarantines WHERE household = ? AND {who} AND status = 'active'",
                     args).fetchone()
    if row is None:
        raise CareError("隔离记录未找到 / the quarantine record is missing")
    return int(row[0])


def record(db: CentralDB, quarantine_id: int) -> CareRecord | None:
    """The quarantine ``quarantine_id`` with its care details (None: no such quarantine). A quarantine placed
    without care details (e.g. from the passes page) reads as source ``other``."""
    row = db.execute(f"SELECT {quarantine._COLS} FROM quarantines WHERE id = ?", [quarantine_id]).fetchone()
    if row is None:
        return None
    care = db.execute("SELECT source, origin_city, created_by, reduced_at FROM care_quarantines "
                      "WHERE quarantine_id = ?", [quarantine_id]).fetchone()
    q = quarantine.QuarantineRecord(*row)
    if care is None:
        return CareRecord(q, "other", "", q.set_by)
    return CareRecord(q, care[0], care[1], care[2], care[3])


def persons(db: CentralDB, q: quarantine.QuarantineRecord) -> list[int]:
    """The people a quarantine covers: its person, or every member in the household's file (else person 0)."""
    if q.person is not None:
        return [q.person]
    return [m.person for m in homes.members(db, q.household)] or [0]
