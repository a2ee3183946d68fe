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

import json
import logging
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from central import homes
from central.errors import CentralError
from central.passes import quarantine
from central.passes.errors import PassAdminError
from central.store import CentralDB
from central.store.migrations import Migrations
from central.timeline import TimelineEvent

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


@migrations()
def m002_reading_time(db: CentralDB) -> None:
    """Fever alerts read the readings of a time window."""
    db.execute("CREATE INDEX care_readings_time ON care_readings (recorded_at)")


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
    placed_at: float
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
    care = db.execute("SELECT source, origin_city, created_by, created_at, reduced_at FROM care_quarantines "
                      "WHERE quarantine_id = ?", [quarantine_id]).fetchone()
    q = quarantine.QuarantineRecord(*row)
    if care is None:
        return CareRecord(q, "other", "", q.set_by, q.set_at)
    return CareRecord(q, care[0], care[1], care[2], float(care[3]), care[4])


def persons(db: CentralDB, q: quarantine.QuarantineRecord) -> list[int]:
    """The people a quarantine covers: its person, or every member in the household's file (else person 0)."""
    if q.person is not None:
        return [q.person]
    return [m.person for m in homes.members(db, q.household)] or [0]


# -- the care policy ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """When the temperature slots end (minutes after local midnight) and the fever threshold (°C)."""

    am_end: int = 12 * 60
    pm_end: int = 20 * 60
    fever_c: float = 37.3

    def slot_end(self, day: date, slot: str, tz: str = quarantine.DEFAULT_TZ) -> float:
        """Unix seconds when ``slot`` of ``day`` is over."""
        return quarantine.local_midnight(day, tz) + 60.0 * (self.am_end if slot == "am" else self.pm_end)

    def slot_at(self, minutes: int) -> str:
        """The slot a reading taken ``minutes`` after local midnight belongs to (after the afternoon's end: late)."""
        return "am" if minutes < self.am_end else "pm"


DEFAULT_POLICY = Policy()


def parse_hhmm(text: str) -> int:
    """Minutes after midnight of ``HH:MM`` (00:00-23:59); :class:`CareError` otherwise."""
    hh, sep, mm = text.strip().partition(":")
    if not (sep and hh.isascii() and mm.isascii() and hh.isdigit() and mm.isdigit() and len(mm) == 2
            and len(hh) <= 2 and int(hh) < 24 and int(mm) < 60):
        raise CareError(f"时间须为 时:分，如 12:00 / a time is HH:MM, e.g. 12:00 (got {text[:20]!r})")
    return int(hh) * 60 + int(mm)


def hhmm(minutes: int) -> str:
    """``HH:MM`` of minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _setting(db: CentralDB, name: str) -> str | None:
    row = db.execute("SELECT value FROM care_settings WHERE name = ?", [name]).fetchone()
    return None if row is None else str(row[0])


def _put_setting(db: CentralDB, name: str, value: str) -> None:
    db.execute("INSERT INTO care_settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) "
               "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at", [name, value, time.time()])


def fever_threshold(db: CentralDB) -> float:
    """The fever threshold: central's policy ``fever_c`` (the one the gates hold) when set, else 37.3 °C."""
    if not db.table_exists("pass_policy"):
        return DEFAULT_POLICY.fever_c
    row = db.execute("SELECT value FROM pass_policy WHERE key = 'fever_c'").fetchone()
    try:
        value = float(json.loads(row[0])) if row else DEFAULT_POLICY.fever_c
    except (TypeError, ValueError):
        return DEFAULT_POLICY.fever_c
    return value if 35.0 <= value <= 42.0 else DEFAULT_POLICY.fever_c


def policy(db: CentralDB) -> Policy:
    """The care policy in force (slot ends set on the care page, the gates' fever threshold)."""
    am, pm = _setting(db, "am_end"), _setting(db, "pm_end")
    try:
        am_end = parse_hhmm(am) if am else DEFAULT_POLICY.am_end
        pm_end = parse_hhmm(pm) if pm else DEFAULT_POLICY.pm_end
    except CareError:
        am_end, pm_end = DEFAULT_POLICY.am_end, DEFAULT_POLICY.pm_end
    return Policy(am_end, pm_end, fever_threshold(db))


def set_slot_ends(db: CentralDB, am_end: str, pm_end: str) -> Policy:
    """Set when the morning and afternoon slots end (``HH:MM``; the morning's first)."""
    am, pm = parse_hhmm(am_end), parse_hhmm(pm_end)
    if not 0 < am < pm:
        raise CareError("上午时段须在下午时段之前结束 / the morning slot ends before the afternoon slot")
    with db.transaction():
        _put_setting(db, "am_end", hhmm(am))
        _put_setting(db, "pm_end", hhmm(pm))
    return policy(db)


def secret(db: CentralDB) -> bytes:
    """The self-report links' signing secret (made once, 32 random bytes, kept in ``care_settings``)."""
    value = _setting(db, "selfreport_key")
    if value is None:
        with db.transaction():
            db.execute("INSERT INTO care_settings (name, value, updated_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (name) DO NOTHING", ["selfreport_key", secrets.token_hex(32), time.time()])
        value = _setting(db, "selfreport_key")
    return bytes.fromhex(value or "")


# -- temperatures ---------------------------------------------------------------------------------------------

MIN_C, MAX_C = 34.0, 43.0
MAX_SELF_CORRECTIONS = 3
_TEMP_TEXT = re.compile(r"\d{2}(?:\.\d{1,2})?")


def parse_temp(text: str) -> float:
    """A body temperature as typed ("36.5", "３６．５", "36.5℃", "36,5 度"), rounded to 0.1 °C; a :class:`CareError`
    with the reason (zh-CN / English) for anything else or outside 34.0-43.0 °C."""
    s = unicodedata.normalize("NFKC", text or "").strip().replace(",", ".").replace("。", ".")
    for unit in ("°C", "°c", "℃", "度", "°", "C", "c"):
        s = s.removesuffix(unit).rstrip()
    if len(s) > 8 or not _TEMP_TEXT.fullmatch(s):
        raise CareError("请输入体温数字，如 36.5 / enter the temperature as a number, e.g. 36.5")
    value = float(Decimal(s).quantize(Decimal("0.1"), ROUND_HALF_UP))
    if not MIN_C <= value <= MAX_C:
        raise CareError(f"体温须在 {MIN_C:.1f}–{MAX_C:.1f} ℃ 之间，请重新测量 / a body temperature is "
                        f"{MIN_C:.1f}-{MAX_C:.1f} °C: measure again")
    return value


@dataclass(frozen=True)
class Reading:
    """One temperature of a person in a slot."""

    id: int
    quarantine_id: int
    person: int
    day: str
    slot: str
    temp_c: float
    via: str
    recorded_at: float
    recorded_by: str
    previous_c: float | None
    corrections: int


_READING_COLS = ("id, quarantine_id, person, day, slot, temp_c, via, recorded_at, recorded_by, previous_c, "
                 "corrections")


def readings(db: CentralDB, quarantine_id: int) -> list[Reading]:
    """A quarantine's temperatures by day, slot and person."""
    rows = db.execute(f"SELECT {_READING_COLS} FROM care_readings WHERE quarantine_id = ? "
                      "ORDER BY day, slot, person", [quarantine_id]).fetchall()
    return [Reading(*r) for r in rows]


def check_reading(rec: CareRecord | None, person: int, day: date, slot: str, covered: list[int],
                  today: date, via: str) -> CareRecord:
    """Refuse a reading the record cannot take (pure): unknown or ended quarantine, a person it does not cover,
    a day outside it or in the future, an unknown slot."""
    if rec is None:
        raise CareError("没有这条隔离记录 / no such quarantine")
    if via == "self" and not rec.active:
        raise CareError("隔离已解除，无需再上报体温 / the quarantine was released: no more readings")
    if person not in covered:
        raise CareError("此人不在这条隔离记录中 / this person is not under this quarantine")
    if slot not in SLOTS:
        raise CareError("请选择上午或下午 / choose morning or afternoon")
    first, last = date.fromisoformat(rec.q.first_day), date.fromisoformat(rec.q.last_day)
    if not first <= day <= last:
        raise CareError(f"日期须在隔离期 {first} 至 {last} 之内 / the day is within the quarantine")
    if day > today:
        raise CareError("不能记录未来的体温 / no readings for days to come")
    return rec


def record_reading(db: CentralDB, quarantine_id: int, person: int, day: date, slot: str, temp_c: float, *,
                   via: str, by: str, now: float, tz: str = quarantine.DEFAULT_TZ) -> Reading:
    """Record ``person``'s temperature for ``slot`` of ``day`` (a second one corrects the first: the value before
    is kept in ``previous_c``; a resident corrects a slot at most :data:`MAX_SELF_CORRECTIONS` times)."""
    if not MIN_C <= temp_c <= MAX_C:
        raise CareError(f"体温须在 {MIN_C:.1f}–{MAX_C:.1f} ℃ 之间 / a body temperature is {MIN_C}-{MAX_C} °C")
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    with db.transaction():
        rec = record(db, quarantine_id)
        check_reading(rec, person, day, slot, persons(db, rec.q) if rec else [], today, via)
        key = [quarantine_id, person, day.isoformat(), slot]
        if not _insert_reading(db, key, temp_c, via, now, by):  # held already (also by a concurrent request)
            held = db.execute("SELECT temp_c, corrections FROM care_readings WHERE quarantine_id = ? AND person = ? "
                              "AND day = ? AND slot = ?", key).fetchone()
            if via == "self" and held[1] >= MAX_SELF_CORRECTIONS:
                raise CareError("这次体温已修改多次，请联系社区工作人员 / corrected too often: call the staff")
            db.execute("UPDATE care_readings SET temp_c = ?, via = ?, recorded_at = ?, recorded_by = ?, "
                       "previous_c = ?, corrections = corrections + 1 WHERE quarantine_id = ? AND person = ? "
                       "AND day = ? AND slot = ?", [temp_c, via, now, by, held[0], *key])
        row = db.execute(f"SELECT {_READING_COLS} FROM care_readings WHERE quarantine_id = ? AND person = ? "
                         "AND day = ? AND slot = ?", [quarantine_id, person, day.isoformat(), slot]).fetchone()
    return Reading(*row)


def _insert_reading(db: CentralDB, key: list, temp_c: float, via: str, now: float, by: str) -> bool:
    """Insert the first reading of a slot; False when the slot has one (never a unique-key error)."""
    return db.execute("INSERT INTO care_readings (quarantine_id, person, day, slot, temp_c, via, recorded_at, "
                      "recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT (quarantine_id, person, day, slot) DO NOTHING",
                      [*key, temp_c, via, now, by]).rowcount > 0


# -- missed readings, the worklist ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    """A slot a person of a quarantine has no reading for: ``over`` once the slot has ended (then: missed)."""

    quarantine_id: int
    household: str
    person: int
    day: str
    slot: str
    ends_at: float
    over: bool

    @property
    def key(self) -> str:
        """The missed-reading alert's stable key."""
        return f"care_missed:{self.quarantine_id}:{self.person}:{self.day}:{self.slot}"


def due_slots(q: quarantine.QuarantineRecord, covered: list[int], have: set[tuple[int, str, str]], pol: Policy,
              now: float, since: float, placed_at: float, tz: str = quarantine.DEFAULT_TZ) -> list[Due]:
    """The slots of ``q`` ending from ``since`` until the end of today with no reading in ``have`` (``(person, day,
    slot)``): each slot ending after the quarantine was placed (``placed_at``) and before it ended or was
    released (pure)."""
    zone = ZoneInfo(tz)
    stop = q.end_ts if q.released_at is None else min(q.end_ts, q.released_at)
    day = max(date.fromisoformat(q.first_day), datetime.fromtimestamp(max(since, q.start_ts), zone).date())
    last = min(date.fromisoformat(q.last_day), datetime.fromtimestamp(now, zone).date())
    out: list[Due] = []
    while day <= last:
        for slot in SLOTS:
            ends = pol.slot_end(day, slot, tz)
            if placed_at < ends <= stop and ends >= since:
                out.extend(Due(q.id, q.household, p, day.isoformat(), slot, ends, ends <= now)
                           for p in covered if (p, day.isoformat(), slot) not in have)
        day += timedelta(days=1)
    return out


def care_records(db: CentralDB, *, active: bool = True, limit: int = 500) -> list[CareRecord]:
    """Quarantines with their care details: the active ones (by last day), or the released and ended ones
    (newest first)."""
    where = "q.status = 'active'" if active else "q.status <> 'active'"
    order = "q.last_day, q.household, q.person" if active else "q.released_at DESC, q.id DESC"
    return _care_query(db, where, [], order, limit)


def _care_query(db: CentralDB, where: str, args: list, order: str, limit: int) -> list[CareRecord]:
    cols = ", ".join(f"q.{c.strip()}" for c in quarantine._COLS.split(","))
    rows = db.execute(f"SELECT {cols}, c.source, c.origin_city, c.created_by, c.created_at, c.reduced_at "
                      f"FROM quarantines q LEFT JOIN care_quarantines c ON c.quarantine_id = q.id WHERE {where} "
                      f"ORDER BY {order} LIMIT ?", [*args, limit]).fetchall()
    out = []
    for r in rows:
        q = quarantine.QuarantineRecord(*r[:14])
        source, city, by, at, reduced = r[14:]
        out.append(CareRecord(q, source or "other", city or "", by if source else q.set_by,
                              float(at) if at is not None else q.set_at, reduced))
    return out


def _covered(db: CentralDB, recs: list[CareRecord]) -> dict[int, list[int]]:
    """The people each quarantine covers (as :func:`persons`), read in one query per 500 households."""
    households = sorted({r.q.household for r in recs if r.q.person is None})
    members: dict[str, list[int]] = {}
    for start in range(0, len(households), 500):
        part = households[start:start + 500]
        for hh, person in db.execute("SELECT household, person FROM household_members WHERE household IN "
                                     f"({', '.join('?' * len(part))}) ORDER BY household, person", part):
            members.setdefault(hh, []).append(int(person))
    return {r.id: [r.q.person] if r.q.person is not None else members.get(r.q.household, [0]) for r in recs}


def _have_all(db: CentralDB, ids: list[int], since_day: str) -> dict[int, set[tuple[int, str, str]]]:
    """The (person, day, slot) with a reading of each quarantine ``ids``, from ``since_day``."""
    have: dict[int, set[tuple[int, str, str]]] = {i: set() for i in ids}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for qid, p, d, sl in db.execute(
                f"SELECT quarantine_id, person, day, slot FROM care_readings WHERE quarantine_id IN "
                f"({', '.join('?' * len(part))}) AND day >= ?", [*part, since_day]):
            have[int(qid)].add((int(p), d, sl))
    return have


def _due(db: CentralDB, recs: list[CareRecord], pol: Policy, now: float, since: float, tz: str) -> list[Due]:
    """The slots of ``recs`` from ``since`` with no reading (a few queries whatever the number of records)."""
    covered = _covered(db, recs)
    have = _have_all(db, [r.id for r in recs], datetime.fromtimestamp(since, ZoneInfo(tz)).date().isoformat())
    out: list[Due] = []
    for rec in recs:
        out += due_slots(rec.q, covered[rec.id], have[rec.id], pol, now, since, rec.placed_at, tz)
    return out


def worklist(db: CentralDB, now: float, tz: str = quarantine.DEFAULT_TZ) -> list[Due]:
    """Today's readings still missing for every active quarantine (the staff's phone round), by slot, household
    and person."""
    pol = policy(db)
    midnight = quarantine.local_midnight(datetime.fromtimestamp(now, ZoneInfo(tz)).date(), tz)
    out = _due(db, care_records(db), pol, now, midnight, tz)
    out.sort(key=lambda d: (d.slot, d.household, d.person))
    return out


@dataclass(frozen=True)
class CareAlert:
    """A care alert for the console's alert list: ``care_missed`` (a slot over with no reading) or
    ``care_fever`` (a reading at or above the fever threshold)."""

    key: str
    kind: str
    at: float
    household: str
    person: int
    temp_c: float | None
    detail: str      # the day and slot ("2026-11-27 am")
    quarantine_id: int


LOOKBACK_DAYS = MAX_DAYS + 1
#: At most this many fever readings and missed slots (the newest) go to the alert list, so a large quarantine
#: roster never crowds the gates' alerts out of it (the list keeps 500).
MAX_FEVERS, MAX_MISSED = 200, 200
#: At most this many quarantines are read for the missed slots of one alert list (the oldest first).
MAX_RECORDS = 2000


def alerts(db: CentralDB, since: float, until: float, now: float, tz: str = quarantine.DEFAULT_TZ) -> list[CareAlert]:
    """Missed readings (slots ended between ``since`` and ``until``, before ``now``) and fever readings recorded
    in that window, with stable keys."""
    if not db.table_exists("care_readings"):
        return []
    pol = policy(db)
    out = [CareAlert(f"care_fever:{r[0]}", "care_fever", float(r[4]), r[5], int(r[1]), float(r[6]),
                     f"{r[2]} {r[3]}", int(r[7]))
           for r in db.execute(
               "SELECT r.id, r.person, r.day, r.slot, r.recorded_at, q.household, r.temp_c, q.id FROM care_readings r "
               "JOIN quarantines q ON q.id = r.quarantine_id WHERE r.temp_c >= ? AND r.recorded_at >= ? "
               "AND r.recorded_at < ? ORDER BY r.recorded_at DESC LIMIT ?", [pol.fever_c, since, until, MAX_FEVERS])]
    start, stop = max(since, now - LOOKBACK_DAYS * 86400.0), min(until, now)
    if not start <= stop:  # no slot can be over in the window (or it is no time: NaN)
        return out
    missed = sorted((d for d in _due(db, _overlapping(db, start, stop, tz), pol, stop, start, tz) if d.over),
                    key=lambda d: d.ends_at, reverse=True)[:MAX_MISSED]
    out += [CareAlert(d.key, "care_missed", d.ends_at, d.household, d.person, None, f"{d.day} {d.slot}",
                      d.quarantine_id) for d in missed]
    return out


def _overlapping(db: CentralDB, since: float, until: float, tz: str = quarantine.DEFAULT_TZ) -> list[CareRecord]:
    """The quarantines holding at some time between ``since`` and ``until`` whose care data is still there and that
    can have a slot over in that time (:func:`due_slots`): one of their days (``first_day``-``last_day``) between
    the local days of ``since`` and ``until``, placed before ``until``. The others have no slot to miss there: left
    in the database rather than read and walked day by day (most of a large roster, ``bench console``)."""
    zone = ZoneInfo(tz)
    first, last = (datetime.fromtimestamp(t, zone).date().isoformat() for t in (since, until))
    return _care_query(db, "q.start_ts < ? AND q.end_ts > ? AND (q.released_at IS NULL OR q.released_at > ?) "
                       "AND c.reduced_at IS NULL AND q.last_day >= ? AND q.first_day <= ? "
                       "AND COALESCE(c.created_at, q.set_at) < ?",
                       [until, since, since, first, last, until], "q.id", MAX_RECORDS)


# -- needs and notes ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Need:
    """Something a quarantined household asked for, and who saw to it."""

    id: int
    quarantine_id: int
    household: str
    person: int | None
    kind: str
    detail: str
    asked_at: float
    recorded_by: str
    handled_by: str
    done_at: float | None
    done_by: str

    @property
    def open(self) -> bool:
        return self.done_at is None


_NEED_COLS = ("id, quarantine_id, household, person, kind, detail, asked_at, recorded_by, handled_by, done_at, "
              "done_by")


def add_need(db: CentralDB, quarantine_id: int, kind: str, detail: str, *, by: str, now: float,
             person: int | None = None, handled_by: str = "") -> int:
    """Log a need of a quarantine's household (``kind`` one of :data:`NEED_KINDS`); returns its id."""
    detail, handled_by = " ".join(detail.split()), " ".join(handled_by.split())
    if kind not in NEED_KINDS:
        raise CareError("请选择需求类型：买菜、买药、倒垃圾、就医或其他 / choose the kind of need")
    if len(detail) > MAX_NOTE or len(handled_by) > MAX_NAME:
        raise CareError(f"说明最多 {MAX_NOTE} 字，经办人最多 {MAX_NAME} 字 / details up to {MAX_NOTE}, "
                        f"handler up to {MAX_NAME} characters")
    with db.transaction():
        rec = record(db, quarantine_id)
        if rec is None:
            raise CareError("没有这条隔离记录 / no such quarantine")
        if person is not None and person not in persons(db, rec.q):
            raise CareError("此人不在这条隔离记录中 / this person is not under this quarantine")
        return int(db.execute("INSERT INTO care_needs (quarantine_id, household, person, kind, detail, asked_at, "
                              "recorded_by, handled_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              [quarantine_id, rec.q.household, person, kind, detail, now, by, handled_by]
                              ).fetchone()[0])


def finish_need(db: CentralDB, need_id: int, *, handled_by: str, by: str, now: float) -> Need:
    """Mark a need done: who handled it (default: ``by``) and when."""
    handled_by = " ".join(handled_by.split()) or by
    if len(handled_by) > MAX_NAME:
        raise CareError(f"经办人最多 {MAX_NAME} 字 / the handler has up to {MAX_NAME} characters")
    with db.transaction():
        n = need(db, need_id)
        if n is None:
            raise CareError("没有这条需求 / no such need")
        if n.open:
            db.execute("UPDATE care_needs SET handled_by = ?, done_at = ?, done_by = ? WHERE id = ?",
                       [handled_by, now, by, need_id])
    return need(db, need_id) or n


def need(db: CentralDB, need_id: int) -> Need | None:
    """One need (None: no such need)."""
    row = db.execute(f"SELECT {_NEED_COLS} FROM care_needs WHERE id = ?", [need_id]).fetchone()
    return Need(*row) if row else None


def needs(db: CentralDB, quarantine_id: int | None = None, *, open_only: bool = False) -> list[Need]:
    """A quarantine's needs (None: every quarantine's), open ones first, newest first."""
    where, args = ("quarantine_id = ?", [quarantine_id]) if quarantine_id is not None else ("1 = 1", [])
    if open_only:
        where += " AND done_at IS NULL"
    rows = db.execute(f"SELECT {_NEED_COLS} FROM care_needs WHERE {where} "
                      "ORDER BY CASE WHEN done_at IS NULL THEN 0 ELSE 1 END, asked_at DESC LIMIT 500", args)
    return [Need(*r) for r in rows.fetchall()]


@dataclass(frozen=True)
class Note:
    """A care note by the staff."""

    id: int
    quarantine_id: int
    household: str
    at: float
    noted_by: str
    note: str


def add_note(db: CentralDB, quarantine_id: int, note: str, *, by: str, now: float) -> int:
    """Add a care note to a quarantine; returns its id."""
    note = note.strip()
    if not note or len(note) > MAX_NOTE:
        raise CareError(f"备注为 1-{MAX_NOTE} 字 / a note has 1-{MAX_NOTE} characters")
    with db.transaction():
        rec = record(db, quarantine_id)
        if rec is None:
            raise CareError("没有这条隔离记录 / no such quarantine")
        return int(db.execute("INSERT INTO care_notes (quarantine_id, household, at, noted_by, note) "
                              "VALUES (?, ?, ?, ?, ?) RETURNING id",
                              [quarantine_id, rec.q.household, now, by, note]).fetchone()[0])


def notes(db: CentralDB, quarantine_id: int) -> list[Note]:
    """A quarantine's care notes, newest first."""
    rows = db.execute("SELECT id, quarantine_id, household, at, noted_by, note FROM care_notes "
                      "WHERE quarantine_id = ? ORDER BY at DESC, id DESC", [quarantine_id]).fetchall()
    return [Note(*r) for r in rows]


def release(db: CentralDB, quarantine_id: int, *, by: str, note: str = "") -> CareRecord:
    """Release a quarantine now (gates get the change); the record, temperatures and needs stay."""
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise CareError(f"备注最多 {MAX_NOTE} 字 / a note has up to {MAX_NOTE} characters")
    with db.transaction():
        rec = record(db, quarantine_id)
        if rec is None or not rec.active:
            raise CareError("这条隔离记录不在隔离中 / this quarantine is not active")
        quarantine.release(db, rec.q.household, rec.q.person, by=by, note=note)
    released = record(db, quarantine_id)
    assert released is not None
    return released


# -- the household timeline --------------------------------------------------------------------------------------

def timeline_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """Temperatures, needs and care notes of ``household`` since ``since`` (a :mod:`central.timeline` source)."""
    fever_c = fever_threshold(db)
    out = [TimelineEvent(float(at), "temperature", f"{temp:.1f}", int(person), f"/care/{qid}", temp >= fever_c,
                         {"day": day, "slot": slot, "via": via})
           for qid, person, day, slot, temp, via, at in db.execute(
               "SELECT r.quarantine_id, r.person, r.day, r.slot, r.temp_c, r.via, r.recorded_at FROM care_readings r "
               "JOIN quarantines q ON q.id = r.quarantine_id WHERE q.household = ? AND r.recorded_at >= ? "
               "LIMIT 1000", [household, since])]
    out += [TimelineEvent(n.asked_at, "need", n.detail, n.person, f"/care/{n.quarantine_id}", False,
                          {"kind": n.kind, "handled_by": n.handled_by, "done": "1" if n.done_at else ""})
            for n in (Need(*r) for r in db.execute(
                f"SELECT {_NEED_COLS} FROM care_needs WHERE household = ? AND asked_at >= ? LIMIT 1000",
                [household, since]))]
    out += [TimelineEvent(float(at), "care_note", note, None, f"/care/{qid}", False, {"by": by})
            for qid, at, by, note in db.execute(
                "SELECT quarantine_id, at, noted_by, note FROM care_notes WHERE household = ? AND at >= ? LIMIT 1000",
                [household, since])]
    return out


# -- retention ---------------------------------------------------------------------------------------------------

def reduce_before(db: CentralDB, cutoff: float) -> int:
    """Reduce the health data of quarantines over or released before ``cutoff`` to counts: their temperatures,
    needs and care notes are deleted, ``care_quarantines`` keeps how many readings (and fevers) and needs there
    were. Returns how many quarantines were reduced."""
    fever_c = fever_threshold(db)
    ids = [int(r[0]) for r in db.execute(
        "SELECT id FROM quarantines WHERE (end_ts < ? OR released_at < ?) AND id NOT IN "
        "(SELECT quarantine_id FROM care_quarantines WHERE reduced_at IS NOT NULL)", [cutoff, cutoff])]
    now = time.time()
    for qid in ids:
        with db.transaction():
            readings_n, fevers_n = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN temp_c >= ? THEN 1 ELSE 0 END), 0) FROM care_readings "
                "WHERE quarantine_id = ?", [fever_c, qid]).fetchone()
            needs_n = db.execute("SELECT COUNT(*) FROM care_needs WHERE quarantine_id = ?", [qid]).fetchone()[0]
            db.execute("INSERT INTO care_quarantines (quarantine_id, source, created_at) VALUES (?, 'other', ?) "
                       "ON CONFLICT (quarantine_id) DO NOTHING", [qid, now])
            db.execute("UPDATE care_quarantines SET origin_city = '', reduced_at = ?, readings_count = ?, "
                       "fever_count = ?, needs_count = ? WHERE quarantine_id = ?",
                       [now, int(readings_n), int(fevers_n), int(needs_n), qid])
            _delete_health_data(db, qid)
    return len(ids)


def _delete_health_data(db: CentralDB, quarantine_id: int) -> None:
    for table in ("care_readings", "care_needs", "care_notes"):
        db.execute(f"DELETE FROM {table} WHERE quarantine_id = ?", [quarantine_id])


def forget_quarantines(db: CentralDB, ids: list[int]) -> None:
    """Delete every care row of the quarantines ``ids`` (before retention deletes the quarantines themselves)."""
    for qid in ids:
        _delete_health_data(db, qid)
        db.execute("DELETE FROM care_quarantines WHERE quarantine_id = ?", [qid])
