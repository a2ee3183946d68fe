"""The daily report for the street office, its chart and its exports.

Exports (:mod:`central.console.exports` conventions: title row, frozen headers, date cells, totals row; headers in
the member's language), documented on the report page too:

Sheet "按小时" / "By hour" (CSV ``part=hourly``), every community and gate that had traffic, with all 24 local hours
(zeros included): 日期 (date cell), 社区, 门岗 (the gate's name where known), 门岗编号, 时段 ("08:00-09:00", local
time), 小时 (0-23), 进入 (direction in, decision pass), 外出 (direction out, decision pass), 访客 (visitor
registrations), 拒绝 (decision refuse), 发热 (fever flag set), 保安放行 (guard overrides); then 合计.
Sheet "按原因" / "By reason" (CSV ``part=reasons``), refusals by reason: 日期, 社区, 门岗, 门岗编号, 原因 (the
words the gate showed), 原因代码 (the code, for machines), 拒绝次数; then 合计.

Under the day's chart, the trend over the outbreak (:func:`trend`, 14 or 30 days ending with the report's day): entries,
exits, refusals, fever events, visitors, households in quarantine, new and ended quarantines, each day as
:mod:`central.figures` counts it, one small inline SVG per figure (:func:`trend_chart`) that scales to a phone, and
the numbers in a table.

Entries are placed by ``wall_ts``, central's best date (re-dated by a trusted time of the gate's boot when the
gate's clock was untrusted: :mod:`central.redating`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from central import daily_counts, figures
from central.console.errors import ConsoleError
from central.console.exports import COUNT, DATE, Column, Table, Words
from central.console.timeutil import day_bounds
from central.store import CentralDB

COUNTS = ("entries", "exits", "visitors", "refusals", "fevers", "overrides")
_PLACE = (Column("日期", "Date", DATE), Column("社区", "Community"), Column("门岗", "Gate", width=14),
          Column("门岗编号", "Gate id"))
HOURLY_COLUMNS = (*_PLACE, Column("时段", "Hours", width=13), Column("小时", "Hour", width=6),
                  Column("进入", "Entries", COUNT), Column("外出", "Exits", COUNT), Column("访客", "Visitors", COUNT),
                  Column("拒绝", "Refusals", COUNT), Column("发热", "Fevers", COUNT),
                  Column("保安放行", "Overrides", COUNT))
REASON_COLUMNS = (*_PLACE, Column("原因", "Reason", width=30), Column("原因代码", "Reason code", width=16),
                  Column("拒绝次数", "Refusals", COUNT))
SHEETS = {"hourly": ("按小时", "By hour"), "reasons": ("按原因", "By reason")}
TITLE = ("日报", "Daily report")


@dataclass
class GateDay:
    """One gate's day: totals and per-hour counts."""

    community: str
    gate_id: str
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    hours: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass
class Report:
    """A day's report."""

    day: date
    community: str | None
    gates: list[GateDay]
    reasons: list[dict]
    totals: dict[str, int]

    def hourly_rows(self, words: Words | None = None) -> list[tuple]:
        """Rows of the hourly export: every gate with all 24 hours (zeros included), ordered by community, gate
        and hour."""
        words = words or Words("zh")
        out = []
        zero = dict.fromkeys(COUNTS, 0)
        for g in self.gates:
            for hour in range(24):
                c = g.hours.get(hour, zero)
                out.append((self.day, g.community, words.gate(g.gate_id), g.gate_id,
                            f"{hour:02d}:00-{hour + 1:02d}:00", hour, *(c[k] for k in COUNTS)))
        return out

    def reason_rows(self, words: Words | None = None) -> list[tuple]:
        """Rows of the reasons export."""
        words = words or Words("zh")
        return [(self.day, r["community"], words.gate(r["gate_id"]), r["gate_id"], words.reason(r["reason"]),
                 r["reason"], r["refusals"]) for r in self.reasons]

    def legend(self) -> list[tuple[str, GateDay]]:
        """Each gate with the colour of its line in :func:`entries_chart` (the legend under the chart on a phone)."""
        return [(PALETTE[n % len(PALETTE)], g) for n, g in enumerate(self.gates)]

    def title(self, lang: str) -> str:
        """"日报 2026-11-20" (and the community)."""
        text = f"{TITLE[1] if lang == 'en' else TITLE[0]} {self.day.isoformat()}"
        return f"{text} · {self.community}" if self.community else text

    def tables(self, words: Words) -> dict[str, Table]:
        """The export tables, by part (``hourly``, ``reasons``)."""
        idx = 1 if words.lang == "en" else 0
        hourly = Table(SHEETS["hourly"][idx], self.title(words.lang), HOURLY_COLUMNS, self.hourly_rows(words))
        reasons = Table(SHEETS["reasons"][idx], self.title(words.lang) + (" refusals by reason" if idx else
                        " 拒绝原因"), REASON_COLUMNS, self.reason_rows(words))
        return {"hourly": hourly, "reasons": reasons}


def daily_report(db: CentralDB, day: date, tz: ZoneInfo, community: str | None = None) -> Report:
    """Aggregate one local day's entries (optionally of one community): from the hourly counts
    (:mod:`central.daily_counts`) when the day starts and ends on whole UTC hours, else from the entries."""
    start, end = day_bounds(day, tz)
    hours = daily_counts.whole_hours(start, end)
    if hours is None:
        rows, reasons = _from_entries(db, start, end, community)
    else:
        rows, reasons = _from_counts(db, hours, community)
    gates = _gate_days(rows)
    totals = dict.fromkeys(COUNTS, 0)
    for g in gates:
        for key in COUNTS:
            totals[key] += g.totals[key]
    return Report(day, community, gates, reasons, totals)


def _hour_counts(row: tuple) -> dict[str, int]:
    """An hour's counts (:data:`COUNTS`) of a report row (hour, community, gate, counts...)."""
    return {"entries": row[3], "exits": row[4], "visitors": row[5], "refusals": row[6], "fevers": row[7],
            "overrides": row[8]}


def _gate_days(rows: list) -> list[GateDay]:
    """Each gate's day from the report rows (hour of the day, community, gate, :data:`COUNTS`), ordered by community
    and gate: one dict per gate and hour (rows of one gate and hour, from several devices or from the two 01:00 of
    a day of 25 hours, added up), each gate's totals summed column by column over its rows."""
    by_gate: dict[tuple[str, str], list[tuple]] = {}
    for row in rows:
        key = (row[1], row[2])
        found = by_gate.get(key)
        if found is None:
            by_gate[key] = [row]
        else:
            found.append(row)
    gates = []
    for key in sorted(by_gate):
        own = by_gate[key]
        columns = list(zip(*own, strict=True))[3:]  # each count's column over the gate's rows
        g = GateDay(key[0], key[1], dict(zip(COUNTS, [sum(col) for col in columns], strict=True)))
        for row in own:  # in hour order: each gate's hours fill in order
            hour = row[0] if 0 <= row[0] <= 23 else max(0, min(23, int(row[0])))
            slot = g.hours.get(hour)
            if slot is None:
                g.hours[hour] = _hour_counts(row)
            else:  # several devices at one gate, or a day of 25 hours
                for key_, n in zip(COUNTS, row[3:], strict=True):
                    slot[key_] += n
        gates.append(g)
    return gates


_COUNTED = ", ".join(COUNTS)


def _from_counts(db: CentralDB, hours: tuple[int, int], community: str | None) -> tuple[list, list[dict]]:
    """The day's rows (hour of the day, community, gate, :data:`COUNTS`; a gate with several devices has a row for
    each) and refusals by reason, from the hourly counts: read in their stored order, a few rows per gate and hour
    however many entries the day had; the refusals added up by SQLite (a few hundred rows to Python, not one per
    device, hour and reason)."""
    cond, args = "hour >= ? AND hour < ?", list[int | str](hours)
    if community:
        cond, args = cond + " AND community = ?", [*args, community]
    rows = db.execute(f"SELECT hour - ?, community, gate_id, {_COUNTED} FROM entry_counts WHERE {cond} AND total > 0 "
                      "ORDER BY hour", [hours[0], *args]).fetchall()  # the key's order: no sort
    reasons = [{"community": c, "gate_id": g, "reason": r, "refusals": int(n)} for c, g, r, n in db.execute(
        "SELECT community, gate_id, reason, SUM(refusals) AS n FROM refusal_counts "
        f"WHERE {cond} AND refusals > 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, n DESC, 3", args)]
    return rows, reasons


def _from_entries(db: CentralDB, start: float, end: float, community: str | None) -> tuple[list, list[dict]]:
    """What :func:`_from_counts` returns, counted from the entries of ``[start, end)`` (any time zone)."""
    cond = "wall_ts >= ? AND wall_ts < ?"
    args: list[float | str] = [start, end]
    if community:
        cond += " AND community = ?"
        args.append(community)
    rows = db.execute(
        # hour first: rows arrive in wall_ts order, which makes the GROUP BY sort cheaper (bench_console)
        f"SELECT {db.trunc_int('(wall_ts - ?) / 3600')} AS hour, COALESCE(community, ''), gate_id, "
        "COUNT(*) FILTER (WHERE direction = 'in' AND decision = 'pass'), "
        "COUNT(*) FILTER (WHERE direction = 'out' AND decision = 'pass'), COUNT(*) FILTER (WHERE event = 'visitor'), "
        "COUNT(*) FILTER (WHERE decision = 'refuse'), COUNT(*) FILTER (WHERE fever = 1), "
        "COUNT(*) FILTER (WHERE event = 'override') "
        f"FROM entries WHERE {cond} GROUP BY 1, 2, 3 ORDER BY 1", [start, *args]).fetchall()
    reasons = list(db.query(
        "SELECT COALESCE(community, '') AS community, gate_id, reason, COUNT(*) AS refusals FROM entries "
        f"WHERE {cond} AND decision = 'refuse' GROUP BY 1, 2, 3 ORDER BY 1, 2, refusals DESC, 3", args))
    return rows, reasons


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22")


def entries_chart(report: Report, title: str, width: int = 760, height: int = 300,
                  gate_names: Mapping[str, str] | None = None) -> str:
    """An SVG line chart of entries per hour per gate (self-contained markup, no scripts); gates are labelled by
    ``gate_names`` (东门) where given, else by their ids."""
    left, right, top, bottom = 44, 170, 28, 34
    pw, ph = width - left - right, height - top - bottom
    peak = max([1] + [c["entries"] for g in report.gates for c in g.hours.values()])
    step = max(1, -(-peak // 5))
    ymax = step * 5
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>']
    for i in range(6):
        y = top + ph - ph * i / 5
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{step * i}</text>')
    for h in range(0, 24, 2):
        x = left + pw * (h + 0.5) / 24
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 18}" text-anchor="middle" class="tick">{h}</text>')
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" class="axis"/>')
    for n, g in enumerate(report.gates):
        color = PALETTE[n % len(PALETTE)]
        ys = [top + ph - ph * g.hours.get(h, {}).get("entries", 0) / ymax for h in range(24)]
        pts = " ".join(f"{left + pw * (h + 0.5) / 24:.1f},{y:.1f}" for h, y in enumerate(ys))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = top + 14 + 18 * n
        gate = (gate_names or {}).get(g.gate_id) or g.gate_id
        label = f"{g.community} / {gate}" if g.community else gate
        parts.append(f'<rect x="{left + pw + 12}" y="{ly - 9}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{left + pw + 30}" y="{ly + 1}" class="legend">{escape(label)}</text>')
    if not report.gates:
        parts.append(f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" class="tick">—</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the trend over the outbreak -----------------------------------------------------------------

TREND_FIGURES = ("passages_in", "passages_out", "refusals", "fevers", "visitors", "quarantine_households",
                 "quarantine_people", "quarantine_new", "quarantine_ended", "care_fevers")
TREND_DAYS = (14, 30)
#: A state each day: its peak over the span, not a sum.
TREND_STATES = frozenset({"quarantine_households", "quarantine_people"})


@dataclass
class Trend:
    """Key figures of :mod:`central.figures` for each day of a span ending with the report's day."""

    days: list[date]
    values: dict[str, list[int]]      # figure key -> one count per day, oldest first
    community: str | None = None

    def rows(self) -> list[tuple[date, list[int]]]:
        """Each day with its counts in :data:`TREND_FIGURES` order (the table under the charts)."""
        return [(d, [self.values[k][i] for k in TREND_FIGURES]) for i, d in enumerate(self.days)]


def trend_days(text: str) -> int:
    """The trend's span from the query (``14`` or ``30``; 14 when empty); ConsoleError (400) otherwise."""
    if not text.strip():
        return TREND_DAYS[0]
    if text.strip() not in {str(n) for n in TREND_DAYS}:
        raise ConsoleError(f"趋势只能看 14 天或 30 天 / the trend covers 14 or 30 days, not {text.strip()[:10]!r}")
    return int(text.strip())


def trend(db: CentralDB, last_day: date, days: int, tz: ZoneInfo, community: str | None = None) -> Trend:
    """The :data:`TREND_FIGURES` for the ``days`` local days ending with ``last_day``."""
    series = figures.daily_series(db, TREND_FIGURES, last_day, days, tz, community)
    return Trend([d for d, _ in series], {k: [v[k] for _, v in series] for k in TREND_FIGURES}, community)


def _nice_step(peak: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least half of ``peak`` (two gridlines above 0)."""
    half, magnitude = max(1, -(-peak // 2)), 1
    while True:
        for m in (1, 2, 5):
            if m * magnitude >= half:
                return m * magnitude
        magnitude *= 10


def trend_chart(days: list[date], values: list[int], title: str, color: str = PALETTE[0]) -> str:
    """A small SVG line chart of one figure per day (scales to its box: readable on a phone as on a desktop);
    each point carries its date and count as a tooltip. Self-contained markup, no scripts."""
    width, height, left, right, top, bottom = 320, 150, 34, 10, 10, 24
    pw, ph = width - left - right, height - top - bottom
    step = _nice_step(max(values, default=0))
    n = max(1, len(values) - 1)
    xs = [left + pw * i / n for i in range(len(values))]
    ys = [top + ph - ph * v / (2 * step) for v in values]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" role="img" viewBox="0 0 {width} {height}" '
             f'preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i in range(3):
        y = top + ph - ph * i / 2
        kind = "axis" if i == 0 else "grid"
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" class="{kind}"/>')
        parts.append(f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" class="tick">{step * i}</text>')
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else []:
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        parts.append(f'<text x="{xs[i]:.1f}" y="{height - 6}" text-anchor="{anchor}" class="tick">'
                     f'{days[i]:%m-%d}</text>')
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
    for d, v, x, y in zip(days, values, xs, ys, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" data-day="{d.isoformat()}" '
                     f'data-value="{v}"><title>{d.isoformat()}: {v}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class TrendPanel:
    """One figure's chart of the trend, with what its caption shows."""

    key: str
    name: str
    last: int
    total: int      # the sum over the span; for a state (households in quarantine) its peak
    peak: bool      # ``total`` is the peak
    svg: str


def trend_panels(tr: Trend, lang: str) -> list[TrendPanel]:
    """A chart per figure of the trend, named in ``lang``; a figure counted for every community (households carry
    none) says so when the report is for one community."""
    out = []
    for n, key in enumerate(TREND_FIGURES):
        fig = figures.figure(key)
        name = fig.name(lang)
        if tr.community and not fig.groupable:
            name += " (all communities)" if lang == "en" else "（全部社区）"
        values = tr.values[key]
        peak = key in TREND_STATES
        out.append(TrendPanel(key, name, values[-1] if values else 0, max(values, default=0) if peak else sum(values),
                              peak, trend_chart(tr.days, values, name, PALETTE[n % len(PALETTE)])))
    return out
