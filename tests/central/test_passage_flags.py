"""The pass-sharing anomalies read from the kept flags equal those computed from the entries: through uploads
arriving late and out of order, re-sent rows, re-dating, deletions and the retention purge."""

from __future__ import annotations

import random

import pytest

from central import passage_flags
from central.console import alert_rules, alerts
from central.db import open_db
from central.retention import purge_outbreak_end
from tests.central.console.conftest import DAY0
from tests.central.console.data import entry, ingest_entries

DEVICES = {"dev-a": ("Garden", "north"), "dev-b": ("Garden", "south"), "dev-c": ("Riverside", "east")}
KINDS = [dict(), dict(), dict(direction="out"), dict(direction="out"), dict(decision="refuse", reason="expired"),
         dict(event="shift_start", decision="info", reason="shift_start")]


def _rows(rng: random.Random, device: str, gate: str, n: int, **fields) -> list[dict]:
    out = []
    for i in range(n):
        ts = DAY0 + rng.uniform(0, 2 * 86400)
        out.append(entry(i + 1, device, gate, ts, pass_id=str(rng.randrange(40)),
                         **{**rng.choice(KINDS), **fields}))
    out.sort(key=lambda r: r["wall_ts"])
    for seq, row in enumerate(out, start=1):
        row["seq"] = seq
    return out


def _windows():
    for start in (0, 0.4, 1.0):
        for hours in (1, 6, 24, 48):
            yield DAY0 + start * 86400, DAY0 + start * 86400 + hours * 3600


def _assert_flags_match_entries(db) -> None:
    for since, until in _windows():
        for minutes in (3.0, 45.0):
            kept = [(a.key, a.gap_min, a.detail) for a in alerts.anomalies(db, since, until, minutes)]
            computed = [(a.key, a.gap_min, a.detail) for a in alerts.anomalies_from_entries(db, since, until, minutes)]
            assert kept == computed, (since, until, minutes)
    assert db.execute("SELECT COUNT(*) FROM passage_dirty").fetchone()[0] == 0


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    rng = random.Random(5)
    # each gate uploads its day in batches, gates taking turns: passages of one pass arrive out of order
    batches = []
    for device, (community, gate) in DEVICES.items():
        rows = _rows(rng, device, gate, 400)
        batches += [(device, community, rows[i:i + 50]) for i in range(0, len(rows), 50)]
    rng.shuffle(batches)
    for device, community, rows in batches:
        ingest_entries(d, device, community, rows)
        if rng.random() < 0.3:
            ingest_entries(d, device, community, rows)  # re-sent
        if rng.random() < 0.2:
            alerts.anomalies(d, DAY0, DAY0 + 86400)       # the console reads between uploads
    return d


def test_flags_equal_the_entries_after_late_and_resent_uploads(db):
    assert alerts.anomalies_from_entries(db, DAY0, DAY0 + 2 * 86400), "the data has anomalies"
    _assert_flags_match_entries(db)


def test_flags_follow_redating_deletes_and_changed_rows(db):
    rng = random.Random(9)
    early = _rows(rng, "dev-c", "east", 60, clock_trusted=0, boot_id="boot-u")
    for n, row in enumerate(early):
        row.update(seq=401 + n, mono_ts=1000.0 + n * 600.0, wall_ts=DAY0 - 3 * 86400 + n * 600.0)
    ingest_entries(db, "dev-c", "Riverside", early)
    alerts.anomalies(db, DAY0, DAY0 + 86400)
    anchor = entry(461, "dev-c", "east", DAY0 + 86400 * 0.7, clock_trusted=1, boot_id="boot-u", mono_ts=30000.0,
                   pass_id="1")
    ingest_entries(db, "dev-c", "Riverside", [anchor])  # the early rows move into the day
    assert db.execute("SELECT COUNT(*) FROM entries WHERE time_source = 'corrected_by_anchor'").fetchone()[0] == 60
    db.execute("DELETE FROM entries WHERE device_id = 'dev-a' AND seq % 4 = 0")
    db.execute("UPDATE entries SET direction = 'out' WHERE device_id = 'dev-b' AND seq % 5 = 0")
    db.execute("UPDATE entries SET decision = 'refuse', reason = 'revoked' WHERE device_id = 'dev-b' AND seq % 7 = 0")
    _assert_flags_match_entries(db)


def test_flags_follow_the_retention_purge(db):
    purge_outbreak_end(db, "test", DAY0 + 10 * 86400)
    # the purge brought the flags up to date itself: no console request pays for the anonymised passages
    assert db.execute("SELECT COUNT(*) FROM passage_dirty").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM passage_flags").fetchone()[0] == 0
    assert alerts.anomalies(db, DAY0, DAY0 + 2 * 86400) == []
    _assert_flags_match_entries(db)


def test_a_threshold_beyond_an_hour_reads_the_entries(db):
    since, until = DAY0, DAY0 + 2 * 86400
    assert alerts.anomalies(db, since, until, 90.0) == alerts.anomalies_from_entries(db, since, until, 90.0)


def test_alert_rules_read_the_refusal_and_override_indexes(db):
    kinds = alert_rules.REFUSAL_KINDS
    rows = [entry(1, "dev-x", "west", DAY0 + 100, pass_id="7", decision="refuse", reason="quarantined"),
            entry(2, "dev-x", "west", DAY0 + 200, pass_id="7", event="override", reason="override",
                  override_reason="medical")]
    ingest_entries(db, "dev-x", "Garden", rows)
    assert [r.uuid for r in alert_rules.refusals(db, DAY0, DAY0 + 300, kinds)] == [rows[0]["uuid"]]
    assert [r.uuid for r in alert_rules.overrides(db, DAY0, DAY0 + 300)] == [rows[1]["uuid"]]


def test_refresh_takes_nothing_twice(db):
    passage_flags.refresh(db)
    assert passage_flags.refresh(db) == 0


def test_a_refresh_reads_the_noted_passes_flags_by_their_index(db):
    """The refresh's statements find a noted pass's flags by the ``passage_flags_pass`` index (at 10 million entries a
    scan of every flag made a minute of uploads cost the next alerts list seconds) and its passages from the covering
    ``entries_passages`` (a table page per noted pass, often on disk, cost 100-200 ms)."""
    if db.dialect != "sqlite":
        pytest.skip("the query plan checked is SQLite's (PostgreSQL's planner picks by its statistics)")
    passage_flags.refresh(db)
    ingest_entries(db, "dev-a", "Garden", [entry(1000, "dev-a", "north", DAY0 + 3600, pass_id="7"),
                                           entry(1001, "dev-a", "north", DAY0 + 3700, pass_id="8")])
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        assert passage_flags.refresh(db) == 2
    finally:
        db.conn.set_trace_callback(None)
    writes = [s for s in statements if "DELETE FROM passage_flags" in s or "INSERT INTO passage_flags" in s]
    assert len(writes) == 2
    for sql in writes:
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
        assert not [step for step in plan if step.startswith("SCAN passage_flags") or step == "SCAN f"], plan
        # the passages themselves from the covering index alone: no table page per noted pass
        reads = [step for step in plan if step.startswith(("SEARCH p ", "SEARCH e ", "SCAN p", "SCAN e"))]
        assert reads and all("USING COVERING INDEX entries_passages" in step for step in reads), plan
    _assert_flags_match_entries(db)
