"""The hourly counts behind the daily report stay equal to counting the entries themselves: through uploads with
re-sent and duplicate rows, re-dating of rows stamped on an untrusted clock, deletions and the retention purge."""

from __future__ import annotations

import random
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from central import daily_counts
from central.console import reports
from central.console.timeutil import day_bounds, zone
from central.db import open_db
from central.retention import purge_outbreak_end
from tests.central.console.conftest import DAY0
from tests.central.console.data import entry, ingest_entries

TZ = zone()
FIRST = date(2026, 11, 20)  # local day of DAY0
DAYS = [FIRST - timedelta(days=1) + timedelta(days=n) for n in range(5)]
DEVICES = {"dev-a": ("Garden", "north"), "dev-b": ("Garden", "south"), "dev-c": ("Riverside", "east"),
           "dev-d": ("Riverside", "east")}  # two devices at one gate
KINDS = [dict(), dict(direction="out"), dict(decision="refuse", reason="expired"),
         dict(decision="refuse", reason="quarantined", direction="out"),
         dict(decision="refuse", reason="fever", fever=1, temp_c=38.4), dict(event="visitor", reason="visitor_ok"),
         dict(event="override", reason="override", override_reason="medical"),
         dict(event="shift_start", decision="info", reason="shift_start")]


def _rows(rng: random.Random, device: str, gate: str, first_seq: int, n: int, **fields) -> list[dict]:
    out = []
    for i in range(n):
        # whole hours and a hair around them, so every hour boundary is crossed
        ts = DAY0 + rng.choice([rng.uniform(0, 3 * 86400), rng.randrange(0, 72) * 3600.0 + rng.choice([0, -1e-6])])
        out.append(entry(first_seq + i, device, gate, ts, pass_id=str(rng.randrange(50)),
                         **{**rng.choice(KINDS), **fields}))
    return out


def _upload(db, rng: random.Random) -> None:
    """About 2,000 rows in batches; every batch re-sent once, some rows again inside a later batch."""
    for device, (community, gate) in DEVICES.items():
        rows = _rows(rng, device, gate, 1, 500)
        for start in range(0, len(rows), 100):
            batch = rows[start:start + 100]
            ingest_entries(db, device, community, batch)
            ingest_entries(db, device, community, batch)                  # a lost reply: the same batch again
            ingest_entries(db, device, community, rows[max(0, start - 30):start + 100])  # overlapping re-send


def _assert_counts_match_entries(db, tz: ZoneInfo = TZ) -> None:
    for day in DAYS:
        start, end = day_bounds(day, tz)
        for community in (None, "Garden", "Riverside", "nowhere"):
            counted = reports.daily_report(db, day, tz, community)
            rows, reasons = reports._from_entries(db, start, end, community)
            computed = reports.Report(day, community, [], reasons, {})
            assert counted.reasons == computed.reasons, (day, community)
            expected = {}
            for hour, comm, gate, *counts in rows:
                slot = expected.setdefault((comm, gate), {}).setdefault(max(0, min(23, int(hour))), [0] * 6)
                for k, n in enumerate(counts):
                    slot[k] += int(n)
            got = {(g.community, g.gate_id): {h: [c[k] for k in reports.COUNTS] for h, c in g.hours.items()}
                   for g in counted.gates}
            assert got == expected, (day, community)
            gate_totals = {key: [sum(slot[k] for slot in hours.values()) for k in range(6)]
                           for key, hours in expected.items()}
            assert {(g.community, g.gate_id): [g.totals[k] for k in reports.COUNTS] for g in counted.gates} \
                == gate_totals, (day, community)
            assert [counted.totals[k] for k in reports.COUNTS] == [sum(t[k] for t in gate_totals.values())
                                                                    for k in range(6)], (day, community)
    assert _table(db) == _recounted(db)


def _table(db) -> tuple[list, list]:
    counts = db.execute("SELECT hour, device_id, community, gate_id, total, entries, exits, visitors, refusals, "
                        "fevers, overrides FROM entry_counts WHERE total != 0 ORDER BY 1, 2, 3, 4").fetchall()
    refusals = db.execute("SELECT hour, device_id, community, gate_id, reason, refusals FROM refusal_counts "
                          "WHERE refusals != 0 ORDER BY 1, 2, 3, 4, 5").fetchall()
    return [tuple(r) for r in counts], [tuple(r) for r in refusals]


def _recounted(db) -> tuple[list, list]:
    daily_counts.recount(db)
    return _table(db)


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    _upload(d, random.Random(20))
    return d


def test_counts_equal_the_entries_after_uploads_with_duplicates(db):
    assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 2000
    assert db.execute("SELECT SUM(total) FROM entry_counts").fetchone()[0] == 2000
    _assert_counts_match_entries(db)


def test_counts_follow_redated_rows(db):
    rng = random.Random(7)
    # a gate with no trusted clock stamps rows two days early; its trusted time arrives in a later upload
    early = _rows(rng, "dev-b", "south", 501, 200, clock_trusted=0, boot_id="boot-u")
    for n, row in enumerate(early):
        row.update(mono_ts=1000.0 + n * 60.0, wall_ts=DAY0 - 2 * 86400 + n * 60.0)
    ingest_entries(db, "dev-b", "Garden", early)
    anchor = entry(701, "dev-b", "south", DAY0 + 86400 + 0.5, clock_trusted=1, boot_id="boot-u", mono_ts=20000.0)
    ingest_entries(db, "dev-b", "Garden", [anchor])
    moved = db.execute("SELECT COUNT(*) FROM entries WHERE time_source = 'corrected_by_anchor'").fetchone()[0]
    assert moved == 200
    _assert_counts_match_entries(db)


def test_counts_follow_deletions_and_the_retention_purge(db):
    db.execute("DELETE FROM entries WHERE device_id = 'dev-c' AND seq % 3 = 0")
    db.execute("UPDATE entries SET decision = 'refuse', reason = 'revoked' WHERE device_id = 'dev-a' AND seq < 40")
    purge_outbreak_end(db, "test", DAY0 + 10 * 86400)
    assert db.execute("SELECT COUNT(*) FROM entries WHERE pass_id IS NOT NULL").fetchone()[0] == 0
    _assert_counts_match_entries(db)


def test_a_zone_off_the_whole_hour_counts_the_entries(db):
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45: midnight is not on a UTC hour
    start, end = day_bounds(FIRST, kathmandu)
    assert daily_counts.whole_hours(start, end) is None
    assert daily_counts.whole_hours(*day_bounds(FIRST, TZ)) is not None
    rep = reports.daily_report(db, FIRST, kathmandu)
    n = db.execute("SELECT COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND direction = 'in' AND "
                   "decision = 'pass'", [start, end]).fetchone()[0]
    assert rep.totals["entries"] == n > 0


def test_the_migration_counts_entries_stored_before_it(central_url):
    db = open_db(central_url)
    _upload(db, random.Random(3))
    expected = _table(db)
    db.execute("DELETE FROM entry_counts")
    db.execute("DELETE FROM refusal_counts")
    db.execute("DELETE FROM gatepass_migrations WHERE migration_set = 'central-counts'")
    for name in ("entry_counts_delete", "entry_counts_update"):
        db.execute(f"DROP TRIGGER {name}" + (" ON entries" if db.dialect != "sqlite" else ""))
    db.execute("DROP TABLE entry_counts")
    db.execute("DROP TABLE refusal_counts")
    daily_counts.migrate(db)
    assert _table(db) == expected and expected[0]
