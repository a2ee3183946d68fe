"""Entry counts per hour, kept by the database itself, so that the daily report reads a few thousand rows a day
instead of every entry (:func:`central.console.reports.daily_report`; ``./run.sh bench console``).

``entry_counts`` holds, per UTC hour (``hour`` = floor(wall_ts / 3600)), device, community and gate: every row
(``total``), entries (direction in, decision pass), exits (out, pass), visitors (event visitor), refusals, fevers
(fever flag) and guard overrides. ``refusal_counts`` holds the refusals per hour, device, community, gate and reason.

Kept exact: each upload adds the rows it inserted, once, in its transaction (:func:`count_uploaded`, called by
:func:`central.ingest.ingest`; a re-sent or duplicate row is never inserted, ``ON CONFLICT DO NOTHING``, so it adds
nothing); triggers on ``entries`` take a deleted row away and move a row whose counted columns change (re-dating moves
``wall_ts``, :mod:`central.redating`) from its old hour to its new one.
Retention anonymises entries (who passed) without touching a counted column: the counts stay, as the reports do.
Devices are part of the key: an upload holds its device's lock (:func:`central.ingest.ingest`), so two uploads
never wait on the same count row, and never deadlock on two of them in opposite order.

Any time zone whose midnights fall on whole UTC hours reads the counts; another (e.g. UTC+05:45) is computed from the
entries (:func:`whole_hours`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from central import passage_flags
from central.store import CentralDB
from central.store.migrations import Migrations, create_row_triggers

log = logging.getLogger(__name__)

HOUR_S = 3600
#: The counted figures of ``entry_counts``, with the condition on an entry row that counts it.
FIGURES: dict[str, str] = {
    "total": "1 = 1",
    "entries": "{r}.direction = 'in' AND {r}.decision = 'pass'",
    "exits": "{r}.direction = 'out' AND {r}.decision = 'pass'",
    "visitors": "{r}.event = 'visitor'",
    "refusals": "{r}.decision = 'refuse'",
    "fevers": "{r}.fever = 1",
    "overrides": "{r}.event = 'override'",
}
#: The entry columns the counts depend on (an update of another column leaves them as they are).
COUNTED_COLUMNS = ("wall_ts", "device_id", "community", "gate_id", "direction", "decision", "event", "fever",
                   "reason")
_KEY = ("hour", "device_id", "community", "gate_id")
#: Beyond this, a stored time is no date any report asks for (years 1-9999 are within +-3.2e11 s).
_TS_LIMIT = 1e15
_NO_HOUR = -(2**52)  # the hour of a time that is none (out of range, not a number)

migrations = Migrations("central-counts")


def hour_of(db: CentralDB, col: str) -> str:
    """SQL for the UTC hour of the unix time ``col``: floor(col / 3600), exact at every hour's boundary (the
    division may round up a time a hair before the hour; the check against ``hour * 3600`` puts it back)."""
    h = db.trunc_int(f"({col}) / 3600.0")
    exact = (f"({h} - CASE WHEN {h} * 3600.0 > ({col}) THEN 1 ELSE 0 END "
             f"+ CASE WHEN ({h} + 1) * 3600.0 <= ({col}) THEN 1 ELSE 0 END)")
    return f"(CASE WHEN ({col}) > -{_TS_LIMIT} AND ({col}) < {_TS_LIMIT} THEN {exact} ELSE {_NO_HOUR} END)"


def _upserts(db: CentralDB, r: str, sign: int) -> list[str]:
    """The statements adding (``sign`` 1) or taking away (-1) the entry row ``r`` (NEW or OLD) to the counts."""
    figures = ", ".join(FIGURES)
    values = ", ".join(f"CASE WHEN {cond.format(r=r)} THEN {sign} ELSE 0 END" for cond in FIGURES.values())
    sets = ", ".join(f"{f} = entry_counts.{f} + excluded.{f}" for f in FIGURES)
    counts = (f"INSERT INTO entry_counts ({', '.join(_KEY)}, {figures}) VALUES ({hour_of(db, f'{r}.wall_ts')}, "
              f"{r}.device_id, {r}.community, {r}.gate_id, {values}) "
              f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {sets}")
    refusals = (f"INSERT INTO refusal_counts ({', '.join(_KEY)}, reason, refusals) SELECT "
                f"{hour_of(db, f'{r}.wall_ts')}, {r}.device_id, {r}.community, {r}.gate_id, {r}.reason, {sign} "
                f"WHERE {r}.decision = 'refuse' "
                f"ON CONFLICT ({', '.join(_KEY)}, reason) DO UPDATE SET "
                "refusals = refusal_counts.refusals + excluded.refusals")
    return [counts, refusals]


def _trigger_bodies(db: CentralDB) -> dict[str, tuple[str, list[str]]]:
    """Per trigger: its event and the statements it runs."""
    return {"entry_counts_delete": ("DELETE", _upserts(db, "OLD", -1)),
            "entry_counts_update": (f"UPDATE OF {', '.join(COUNTED_COLUMNS)}",
                                    _upserts(db, "OLD", -1) + _upserts(db, "NEW", 1))}


def _create_triggers(db: CentralDB) -> None:
    create_row_triggers(db, "entries", _trigger_bodies(db))


def _add(db: CentralDB, where: str, args: list, refusals: bool = True) -> None:
    """Add the entries matching ``where`` to the counts (``refusals``: False when none of them is a refusal, so
    the refusal counts need no statement)."""
    sums = ", ".join(f"SUM(CASE WHEN {cond.format(r='entries')} THEN 1 ELSE 0 END)" for cond in FIGURES.values())
    hour = hour_of(db, "entries.wall_ts")
    sets = ", ".join(f"{f} = entry_counts.{f} + excluded.{f}" for f in FIGURES)
    db.execute(f"INSERT INTO entry_counts ({', '.join(_KEY)}, {', '.join(FIGURES)}) "
               f"SELECT {hour}, device_id, community, gate_id, {sums} FROM entries WHERE {where} GROUP BY 1, 2, 3, 4 "
               f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {sets}", args)
    if refusals:
        db.execute(f"INSERT INTO refusal_counts ({', '.join(_KEY)}, reason, refusals) "
                   f"SELECT {hour}, device_id, community, gate_id, reason, COUNT(*) FROM entries "
                   f"WHERE decision = 'refuse' AND {where} GROUP BY 1, 2, 3, 4, 5 "
                   f"ON CONFLICT ({', '.join(_KEY)}, reason) DO UPDATE SET "
                   "refusals = refusal_counts.refusals + excluded.refusals", args)


def _backfill(db: CentralDB) -> None:
    """Count the entries already stored."""
    _add(db, "1 = 1", [])


def count_uploaded(db: CentralDB, device_id: str, seqs: Iterable[int], received_at: float, *,
                   refusals: bool = True) -> None:
    """Count the rows an upload just inserted: ``device_id``'s rows among ``seqs`` (as stored) received at
    ``received_at`` (rows held from an earlier upload carry its time, not this one's: a re-sent row adds nothing),
    and note its passages for the pass-sharing flags (:func:`central.passage_flags.note_uploaded`).

    Called once per upload by :func:`central.ingest.ingest`, in its transaction, right after the insert and before
    anything updates those rows (re-dating then moves them through the update trigger). One aggregate statement per
    upload instead of a trigger per row: SQLite's row triggers halved the insert rate (``bench console``).
    ``refusals``: False when the caller knows none of the rows is a refusal (one statement fewer)."""
    seqs = list(seqs)
    if not seqs:
        return
    args = [device_id, min(seqs), max(seqs), received_at]
    where = "device_id = ? AND seq >= ? AND seq <= ? AND received_at = ?"
    _add(db, where, args, refusals)
    passage_flags.note_uploaded(db, where, args)


@migrations()
def m001_hourly_counts(db: CentralDB) -> None:
    """The hourly counts, their triggers, and the counts of the entries already stored."""
    figures = ", ".join(f"{f} INTEGER NOT NULL DEFAULT 0" for f in FIGURES)
    db.execute(f"CREATE TABLE entry_counts (hour INTEGER NOT NULL, device_id TEXT NOT NULL, community TEXT NOT NULL, "
               f"gate_id TEXT NOT NULL, {figures}, PRIMARY KEY ({', '.join(_KEY)})) WITHOUT ROWID")
    db.execute("CREATE TABLE refusal_counts (hour INTEGER NOT NULL, device_id TEXT NOT NULL, community TEXT NOT "
               "NULL, gate_id TEXT NOT NULL, reason TEXT NOT NULL, refusals INTEGER NOT NULL DEFAULT 0, "
               f"PRIMARY KEY ({', '.join(_KEY)}, reason)) WITHOUT ROWID")  # SQLite: a day's rows side by side
    db.execute("CREATE INDEX entry_counts_community ON entry_counts (community, hour)")
    _backfill(db)
    _create_triggers(db)


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-counts`` migrations (after ``central-sync``, which makes ``entries``)."""
    migrations.apply(db)


def whole_hours(start: float, end: float) -> tuple[int, int] | None:
    """The UTC hours ``[first, last)`` covering exactly ``[start, end)``, or None when either bound is not on a
    whole hour (or out of the counted range): then the caller counts the entries themselves."""
    if not (-_TS_LIMIT < start <= end < _TS_LIMIT) or start % HOUR_S or end % HOUR_S:
        return None
    return int(start // HOUR_S), int(end // HOUR_S)


def recount(db: CentralDB) -> None:
    """Rebuild the counts from the entries (a repair; the triggers keep them exact otherwise)."""
    with db.transaction():
        db.execute("DELETE FROM entry_counts")
        db.execute("DELETE FROM refusal_counts")
        _backfill(db)
    log.info("entry counts rebuilt from the entries")
