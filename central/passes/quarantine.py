"""Home quarantine of households and of individuals (a pass names its person), kept as records after release.

Dates are local days, both inclusive: a quarantine from ``first_day`` to ``last_day`` holds from local midnight
starting the first day until local midnight ending the last day (``end_ts``). Each change appends to the change
log what a gate needs and nothing more: the household, the person (individuals only) and the two instants. For
gates still on list format 1 (which know households only) every change also carries ``v1``: the household's
quarantine as such a gate must hold it, the span of all its active records (the whole household is refused
while any member is under quarantine: the safe side) or a release when none is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from central.passes.errors import PassAdminError
from central.passes.store import append_change, note_household
from central.store import CentralDB
from sync.passes.codec import MAX_HOUSEHOLD_CHARS

#: The community's time zone: quarantine dates are local days.
DEFAULT_TZ = "Asia/Shanghai"
#: The console's preset length (days, first and last included).
DEFAULT_DAYS = 14
MAX_PERSON = 10**6


@dataclass(frozen=True)
class QuarantineRecord:
    """One quarantine as central keeps it (released ones too)."""

    id: int
    household: str
    person: int | None
    first_day: str
    last_day: str
    start_ts: float
    end_ts: float
    set_at: float
    set_by: str
    note: str
    status: str
    released_at: float | None
    released_by: str | None
    release_note: str | None


def local_midnight(day: date, tz: str = DEFAULT_TZ) -> float:
    """Unix seconds of 00:00 on ``day`` in time zone ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp()


def last_day_of(first_day: date, days: int = DEFAULT_DAYS) -> date:
    """The last day of a quarantine of ``days`` days starting on ``first_day`` (day 1 is the first day)."""
    return first_day + timedelta(days=max(1, days) - 1)


_COLS = ("id, household, person, first_day, last_day, start_ts, end_ts, set_at, set_by, note, status, released_at, "
         "released_by, release_note")


def records(db: CentralDB, household: str) -> list[QuarantineRecord]:
    """A household's quarantine records (its own and its members'), active first, then newest first."""
    rows = db.execute(f"SELECT {_COLS} FROM quarantines WHERE household = ? "
                      "ORDER BY CASE status WHEN 'active' THEN 0 ELSE 1 END, set_at DESC, id DESC", [household])
    return [QuarantineRecord(*r) for r in rows.fetchall()]


def _active(db: CentralDB, household: str, person: int | None) -> tuple[int] | None:
    if person is None:
        return db.execute("SELECT id FROM quarantines WHERE household = ? AND person IS NULL AND status = 'active'",
                          [household]).fetchone()
    return db.execute("SELECT id FROM quarantines WHERE household = ? AND person = ? AND status = 'active'",
                      [household, person]).fetchone()


def _subject(household: str, person: int | None) -> dict[str, Any]:
    return {"household": household} if person is None else {"household": household, "person": person}


def legacy_op(db: CentralDB, household: str, now: float | None = None) -> dict[str, Any]:
    """The household's quarantine for a list-format-1 gate: the span of its active, unfinished records."""
    now = time.time() if now is None else now
    row = db.execute("SELECT MIN(first_day), MAX(last_day), MIN(start_ts), MAX(end_ts) FROM quarantines "
                     "WHERE household = ? AND status = 'active' AND end_ts > ?", [household, now]).fetchone()
    if row is None or row[0] is None:
        return {"op": "release", "household": household}
    end = (date.fromisoformat(row[1]) + timedelta(days=1)).isoformat()  # format 1: the first free day
    return {"op": "quarantine", "household": household, "start": row[0], "end": end, "start_ts": row[2],
            "end_ts": row[3]}


def _check(household: str, person: int | None, first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise PassAdminError(f"quarantine last day {last_day} is before its first day {first_day}")
    if not household or len(household) > MAX_HOUSEHOLD_CHARS:
        raise PassAdminError(f"household {household!r}: 1-{MAX_HOUSEHOLD_CHARS} characters")
    if person is not None and not 0 <= person <= MAX_PERSON:
        raise PassAdminError(f"person {person}: 0-{MAX_PERSON}")


def place(db: CentralDB, household: str, first_day: date, last_day: date, note: str = "", tz: str = DEFAULT_TZ,
          *, person: int | None = None, by: str = "") -> int:
    """Place a household (or one ``person`` of it) under home quarantine from ``first_day`` to ``last_day``, both
    included. Changes the subject's active record if it has one. Returns the change version."""
    _check(household, person, first_day, last_day)
    start_ts, end_ts = local_midnight(first_day, tz), local_midnight(last_day + timedelta(days=1), tz)
    with db.transaction():
        note_household(db, household, time.time())
        held = _active(db, household, person)
        values = [first_day.isoformat(), last_day.isoformat(), start_ts, end_ts, time.time(), by, note]
        if held is None:
            db.execute("INSERT INTO quarantines (first_day, last_day, start_ts, end_ts, set_at, set_by, note, "
                       "household, person) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values, household, person])
        else:
            db.execute("UPDATE quarantines SET first_day = ?, last_day = ?, start_ts = ?, end_ts = ?, set_at = ?, "
                       "set_by = ?, note = ? WHERE id = ?", [*values, held[0]])
        return append_change(db, "quarantine", **_subject(household, person), start_ts=start_ts, end_ts=end_ts,
                             v1=legacy_op(db, household))


def release(db: CentralDB, household: str, person: int | None = None, *, by: str = "", note: str = "") -> int:
    """End a household's (or a person's) quarantine now; the record stays, marked released by ``by`` with
    ``note``. Returns the change version."""
    with db.transaction():
        held = _active(db, household, person)
        if held is None:
            who = f"household {household}" if person is None else f"person {person} of household {household}"
            raise PassAdminError(f"{who} is not under quarantine")
        db.execute("UPDATE quarantines SET status = 'released', released_at = ?, released_by = ?, release_note = ? "
                   "WHERE id = ?", [time.time(), by, note, held[0]])
        return append_change(db, "release", **_subject(household, person), v1=legacy_op(db, household))


def gate_ops(db: CentralDB, now: float) -> list[dict[str, Any]]:
    """Every active quarantine a gate must hold now (list format 2), by household and person."""
    return [{"op": "quarantine", **_subject(hh, person), "start_ts": sts, "end_ts": ets}
            for hh, person, sts, ets in db.execute(
                "SELECT household, person, start_ts, end_ts FROM quarantines WHERE status = 'active' AND end_ts > ? "
                "ORDER BY household, person", [now])]


def legacy_ops(db: CentralDB, now: float) -> list[dict[str, Any]]:
    """Every household's quarantine as a list-format-1 gate must hold it now."""
    households = [r[0] for r in db.execute("SELECT DISTINCT household FROM quarantines WHERE status = 'active' "
                                           "AND end_ts > ? ORDER BY household", [now])]
    return [legacy_op(db, hh, now) for hh in households]
