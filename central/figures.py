"""The catalogue of figures: every number asked for upward, defined once.

Each :class:`Figure` has its name in Chinese and English, what it means, how it is counted, and one query
function answering it for a :class:`Window` (a local day or a range of days, optionally one community or gate),
grouped by community, gate or grid (网格) where the data allows (:attr:`Figure.groups`): entries by their gate's
community and gate, and by the grid of their household (the household file's ``grid``, :mod:`central.homes`; ``''``
for entries with no household or a household without a grid); households (quarantine, passes) carry no community or
gate, so their figures are grouped by grid only.

Results are ``{group: count}``: the group ``()`` for the whole scope, ``(community,)`` grouped by community,
``(community, gate_id)`` grouped by gate, ``(grid,)`` grouped by grid. :func:`compute` answers one figure;
:func:`catalogue` lists them.

Entries are placed by ``wall_ts``, central's best (re-dated) time; the window is local midnight to local midnight in
the console's time zone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from central.console import alerts
from central.console.i18n import reason_text
from central.errors import CentralError
from central.store import CentralDB

GROUPS = ("all", "community", "gate", "grid")
ALL_GROUPS = frozenset(GROUPS)
HOUSEHOLD_GROUPS = frozenset({"all", "grid"})
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


_Q_ACTIVE = "start_ts < ? AND end_ts > ? AND (status = 'active' OR released_at > ?)"
_Q_NEW = "start_ts >= ? AND start_ts < ?"
_Q_ENDED = ("(status = 'released' AND released_at >= ? AND released_at < ?) OR "
            "(status = 'active' AND end_ts > ? AND end_ts <= ?)")
_PASSES = "issued_at >= ? AND issued_at < ?"


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
       _households("quarantines", _Q_ACTIVE, lambda w: [w.until, w.since, w.since]), HOUSEHOLD_GROUPS),
    _f("quarantine_new", "新增隔离户数", "New quarantines",
       ("当日开始居家隔离的户数", "Households whose home quarantine began that day"),
       ("隔离第一天为当日的不同户号数", "distinct households with a quarantine whose first day is that day"),
       _households("quarantines", _Q_NEW, lambda w: [w.since, w.until]), HOUSEHOLD_GROUPS),
    _f("quarantine_ended", "解除隔离户数", "Quarantines ended",
       ("当日解除或期满的居家隔离户数", "Households whose home quarantine was released or ran out that day"),
       ("当日被提前解除的，加上隔离最后一天为当日的不同户号数", "distinct households released early that day or whose "
        "last quarantine day was that day"),
       _households("quarantines", _Q_ENDED, lambda w: [w.since, w.until, w.since, w.until]),
       HOUSEHOLD_GROUPS),
    _f("passes_issued", "新发通行证", "Passes issued",
       ("当日签发的通行证张数", "Passes issued that day"),
       ("签发时间在当日的通行证数（含后来注销的）", "passes with an issue time that day (revoked ones included)"),
       _households("passes", _PASSES, lambda w: [w.since, w.until], "COUNT(*)"), HOUSEHOLD_GROUPS),
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
    """Figure ``key`` for ``window``, grouped by ``group`` ("all", "community", "gate"); the whole scope under
    ``()``. A figure that cannot be grouped so answers only ``()``."""
    fig = figure(key)
    return fig.query(db, window, group if fig.can_group(_group(group)) else "all")


def compute_many(db: CentralDB, keys: list[str], window: Window, group: str = "all") -> dict[str, Counts]:
    """Several figures at once, as :func:`compute` answers each: the plain entry counts in one pass over the
    window's entries, the others one by one."""
    figs = {k: figure(k) for k in keys}
    plain = {k: f.query for k, f in figs.items() if isinstance(f.query, EntriesCount) and f.query.distinct is None}
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
    by_day = _entries_by_day(db, plain, span, tz, community) if len(plain) > 1 else None
    rest = [k for k in keys if by_day is None or k not in by_day]
    out = []
    for i, day in enumerate(span):
        results = compute_many(db, rest, Window.day(day, tz, community)) if rest else {}
        out.append((day, {k: by_day[k][i] if by_day is not None and k in by_day else results[k][()] for k in keys}))
    return out


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
