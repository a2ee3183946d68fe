"""A 20-figure report template generated for one day, against the bare SQL of its slowest figure.

Uses the console benchmark's database (``bench_console.database``: 10 million entries, 200 gates in 40 communities
over 90 days; ``--quick``: 1 million) and adds, once, 100,000 households with a pass each, a quarter of them with a
home quarantine spread over the 90 days. The template holds 20 figures of :mod:`central.figures` grouped by gate
(200 rows) and is generated for a day ten days before the last entry, XLSX included. Printed:

- the whole generation, against the bare ``SELECT`` of its slowest figure (the figure whose own query took
  longest, timed alone) run directly on the connection: what the catalogue, grouping and XLSX add;
- each figure alone (the slowest few), for orientation;
- the daily report page's trend (10 figures for each of 30 days, :func:`central.console.reports.trend`) against the
  20-figure template for one day;
- the casework figures (:data:`CASEWORK`: people in home quarantine, returnees, missed and fever readings, needs,
  vehicles) in one template by grid, against the bare SQL of people in quarantine per grid, and against the
  20-figure template; the slowest few alone; returnees by origin city. For this the household files get 20 grids and
  2-3 members each, the quarantines care details and readings (about nine slots in ten) and three needs each,
  added once; when the screening register exists (:mod:`central.screening`), 50,000 people on it with 0-3 calls
  each and its figures in the template too. The benchmark's entries hold no vehicles or deliveries, so those
  figures measure the scan of a day's entries that finds none.

The database is built once per scale by ``bench_console.database`` (one ``INSERT ... WITH RECURSIVE`` in a single
transaction, indexes after) and kept as ``/tmp/gatepass-bench-console-<rows>.db``; this benchmark adds its
households and casework to its own copy, ``/tmp/gatepass-bench-figures-<rows>.db`` (the console's benchmarks measure
an unchanged file): a rerun reuses both. Full run
(10M entries; about 9 minutes on 2 shared cores the first time, a minute or two after):
``nice -n 10 .venv/bin/python -m bench figures``.
"""

from __future__ import annotations

import logging
import sqlite3
import statistics
from datetime import datetime
from pathlib import Path

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


CASEWORK = ("quarantine_people", "quarantine_people_new", "quarantine_people_ended", "quarantine_returnees",
            "quarantine_returnees_new", "quarantine_close_contacts", "care_missed", "care_fevers", "care_needs_new",
            "care_needs_open", "vehicles_in", "vehicles_out", "vehicles_inside", "deliveries_received",
            "deliveries_picked_up", "deliveries_waiting", "deliveries_quarantined")
#: The screening register's figures, measured when the register exists (``central.screening``).
SCREENING = ("screening_people", "screening_households", "screening_new", "screening_returnees", "screening_contact",
             "screening_reached", "screening_reached_total", "screening_to_reach")
SCREENED = 50_000
GRIDS = 20


def _casework(db, tz) -> None:
    """Household files in 20 grids with 2-3 members each, care details (a third returnees from 30 cities) and two
    readings a day for nine slots in ten of every member of every quarantine, three needs per quarantine (added
    once). The quarantines' first and last days are set from their start and end in ``tz``."""
    if db.execute("SELECT COUNT(*) FROM household_files").fetchone()[0] >= HOUSEHOLDS:
        return
    with db.transaction():
        db.execute(f"INSERT INTO household_files (household, grid, updated_at) SELECT household, "
                   f"'网格' || (CAST(substr(household, 3) AS INTEGER) % {GRIDS}), 0 FROM households "
                   "WHERE household LIKE 'H-%' ON CONFLICT DO NOTHING")
        db.execute("INSERT INTO household_members (household, person, updated_at) SELECT f.household, p.n, 0 FROM "
                   "household_files f, (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2) p "
                   "WHERE p.n < 2 + CAST(substr(f.household, 3) AS INTEGER) % 2 ON CONFLICT DO NOTHING")
        days = [(datetime.fromtimestamp(s, tz).date().isoformat(), datetime.fromtimestamp(e - 1, tz).date().isoformat(),
                 qid) for qid, s, e in db.execute("SELECT id, start_ts, end_ts FROM quarantines").fetchall()]
        for first, last, qid in days:
            db.execute("UPDATE quarantines SET first_day = ?, last_day = ? WHERE id = ?", [first, last, qid])
        db.execute("INSERT INTO care_quarantines (quarantine_id, source, origin_city, created_at) SELECT id, "
                   "CASE id % 3 WHEN 0 THEN 'returnee' WHEN 1 THEN 'close_contact' ELSE 'other' END, "
                   "CASE id % 3 WHEN 0 THEN '城市' || (id % 30) ELSE '' END, start_ts - 3600 FROM quarantines "
                   "WHERE true ON CONFLICT DO NOTHING")
        db.execute("WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < 27) "
                   "INSERT INTO care_readings (quarantine_id, person, day, slot, temp_c, via, recorded_at) "
                   "SELECT q.id, m.person, date(q.start_ts + 43200 + (d.k / 2) * 86400, 'unixepoch'), "
                   "CASE d.k % 2 WHEN 0 THEN 'am' ELSE 'pm' END, 36.5 + ((q.id + m.person + d.k) % 13) / 10.0, "
                   "'staff', q.start_ts + (d.k / 2) * 86400 + CASE d.k % 2 WHEN 0 THEN 3600 ELSE 7200 END "
                   "FROM quarantines q JOIN household_members m ON m.household = q.household, d "
                   "WHERE (q.id * 7 + m.person * 3 + d.k) % 10 <> 0 ON CONFLICT DO NOTHING")
        db.execute("WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 2) "
                   "INSERT INTO care_needs (quarantine_id, household, kind, asked_at, done_at) "
                   "SELECT q.id, q.household, 'groceries', q.start_ts + n.k * 4 * 86400 + 36000, "
                   "CASE WHEN (q.id + n.k) % 5 = 0 THEN NULL ELSE q.start_ts + n.k * 4 * 86400 + 50000 END "
                   "FROM quarantines q, n")


def _screening(db) -> bool:
    """50,000 people on the screening register, a fifth linked to a household, from 30 cities, with 0-3 calls each
    (added once); False when the register does not exist."""
    if not db.table_exists("screening_people"):
        return False
    if db.execute("SELECT COUNT(*) FROM screening_people").fetchone()[0] >= SCREENED:
        return True
    with db.transaction():
        db.execute(f"WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < {SCREENED - 1}) "
                   "INSERT INTO screening_people (phone, household, origin_city, contact, category, created_at, "
                   "updated_at) SELECT '139' || printf('%08d', k), CASE WHEN k % 5 = 0 THEN "
                   f"'H-' || printf('%05d', k % {HOUSEHOLDS}) END, '城市' || (k % 30), CASE WHEN k % 7 = 0 THEN "
                   "'同乘列车' ELSE '无' END, CASE k % 3 WHEN 0 THEN 'returnee' WHEN 1 THEN 'close_contact' "
                   f"ELSE 'secondary_contact' END, {START} + (k * 7919 % ({DAYS} * 86400)), 0 FROM n")
        db.execute("WITH RECURSIVE c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < 2) "
                   "INSERT INTO screening_calls (person_id, at, called_by, outcome) SELECT p.id, "
                   "p.created_at + 3600 * (c.k + 1) * (1 + p.id % 5), 'bench', CASE (p.id + c.k) % 4 WHEN 0 THEN "
                   "'reached' WHEN 1 THEN 'no_answer' WHEN 2 THEN 'empty' ELSE 'refused' END "
                   "FROM screening_people p, c WHERE c.k < p.id % 4")
    return True


def _own_copy(rows: int) -> Path:
    """This benchmark's copy of the console benchmark's database (made once with SQLite's backup), so the
    households and casework it adds never change what the other benchmarks measure."""
    path = Path(f"/tmp/gatepass-bench-figures-{rows}.db")
    if not path.exists():
        partial = path.with_suffix(".partial")
        src, dst = sqlite3.connect(database(rows)), sqlite3.connect(partial)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        partial.rename(path)
    return path


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

    db = open_db(_own_copy(rows))  # brings the schema up to date (the report tables) on an older file
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
    results.append(Result(f"daily report trend: {len(reports.TREND_FIGURES)} figures x 30 days", t_trend * 1e3, "ms",
                          "the 20-figure template for one day", t_all * 1e3))
    for key in sorted(FIGURES, key=lambda k: -alone[k])[:5]:
        results.append(Result(f"figure {key} alone, by gate", alone[key] * 1e3, "ms"))
    results += _measure_casework(db, day, tz, repeat, t_all)
    db.close()
    return results


def _measure_casework(db, day, tz, repeat: int, t_twenty: float) -> list[Result]:
    """The casework figures (people, readings, needs, vehicles) in one template by grid, against the bare SQL of
    the people in quarantine per grid, and each alone."""
    from central import figures
    from central.console import exports
    from central.console import report_templates as rt

    _casework(db, tz)
    keys = CASEWORK + (SCREENING if _screening(db) else ())
    template = rt.Template("casework", rows=[rt.Row(k, figures.figure(k).zh) for k in keys], grouping="grid")
    window = figures.Window.day(day, tz)
    t_all = _median(lambda: exports.to_xlsx([rt.generate(db, template, day, tz).table], "zh", tz), repeat)
    people = ("SELECT g, COUNT(*) FROM (SELECT DISTINCT f.grid AS g, q.household, COALESCE(q.person, m.person, 0) "
              "FROM quarantines q LEFT JOIN household_members m ON q.person IS NULL AND m.household = q.household "
              "LEFT JOIN household_files f ON f.household = q.household WHERE q.start_ts < ? AND q.end_ts > ? "
              "AND (q.status = 'active' OR q.released_at > ?)) s GROUP BY g")
    t_bare = _median(lambda: db.execute(people, [window.until, window.since, window.since]).fetchall(), repeat)
    counts = figures.compute_many(db, list(keys), window, "grid")
    shown = ", ".join(f"{k} {counts[k][()]:,}" for k in ("quarantine_people", "care_missed", "care_fevers"))
    if "screening_people" in counts:
        shown += f", screening_people {counts['screening_people'][()]:,} of {SCREENED:,}"
    out = [Result(f"{len(keys)} casework figures by grid ({GRIDS} grids), 1 day (XLSX): {shown}", t_all * 1e3,
                  "ms", "bare SQL of people in quarantine per grid", t_bare * 1e3),
           Result(f"{len(keys)} casework figures by grid", t_all * 1e3, "ms", "the 20-figure template by gate",
                  t_twenty * 1e3)]
    alone = {k: _median(lambda k=k: figures.compute(db, k, window, "grid"), repeat) for k in keys}
    for key in sorted(keys, key=lambda k: -alone[k])[:6]:
        out.append(Result(f"figure {key} alone, by grid", alone[key] * 1e3, "ms"))
    t_origin = _median(lambda: figures.compute(db, "quarantine_returnees", window, "origin"), repeat)
    out.append(Result("returnees in quarantine by origin city (30 cities)", t_origin * 1e3, "ms"))
    return out


def _bare(window) -> dict[str, tuple[str, list]]:
    """The bare statement of the figures, written out by hand (entries grouped by gate, as the template asks)."""
    from central import figures as f

    span = [window.since, window.until]
    out = {k: (_ENTRY_SQL.format(cond), span) for k, cond in _ENTRY_CONDS.items()}
    out["households_passed"] = ("SELECT community, gate_id, COUNT(DISTINCT household) FROM entries WHERE wall_ts >= ? "
                                "AND wall_ts < ? AND decision = 'pass' AND household IS NOT NULL GROUP BY 1, 2", span)
    out["passes_issued"] = (f"SELECT COUNT(*) FROM passes WHERE {f._PASSES}", span)
    households = "SELECT COUNT(DISTINCT household) FROM quarantines WHERE "
    out["quarantine_new"] = (households + f._Q_NEW.format(q=""), span)
    out["quarantine_households"] = (households + f._Q_ACTIVE.format(q=""), [window.until, window.since, window.since])
    out["quarantine_ended"] = (households + f._Q_ENDED.format(q=""), span + span)
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
