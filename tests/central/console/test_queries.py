"""Entries search, keyset pagination, tracing, the daily report, alerts and anomalies on a real SQLite file."""

from __future__ import annotations

import io
import random
import string
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from central.console import alerts, entries, exports, reports, tracing
from central.console.errors import ConsoleError
from central.console.timeutil import parse_local, zone
from central.db import open_db
from tests.central.console.conftest import DAY0, seed
from tests.central.console.data import entry, ingest_entries

TZ = zone()


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    seed(d)
    return d


def _uuids(rows):
    return [r["uuid"] for r in rows]


def test_filters_select_exactly_the_matching_rows(db):
    t = DAY0 + 8 * 3600
    cases = {
        entries.EntryFilter(gate_id="south"): 2,
        entries.EntryFilter(community="Riverside"): 1,
        entries.EntryFilter(direction="out"): 3,
        entries.EntryFilter(decision="refuse"): 2,
        entries.EntryFilter(reason="quarantined"): 1,
        entries.EntryFilter(fever=True): 1,
        entries.EntryFilter(fever=False): 11,
        entries.EntryFilter(pass_id="101"): 3,
        entries.EntryFilter(household="3-2-401", direction="in"): 2,
        entries.EntryFilter(visitor_ref="V-0001"): 1,
        entries.EntryFilter(guard_id="g7"): 2,
        entries.EntryFilter(since=t + 100, until=t + 1000): 5,
        entries.EntryFilter(since=t + 100, until=t + 1000, community="Garden"): 4,
    }
    for flt, n in cases.items():
        rows = entries.search(db, flt, limit=100).rows
        assert len(rows) == n, flt
        for r in rows:
            for k, v in flt.as_dict().items():
                if k == "since":
                    assert r["wall_ts"] >= v
                elif k == "until":
                    assert r["wall_ts"] < v
                elif k == "fever":
                    assert bool(r["fever"]) == v
                else:
                    assert r[k] == v


def test_bad_filter_values_are_clear_errors():
    with pytest.raises(ConsoleError):
        entries.EntryFilter(direction="sideways")
    with pytest.raises(ConsoleError):
        entries.EntryFilter(decision="maybe")
    with pytest.raises(ConsoleError):
        parse_local("yesterday-ish", TZ)


def test_keyset_pages_cover_everything_once_in_order(central_url):
    db = open_db(central_url)
    rng = random.Random(5)
    for dev in ("d1", "d2", "d3"):
        rows = [entry(i, dev, f"g-{dev}", DAY0 + rng.choice(range(0, 86400, 60)), pass_id=str(rng.randint(1, 50)))
                for i in range(1, 401)]  # many equal timestamps across devices: the tie-break matters
        ingest_entries(db, dev, "C", rows)
    everything = list(db.query("SELECT uuid FROM entries ORDER BY wall_ts DESC, device_id DESC, seq DESC"))
    seen, cursor = [], None
    while True:
        page = entries.search(db, entries.EntryFilter(), cursor, limit=37)
        seen += _uuids(page.rows)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [r["uuid"] for r in everything]
    filtered = entries.iter_all(db, entries.EntryFilter(pass_id="7"))
    assert _uuids(filtered) == [r["uuid"] for r in db.query(
        "SELECT uuid FROM entries WHERE pass_id = '7' ORDER BY wall_ts DESC, device_id DESC, seq DESC")]


@pytest.mark.parametrize("flt", [entries.EntryFilter(gate_id="x"), entries.EntryFilter(household="h"),
                                 entries.EntryFilter(pass_id="1"), entries.EntryFilter(community="c"),
                                 entries.EntryFilter(fever=True), entries.EntryFilter(since=1.0, until=2.0)])
def test_queries_use_an_index(db, flt):
    conds, args = flt.where()
    conds.append("(wall_ts, device_id, seq) < (?, ?, ?)")
    sql = ("SELECT * FROM entries WHERE " + " AND ".join(conds)
           + " ORDER BY wall_ts DESC, device_id DESC, seq DESC LIMIT 51")
    if db.dialect == "postgresql":  # on a small table PostgreSQL prefers a scan: ask whether an index can serve
        with db.transaction():
            db.execute("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in db.execute("EXPLAIN " + sql, [*args, 9e9, "z", 1]).fetchall())
        assert "Index" in plan, plan
    else:
        plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, [*args, 9e9, "z", 1]).fetchall())
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_cursor_decode_accepts_only_its_own_format(text):
    try:
        cur = entries.Cursor.decode(text)
    except ConsoleError:
        return
    assert isinstance(cur.seq, int) and isinstance(cur.device_id, str)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=4e9, allow_nan=False),
       st.text(st.characters(exclude_characters="\x00"), max_size=40),  # NUL: refused (PostgreSQL cannot take it)
       st.integers(0, 2**62))
def test_cursor_round_trip(ts, dev, seq):
    cur = entries.Cursor(ts, dev, seq)
    assert entries.Cursor.decode(cur.encode()) == cur


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "年月日：", max_size=40))
def test_parse_local_never_crashes(text):
    try:
        value = parse_local(text, TZ)
    except ConsoleError:
        return
    assert value is None or isinstance(value, float)


def test_trace_finds_passages_and_contacts_at_the_same_gate_within_the_margin(db):
    t = DAY0 + 8 * 3600
    result = tracing.trace(db, "pass_id", "101", DAY0, DAY0 + 86400, 10)
    assert [(p["gate_id"], p["wall_ts"]) for p in result.passages] == [("north", t), ("north", t + 1000),
                                                                       ("south", t + 1060)]
    contacts = {(c["passage_ts"], c["pass_id"] or c["visitor_ref"]) for c in result.contacts}
    # around t at north (+-600 s): 102 (+120), 103 (+300); 105 was refused (fever) -> not a passage
    # around t+1000 at north: 106 refused, visitor V-0001 (+200), override of 105 (+300); 103 at t+300 is -700 s
    # around t+1060 at south: 201 at t+60 is -1000 s -> outside
    assert contacts == {(t, "102"), (t, "103"), (t + 1000, "V-0001"), (t + 1000, "105")}
    assert all(abs(c["delta_min"]) <= 10 for c in result.contacts)
    wide = tracing.trace(db, "household", "3-2-401", DAY0, DAY0 + 86400, 20)
    assert (t + 1060, "201") in {(c["passage_ts"], c["pass_id"]) for c in wide.contacts}
    visitor = tracing.trace(db, "visitor_ref", "V-0001", DAY0, DAY0 + 86400, 5)
    assert len(visitor.passages) == 1 and {c["pass_id"] for c in visitor.contacts} == {"101", "105"}


@pytest.mark.parametrize("args", [("name", "x", 0, 1, 5), ("pass_id", "", 0, 1, 5), ("pass_id", "1", 5, 1, 5),
                                  ("pass_id", "1", 0, 1, -1)])
def test_trace_rejects_bad_input(db, args):
    with pytest.raises(ConsoleError):
        tracing.trace(db, *args)


def test_daily_report_counts(db):
    rep = reports.daily_report(db, date(2026, 11, 20), TZ)
    assert rep.totals == {"entries": 8, "exits": 2, "visitors": 1, "refusals": 2, "fevers": 1, "overrides": 1}
    north = next(g for g in rep.gates if g.gate_id == "north")
    assert north.hours[8]["entries"] == 6 and north.hours[11]["entries"] == 1
    assert {(r["gate_id"], r["reason"], r["refusals"]) for r in rep.reasons} == {("north", "fever", 1),
                                                                                ("north", "quarantined", 1)}
    garden = reports.daily_report(db, date(2026, 11, 20), TZ, "Garden")
    assert {g.gate_id for g in garden.gates} == {"north", "south"}
    rows = rep.hourly_rows()
    assert all(len(r) == len(reports.HOURLY_COLUMNS) for r in rows) and len(rows) == 3 * 24  # quiet hours too
    svg = reports.entries_chart(rep, "entries <per> hour")
    assert svg.startswith("<svg") and svg.count("<polyline") == 3 and "&lt;per&gt;" in svg and "<script" not in svg
    assert "/ north<" in svg and "北门" in reports.entries_chart(rep, "t", gate_names={"north": "北门"})


def test_alerts_and_pass_sharing_anomalies(db):
    t = DAY0 + 8 * 3600
    items = alerts.alerts(db, DAY0, DAY0 + 86400)
    kinds = sorted((a.kind, a.pass_id) for a in items)
    # 101: in at t, in again at t+1000 (double entry), out at south 60 s later (two gates)
    assert kinds == [("double_entry", "101"), ("fever", "105"), ("quarantine", "106"), ("two_gates", "101")]
    fever = next(a for a in items if a.kind == "fever")
    alerts.acknowledge(db, fever.key, "staff", "sent to the clinic")
    again = {a.key: a for a in alerts.alerts(db, DAY0, DAY0 + 86400)}
    assert again[fever.key].acked_by == "staff" and again[fever.key].note == "sent to the clinic"
    assert fever.key not in {a.key for a in alerts.alerts(db, DAY0, DAY0 + 86400, include_acked=False)}
    assert alerts.anomalies(db, t + 2000, t + 4000) == []
    with pytest.raises(ConsoleError):
        alerts.acknowledge(db, "bogus:1", "staff", "")


def test_exports_read_back_and_defuse_formulas():
    header = (exports.Column("甲", "a"), exports.Column("乙", "b", exports.DECIMAL))
    rows = [("=1+2", "户号"), (None, 3.5)]
    text = exports.to_csv(exports.Table("s", "t", header, rows), "en", TZ).decode("utf-8-sig")
    assert text.splitlines() == ["a,b", "'=1+2,户号", ",3.5"]
    data = exports.to_xlsx([exports.Table("s1", "t", header, rows), exports.Table("s2", "t", header, [])], "zh", TZ)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["s1", "s2"]
    assert [list(r) for r in wb["s1"].iter_rows(values_only=True)] == [["t", None], ["甲", "乙"], ["'=1+2", "户号"],
                                                                      [None, 3.5]]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["since", "until", "community", "gate_id", "direction", "decision", "reason",
                                        "fever", "pass_id", "household", "visitor_ref", "guard_id", "junk"]),
                       st.text(max_size=30), max_size=8))
def test_query_string_filters_parse_or_fail_clearly(q):
    from central.console.params import EntryQuery
    from central.console.routes_data import _filter
    from central.console.web import Console

    ctx = Console.__new__(Console)
    ctx.tz = TZ
    try:
        flt = _filter(ctx, EntryQuery.model_validate(q))
    except ConsoleError:
        return
    conds, args = flt.where()
    assert sum(c.count("?") for c in conds) == len(args)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_parse_day_never_crashes(text):
    from central.console.timeutil import parse_day

    try:
        day = parse_day(text, TZ)
    except ConsoleError:
        return
    assert isinstance(day, date)


def test_shift_hand_over_records_are_no_passage_refusal_or_contact(db):
    t = DAY0 + 8 * 3600
    hand_over = entry(20, "dev-n", "north", t + 1100, event="shift_end", decision="info", reason="shift_end",
                      guard_id="g7", temp_c=None, temps=None, direction="in",
                      extra='{"started_at": 1795132800, "ended_at": 1795133900, "entries": 9}')
    ingest_entries(db, "dev-n", "Garden", [hand_over])
    result = tracing.trace(db, "pass_id", "101", DAY0, DAY0 + 86400, 10)
    assert hand_over["uuid"] not in {c["uuid"] for c in result.contacts}
    rep = reports.daily_report(db, date(2026, 11, 20), TZ)
    assert rep.totals == {"entries": 8, "exits": 2, "visitors": 1, "refusals": 2, "fevers": 1, "overrides": 1}
    assert not [a for a in alerts.alerts(db, DAY0, DAY0 + 86400) if a.key.endswith(hand_over["uuid"])]
    only = entries.search(db, entries.EntryFilter(decision="info"))
    assert [r["uuid"] for r in only.rows] == [hand_over["uuid"]]
