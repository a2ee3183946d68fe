"""The catalogue of figures: every number asked for upward, defined once.

Each :class:`Figure` has its name in Chinese and English, what it means, how it is counted, and one query
function answering it for a :class:`Window` (a local day or a range of days, optionally one community or gate),
grouped by community, gate or grid (网格) where the data allows (:attr:`Figure.groups`): entries by their gate's
community and gate, and by the grid of their household (the household file's ``grid``, :mod:`central.homes`; ``''``
for entries with no household or a household without a grid); households (quarantine, passes) carry no community or
gate, so their figures are grouped by grid only.

Casework figures count people, not only households: a quarantine of one person counts that person, a household's
quarantine every member of its household file (:func:`central.care.persons`); readings and needs come from
:mod:`central.care`, vehicles and parcels from their entries (:mod:`central.vehicles`, :mod:`central.deliveries`),
grouped by their household's grid. The screening register's figures (:mod:`central.screening`: people merged by
phone, their calls) describe the register as it stood at the end of the day (today: now): on it, reached so far,
still to reach.

**By origin** (``origin``, 来源城市): the figures about people who have an origin city (returnees in home
quarantine, the screening register's people) can be grouped by the city they came back from, a row per city. It is
a grouping of its own, usable only by the figures that know an origin (:data:`ORIGIN_GROUPS`), rather than one
figure per city in the catalogue, because the cities are data (whatever a list or the staff wrote, a new one any
day) and a recipient asks for "returnees by origin" as one table: a report template grouped by origin lists every
city the day's figures name, and the figures that know no origin answer only the totals row. A person recorded
under two cities counts once in the total and under each city.

Results are ``{group: count}``: the group ``()`` for the whole scope, ``(community,)`` grouped by community,
``(community, gate_id)`` grouped by gate, ``(grid,)`` grouped by grid, ``(city,)`` grouped by origin (``''``: the
city was not given). :func:`compute` answers one figure; :func:`catalogue` lists them.

Entries are placed by ``wall_ts``, central's best (re-dated) time; the window is local midnight to local midnight in
the console's time zone.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from central import care, deliveries, screening, vehicles
from central.console import alerts
from central.console.i18n import reason_text
from central.errors import CentralError
from central.passes import quarantine
from central.store import CentralDB

GROUPS = ("all", "community", "gate", "grid", "origin")
ALL_GROUPS = frozenset({"all", "community", "gate", "grid"})  # every grouping but by origin
HOUSEHOLD_GROUPS = frozenset({"all", "grid"})
ORIGIN_GROUPS = frozenset({"all", "grid", "origin"})
PLACE_GROUPS = frozenset({"all", "community", "gate"})
OFFLINE_AFTER_S = 15 * 60.0  # a gate not heard from for this long is offline (it reports every minute)
MAX_DAYS = 366

Counts = dict[tuple[str, ...], int]


class FigureError(CentralError):
    """A figure that does not exist, or a window or grouping it cannot answer."""


@dataclass(frozen=True)
class Window:
    """What a figure is asked for: local days ``first_day`` to ``last_day`` (both included) in ``tz``, optionally
    one community or one gate; ``now`` for figures that are a state (open alerts; devices offline, always now)."""

    first_day: date
    last_day: date
    tz: ZoneInfo
    community: str | None = None
    gate_id: str | None = None
    now: float | None = None

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise FigureError("the last day is before the first day")
        if (self.last_day - self.first_day).days >= MAX_DAYS:
            raise FigureError(f"at most {MAX_DAYS} days at a time")

    @classmethod
    def day(cls, day: date, tz: ZoneInfo, community: str | None = None, gate_id: str | None = None,
            now: float | None = None) -> Window:
        """One local day."""
        return cls(day, day, tz, community, gate_id, now)

    @property
    def since(self) -> float:
        """Unix seconds of local midnight starting the first day."""
        return datetime.combine(self.first_day, datetime.min.time(), tzinfo=self.tz).timestamp()

    @property
    def until(self) -> float:
        """Unix seconds of local midnight ending the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), datetime.min.time(), tzinfo=self.tz).timestamp()

    @property
    def as_of(self) -> float:
        """The moment a state figure describes: the end of the window, or now if that is earlier."""
        now = time.time() if self.now is None else self.now
        return min(self.until, now)


Query = Callable[[CentralDB, Window, str], Counts]


@dataclass(frozen=True)
class Figure:
    """One figure of the catalogue."""

    key: str
    zh: str
    en: str
    meaning: tuple[str, str]    # zh, en
    counting: tuple[str, str]   # zh, en: how it is counted, in words staff can check
    query: Query
    groups: frozenset[str] = ALL_GROUPS

    def name(self, lang: str) -> str:
        """The figure's name in ``lang``."""
        return self.en if lang == "en" else self.zh

    def can_group(self, group: str) -> bool:
        """Whether the figure can be answered per ``group`` ("all" always)."""
        return group in self.groups

    @property
    def groupable(self) -> bool:
        """Whether the figure can be answered per community (and gate)."""
        return "community" in self.groups


# -- entries -------------------------------------------------------------------------------------

#: The grid of an entries row (or a quarantines / passes row): its household's, '' when it has none.
GRID_OF = "COALESCE((SELECT hf.grid FROM household_files hf WHERE hf.household = {table}.household), '')"
_GROUP_COLS = {"all": (), "community": ("community",), "gate": ("community", "gate_id"),
               "grid": (GRID_OF.format(table="entries"),)}


def _scope(window: Window, prefix: str = "") -> tuple[str, list]:
    conds, args = [], []
    if window.community:
        conds.append(f"{prefix}community = ?")
        args.append(window.community)
    if window.gate_id:
        conds.append(f"{prefix}gate_id = ?")
        args.append(window.gate_id)
    return "".join(f" AND {c}" for c in conds), args


def _grouped(db: CentralDB, select: str, table_where: str, args: list, group: str, prefix: str = "") -> Counts:
    """``select`` (an aggregate) over ``table_where``, per group, with the whole scope under ``()``. A plain
    ``COUNT(*)`` adds up over the groups; any other aggregate (a count of distinct households) is asked again for
    the whole scope."""
    cols = [f"{prefix}{c}" for c in _GROUP_COLS[_group(group)]]  # NOT NULL columns (community defaults to '')
    sql = f"SELECT {', '.join([*cols, select])} {table_where}"
    if cols:
        sql += f" GROUP BY {', '.join(str(i + 1) for i in range(len(cols)))}"
    out: Counts = {}
    for *key, n in db.execute(sql, args).fetchall():
        out[tuple("" if k is None else k for k in key)] = int(n or 0)
    if cols and select == "COUNT(*)":
        out[()] = sum(out.values())
    elif cols:
        total = db.execute(f"SELECT {select} {table_where}", args).fetchone()[0]
        out[()] = int(total or 0)
    out.setdefault((), 0)
    return out


def _group(group: str) -> str:
    if group not in GROUPS:
        raise FigureError(f"cannot group by {group!r}: use one of {', '.join(GROUPS)}")
    return group


@dataclass(frozen=True)
class EntriesCount:
    """A figure counting the window's entries that meet ``cond`` (SQL over ``entries``); ``distinct``: count the
    distinct values of that column instead of rows."""

    cond: str
    distinct: str | None = None

    def __call__(self, db: CentralDB, window: Window, group: str) -> Counts:
        scope, args = _scope(window)
        where = f"FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND ({self.cond}){scope}"
        span = [window.since, window.until, *args]
        cols = _GROUP_COLS[_group(group)]
        if self.distinct and cols:  # one pass: the distinct values per group, the whole scope's as their union
            out: Counts = {}
            values: set = set()
            for *key, value in db.execute(f"SELECT DISTINCT {', '.join(cols)}, {self.distinct} {where}", span):
                if value is None:  # as COUNT(DISTINCT ...) does
                    continue
                out[tuple(key)] = out.get(tuple(key), 0) + 1
                values.add(value)
            out[()] = len(values)
            return out
        select = f"COUNT(DISTINCT {self.distinct})" if self.distinct else "COUNT(*)"
        return _grouped(db, select, where, span, group)


def entries_figure(cond: str, distinct: str | None = None) -> Query:
    """A figure counting the window's entries that meet ``cond``."""
    return EntriesCount(cond, distinct)


def _entries_at_once(db: CentralDB, counts: dict[str, EntriesCount], window: Window, group: str) -> dict[str, Counts]:
    """Several plain entry counts in one pass over the window's entries (``COUNT(*) FILTER (WHERE cond)`` each)."""
    keys = list(counts)
    cols = list(_GROUP_COLS[_group(group)])
    scope, args = _scope(window)
    selects = [f"COUNT(*) FILTER (WHERE {counts[k].cond})" for k in keys]
    sql = f"SELECT {', '.join([*cols, *selects])} FROM entries WHERE wall_ts >= ? AND wall_ts < ?{scope}"
    if cols:
        sql += f" GROUP BY {', '.join(str(i + 1) for i in range(len(cols)))}"
    out: dict[str, Counts] = {k: {(): 0} for k in keys}
    for row in db.execute(sql, [window.since, window.until, *args]).fetchall():
        key = tuple("" if v is None else v for v in row[:len(cols)])
        for k, n in zip(keys, row[len(cols):], strict=True):
            if key:
                out[k][key] = int(n or 0)
            out[k][()] += int(n or 0)
    return out


# -- households: quarantine, passes ----------------------------------------------------------------

def _households(table: str, where: str, args_of: Callable[[Window], list],
                select: str = "COUNT(DISTINCT household)") -> Query:
    """A figure counting ``select`` over the ``table`` rows (``quarantines`` / ``passes``) meeting ``where``, for
    the whole scope or per grid (households carry no community or gate)."""

    def query(db: CentralDB, window: Window, group: str) -> Counts:
        args = args_of(window)
        total = db.execute(f"SELECT {select} FROM {table} WHERE {where}", args).fetchone()[0]
        out: Counts = {(): int(total or 0)}
        if _group(group) == "grid":
            grid = GRID_OF.format(table=table)
            for key, n in db.execute(f"SELECT {grid}, {select} FROM {table} WHERE {where} GROUP BY 1", args):
                out[(key or "",)] = int(n or 0)
        return out

    return query


#: Which quarantines a figure counts (``{q}``: the quarantines table's alias, with its dot, or nothing).
_Q_ACTIVE = "{q}start_ts < ? AND {q}end_ts > ? AND ({q}status = 'active' OR {q}released_at > ?)"
_Q_NEW = "{q}start_ts >= ? AND {q}start_ts < ?"
_Q_ENDED = ("(({q}status = 'released' AND {q}released_at >= ? AND {q}released_at < ?) OR "
            "({q}status = 'active' AND {q}end_ts > ? AND {q}end_ts <= ?))")
_Q_ARGS: dict[str, Callable[[Window], list]] = {
    _Q_ACTIVE: lambda w: [w.until, w.since, w.since],
    _Q_NEW: lambda w: [w.since, w.until],
    _Q_ENDED: lambda w: [w.since, w.until, w.since, w.until],
}
_PASSES = "issued_at >= ? AND issued_at < ?"


# -- people in home quarantine, their readings and needs (central.care) ------------------------------------------

#: The people a quarantine covers, one row each, as :func:`central.care.persons` reads them: its person, or every
#: member in the household's file (person 0 when the file has none); with the quarantine's source (``other`` when
#: it was placed without care details) and origin city.
_COVERED = ("FROM quarantines q LEFT JOIN household_members m ON q.person IS NULL AND m.household = q.household "
            "LEFT JOIN care_quarantines c ON c.quarantine_id = q.id WHERE {where}")
_PERSON = "COALESCE(q.person, m.person, 0)"
#: What a figure over people groups by: their household's grid, or the city they came back from.
_PEOPLE_GROUP_COLS = {"grid": GRID_OF.format(table="q"), "origin": "COALESCE(c.origin_city, '')"}


def _people(which: str, source: str | None = None) -> Query:
    """A figure counting the distinct people (household, person) covered by the quarantines meeting ``which``
    (one of the ``_Q_*`` conditions), optionally only those placed for ``source``."""

    def query(db: CentralDB, window: Window, group: str) -> Counts:
        where = which.format(q="q.")
        args = _Q_ARGS[which](window)
        if source is not None:
            where += " AND COALESCE(c.source, 'other') = ?"
            args = [*args, source]
        table = _COVERED.format(where=where)
        total = db.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT q.household, {_PERSON} {table}) s", args)
        out: Counts = {(): int(total.fetchone()[0] or 0)}
        col = _PEOPLE_GROUP_COLS.get(_group(group))
        if col is not None:
            sql = f"SELECT g, COUNT(*) FROM (SELECT DISTINCT {col} AS g, q.household, {_PERSON} {table}) s GROUP BY g"
            out.update({(key or "",): int(n) for key, n in db.execute(sql, args)})
        return out

    return query


def _by_household(db: CentralDB, select: str, where: str, args: list, group: str) -> Counts:
    """``COUNT(*)`` of ``select`` rows (``SELECT household ... FROM ...``) meeting ``where``, the whole scope and
    per grid of the row's household."""
    out: Counts = {(): 0}
    by_grid = _group(group) == "grid"
    grid = GRID_OF.format(table="s") if by_grid else "''"
    for hh_grid, n in db.execute(f"SELECT {grid}, COUNT(*) FROM ({select} WHERE {where}) s GROUP BY 1", args):
        out[()] += int(n)
        if by_grid:
            out[(hh_grid or "",)] = out.get((hh_grid or "",), 0) + int(n)
    return out


#: A reading's household (a subquery, so the readings of the window are read by their time, not each quarantine's).
_READING_HOUSEHOLD = "(SELECT q.household FROM quarantines q WHERE q.id = r.quarantine_id)"


def _care_fevers(db: CentralDB, window: Window, group: str) -> Counts:
    """Readings at or above the fever threshold recorded in the window (by staff or self-reported)."""
    return _by_household(db, f"SELECT {_READING_HOUSEHOLD} AS household FROM care_readings r",
                         "r.temp_c >= ? AND r.recorded_at >= ? AND r.recorded_at < ?",
                         [care.fever_threshold(db), window.since, window.until], group)


def _needs_open(db: CentralDB, window: Window, group: str) -> Counts:
    """Needs asked before the end of the window (or now) and not done by then."""
    return _by_household(db, "SELECT household FROM care_needs",
                         "asked_at < ? AND (done_at IS NULL OR done_at >= ?)", [window.as_of, window.as_of], group)


def _needs_new(db: CentralDB, window: Window, group: str) -> Counts:
    return _by_household(db, "SELECT household FROM care_needs", "asked_at >= ? AND asked_at < ?",
                         [window.since, window.until], group)


def _missed_readings(db: CentralDB, window: Window, group: str) -> Counts:
    """Slots (a person's morning or afternoon reading) that ended in the window, before now, with no reading; as
    the care worklist and its alerts find them (:func:`central.care.due_slots`), over the quarantines holding in
    the window whose readings are still kept."""
    stop = window.as_of
    tz = window.tz.key
    recs = _holding(db, window.since, stop)
    covered = _covered_people(db, [q for q, _ in recs])
    have = _readings_had(db, [q.id for q, _ in recs], window.first_day.isoformat(), window.last_day.isoformat())
    pol = care.policy(db)
    out: Counts = {(): 0}
    by_grid = _group(group) == "grid"
    grids = _grids(db, {q.household for q, _ in recs}) if by_grid else {}
    for q, placed_at in recs:
        for due in care.due_slots(q, covered[q.id], have.get(q.id, set()), pol, stop, window.since, placed_at, tz):
            if due.over and due.ends_at < window.until:
                out[()] += 1
                if by_grid:
                    key = (grids.get(q.household, ""),)
                    out[key] = out.get(key, 0) + 1
    return out


_QCOLS = ("q.id, q.household, q.person, q.first_day, q.last_day, q.start_ts, q.end_ts, q.set_at, q.set_by, q.note, "
          "q.status, q.released_at, q.released_by, q.release_note")


def _holding(db: CentralDB, since: float, until: float) -> list[tuple[quarantine.QuarantineRecord, float]]:
    """The quarantines holding at some time between ``since`` and ``until`` whose readings are kept, each with
    when its care began."""
    rows = db.execute(f"SELECT {_QCOLS}, COALESCE(c.created_at, q.set_at) FROM quarantines q LEFT JOIN "
                      "care_quarantines c ON c.quarantine_id = q.id WHERE q.start_ts < ? AND q.end_ts > ? "
                      "AND (q.released_at IS NULL OR q.released_at > ?) AND c.reduced_at IS NULL",
                      [until, since, since]).fetchall()
    return [(quarantine.QuarantineRecord(*r[:-1]), float(r[-1])) for r in rows]


def _covered_people(db: CentralDB, recs: list[quarantine.QuarantineRecord]) -> dict[int, list[int]]:
    """The people each quarantine covers (:func:`central.care.persons`, in a few queries)."""
    members: dict[str, list[int]] = {}
    households = sorted({q.household for q in recs if q.person is None})
    for i in range(0, len(households), 500):
        chunk = households[i:i + 500]
        for hh, person in db.execute("SELECT household, person FROM household_members WHERE household IN "
                                     f"({', '.join('?' * len(chunk))})", chunk):
            members.setdefault(hh, []).append(int(person))
    return {q.id: [q.person] if q.person is not None else members.get(q.household, [0]) for q in recs}


def _readings_had(db: CentralDB, ids: list[int], first_day: str, last_day: str) -> dict[int, set[tuple[int, str, str]]]:
    """The (person, day, slot) with a reading of each quarantine ``ids``, days ``first_day`` to ``last_day``."""
    have: dict[int, set[tuple[int, str, str]]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for qid, person, day, slot in db.execute(
                "SELECT quarantine_id, person, day, slot FROM care_readings WHERE quarantine_id IN "
                f"({', '.join('?' * len(chunk))}) AND day >= ? AND day <= ?", [*chunk, first_day, last_day]):
            have.setdefault(int(qid), set()).add((int(person), day, slot))
    return have


# -- vehicles (central.vehicles) -----------------------------------------------------------------------------------

def _still_open(cond: str, closing_event: str, days_before: int = 0) -> Query:
    """A figure counting the entries meeting ``cond`` from ``days_before`` days before the window's first day to its
    end with no ``closing_event`` entry referring to them (``ref_uuid``) before its end (or now)."""

    def query(db: CentralDB, window: Window, group: str) -> Counts:
        scope, args = _scope(window)
        since = Window.day(window.first_day - timedelta(days=days_before), window.tz).since
        where = (f"FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND {cond} AND NOT EXISTS (SELECT 1 FROM entries x "
                 f"WHERE x.ref_uuid = entries.uuid AND x.event = '{closing_event}' AND x.wall_ts < ?){scope}")
        return _grouped(db, "COUNT(*)", where, [since, window.until, window.as_of, *args], group)

    return query


# -- deliveries (central.deliveries: entries ``delivery`` and ``delivery_pickup``) ----------------------------------

DELIVERY, DELIVERY_PICKUP = deliveries.EVENT, deliveries.PICKUP_EVENT
#: A parcel waiting at the gate is counted for this many days (the day asked for and those before), as long as the
#: staff's to-carry list keeps it.
WAITING_DAYS = int(deliveries.CARRY_DAYS)
#: A delivery entry to a household under home quarantine (anyone in it) when the parcel was left, by central's
#: quarantine records.
_TO_QUARANTINED = (f"event = '{DELIVERY}' AND EXISTS (SELECT 1 FROM quarantines q "
                   "WHERE q.household = entries.household AND q.start_ts <= entries.wall_ts "
                   "AND q.end_ts > entries.wall_ts AND (q.status = 'active' OR q.released_at > entries.wall_ts))")

# -- the screening and returnee register (central.screening) ---------------------------------------------------------

#: Outcomes after which the phone round is over for a person (reached, a number not in use, has left the area).
SCREENING_CLOSED = screening.CLOSED
#: What a written contact history says when there is none.
NO_CONTACT = ("", "无", "否", "没有", "无接触史", "无接触", "无密接史")
_ON_REGISTER = "p.created_at < ?"
_REACHED = ("EXISTS (SELECT 1 FROM screening_calls c WHERE c.person_id = p.id AND c.outcome = 'reached' "
            "AND c.at >= ? AND c.at < ?)")
_LAST_OUTCOME = ("COALESCE((SELECT c.outcome FROM screening_calls c WHERE c.person_id = p.id AND c.at < ? "
                 "ORDER BY c.at DESC, c.id DESC LIMIT 1), '')")
_SCREENING_GROUP_COLS = {"grid": GRID_OF.format(table="p"), "origin": "p.origin_city"}


def _screened(where: str, args_of: Callable[[Window], list], select: str = "COUNT(*)") -> Query:
    """A figure counting ``select`` over the register's people (``screening_people p``) meeting ``where``, the whole
    scope and per grid of their household or per the city they came from."""

    def query(db: CentralDB, window: Window, group: str) -> Counts:
        col = _SCREENING_GROUP_COLS.get(_group(group))
        args = args_of(window)
        table = f"FROM screening_people p WHERE {where}"
        out: Counts = {(): int(db.execute(f"SELECT {select} {table}", args).fetchone()[0] or 0)}
        if col is not None:
            out.update({(key or "",): int(n or 0)
                        for key, n in db.execute(f"SELECT {col}, {select} {table} GROUP BY 1", args)})
        return out

    return query


def _as_of(n: int) -> Callable[[Window], list]:
    return lambda w: [w.as_of] * n


_NO_CONTACT_SQL = ", ".join(f"'{w}'" for w in NO_CONTACT)
_CLOSED_SQL = ", ".join(f"'{w}'" for w in SCREENING_CLOSED)


# -- states: alerts, devices ----------------------------------------------------------------------

def _open_alerts(db: CentralDB, window: Window, group: str) -> Counts:
    items = alerts.alerts(db, window.since, window.until, include_acked=False, now=window.as_of)
    out: Counts = {(): 0}
    cols = {"all": (), "community": ("community",), "gate": ("community", "gate_id"), "grid": ("grid",)}[_group(group)]
    grids = _grids(db, {a.household for a in items if a.household}) if group == "grid" else {}
    for a in items:
        row = {"community": a.community or "", "gate_id": a.gate_id or "", "grid": grids.get(a.household or "", "")}
        if (window.community and row["community"] != window.community) or \
                (window.gate_id and row["gate_id"] != window.gate_id):
            continue
        out[()] += 1
        if cols:
            key = tuple(row[c] for c in cols)
            out[key] = out.get(key, 0) + 1
    return out


def _grids(db: CentralDB, households: set[str]) -> dict[str, str]:
    """The grid of each of ``households`` that has one in its file."""
    out: dict[str, str] = {}
    ordered = sorted(households)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(db.execute(f"SELECT household, grid FROM household_files WHERE household IN ({marks})", chunk))
    return out


def _devices_offline(db: CentralDB, window: Window, group: str) -> Counts:
    """Devices silent now, whatever the window: central keeps only each device's last report (``last_seen_at``),
    no history of heartbeats, so it cannot tell which were offline at the end of a past day."""
    as_of = time.time() if window.now is None else window.now
    scope, args = _scope(window)
    where = ("FROM devices WHERE created_at < ? AND (revoked_at IS NULL OR revoked_at > ?) "
             f"AND (last_seen_at IS NULL OR last_seen_at < ?){scope}")
    return _grouped(db, "COUNT(*)", where, [as_of, as_of, as_of - OFFLINE_AFTER_S, *args], group)


def _device_faults(db: CentralDB, window: Window, group: str) -> Counts:
    scope, args = _scope(window, "d.")
    where = ("FROM devices d WHERE EXISTS (SELECT 1 FROM device_faults f WHERE f.device_id = d.device_id "
             f"AND f.started_at < ? AND (f.until IS NULL OR f.until > ?)){scope}")
    return _grouped(db, "COUNT(*)", where, [window.until, window.since, *args], group, prefix="d.")


# -- the catalogue --------------------------------------------------------------------------------

def _f(key: str, zh: str, en: str, meaning: tuple[str, str], counting: tuple[str, str], query: Query,
       groups: frozenset[str] = ALL_GROUPS) -> Figure:
    return Figure(key, zh, en, meaning, counting, query, groups)


_PEOPLE_ZH = ("{}所涉及的不同人员数：个人隔离计本人，整户隔离计一户一档中该户的每位成员（档案中没有成员的计1人）；"
              "同一人有多条隔离只计一次")
_PEOPLE_EN = ("distinct people covered by {}: a person's quarantine counts that person, a household's every member in "
              "its household file (one person when the file lists none); a person with several quarantines once")

_REFUSAL_REASONS = {
    "quarantined": ("隔离户外出被拦", "Quarantined residents stopped"),
    "fever": ("发热被拦", "Stopped for fever"),
    "temp_high": ("体温偏高待复测", "High readings (to re-measure)"),
    "host_quarantined": ("访客被访户隔离被拦", "Visitors to quarantined homes stopped"),
    "health_code_yellow": ("健康码黄码被拦", "Health code yellow stopped"),
    "health_code_red": ("健康码红码被拦", "Health code red stopped"),
    "closed": ("非开放时间被拦", "Stopped outside opening hours"),
}

FIGURES: tuple[Figure, ...] = (
    _f("passages_in", "进入人次", "Entries",
       ("经门岗进入小区的人次", "People who entered through a gate"),
       ("方向为“进”且结果为“通行”的记录数", "entries with direction in and decision pass"),
       entries_figure("direction = 'in' AND decision = 'pass'")),
    _f("passages_out", "外出人次", "Exits",
       ("经门岗外出的人次", "People who went out through a gate"),
       ("方向为“出”且结果为“通行”的记录数", "entries with direction out and decision pass"),
       entries_figure("direction = 'out' AND decision = 'pass'")),
    _f("households_passed", "有出入的户数", "Households through the gates",
       ("当日经门岗通行过的不同住户数", "Distinct households that passed a gate"),
       ("结果为“通行”的记录中不同户号的个数", "distinct household numbers among passed entries"),
       entries_figure("decision = 'pass' AND household IS NOT NULL", "household")),
    _f("refusals", "拒绝人次", "Refusals",
       ("门岗拒绝通行的次数（各原因合计）", "Times a gate refused someone (all reasons)"),
       ("结果为“拒绝”的记录数", "entries with decision refuse"),
       entries_figure("decision = 'refuse'")),
    *(_f(f"refusals.{code}", zh, en,
         (f"因“{zh}”拒绝通行的次数", f"Refusals counted as “{en}”"),
         (f"结果为“拒绝”且门岗显示的原因为“{reason_text(code)}”的记录数",
          f"entries with decision refuse where the gate showed “{reason_text(code, 'en')}”"),
         entries_figure(f"decision = 'refuse' AND reason = '{code}'"))
      for code, (zh, en) in _REFUSAL_REASONS.items()),
    _f("fevers", "发热事件", "Fever events",
       ("复测体温仍超过阈值的事件", "A second reading above the fever threshold"),
       ("标记为发热的记录数（门岗复测后仍超过阈值）", "entries flagged fever (above the threshold on re-measure)"),
       entries_figure("fever = 1")),
    _f("visitors", "访客人次", "Visitors",
       ("在门岗登记的访客人次", "Visitors registered at a gate"),
       ("事件为“访客登记”的记录数", "entries with event visitor"),
       entries_figure("event = 'visitor'")),
    _f("deliveries", "配送人次", "Deliveries",
       ("持配送通行证进入的人次", "Entries on delivery passes"),
       ("通行证类型为“配送”、方向“进”且通行的记录数", "entries with pass kind delivery, direction in, passed"),
       entries_figure("pass_kind = 'delivery' AND direction = 'in' AND decision = 'pass'")),
    _f("overrides", "保安放行", "Guard overrides",
       ("保安人工放行的次数", "Times a guard let someone through by hand"),
       ("事件为“保安放行”的记录数", "entries with event override"),
       entries_figure("event = 'override'")),
    _f("quarantine_households", "居家隔离户数", "Households in quarantine",
       ("当日处于居家隔离中的户数（整户或户内个人）", "Households with anyone under home quarantine that day"),
       ("隔离期与当日有重叠、且当日开始前未解除的不同户号数", "distinct households with a quarantine overlapping the "
        "day and not released before it began"),
       _households("quarantines", _Q_ACTIVE.format(q=""), _Q_ARGS[_Q_ACTIVE]), HOUSEHOLD_GROUPS),
    _f("quarantine_new", "新增隔离户数", "New quarantines",
       ("当日开始居家隔离的户数", "Households whose home quarantine began that day"),
       ("隔离第一天为当日的不同户号数", "distinct households with a quarantine whose first day is that day"),
       _households("quarantines", _Q_NEW.format(q=""), _Q_ARGS[_Q_NEW]), HOUSEHOLD_GROUPS),
    _f("quarantine_ended", "解除隔离户数", "Quarantines ended",
       ("当日解除或期满的居家隔离户数", "Households whose home quarantine was released or ran out that day"),
       ("当日被提前解除的，加上隔离最后一天为当日的不同户号数", "distinct households released early that day or whose "
        "last quarantine day was that day"),
       _households("quarantines", _Q_ENDED.format(q=""), _Q_ARGS[_Q_ENDED]),
       HOUSEHOLD_GROUPS),
    _f("passes_issued", "新发通行证", "Passes issued",
       ("当日签发的通行证张数", "Passes issued that day"),
       ("签发时间在当日的通行证数（含后来注销的）", "passes with an issue time that day (revoked ones included)"),
       _households("passes", _PASSES, lambda w: [w.since, w.until], "COUNT(*)"), HOUSEHOLD_GROUPS),
    # people in home quarantine (central.care): a household quarantine counts every member in the household file
    _f("quarantine_people", "居家隔离人数", "People in home quarantine",
       ("当日处于居家隔离中的人数", "People under home quarantine that day"),
       (_PEOPLE_ZH.format("隔离期与当日有重叠、且当日开始前未解除的隔离"),
        _PEOPLE_EN.format("quarantines overlapping the day and not released before it began")),
       _people(_Q_ACTIVE), HOUSEHOLD_GROUPS),
    _f("quarantine_people_new", "新增隔离人数", "People newly in quarantine",
       ("当日开始居家隔离的人数", "People whose home quarantine began that day"),
       (_PEOPLE_ZH.format("隔离第一天为当日的隔离"), _PEOPLE_EN.format("quarantines whose first day is that day")),
       _people(_Q_NEW), HOUSEHOLD_GROUPS),
    _f("quarantine_people_ended", "解除隔离人数", "People released from quarantine",
       ("当日解除或期满的居家隔离人数", "People whose home quarantine was released or ran out that day"),
       (_PEOPLE_ZH.format("当日被提前解除的、或隔离最后一天为当日的隔离"),
        _PEOPLE_EN.format("quarantines released early that day or whose last day was that day")),
       _people(_Q_ENDED), HOUSEHOLD_GROUPS),
    _f("quarantine_returnees", "居家隔离返乡人员", "Returnees in home quarantine",
       ("当日处于居家隔离中、来源为返乡人员的人数，可按来源城市分组", "People under home quarantine that day placed as "
        "returnees; can be grouped by the city they came from"),
       (_PEOPLE_ZH.format("来源为“返乡人员”、隔离期与当日有重叠且当日开始前未解除的隔离"),
        _PEOPLE_EN.format("quarantines with source returnee overlapping the day and not released before it began")),
       _people(_Q_ACTIVE, "returnee"), ORIGIN_GROUPS),
    _f("quarantine_returnees_new", "新增返乡隔离人员", "Returnees newly in quarantine",
       ("当日开始居家隔离的返乡人员人数，可按来源城市分组", "Returnees whose home quarantine began that day; can be "
        "grouped by the city they came from"),
       (_PEOPLE_ZH.format("来源为“返乡人员”、隔离第一天为当日的隔离"),
        _PEOPLE_EN.format("quarantines with source returnee whose first day is that day")),
       _people(_Q_NEW, "returnee"), ORIGIN_GROUPS),
    _f("quarantine_close_contacts", "居家隔离密切接触者", "Close contacts in home quarantine",
       ("当日处于居家隔离中、来源为密切接触者的人数", "People under home quarantine that day placed as close contacts"),
       (_PEOPLE_ZH.format("来源为“密切接触者”、隔离期与当日有重叠且当日开始前未解除的隔离"),
        _PEOPLE_EN.format("quarantines with source close contact overlapping the day and not released before it "
                          "began")),
       _people(_Q_ACTIVE, "close_contact"), HOUSEHOLD_GROUPS),
    _f("care_missed", "漏报体温次数", "Missed temperature readings",
       ("居家隔离人员当日上午、下午两次测温中到时未报的次数",
        "Morning or afternoon readings of people in home quarantine not given by the end of their slot that day"),
       ("当日已结束（且在生成报表之前结束）的测温时段中，隔离覆盖的每人没有体温记录的时段数；与居家隔离页“待测温”和"
        "“漏报体温”告警的算法相同", "slots of the day already over (before the report is made) with no reading, one "
        "per person a quarantine covers; counted as the care worklist and its missed-reading alerts count them"),
       _missed_readings, HOUSEHOLD_GROUPS),
    _f("care_fevers", "居家测温发热次数", "Fever readings at home",
       ("居家隔离人员体温达到发热阈值的次数（工作人员电话询问或本人自报）", "Home-quarantine readings at or above the "
        "fever threshold (asked by staff on the phone or self-reported)"),
       ("当日记录的居家测温中体温不低于发热阈值（与门岗相同，默认37.3℃）的条数",
        "readings recorded that day at or above the fever threshold (the gates' one, 37.3 °C unless set)"),
       _care_fevers, HOUSEHOLD_GROUPS),
    _f("care_needs_new", "新增生活需求", "Needs asked",
       ("居家隔离户当日提出的买菜、买药、倒垃圾、就医等需求件数", "Groceries, medicine, rubbish, medical visits ... "
        "asked for by quarantined households that day"),
       ("登记时间在当日的需求条数", "needs recorded that day"),
       _needs_new, HOUSEHOLD_GROUPS),
    _f("care_needs_open", "未办结需求", "Needs still open",
       ("当日结束时（今天为此刻）仍未办结的需求件数", "Needs not done by the end of the day (today: now)"),
       ("当日结束前登记、当时尚未标记办结的需求条数", "needs recorded before the end of the day and not marked done "
        "by then"),
       _needs_open, HOUSEHOLD_GROUPS),
    # vehicles (central.vehicles)
    _f("vehicles_in", "车辆进入", "Vehicles in",
       ("经门岗车辆通道登记进入的车辆次数", "Vehicles let in at a gate's vehicle lane"),
       ("事件为“车辆登记”且结果为“通行”的记录数", "entries with event vehicle and decision pass"),
       entries_figure(f"event = '{vehicles.EVENT}' AND decision = 'pass'")),
    _f("vehicles_out", "车辆离开", "Vehicles out",
       ("门岗登记离开的车辆次数", "Vehicles recorded leaving at a gate"),
       ("事件为“车辆离开”的记录数", "entries with event vehicle exit"),
       entries_figure(f"event = '{vehicles.EXIT_EVENT}'")),
    _f("vehicles_inside", "当日未离开车辆", "Vehicles still inside",
       ("当日进入、到当日结束时（今天为此刻）仍未登记离开的车辆数", "Vehicles let in that day with no exit recorded by "
        "the end of the day (today: now)"),
       ("当日“车辆登记”且通行的记录中，当日结束前没有对应“车辆离开”记录的条数；与车辆登记页“仍在小区内”相同",
        "vehicle entries of the day that passed with no vehicle exit recorded before the day ended; as the vehicle "
        "ledger's still-inside list"),
       _still_open(f"event = '{vehicles.EVENT}' AND decision = 'pass'", vehicles.EXIT_EVENT)),
    # deliveries (central.deliveries)
    _f("deliveries_received", "代收快递", "Parcels left at the gate",
       ("门岗为住户代收、留待取件的快递（按登记次数）", "Parcels left at a gate for a household (by records)"),
       ("事件为“快递代收”的记录数", "entries with event delivery"),
       entries_figure(f"event = '{DELIVERY}'")),
    _f("deliveries_picked_up", "快递已取件", "Parcels picked up",
       ("住户取走或工作人员送上门的代收快递（按登记次数）",
        "Parcels collected by the household or carried up by staff"),
       ("事件为“快递取件”的记录数", "entries with event delivery pickup"),
       entries_figure(f"event = '{DELIVERY_PICKUP}'")),
    _f("deliveries_waiting", "待取快递", "Parcels still waiting",
       (f"当日结束时（今天为此刻）仍在门岗等待取件的快递，只计最近{WAITING_DAYS}天内代收的",
        f"Parcels still waiting at a gate at the end of the day (today: now), of those left in the last "
        f"{WAITING_DAYS} days"),
       (f"当日及之前{WAITING_DAYS - 1}天的“快递代收”记录中，当日结束前没有对应“快递取件”记录的条数",
        f"delivery entries of the day and the {WAITING_DAYS - 1} days before with no delivery pickup recorded "
        "before the day ended"),
       _still_open(f"event = '{DELIVERY}'", DELIVERY_PICKUP, WAITING_DAYS - 1)),
    _f("deliveries_quarantined", "隔离户快递", "Parcels for quarantined homes",
       ("当日代收的、收件户正在居家隔离的快递（按登记次数）", "Parcels left that day for a household under home "
        "quarantine"),
       ("当日“快递代收”记录中，收件户在代收时有居家隔离（整户或户内个人，以中心的隔离记录为准）的条数",
        "delivery entries of the day whose household had a home quarantine (whole or one person, by central's "
        "records) when the parcel was left"),
       entries_figure(_TO_QUARANTINED)),
    # the screening and returnee register (central.screening): the register as it stood at the end of the day
    _f("screening_people", "排查登记人数", "People on the screening register",
       ("当日结束时（今天为此刻）排查登记表中的人数（按电话号码合并为一人），可按来源城市分组",
        "People on the screening register by the end of the day (today: now), one per phone number; can be grouped "
        "by the city they came from"),
       ("当日结束前导入登记表的人数；各名单中电话号码相同的算一人", "people imported before the day ended; rows of "
        "any list with the same phone number are one person"),
       _screened(_ON_REGISTER, _as_of(1)), ORIGIN_GROUPS),
    _f("screening_households", "排查登记户数", "Households on the screening register",
       ("当日结束时排查登记表中已对应到住户档案的户数", "Households with someone on the screening register by the end "
        "of the day"),
       ("当日结束前导入、已对应到住户的登记人员中不同户号的个数",
        "distinct households of the people imported before the "
        "day ended that are linked to a household"),
       _screened(f"{_ON_REGISTER} AND p.household IS NOT NULL", _as_of(1), "COUNT(DISTINCT p.household)"),
       HOUSEHOLD_GROUPS),
    _f("screening_new", "新增排查登记人数", "People newly on the register",
       ("当日新导入排查登记表的人数，可按来源城市分组", "People first imported to the screening register that day; can "
        "be grouped by the city they came from"),
       ("首次导入时间在当日的登记人员数", "people whose first import was that day"),
       _screened("p.created_at >= ? AND p.created_at < ?", lambda w: [w.since, w.until]), ORIGIN_GROUPS),
    _f("screening_returnees", "登记返乡人员", "Returnees on the register",
       ("当日结束时排查登记表中类别为返乡人员的人数，可按来源城市分组", "People on the register by the end of the day "
        "whose category is returnee; can be grouped by the city they came from"),
       ("当日结束前导入、类别为“返乡”的登记人员数（同一人在多份名单中取最严重的类别）",
        "people imported before the day "
        "ended with category returnee (a person on several lists has the most severe category)"),
       _screened(f"{_ON_REGISTER} AND p.category = 'returnee'", _as_of(1)), ORIGIN_GROUPS),
    _f("screening_contact", "有接触史人数", "People with contact history",
       ("当日结束时排查登记表中有接触史的人数（密接、次密接，或接触史一栏写有内容），可按来源城市分组",
        "People on the register by the end of the day with contact history (close or secondary contacts, or a "
        "contact history written); can be grouped by the city they came from"),
       ("当日结束前导入、类别为“密接”或“次密接”，或“接触史”一栏不是空白、“无”、“否”、“没有”的登记人员数",
        "people imported before the day ended with category close or secondary contact, or whose contact history "
        "is not blank or a written none"),
       _screened(f"{_ON_REGISTER} AND (p.category IN ('close_contact', 'secondary_contact') OR "
                 f"p.contact NOT IN ({_NO_CONTACT_SQL}))", _as_of(1)), ORIGIN_GROUPS),
    _f("screening_reached", "当日电话联系上的人数", "People reached by phone that day",
       ("排查电话当日打通、联系上本人的人数", "People on the register reached by phone that day"),
       ("当日有结果为“已联系”的通话记录的登记人员数（一人当日多次只计一次）",
        "people with a call of outcome reached that "
        "day (once each however many calls)"),
       _screened(_REACHED, lambda w: [w.since, w.until]), ORIGIN_GROUPS),
    _f("screening_reached_total", "累计已联系人数", "People reached so far",
       ("截至当日结束（今天为此刻）排查电话已联系上的人数",
        "People on the register reached by phone by the end of the day"),
       ("当日结束前导入、且当日结束前有过结果为“已联系”的通话记录的登记人员数", "people imported before the day ended "
        "with a call of outcome reached before it ended"),
       _screened(f"{_ON_REGISTER} AND {_REACHED}", lambda w: [w.as_of, 0.0, w.as_of]), ORIGIN_GROUPS),
    _f("screening_to_reach", "仍待联系人数", "People still to reach",
       ("当日结束时（今天为此刻）排查电话仍需再打的人数",
        "People on the register the phone round still has to reach at "
        "the end of the day (today: now)"),
       ("当日结束前导入、且当日结束前最后一次通话的结果不是“已联系”“空号”“已离开本地”（含从未拨打）的登记人员数",
        "people imported before the day ended whose last call before it ended was not reached, number not in use "
        "or has left (never called included)"),
       _screened(f"{_ON_REGISTER} AND {_LAST_OUTCOME} NOT IN ({_CLOSED_SQL})", _as_of(2)), ORIGIN_GROUPS),
    _f("alerts_open", "未处理告警", "Open alerts",
       ("当日产生、至今未确认的告警数", "Alerts raised that day and not acknowledged yet"),
       ("告警页当日的告警中未被确认的条数", "the day's alerts on the alerts page without an acknowledgement"),
       _open_alerts),
    _f("devices_offline", "现在离线的设备", "Devices offline now",
       ("此刻失去联系的在用门岗设备台数（往日报表中也是生成报表时的状态）",
        "Gate devices in use that are out of contact now (for a past day too: the state when the report is made)"),
       ("生成报表时超过15分钟未上报的在用设备数。中心只保存每台设备最后一次上报的时间，不保存每天的心跳记录，"
        "因此无法得知往日某一时刻哪些设备离线",
        "devices in use silent for over 15 min when the report is made. Central keeps only each device's last "
        "report, no daily record of heartbeats, so it cannot tell which devices were offline at a past moment"),
       _devices_offline, PLACE_GROUPS),
    _f("devices_faulty", "故障设备", "Devices with faults",
       ("当日出现过故障（摄像头、体温计、闸门等）的设备台数", "Devices with a fault (camera, thermometer, relay ...) "
        "during the day"),
       ("故障时段与当日有重叠的设备数", "devices with a fault episode overlapping the day"),
       _device_faults, PLACE_GROUPS),
)
_BY_KEY = {f.key: f for f in FIGURES}


def catalogue() -> tuple[Figure, ...]:
    """Every figure, in the order staff see them."""
    return FIGURES


def figure(key: str) -> Figure:
    """The figure ``key``; FigureError if there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise FigureError(f"no figure {key!r}") from None


def compute(db: CentralDB, key: str, window: Window, group: str = "all") -> Counts:
    """Figure ``key`` for ``window``, grouped by ``group`` (one of :data:`GROUPS`); the whole scope under ``()``. A
    figure that cannot be grouped so answers only ``()``."""
    fig = figure(key)
    return fig.query(db, window, group if fig.can_group(_group(group)) else "all")


def compute_many(db: CentralDB, keys: list[str], window: Window, group: str = "all") -> dict[str, Counts]:
    """Several figures at once, as :func:`compute` answers each: the plain entry counts in one pass over the
    window's entries, the others one by one."""
    figs = {k: figure(k) for k in keys}
    plain = {k: f.query for k, f in figs.items()
             if isinstance(f.query, EntriesCount) and f.query.distinct is None and f.can_group(_group(group))}
    out = _entries_at_once(db, plain, window, _group(group)) if len(plain) > 1 else {}
    for k, f in figs.items():
        if k not in out:
            out[k] = f.query(db, window, group if f.can_group(group) else "all")
    return out


def daily_series(db: CentralDB, keys: tuple[str, ...] | list[str], last_day: date, days: int, tz: ZoneInfo,
                 community: str | None = None) -> list[tuple[date, dict[str, int]]]:
    """Figures ``keys`` for each of the ``days`` local days ending with ``last_day`` (oldest first), each for the
    whole scope (one community, or all), as :func:`compute` answers them day by day. The plain entry counts come
    from one pass over the span's entries when its days are all 24 hours long (no clock change in ``tz``)."""
    if not 1 <= days <= MAX_DAYS:
        raise FigureError(f"between 1 and {MAX_DAYS} days")
    span = [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]
    plain = {k: q for k in keys if isinstance(q := figure(k).query, EntriesCount) and q.distinct is None}
    by_day: dict[str, list[int]] = (_entries_by_day(db, plain, span, tz, community) or {}) if len(plain) > 1 else {}
    bounds = [Window.day(d, tz).since for d in span] + [Window.day(span[-1], tz).until]
    by_day.update({k: _SERIES[k](db, bounds) for k in keys if k in _SERIES})
    rest = [k for k in keys if k not in by_day]
    out = []
    for i, day in enumerate(span):
        results = compute_many(db, rest, Window.day(day, tz, community)) if rest else {}
        out.append((day, {k: by_day[k][i] if k in by_day else results[k][()] for k in keys}))
    return out


def _day_range(bounds: list[float], start: float, stop: float) -> range:
    """The indexes of the days (``bounds[i]`` to ``bounds[i + 1]``) that the span ``start``-``stop`` overlaps."""
    return range(max(0, bisect_right(bounds, start) - 1), min(len(bounds) - 1, bisect_left(bounds, stop)))


def _people_series(db: CentralDB, bounds: list[float]) -> list[int]:
    """People in home quarantine on each day of ``bounds`` (as ``quarantine_people`` counts them), in one query."""
    where = _Q_ACTIVE.format(q="q.")
    rows = db.execute(f"SELECT q.household, {_PERSON}, q.start_ts, q.end_ts, q.status, q.released_at "
                      f"{_COVERED.format(where=where)}", [bounds[-1], bounds[0], bounds[0]]).fetchall()
    days: list[set[tuple[str, int]]] = [set() for _ in bounds[1:]]
    for household, person, start, end, status, released in rows:
        stop = end if status == "active" or released is None else min(end, released)
        for i in _day_range(bounds, start, stop):
            days[i].add((household, person))
    return [len(d) for d in days]


def _care_fevers_series(db: CentralDB, bounds: list[float]) -> list[int]:
    """Fever readings at home recorded on each day of ``bounds`` (as ``care_fevers`` counts them), in one query."""
    out = [0] * (len(bounds) - 1)
    for (at,) in db.execute("SELECT recorded_at FROM care_readings WHERE temp_c >= ? AND recorded_at >= ? "
                            "AND recorded_at < ?",
                            [care.fever_threshold(db), bounds[0], bounds[-1]]):
        out[bisect_right(bounds, at) - 1] += 1
    return out


#: Figures with a whole-scope daily series of their own (one query for the span instead of one per day); they know
#: no community, so the series is the same for every one.
_SERIES: dict[str, Callable[[CentralDB, list[float]], list[int]]] = {
    "quarantine_people": _people_series, "care_fevers": _care_fevers_series}


def _entries_by_day(db: CentralDB, counts: dict[str, EntriesCount], span: list[date], tz: ZoneInfo,
                    community: str | None) -> dict[str, list[int]] | None:
    """Plain entry counts per day of ``span`` in one pass; None when a day of the span is not 24 hours long."""
    bounds = [Window.day(d, tz).since for d in span] + [Window.day(span[-1], tz).until]
    if any(b - a != 86400 for a, b in pairwise(bounds)):
        return None
    keys = list(counts)
    scope, args = _scope(Window.day(span[0], tz, community))
    selects = ", ".join(f"COUNT(*) FILTER (WHERE {counts[k].cond})" for k in keys)
    sql = (f"SELECT {db.trunc_int('(wall_ts - ?) / 86400')}, {selects} FROM entries "
           f"WHERE wall_ts >= ? AND wall_ts < ?{scope} GROUP BY 1")
    out = {k: [0] * len(span) for k in keys}
    for day_index, *ns in db.execute(sql, [bounds[0], bounds[0], bounds[-1], *args]).fetchall():
        i = min(len(span) - 1, max(0, int(day_index)))
        for k, n in zip(keys, ns, strict=True):
            out[k][i] += int(n or 0)
    return out
