"""The casework figures (people in home quarantine, returnees by origin, readings, needs, vehicles), each checked
against counts computed here, in Python, from the raw rows the test stored: household files with grids and
members, quarantines with their care details, readings and needs as rows, vehicle entries and exits through the
real ingest; for several days, per grid and per origin city, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from central import figures
from central.console.timeutil import day_bounds, zone
from central.db import open_db
from tests.central.console.data import entry, ingest_entries

TZ = zone()
DAYS = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
FILES = {"H1": ("一网格", [0, 1, 2]), "H2": ("一网格", [0, 1]), "H3": ("二网格", []), "H4": ("二网格", [0, 1, 2, 3]),
         "H5": ("", [0])}  # H6 has no household file at all
HOUSEHOLDS = [*FILES, "H6"]
CITIES = ["武汉", "上海", "北京", ""]
SOURCES = ["returnee", "close_contact", "other", None]  # None: placed without care details
AM_END, PM_END = 12 * 3600, 20 * 3600  # the care policy's default slot ends
FEVER_C = 37.3


@dataclass
class Q:
    id: int
    household: str
    person: int | None
    first: date
    last: date
    start_ts: float
    end_ts: float
    released_at: float | None
    source: str | None
    city: str
    placed_at: float

    def people(self) -> list[tuple[str, int]]:
        if self.person is not None:
            return [(self.household, self.person)]
        return [(self.household, p) for p in (FILES.get(self.household, ("", []))[1] or [0])]

    def holds(self, since: float, until: float) -> bool:
        return self.start_ts < until and self.end_ts > since and (self.released_at is None or self.released_at > since)


def _grid(household: str) -> str:
    return FILES.get(household, ("", []))[0]


def _files(db) -> None:
    for hh in HOUSEHOLDS:
        db.execute("INSERT INTO households (household, created_at) VALUES (?, 0) ON CONFLICT DO NOTHING", [hh])
    for hh, (grid, members) in FILES.items():
        db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES (?, ?, 0)", [hh, grid])
        for p in members:
            db.execute("INSERT INTO household_members (household, person, name, updated_at) VALUES (?, ?, ?, 0)",
                       [hh, p, f"成员{p}"])


def _quarantines(db, rng: random.Random) -> list[Q]:
    out = []
    for _ in range(40):
        hh = rng.choice(HOUSEHOLDS)
        first = DAYS[0] + timedelta(days=rng.randint(-16, 3))
        last = first + timedelta(days=rng.randint(0, 14))
        start, end = day_bounds(first, TZ)[0], day_bounds(last, TZ)[1]
        released = rng.choice([None, None, start + rng.uniform(0, end - start)])
        source = rng.choice(SOURCES)
        city = rng.choice(CITIES) if source == "returnee" else ""
        placed = start - rng.choice([3600, 0, -13 * 3600])  # some placed in the afternoon of their first day
        q = Q(0, hh, rng.choice([None, None, 0, 1]), first, last, start, end, released, source, city, placed)
        cur = db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, set_at, "
                         "status, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         [hh, q.person, first.isoformat(), last.isoformat(), start, end, placed,
                          "released" if released is not None else "active", released])
        q.id = int(cur.fetchone()[0])
        if source is not None:
            db.execute("INSERT INTO care_quarantines (quarantine_id, source, origin_city, created_at) "
                       "VALUES (?, ?, ?, ?)", [q.id, source, city, placed])
        out.append(q)
    return out


def _readings(db, rng: random.Random, qs: list[Q]) -> list[tuple]:
    out = []
    for q in qs:
        for hh, person in q.people():
            for day in DAYS:
                for slot in ("am", "pm"):
                    if rng.random() < 0.5:
                        continue
                    at = day_bounds(day, TZ)[0] + (AM_END if slot == "am" else PM_END) - rng.uniform(60, 3 * 3600)
                    temp = rng.choice([36.5, 36.8, 37.2, 37.3, 38.1])
                    db.execute("INSERT INTO care_readings (quarantine_id, person, day, slot, temp_c, via, recorded_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)", [q.id, person, day.isoformat(), slot, temp,
                                                                 rng.choice(["staff", "self"]), at])
                    out.append((q.id, hh, person, day.isoformat(), slot, temp, at))
    return out


def _needs(db, rng: random.Random, qs: list[Q]) -> list[tuple]:
    out = []
    for q in rng.sample(qs, 20):
        asked = day_bounds(DAYS[0], TZ)[0] + rng.uniform(-86400, 3 * 86400)
        done = rng.choice([None, asked + rng.uniform(600, 2 * 86400)])
        db.execute("INSERT INTO care_needs (quarantine_id, household, kind, asked_at, done_at) VALUES (?, ?, ?, ?, ?)",
                   [q.id, q.household, rng.choice(["groceries", "medicine"]), asked, done])
        out.append((q.household, asked, done))
    return out


def _vehicles(db, rng: random.Random) -> list[dict]:
    rows, seq = [], 0
    start = day_bounds(DAYS[0], TZ)[0]
    for _ in range(60):
        seq += 1
        ts = start + rng.uniform(-3600, 3 * 86400)
        row = entry(seq, "dev-v", "north", ts, event="vehicle", decision=rng.choice(["pass", "pass", "refuse"]),
                    reason="temp_ok", household=rng.choice([None, "H1", "H4", "H6"]), person=0,
                    extra='{"plate": "京A12345", "purpose": "resident"}')
        rows.append(row)
        if row["decision"] == "pass" and rng.random() < 0.6:
            seq += 1
            rows.append(entry(seq, "dev-v", "north", ts + rng.uniform(60, 30 * 3600), event="vehicle_exit",
                              direction="out", decision="info", reason="temp_ok", household=row["household"],
                              ref_uuid=row["uuid"]))
    return rows


def _deliveries(rng: random.Random, qs: list[Q]) -> list[dict]:
    """Parcels left at the south gate over ten days up to the last day, most picked up within two days."""
    rows, seq = [], 0
    start = day_bounds(DAYS[0], TZ)[0]
    for _ in range(120):
        seq += 1
        ts = start + rng.uniform(-8 * 86400, 3 * 86400)
        # some to a household at a moment it is under quarantine
        q = rng.choice(qs)
        if rng.random() < 0.3 and q.start_ts < q.end_ts:
            ts = rng.uniform(q.start_ts, q.end_ts)
        row = entry(seq, "dev-d", "south", ts, event="delivery", decision="info", reason="temp_ok",
                    household=q.household if rng.random() < 0.8 else rng.choice(HOUSEHOLDS),
                    extra='{"company": "顺丰", "count": 1}')
        rows.append(row)
        if rng.random() < 0.7:
            seq += 1
            rows.append(entry(seq, "dev-d", "south", ts + rng.uniform(600, 2 * 86400), event="delivery_pickup",
                              decision="info", reason="temp_ok", household=row["household"], ref_uuid=row["uuid"]))
    return rows


@pytest.fixture
def world(central_url):
    db = open_db(central_url)
    rng = random.Random(28)
    _files(db)
    qs = _quarantines(db, rng)
    readings = _readings(db, rng, qs)
    needs = _needs(db, rng, qs)
    vehicle_rows = _vehicles(db, rng)
    ingest_entries(db, "dev-v", "Garden", vehicle_rows)
    delivery_rows = _deliveries(rng, qs)
    ingest_entries(db, "dev-d", "Garden", sorted(delivery_rows, key=lambda r: r["seq"]))
    return db, qs, readings, needs, vehicle_rows + delivery_rows


def _by(items, key) -> Counter:
    """Distinct items per group: the whole scope under () and each under (key(item),)."""
    out: Counter = Counter({(): len(set(items))})
    for item in set(items):
        out[(key(item),)] += 1
    return out


def _compare(got: dict, expect: Counter) -> None:
    assert got[()] == expect[()]
    assert {k: v for k, v in got.items() if k and v} == {k: v for k, v in expect.items() if k and v}


def _ended(q: Q, since: float, until: float) -> bool:
    if q.released_at is not None:
        return since <= q.released_at < until
    return since < q.end_ts <= until


PEOPLE = {  # figure → which quarantines count, which source
    "quarantine_people": (lambda q, s, u: q.holds(s, u), None),
    "quarantine_people_new": (lambda q, s, u: s <= q.start_ts < u, None),
    "quarantine_people_ended": (_ended, None),
    "quarantine_returnees": (lambda q, s, u: q.holds(s, u), "returnee"),
    "quarantine_returnees_new": (lambda q, s, u: s <= q.start_ts < u, "returnee"),
    "quarantine_close_contacts": (lambda q, s, u: q.holds(s, u), "close_contact"),
}


@pytest.mark.parametrize("key", sorted(PEOPLE))
def test_people_in_quarantine_per_day_grid_and_origin(world, key):
    db, qs, *_ = world
    which, source = PEOPLE[key]
    seen = 0
    for day in [*DAYS, DAYS[0] - timedelta(days=5)]:
        since, until = day_bounds(day, TZ)
        counted = [q for q in qs if which(q, since, until) and (source is None or (q.source or "other") == source)]
        people = [p for q in counted for p in q.people()]
        window = figures.Window.day(day, TZ)
        _compare(figures.compute(db, key, window, "grid"), _by(people, lambda p: _grid(p[0])))
        assert figures.compute(db, key, window) == {(): len(set(people))}
        if figures.figure(key).can_group("origin"):
            by_city = _by([(q.city, p) for q in counted for p in q.people()], lambda cp: cp[0])
            by_city[()] = len(set(people))
            _compare(figures.compute(db, key, window, "origin"), by_city)
        else:  # a figure that knows no origin answers the total only
            assert figures.compute(db, key, window, "origin") == {(): len(set(people))}
        seen += len(set(people))
    assert seen > 0  # the random world has such people


def test_people_count_every_member_of_a_household_quarantine_once(world):
    db, *_ = world
    d = DAYS[2] + timedelta(days=30)  # a day no random quarantine reaches
    start, end = day_bounds(d, TZ)[0], day_bounds(d + timedelta(days=13), TZ)[1]
    for hh, person in (("H4", None), ("H4", 2), ("H3", None), ("H6", 1)):  # H4 whole and its member 2 again
        db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, set_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, 0)", [hh, person, d.isoformat(), d.isoformat(), start, end])
    window = figures.Window.day(d, TZ)
    # H4: 4 members; H3: a file without members reads as one person; H6 (no file): its person 1
    assert figures.compute(db, "quarantine_people", window, "grid") == {(): 6, ("二网格",): 5, ("",): 1}
    assert figures.compute(db, "quarantine_households", window) == {(): 3}


def test_returnees_by_origin_city_in_a_report(world):
    from central.console import report_templates as rt

    db, qs, *_ = world
    day = DAYS[1]
    since, until = day_bounds(day, TZ)
    tpl = rt.Template("返乡人员", grouping="origin", rows=[rt.Row("quarantine_returnees", "在隔离返乡人员"),
                                                           rt.Row("quarantine_people", "居家隔离人数")])
    table = rt.generate(db, tpl, day, TZ).table
    assert [c.zh for c in table.columns] == ["日期", "来源城市", "在隔离返乡人员", "居家隔离人数"]
    returnees = [(q.city, p) for q in qs if q.holds(since, until) and q.source == "returnee" for p in q.people()]
    expect = Counter(city for city, _ in set(returnees))
    got = {r[1]: r[2] for r in table.rows}
    assert got == {(city or "（未填城市）"): n for city, n in expect.items()} and len(got) >= 2
    assert all(r[3] is None for r in table.rows)  # the figure without an origin: the totals row only
    everyone = {p for q in qs if q.holds(since, until) for p in q.people()}
    assert table.fixed_totals[2:] == [len({p for _, p in returnees}), len(everyone)]


def _missed(qs: list[Q], readings: list[tuple], day: date, as_of: float, grid: bool) -> Counter:
    since, until = day_bounds(day, TZ)
    have = {(r[0], r[2], r[3], r[4]) for r in readings}
    out: Counter = Counter()
    for q in qs:
        stop = q.end_ts if q.released_at is None else min(q.end_ts, q.released_at)
        if not q.holds(since, min(until, as_of)) or not q.first <= day <= q.last:
            continue
        for slot, end in (("am", since + AM_END), ("pm", since + PM_END)):
            if not (q.placed_at < end <= stop and end <= as_of):
                continue
            for hh, person in q.people():
                if (q.id, person, day.isoformat(), slot) not in have:
                    out[()] += 1
                    if grid:
                        out[(_grid(hh),)] += 1
    return out


def test_missed_and_fever_readings(world):
    db, qs, readings, *_ = world
    for day in DAYS:
        since, until = day_bounds(day, TZ)
        for as_of in (until + 3600, since + 15 * 3600):  # a past day; the same day at 3 p.m. (the afternoon not over)
            window = figures.Window.day(day, TZ, now=as_of)
            expect = _missed(qs, readings, day, as_of, grid=True)
            _compare(figures.compute(db, "care_missed", window, "grid"), expect)
        fevers = [r for r in readings if r[5] >= FEVER_C and since <= r[6] < until]
        got = figures.compute(db, "care_fevers", figures.Window.day(day, TZ), "grid")
        _compare(got, Counter({(): len(fevers), **Counter((_grid(r[1]),) for r in fevers)}))
    assert _missed(qs, readings, DAYS[1], day_bounds(DAYS[1], TZ)[1], False)[()] > 0
    three = figures.Window(DAYS[0], DAYS[2], TZ, now=day_bounds(DAYS[2], TZ)[1])
    assert figures.compute(db, "care_missed", three)[()] == sum(
        _missed(qs, readings, d, three.now, False)[()] for d in DAYS)


def test_needs_asked_and_open(world):
    db, _, _, needs, _ = world
    for day in DAYS:
        since, until = day_bounds(day, TZ)
        for now in (until + 86400, since + 6 * 3600):
            as_of = min(until, now)
            window = figures.Window.day(day, TZ, now=now)
            open_ = [n for n in needs if n[1] < as_of and (n[2] is None or n[2] >= as_of)]
            got = figures.compute(db, "care_needs_open", window, "grid")
            _compare(got, Counter({(): len(open_), **Counter((_grid(n[0]),) for n in open_)}))
        new = [n for n in needs if since <= n[1] < until]
        assert figures.compute(db, "care_needs_new", figures.Window.day(day, TZ)) == {(): len(new)}
    assert any(n[2] is None for n in needs)


def test_vehicles_in_out_and_still_inside(world):
    db, *_, rows = world
    exits = {r["ref_uuid"]: r["wall_ts"] for r in rows if r["event"] == "vehicle_exit"}
    for day in DAYS:
        since, until = day_bounds(day, TZ)
        came = [r for r in rows
                if r["event"] == "vehicle" and r["decision"] == "pass" and since <= r["wall_ts"] < until]
        for now in (until + 86400, since + 12 * 3600):
            as_of = min(until, now)
            inside = [r for r in came if exits.get(r["uuid"], float("inf")) >= as_of]
            got = figures.compute(db, "vehicles_inside", figures.Window.day(day, TZ, now=now), "grid")
            _compare(got, Counter({(): len(inside), **Counter((_grid(r["household"] or ""),) for r in inside)}))
        window = figures.Window.day(day, TZ)
        assert figures.compute(db, "vehicles_in", window, "gate") == {(): len(came), ("Garden", "north"): len(came)}
        out = [r for r in rows if r["event"] == "vehicle_exit" and since <= r["wall_ts"] < until]
        assert figures.compute(db, "vehicles_out", window)[()] == len(out)
        assert len(came) > 0 and len(out) > 0


def test_every_casework_figure_is_in_the_catalogue_with_checkable_words():
    keys = {f.key for f in figures.catalogue()}
    assert {*PEOPLE, "care_missed", "care_fevers", "care_needs_new", "care_needs_open", "vehicles_in",
            "vehicles_out", "vehicles_inside", "deliveries_received", "deliveries_picked_up", "deliveries_waiting",
            "deliveries_quarantined"} <= keys
    origin = {f.key for f in figures.catalogue() if f.can_group("origin")}
    assert origin == {"quarantine_returnees", "quarantine_returnees_new", "screening_people", "screening_new",
                      "screening_returnees", "screening_contact", "screening_reached", "screening_reached_total",
                      "screening_to_reach"}  # the figures about people with an origin city
    assert not any(f.can_group("origin") for f in figures.catalogue() if f.can_group("community"))
    for key in PEOPLE:
        fig = figures.figure(key)
        assert "一户一档" in fig.counting[0] and "household file" in fig.counting[1] and fig.can_group("grid")


def _under_quarantine(qs: list[Q], household: str | None, at: float) -> bool:
    return any(q.household == household and q.start_ts <= at < q.end_ts and (q.released_at is None or
                                                                              q.released_at > at) for q in qs)


def test_deliveries_received_picked_up_waiting_and_to_quarantined_homes(world):
    db, qs, *_, rows = world
    pickups = {r["ref_uuid"]: r["wall_ts"] for r in rows if r["event"] == "delivery_pickup"}
    parcels = [r for r in rows if r["event"] == "delivery"]
    seen = Counter()
    for day in DAYS:
        since, until = day_bounds(day, TZ)
        window = figures.Window.day(day, TZ)
        left = [r for r in parcels if since <= r["wall_ts"] < until]
        _compare(figures.compute(db, "deliveries_received", window, "grid"),
                 Counter({(): len(left), **Counter((_grid(r["household"]),) for r in left)}))
        picked = [r for r in rows if r["event"] == "delivery_pickup" and since <= r["wall_ts"] < until]
        assert figures.compute(db, "deliveries_picked_up", window, "gate") == {
            (): len(picked), **({("Garden", "south"): len(picked)} if picked else {})}
        to_quarantined = [r for r in left if _under_quarantine(qs, r["household"], r["wall_ts"])]
        _compare(figures.compute(db, "deliveries_quarantined", window, "grid"),
                 Counter({(): len(to_quarantined), **Counter((_grid(r["household"]),) for r in to_quarantined)}))
        week = day_bounds(day - timedelta(days=6), TZ)[0]
        for now in (until + 86400, since + 10 * 3600):
            as_of = min(until, now)
            waiting = [r for r in parcels if week <= r["wall_ts"] < until and pickups.get(r["uuid"], as_of) >= as_of]
            got = figures.compute(db, "deliveries_waiting", figures.Window.day(day, TZ, now=now), "grid")
            _compare(got, Counter({(): len(waiting), **Counter((_grid(r["household"]),) for r in waiting)}))
            seen["waiting"] += len(waiting)
        seen["left"] += len(left)
        seen["picked"] += len(picked)
        seen["quarantined"] += len(to_quarantined)
    assert all(seen[k] > 0 for k in ("left", "picked", "quarantined", "waiting")), seen
