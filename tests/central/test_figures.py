"""The catalogue of figures, each checked against counts computed here, in Python, from the raw rows the test
stored (entries through the real ingest, quarantines, passes, devices and faults as rows), on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from central import figures
from central.console.errors import ConsoleError
from central.console.timeutil import day_bounds, zone
from central.db import open_db
from tests.central.console.data import entry, ingest_entries

TZ = zone()
DAYS = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
GATES = {"dev-n": ("Garden", "north"), "dev-s": ("Garden", "south"), "dev-e": ("Riverside", "east")}
REASONS = ["quarantined", "fever", "temp_high", "closed", "host_quarantined", "health_code_red"]


def _random_entries(rng: random.Random) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {d: [] for d in GATES}
    for dev, (_, gate) in GATES.items():
        start, _ = day_bounds(DAYS[0], TZ)
        for seq in range(1, 151):
            ts = start + rng.uniform(-3600, 3 * 86400 + 3600)  # a few outside the days asked for
            decision = rng.choice(["pass", "pass", "pass", "refuse", "guard"])
            event = rng.choice(["scan", "scan", "scan", "visitor", "override"])
            row = entry(seq, dev, gate, ts, event=event, decision=decision,
                        direction=rng.choice(["in", "out"]), household=rng.choice([None, "1-1", "1-2", "2-1", "3-9"]),
                        pass_kind=rng.choice([None, "resident", "delivery"]),
                        reason=rng.choice(REASONS) if decision == "refuse" else "temp_ok",
                        fever=int(rng.random() < 0.1), person=1)
            out[dev].append(row)
    return out


@pytest.fixture
def world(central_url):
    db = open_db(central_url)
    rng = random.Random(16)
    rows = _random_entries(rng)
    for dev, (community, _) in GATES.items():
        ingest_entries(db, dev, community, rows[dev])
    db.execute("UPDATE devices SET created_at = 0")
    return db, rows


def _expect_entries(rows: dict[str, list[dict]], day: date, pred, distinct: str | None = None,
                    gate: str | None = None) -> Counter:
    since, until = day_bounds(day, TZ)
    out: Counter = Counter()
    seen: dict[tuple, set] = {}
    for dev, (community, gate_id) in GATES.items():
        if gate and gate != gate_id:
            continue
        for r in rows[dev]:
            if not (since <= r["wall_ts"] < until and pred(r)):
                continue
            for key in ((), (community,), (community, gate_id)):
                if distinct:
                    seen.setdefault(key, set()).add(r[distinct])
                else:
                    out[key] += 1
    for key, values in seen.items():
        out[key] = len(values)
    return out


ENTRY_FIGURES = {
    "passages_in": (lambda r: r["direction"] == "in" and r["decision"] == "pass", None),
    "passages_out": (lambda r: r["direction"] == "out" and r["decision"] == "pass", None),
    "households_passed": (lambda r: r["decision"] == "pass" and r["household"] is not None, "household"),
    "refusals": (lambda r: r["decision"] == "refuse", None),
    "fevers": (lambda r: r["fever"] == 1, None),
    "visitors": (lambda r: r["event"] == "visitor", None),
    "deliveries": (lambda r: r["pass_kind"] == "delivery" and r["direction"] == "in" and r["decision"] == "pass",
                   None),
    "overrides": (lambda r: r["event"] == "override", None),
    **{f"refusals.{code}": ((lambda r, c=code: r["decision"] == "refuse" and r["reason"] == c), None)
       for code in REASONS},
}


@pytest.mark.parametrize("key", sorted(ENTRY_FIGURES))
def test_entry_figures_match_the_raw_rows_per_day_community_and_gate(world, key):
    db, rows = world
    pred, distinct = ENTRY_FIGURES[key]
    for day in DAYS:
        expect = _expect_entries(rows, day, pred, distinct)
        window = figures.Window.day(day, TZ)
        assert figures.compute(db, key, window)[()] == expect[()]
        by_community = figures.compute(db, key, window, "community")
        assert {k: v for k, v in by_community.items() if k} == {k: v for k, v in expect.items() if len(k) == 1}
        by_gate = figures.compute(db, key, window, "gate")
        assert {k: v for k, v in by_gate.items() if k} == {k: v for k, v in expect.items() if len(k) == 2}
        assert by_gate[()] == by_community[()] == expect[()]
        one_gate = figures.compute(db, key, figures.Window.day(day, TZ, gate_id="south"))
        assert one_gate[()] == _expect_entries(rows, day, pred, distinct, gate="south")[()]
    whole = figures.compute(db, key, figures.Window(DAYS[0], DAYS[-1], TZ))[()]
    if distinct is None:
        assert whole == sum(_expect_entries(rows, d, pred)[()] for d in DAYS)


def _insert_quarantine(db, household, first: date, last: date, released_at: float | None = None,
                       person: int | None = None) -> None:
    start, _ = day_bounds(first, TZ)
    _, end = day_bounds(last, TZ)
    db.execute("INSERT INTO households (household, created_at) VALUES (?, 0) ON CONFLICT DO NOTHING", [household])
    db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, set_at, status, "
               "released_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
               [household, person, first.isoformat(), last.isoformat(), start, end,
                "released" if released_at is not None else "active", released_at])


def test_quarantine_figures_match_the_records(world):
    db, _ = world
    d = DAYS[1]
    noon = day_bounds(d, TZ)[0] + 12 * 3600
    records = [  # household, first day, last day, released at
        ("Q1", d - timedelta(days=5), d + timedelta(days=8), None),        # in quarantine all along
        ("Q2", d, d + timedelta(days=13), None),                            # new that day
        ("Q3", d - timedelta(days=13), d, None),                            # last day that day: ended
        ("Q4", d - timedelta(days=3), d + timedelta(days=10), noon),        # released early that day
        ("Q5", d - timedelta(days=20), d - timedelta(days=7), None),        # long over
        ("Q6", d - timedelta(days=3), d + timedelta(days=10), noon - 86400),  # released the day before
        ("Q7", d + timedelta(days=1), d + timedelta(days=14), None),        # begins tomorrow
    ]
    for hh, first, last, rel in records:
        _insert_quarantine(db, hh, first, last, rel)
    _insert_quarantine(db, "Q1", d - timedelta(days=2), d + timedelta(days=2), person=2)  # a person of Q1 too
    since, until = day_bounds(d, TZ)

    def overlaps(first, last, rel):
        s, e = day_bounds(first, TZ)[0], day_bounds(last, TZ)[1]
        return s < until and e > since and (rel is None or rel > since)

    active = {hh for hh, f, la, rel in records if overlaps(f, la, rel)}
    new = {hh for hh, f, _, _ in records if f == d}
    ended = {hh for hh, _, la, rel in records if (rel is not None and since <= rel < until) or
             (rel is None and la == d)}
    window = figures.Window.day(d, TZ)
    assert figures.compute(db, "quarantine_households", window) == {(): len(active)} == {(): 4}
    assert figures.compute(db, "quarantine_new", window, "gate") == {(): len(new)} == {(): 1}
    assert figures.compute(db, "quarantine_ended", window)[()] == len(ended) == 2
    assert not figures.figure("quarantine_new").groupable


def test_passes_alerts_and_devices(world):
    db, rows = world
    d = DAYS[1]
    since, until = day_bounds(d, TZ)
    db.execute("INSERT INTO pass_keys (kid, public_key, created_at, not_before, status) VALUES ('k1', 'x', 0, 0, "
               "'active')")
    issued = [since - 10, since, since + 3600, until - 1, until]
    for i, ts in enumerate(issued):
        db.execute("INSERT INTO households (household, created_at) VALUES (?, 0) ON CONFLICT DO NOTHING", [f"P{i}"])
        db.execute("INSERT INTO passes (household, person, kind, valid_from, valid_to, issued_at, kid) "
                   "VALUES (?, 1, 'resident', 0, 1, ?, 'k1')", [f"P{i}", int(ts)])
    window = figures.Window.day(d, TZ, now=until + 7200)
    assert figures.compute(db, "passes_issued", window)[()] == sum(1 for ts in issued if since <= ts < until) == 3

    # devices, for a past day: central keeps only each device's last report, so the figure is the state now and
    # says so. North was heard from a minute ago (after the day), south just before the end of the day and not
    # since (offline now), east never.
    now = until + 7200
    db.execute("UPDATE devices SET last_seen_at = ? WHERE device_id = 'dev-n'", [now - 60])
    db.execute("UPDATE devices SET last_seen_at = ? WHERE device_id = 'dev-s'", [until - 60])
    db.execute("UPDATE devices SET last_seen_at = NULL WHERE device_id = 'dev-e'")
    offline = figures.compute(db, "devices_offline", window, "gate")
    assert offline == {(): 2, ("Garden", "south"): 1, ("Riverside", "east"): 1}
    fig = figures.figure("devices_offline")
    assert "现在" in fig.zh and "now" in fig.en
    assert "最后一次上报" in fig.counting[0] and "last report" in fig.counting[1]
    db.execute("INSERT INTO device_faults (device_id, code, since, started_at, seen_at, until) VALUES "
               "('dev-n', 'thermometer', 0, ?, ?, ?), ('dev-e', 'camera', 0, ?, ?, NULL), "
               "('dev-s', 'relay', 0, ?, ?, ?)",
               [since + 60, since + 120, since + 600, since - 86400, since, until + 86400, until - 5 * 86400,
                until - 4 * 86400])
    assert figures.compute(db, "devices_faulty", window, "community") == {(): 2, ("Garden",): 1, ("Riverside",): 1}

    from central.console import alerts
    raised = alerts.alerts(db, since, until, include_acked=True, now=until + 7200)
    assert raised  # the random day has fevers, quarantine refusals and overrides
    alerts.acknowledge(db, raised[0].key, "staff", "")
    open_by_gate = Counter((a.community or "", a.gate_id) for a in raised[1:])
    got = figures.compute(db, "alerts_open", window, "gate")
    assert got[()] == len(raised) - 1 and {k: v for k, v in got.items() if k} == dict(open_by_gate)


def test_every_figure_is_named_and_explained_in_both_languages(world):
    db, _ = world
    keys = [f.key for f in figures.catalogue()]
    assert len(keys) == len(set(keys)) >= 15
    for fig in figures.catalogue():
        assert fig.zh and fig.en and all(fig.meaning) and all(fig.counting)
        assert fig.name("en") == fig.en and fig.name("zh") == fig.zh
        for group in figures.GROUPS:
            assert () in figures.compute(db, fig.key, figures.Window.day(DAYS[1], TZ, now=0), group)


def test_bad_requests_fail_clearly(world):
    db, _ = world
    with pytest.raises(figures.FigureError, match="no figure"):
        figures.compute(db, "nope", figures.Window.day(DAYS[0], TZ))
    with pytest.raises(figures.FigureError, match="group"):
        figures.compute(db, "visitors", figures.Window.day(DAYS[0], TZ), "street")
    with pytest.raises(figures.FigureError):
        figures.Window(DAYS[1], DAYS[0], TZ)
    with pytest.raises(figures.FigureError):
        figures.Window(date(2020, 1, 1), date(2026, 1, 1), TZ)


@pytest.mark.parametrize("group", figures.GROUPS)
def test_many_figures_at_once_answer_as_each_alone(world, group):
    db, _ = world
    keys = [f.key for f in figures.catalogue()]
    for window in (figures.Window.day(DAYS[1], TZ, now=0), figures.Window.day(DAYS[2], TZ, community="Garden", now=0)):
        many = figures.compute_many(db, keys, window, group)
        for key in keys:
            alone = figures.compute(db, key, window, group)
            assert {k: v for k, v in many[key].items() if v} == {k: v for k, v in alone.items() if v}, key
            assert many[key][()] == alone[()]


def test_meaning_texts_name_reasons_in_words_not_codes():
    from central.console.i18n import reason_text

    for fig in figures.catalogue():
        for zh in (fig.meaning[0], fig.counting[0], fig.zh):  # no code at all in the Chinese texts
            assert not re.search(r"[a-z_]{3,}", zh), zh
        for en in (fig.meaning[1], fig.counting[1], fig.en):  # words, not temp_high or health_code_yellow
            assert "_" not in en and not re.search(r"reason [a-z]", en), en
    quarantined = figures.figure("refusals.quarantined")
    assert reason_text("quarantined") in quarantined.counting[0]
    assert reason_text("quarantined", "en") in quarantined.counting[1]


def test_trend_matches_the_raw_rows_day_by_day(world):
    from central.console import reports

    db, rows = world
    last = DAYS[-1] + timedelta(days=1)
    spans = {"T1": (DAYS[0], DAYS[1]), "T2": (DAYS[1], DAYS[1] + timedelta(days=13)),
             "T3": (DAYS[0] - timedelta(days=20), DAYS[0] - timedelta(days=7))}  # T3 ends inside the 14 days
    for hh, (first, end) in spans.items():
        _insert_quarantine(db, hh, first, end)
    t2 = db.execute("SELECT id FROM quarantines WHERE household = 'T2'").fetchone()[0]
    at = day_bounds(spans["T2"][0], TZ)[0] + 9 * 3600
    db.execute("INSERT INTO care_readings (quarantine_id, person, day, slot, temp_c, via, recorded_at) VALUES "
               "(?, 0, ?, 'am', 38.2, 'self', ?), (?, 0, ?, 'pm', 36.6, 'staff', ?)",
               [t2, spans["T2"][0].isoformat(), at, t2, spans["T2"][0].isoformat(), at + 6 * 3600])
    tr = reports.trend(db, last, 14, TZ)
    assert tr.days == [last - timedelta(days=13 - i) for i in range(14)]
    preds = {k: ENTRY_FIGURES[k][0] for k in ("passages_in", "passages_out", "refusals", "fevers", "visitors")}
    for i, day in enumerate(tr.days):
        for key, pred in preds.items():
            assert tr.values[key][i] == _expect_entries(rows, day, pred)[()], (key, day)
        assert tr.values["quarantine_households"][i] == sum(f <= day <= e for f, e in spans.values())
        # households without a file: one person each; T2 has a fever reading on its first day
        assert tr.values["quarantine_people"][i] == tr.values["quarantine_households"][i]
        assert tr.values["care_fevers"][i] == (day == spans["T2"][0])
        assert tr.values["quarantine_new"][i] == sum(f == day for f, _ in spans.values())
        assert tr.values["quarantine_ended"][i] == sum(e == day for _, e in spans.values())
    assert sum(tr.values["passages_in"]) == sum(_expect_entries(rows, d, preds["passages_in"])[()] for d in tr.days) > 0
    garden = reports.trend(db, last, 30, TZ, "Garden")
    assert len(garden.days) == 30 and garden.days[-1] == last
    for i, day in enumerate(garden.days):
        assert garden.values["refusals"][i] == _expect_entries(rows, day, preds["refusals"])[("Garden",)]
    # the chart draws exactly those numbers, one dot per day
    panels = {p.key: p for p in reports.trend_panels(tr, "zh")}
    dots = re.findall(r'data-day="([0-9-]+)" data-value="(\d+)"', panels["passages_in"].svg)
    assert dots == [(d.isoformat(), str(v)) for d, v in zip(tr.days, tr.values["passages_in"], strict=True)]
    assert panels["quarantine_households"].total == max(tr.values["quarantine_households"])
    assert panels["passages_in"].total == sum(tr.values["passages_in"]) and panels["passages_in"].name == "进入人次"
    assert "全部社区" in {p.key: p for p in reports.trend_panels(garden, "zh")}["quarantine_new"].name
    with pytest.raises(ConsoleError):
        reports.trend_days("7")
    assert reports.trend_days("") == 14 and reports.trend_days("30") == 30


def test_trend_across_a_clock_change_counts_each_local_day(world):
    """Berlin's clocks went back on 2026-10-25 (a 25-hour day): the series falls back to a day at a time and still
    answers what each day's own window answers."""
    from zoneinfo import ZoneInfo

    db, rows = world
    berlin = ZoneInfo("Europe/Berlin")
    change = day_bounds(date(2026, 10, 25), TZ)[0]
    for n, (start, days) in enumerate([(-3.5, 5), (0.2, 2), (-30, 10), (1.6, 40), (-1, 1.04)]):
        s = change + start * 86400
        db.execute("INSERT INTO households (household, created_at) VALUES (?, 0)", [f"B{n}"])
        qid = db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, set_at, "
                         "status, released_at) VALUES (?, NULL, '2026-10-01', '2026-10-02', ?, ?, 0, ?, ?) "
                         "RETURNING id", [f"B{n}", s, s + days * 86400, "released" if n == 3 else "active",
                                          s + 86400 if n == 3 else None]).fetchone()[0]
        for k in range(int(days * 2)):
            db.execute("INSERT INTO care_readings (quarantine_id, person, day, slot, temp_c, via, recorded_at) "
                       "VALUES (?, 0, ?, ?, ?, 'self', ?)", [qid, str(k // 2), "am" if k % 2 == 0 else "pm",
                                                            37.0 + (k % 3) / 2, s + k * 43200 + 600])
    keys = ["passages_in", "refusals", "quarantine_new", "quarantine_people", "care_fevers"]
    series = figures.daily_series(db, keys, DAYS[-1], 40, berlin)
    assert series[0][0] == DAYS[-1] - timedelta(days=39) < date(2026, 10, 25) < DAYS[0]
    for day, values in series:
        for key in keys:
            assert values[key] == figures.compute(db, key, figures.Window.day(day, berlin))[()], (key, day)
    assert sum(v["quarantine_people"] for _, v in series) > 0 and sum(v["care_fevers"] for _, v in series) > 0
    for day, values in figures.daily_series(db, ["passages_in", "refusals"], DAYS[-1], 5, TZ):
        assert values["passages_in"] == _expect_entries(rows, day, ENTRY_FIGURES["passages_in"][0])[()]


GRIDS = {"1-1": "一网格", "1-2": "一网格", "2-1": "二网格"}  # 3-9 has no household file


def _file_grids(db) -> None:
    for hh, grid in GRIDS.items():
        db.execute("INSERT INTO households (household, created_at) VALUES (?, 0) ON CONFLICT DO NOTHING", [hh])
        db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES (?, ?, 0)", [hh, grid])


@pytest.mark.parametrize("key", ["passages_in", "households_passed", "refusals", "visitors"])
def test_entry_figures_per_grid_follow_the_household_files(world, key):
    db, rows = world
    _file_grids(db)
    pred, distinct = ENTRY_FIGURES[key]
    since, until = day_bounds(DAYS[1], TZ)
    expect: Counter = Counter()
    seen: dict[str, set] = {}
    for r in (r for dev_rows in rows.values() for r in dev_rows if since <= r["wall_ts"] < until and pred(r)):
        grid = GRIDS.get(r["household"] or "", "")
        if distinct:
            seen.setdefault(grid, set()).add(r[distinct])
        else:
            expect[(grid,)] += 1
    for grid, values in seen.items():
        expect[(grid,)] = len(values)
    got = figures.compute(db, key, figures.Window.day(DAYS[1], TZ), "grid")
    assert {k: v for k, v in got.items() if k and v} == {k: v for k, v in expect.items() if v}
    assert got[()] == figures.compute(db, key, figures.Window.day(DAYS[1], TZ))[()]
    assert got.get(("一网格",), 0) > 0


def test_household_figures_per_grid(world):
    db, _ = world
    _file_grids(db)
    d = DAYS[1]
    for hh in ("1-1", "1-2", "2-1", "3-9"):
        _insert_quarantine(db, hh, d - timedelta(days=2), d + timedelta(days=11))
    _insert_quarantine(db, "1-1", d, d + timedelta(days=13), person=1)  # same household again: counted once
    window = figures.Window.day(d, TZ)
    assert figures.compute(db, "quarantine_households", window, "grid") == {
        (): 4, ("一网格",): 2, ("二网格",): 1, ("",): 1}
    assert figures.compute(db, "quarantine_new", window, "grid") == {(): 1, ("一网格",): 1}
    # a household figure asked per community answers the whole scope only (households carry no community)
    assert figures.compute(db, "quarantine_households", window, "community") == {(): 4}
    fig = figures.figure("quarantine_households")
    assert fig.can_group("grid") and not fig.can_group("gate") and not fig.groupable
    assert not figures.figure("devices_offline").can_group("grid")
