"""Console queries on 10 million synthetic central entries, against the same queries on 10,000 rows.

The 10M-row database is built once under /tmp (``gatepass-bench-console-<rows>.db``, about 4 GB; delete it
to rebuild) with the agreed schema (``central.db.open_db``: the sync engineer's tables and indexes),
200 gates in 40 communities over 90 days (about 111,000 entries a day), 0.05 % fevers, 3 % refusals.
Each figure is the median time of a typical console query (first page of 50, a deep page through a
keyset cursor, a trace, a daily report, the alerts list) and its ratio to the same query on 10,000 rows
built the same way; a ``SELECT count(*)`` of the small staff table is printed as an absolute floor.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import statistics
import time
from datetime import datetime
from pathlib import Path

from bench.harness import Result, per_call

log = logging.getLogger(__name__)

DAYS = 90
START = datetime(2026, 8, 1).timestamp()
DEVICES = 200


def _build(path: Path, rows: int) -> None:
    from central.db import open_db

    tmp = path.with_suffix(".part")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    db = open_db(tmp)
    db.conn.close()
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    indexes = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='entries' "
                                          "AND sql IS NOT NULL")]
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='entries' "
                                "AND sql IS NOT NULL").fetchall():
        conn.execute(f"DROP INDEX {name}")
    per = max(1, rows // DEVICES)
    step = DAYS * 86400 / per
    conn.execute("BEGIN")
    for d in range(DEVICES):
        conn.execute("INSERT INTO devices (device_id, name, community, gate_id, token_hash, created_at, last_seen_at,"
                     " clock_skew_s, list_version, highest_contiguous_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                     [f"dev-{d:04d}", f"gate {d}", f"c-{d % 40:02d}", f"gate-{d:04d}", f"{d:064x}", START,
                      time.time(), per])
    t0 = time.perf_counter()
    conn.execute(f"""
        INSERT INTO entries (device_id, seq, uuid, gate_id, wall_ts, mono_ts, boot_id, clock_trusted, event,
            pass_id, household, person, pass_kind, visitor_ref, direction, temp_c, temps, decision, reason,
            guard_id, override_reason, ref_uuid, fever, priority, extra, extra_hash, hash, prev_hash, community,
            received_at, batch_id)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {per * DEVICES})
        SELECT printf('dev-%04d', d), s, printf('%016x-%04d', i, d), printf('gate-%04d', d),
            {START} + s * {step} + d * 3.7 + (r % 60), s, 'boot', 1,
            CASE WHEN r % 50 = 0 THEN 'visitor' WHEN r % 500 = 1 THEN 'override' ELSE 'scan' END,
            CASE WHEN r % 50 = 0 THEN NULL ELSE CAST(r2 % 200000 AS TEXT) END,
            CASE WHEN r % 50 = 0 THEN NULL ELSE printf('H-%05d', (r2 % 200000) / 3) END,
            (r2 % 3) + 1, 'resident', CASE WHEN r % 50 = 0 THEN printf('V-%d', i) END,
            CASE WHEN (r / 7) % 2 = 0 THEN 'in' ELSE 'out' END,
            CASE WHEN r % 2000 = 3 THEN 38.0 + ((r / 3) % 15) / 10.0 ELSE 36.0 + ((r / 5) % 9) / 10.0 END, NULL,
            CASE WHEN r % 2000 = 3 OR r % 100 IN (5, 6, 7) THEN 'refuse' ELSE 'pass' END,
            CASE WHEN r % 2000 = 3 THEN 'fever' WHEN r % 100 = 5 THEN 'expired' WHEN r % 100 = 6 THEN 'revoked'
                 WHEN r % 100 = 7 THEN (CASE WHEN r % 3 = 0 THEN 'quarantined' ELSE 'wrong_gate' END)
                 WHEN r % 50 = 0 THEN 'visitor_ok' WHEN r % 500 = 1 THEN 'override' ELSE 'temp_ok' END,
            CASE WHEN r % 50 = 0 OR r % 500 = 1 THEN printf('g%d', d % 30) END, NULL, NULL,
            r % 2000 = 3, r % 2000 = 3, NULL, NULL, printf('%064x', i), printf('%064x', i + 1),
            printf('c-%02d', d % 40), {START} + s * {step} + 5, printf('b%d-%d', d, s / 500)
        FROM (SELECT i, i / {per} AS d, i % {per} + 1 AS s, abs(random()) AS r, abs(random()) AS r2 FROM n)""")
    conn.execute("COMMIT")
    log.info("inserted %d rows in %.0f s", per * DEVICES, time.perf_counter() - t0)
    for sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    os.replace(tmp, path)


def database(rows: int) -> Path:
    """The benchmark database with ``rows`` entries (built on first use)."""
    path = Path(f"/tmp/gatepass-bench-console-{rows}.db")
    if not path.exists():
        t0 = time.perf_counter()
        _build(path, rows)
        log.info("built %s in %.0f s", path, time.perf_counter() - t0)
    return path


def _queries(db) -> dict:
    from central.console import alerts, entries, reports, tracing
    from central.console.timeutil import zone

    tz = zone()
    last = db.execute("SELECT MAX(wall_ts) FROM entries").fetchone()[0]
    mid_day = datetime.fromtimestamp(last - 10 * 86400, tz).date()
    sample = db.execute("SELECT pass_id, household, gate_id, community, wall_ts FROM entries "
                        "WHERE device_id = 'dev-0007' AND pass_id IS NOT NULL ORDER BY seq DESC LIMIT 1 OFFSET 10"
                        ).fetchone()
    pass_id, household, gate, community, ts = sample
    deep = None
    for _ in range(100):  # the cursor of page 100 of the unfiltered list
        deep = entries.search(db, entries.EntryFilter(), deep).next_cursor
    day = 86400.0
    return {
        "entries page 1, no filter": lambda: entries.search(db, entries.EntryFilter()),
        "entries page 101 via cursor": lambda: entries.search(db, entries.EntryFilter(), deep),
        "entries gate + 1 day": lambda: entries.search(db, entries.EntryFilter(gate_id=gate, since=ts - day,
                                                                               until=ts)),
        "entries household, all time": lambda: entries.search(db, entries.EntryFilter(household=household)),
        "entries pass_id, all time": lambda: entries.search(db, entries.EntryFilter(pass_id=pass_id)),
        "entries fever only": lambda: entries.search(db, entries.EntryFilter(fever=True)),
        "entries community + refused + 7 days": lambda: entries.search(db, entries.EntryFilter(
            community=community, decision="refuse", since=ts - 7 * day, until=ts)),
        "entries reason=quarantined (rare, no index)": lambda: entries.search(
            db, entries.EntryFilter(reason="quarantined")),
        "trace pass 14 days +-15 min": lambda: tracing.trace(db, "pass_id", pass_id, ts - 14 * day, ts + 1, 15),
        "daily report (1 day, all gates)": lambda: reports.daily_report(db, mid_day, tz),
        "alerts 24 h (fever, quarantine, anomalies)": lambda: alerts.alerts(db, ts - day, ts),
    }


def _median(fn, repeat: int) -> float:
    fn()  # warm the page cache
    return statistics.median(per_call(fn, repeat, 1))


def run(quick: bool = False) -> list[Result]:
    from central.store import connect

    big_rows = 1_000_000 if quick else 10_000_000
    repeat = 3 if quick else 7
    small = connect(database(10_000))
    big = connect(database(big_rows))
    floor = _median(lambda: big.execute("SELECT count(*) FROM staff_users").fetchone(), repeat)
    q_small, q_big = _queries(small), _queries(big)
    results = [Result("SELECT count(*) of a small table", floor * 1e3, "ms")]
    for name in q_big:
        t_small = _median(q_small[name], repeat)
        t_big = _median(q_big[name], repeat)
        results.append(Result(f"{name} @ {big_rows:,} rows", t_big * 1e3, "ms", "same @ 10,000 rows",
                              t_small * 1e3))
    # The report and the alerts read one day whatever the table size: compare them with counting that day.
    last = big.execute("SELECT MAX(wall_ts) FROM entries").fetchone()[0]
    day_rows = big.execute("SELECT count(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ?",
                           [last - 11 * 86400, last - 10 * 86400]).fetchone()[0]
    t_count = _median(lambda: big.execute("SELECT count(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ?",
                                          [last - 11 * 86400, last - 10 * 86400]).fetchone(), repeat)
    for name in ("daily report (1 day, all gates)", "alerts 24 h (fever, quarantine, anomalies)"):
        t_big = next(r.value for r in results if r.name.startswith(name))
        results.append(Result(f"{name} vs counting the day", t_big, "ms", f"count(*) of one day ({day_rows:,} rows)",
                              t_count * 1e3))
    return results


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO)
    for r in run(quick="--quick" in sys.argv):
        print(r.line())
