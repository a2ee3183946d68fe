"""A 20-figure report template generated for one day, against the bare SQL of its slowest figure.

Uses the console benchmark's database (``bench_console.database``: 10 million entries, 200 gates in 40 communities
over 90 days; ``--quick``: 1 million) and adds, once, 100,000 households with a pass each, a quarter of them with a
home quarantine spread over the 90 days. The template holds 20 figures of :mod:`central.figures` grouped by gate
(200 rows) and is generated for a day ten days before the last entry, XLSX included. Printed:

- the whole generation, against the bare ``SELECT`` of its slowest figure (the figure whose own query took
  longest, timed alone) run directly on the connection: what the catalogue, grouping and XLSX add;
- each figure alone (the slowest few), for orientation;
- the daily report page's trend (8 figures for each of 30 days, :func:`central.console.reports.trend`) against the
  20-figure template for one day.

The database is built once per scale by ``bench_console.database`` (one ``INSERT ... WITH RECURSIVE`` in a single
transaction, indexes after) and kept as ``/tmp/gatepass-bench-console-<rows>.db``: a rerun reuses it. Full run
(10M entries; about 9 minutes on 2 shared cores the first time, a minute or two after):
``nice -n 10 .venv/bin/python -m bench figures``.
"""

from __future__ import annotations

import logging
import statistics
from datetime import datetime

from bench.bench_console import DAYS, START, database
from bench.harness import Result, per_call

log = logging.getLogger(__name__)

HOUSEHOLDS = 100_000
FIGURES = ("passages_in", "passages_out", "households_passed", "refusals", "refusals.quarantined",
           "refusals.fever", "refusals.temp_high", "refusals.host_quarantined", "refusals.health_code_yellow",
           "refusals.health_code_red", "refusals.closed", "fevers", "visitors", "deliveries", "overrides",
           "quarantine_households", "quarantine_new", "quarantine_ended", "passes_issued", "devices_offline")
# The bare statement of each entries figure, grouped by gate as the template asks (what the figure runs, by hand).
_ENTRY_SQL = ("SELECT community, gate_id, COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND ({}) "
              "GROUP BY 1, 2")


def _households(db) -> None:
    """100,000 households with a pass each and 25,000 quarantines (added once)."""
    if db.execute("SELECT COUNT(*) FROM households").fetchone()[0] >= HOUSEHOLDS:
        return
    with db.transaction():
        db.execute("INSERT INTO pass_keys (kid, public_key, created_at, not_before, status) VALUES ('bench', 'x', 0, "
                   "0, 'active') ON CONFLICT DO NOTHING")
        db.insert_ignore_many("households", ("household", "created_at"), [[f"H-{i:05d}", 0] for i in range(HOUSEHOLDS)])
        db.insert_ignore_many("passes", ("household", "person", "kind", "valid_from", "valid_to", "issued_at", "kid"),
                              [[f"H-{i:05d}", 1, "resident", 0, 1, int(START + (i * 7919 % (DAYS * 86400))), "bench"]
                               for i in range(HOUSEHOLDS)])
        rows = []
        for i in range(0, HOUSEHOLDS, 4):
            start = START + (i * 104729 % ((DAYS - 14) * 86400)) // 86400 * 86400
            rows.append([f"H-{i:05d}", "2026-01-01", "2026-01-14", start, start + 14 * 86400, 0,
                         "released" if i % 40 == 0 else "active", start + 5 * 86400 if i % 40 == 0 else None])
        db.insert_ignore_many("quarantines", ("household", "first_day", "last_day", "start_ts", "end_ts", "set_at",
                                              "status", "released_at"), rows)


def _median(fn, repeat: int) -> float:
    fn()
    return statistics.median(per_call(fn, repeat, 1))


def run(quick: bool = False) -> list[Result]:
    """The benchmark at 10M entries (``quick``: 1M)."""
    return measure(1_000_000 if quick else 10_000_000, 3 if quick else 5)


def measure(rows: int, repeat: int) -> list[Result]:
    """The template against its slowest figure's SQL on the console benchmark database of ``rows`` entries."""
    from central import figures
    from central.console import exports
    from central.console import report_templates as rt
    from central.console.timeutil import zone
    from central.db import open_db

    db = open_db(database(rows))  # brings the schema up to date (the report tables) on an older file
    _households(db)
    tz = zone()
    last = db.execute("SELECT MAX(wall_ts) FROM entries").fetchone()[0]
    day = datetime.fromtimestamp(last - 10 * 86400, tz).date()
    template = rt.Template("bench", rows=[rt.Row(k, figures.figure(k).zh) for k in FIGURES], grouping="gate")
    window = figures.Window.day(day, tz)

    def generate() -> bytes:
        return exports.to_xlsx([rt.generate(db, template, day, tz).table], "zh", tz)

    t_all = _median(generate, repeat)
    alone = {k: _median(lambda k=k: figures.compute(db, k, window, "gate"), repeat) for k in FIGURES}
    slowest = max((k for k in FIGURES if k in _bare(window)), key=lambda k: alone[k])  # all but devices_offline
    sql, args = _bare(window)[slowest]
    t_bare = _median(lambda: db.execute(sql, args).fetchall(), repeat)
    results = [Result(f"20-figure template by gate, 1 day @ {rows:,} entries, {HOUSEHOLDS:,} households (XLSX)",
                      t_all * 1e3, "ms", f"bare SQL of its slowest figure ({slowest})", t_bare * 1e3)]
    from central.console import reports

    t_trend = _median(lambda: reports.trend(db, day, 30, tz), repeat)
    results.append(Result("daily report trend: 8 figures x 30 days", t_trend * 1e3, "ms",
                          "the 20-figure template for one day", t_all * 1e3))
    for key in sorted(FIGURES, key=lambda k: -alone[k])[:5]:
        results.append(Result(f"figure {key} alone, by gate", alone[key] * 1e3, "ms"))
    db.close()
    return results


def _bare(window) -> dict[str, tuple[str, list]]:
    """The bare statement of the figures, written out by hand (entries grouped by gate, as the template asks)."""
    from central import figures as f

    span = [window.since, window.until]
    out = {k: (_ENTRY_SQL.format(cond), span) for k, cond in _ENTRY_CONDS.items()}
    out["households_passed"] = ("SELECT community, gate_id, COUNT(DISTINCT household) FROM entries WHERE wall_ts >= ? "
                                "AND wall_ts < ? AND decision = 'pass' AND household IS NOT NULL GROUP BY 1, 2", span)
    out["passes_issued"] = (f._PASSES, span)
    out["quarantine_new"] = (f._Q_NEW, span)
    out["quarantine_households"] = (f._Q_ACTIVE, [window.until, window.since, window.since])
    out["quarantine_ended"] = (f._Q_ENDED, span + span)
    return out


_ENTRY_CONDS = {
    "passages_in": "direction = 'in' AND decision = 'pass'", "passages_out": "direction = 'out' AND decision = 'pass'",
    "refusals": "decision = 'refuse'", "fevers": "fever = 1", "visitors": "event = 'visitor'",
    "overrides": "event = 'override'",
    "deliveries": "pass_kind = 'delivery' AND direction = 'in' AND decision = 'pass'",
    **{f"refusals.{r}": f"decision = 'refuse' AND reason = '{r}'" for r in (
        "quarantined", "fever", "temp_high", "host_quarantined", "health_code_yellow", "health_code_red", "closed")},
}


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO)
    for r in run(quick="--quick" in sys.argv):
        print(r.line())
