"""The screening register's figures (people and households on the register, new, returnees by origin city, contact
history, reached that day / so far, still to reach), checked against counts computed here from the rows the test
imported through :mod:`central.screening` and the calls it recorded, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pytest

from central import figures, screening
from central.console.timeutil import day_bounds, zone
from central.db import open_db

TZ = zone()
DAYS = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
GRIDS = {"1-1-101": "一网格", "1-1-102": "一网格", "2-1-201": "二网格"}
CITIES = ["武汉", "上海", "北京", ""]
CONTACTS = ["", "无", "否", "与确诊病例同乘K123次列车", "去过中风险地区"]
LISTS = [("questionnaire", "returnee"), ("close_contact_list", "close_contact"),
         ("secondary_list", "secondary_contact")]


@dataclass
class Person:
    phone: str
    household: str | None
    city: str
    contact: str
    category: str
    created_at: float
    id: int = 0
    calls: list[tuple[float, str]] = field(default_factory=list)


def _grid(p: Person) -> str:
    return GRIDS.get(p.household or "", "")


@pytest.fixture
def register(central_url):
    db = open_db(central_url)
    rng = random.Random(2828)
    for hh, grid in GRIDS.items():
        db.execute("INSERT INTO households (household, created_at) VALUES (?, 0)", [hh])
        db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES (?, ?, 0)", [hh, grid])
    people: list[Person] = []
    start = day_bounds(DAYS[0], TZ)[0]
    for n, at in enumerate(sorted(start + rng.uniform(-86400, 3 * 86400) for _ in range(6))):  # one list per import
        kind, category = LISTS[n % len(LISTS)]
        batch = [Person(f"1390000{len(people) + i:04d}", rng.choice([*GRIDS, None, "9-9-909"]), rng.choice(CITIES),
                        rng.choice(CONTACTS), category, at) for i in range(rng.randint(8, 15))]
        rows = [screening.ScreenRow(phone=p.phone, name=f"人{p.phone[-3:]}", household=p.household or "",
                                    origin_city=p.city, contact=p.contact, category=p.category) for p in batch]
        screening.import_rows(db, kind, f"名单{n}", rows, by="staff", now=at)
        people += batch
    ids = dict(db.execute("SELECT phone, id FROM screening_people").fetchall())
    for p in people:
        p.id = ids[p.phone]
        p.household = db.execute("SELECT household FROM screening_people WHERE id = ?", [p.id]).fetchone()[0]
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            at = p.created_at + rng.uniform(60, 2 * 86400)
            outcome = rng.choice(["reached", "no_answer", "empty", "refused", "left"])
            screening.record_call(db, p.id, outcome, "", by="staff", now=at)
            p.calls.append((at, outcome))
    return db, people


def _count(people: list[Person], key=None) -> Counter:
    out: Counter = Counter({(): len(people)})
    if key is not None:
        out.update((key(p),) for p in people)
    return out


def _compare(got: dict, expect: Counter) -> None:
    assert got[()] == expect[()]
    assert {k: v for k, v in got.items() if k and v} == {k: v for k, v in expect.items() if k and v}


def _last_outcome(p: Person, as_of: float) -> str:
    before = sorted(c for c in p.calls if c[0] < as_of)
    return before[-1][1] if before else ""


def test_register_figures_per_day_grid_and_origin(register):
    db, people = register
    seen: Counter = Counter()
    for day in DAYS:
        since, until = day_bounds(day, TZ)
        for now in (until + 86400, since + 14 * 3600):
            as_of = min(until, now)
            on = [p for p in people if p.created_at < as_of]
            expect = {
                "screening_people": on,
                "screening_new": [p for p in people if since <= p.created_at < until],
                "screening_returnees": [p for p in on if p.category == "returnee"],
                "screening_contact": [p for p in on if p.category in ("close_contact", "secondary_contact")
                                      or p.contact not in ("", "无", "否")],
                "screening_reached": [p for p in people if any(since <= at < until and o == "reached"
                                                               for at, o in p.calls)],
                "screening_reached_total": [p for p in on if any(at < as_of and o == "reached" for at, o in p.calls)],
                "screening_to_reach": [p for p in on if _last_outcome(p, as_of) not in ("reached", "empty", "left")],
            }
            window = figures.Window.day(day, TZ, now=now)
            for key, counted in expect.items():
                _compare(figures.compute(db, key, window, "grid"), _count(counted, _grid))
                _compare(figures.compute(db, key, window, "origin"), _count(counted, lambda p: p.city))
                seen[key] += len(counted)
            households = {p.household for p in on if p.household}
            got = figures.compute(db, "screening_households", window, "grid")
            assert got[()] == len(households)
            assert {k: v for k, v in got.items() if k} == dict(Counter((GRIDS.get(h, ""),) for h in households))
            seen["households"] += len(households)
    assert all(seen.values()) and len(seen) == 8, seen


def test_reached_and_to_reach_add_up_for_a_past_day(register):
    db, people = register
    window = figures.Window.day(DAYS[2], TZ, now=day_bounds(DAYS[2], TZ)[1] + 3600)
    on = figures.compute(db, "screening_people", window)[()]
    closed_not_reached = sum(1 for p in people if _last_outcome(p, window.as_of) in ("empty", "left"))
    reached_last = sum(1 for p in people if _last_outcome(p, window.as_of) == "reached")
    assert figures.compute(db, "screening_to_reach", window)[()] == on - closed_not_reached - reached_last > 0


def test_returnees_by_origin_in_a_report(register):
    from central.console import report_templates as rt

    db, people = register
    tpl = rt.Template("来源", grouping="origin", rows=[rt.Row("screening_returnees", "返乡人员"),
                                                        rt.Row("screening_contact", "有接触史"),
                                                        rt.Row("screening_households", "户数")])
    table = rt.generate(db, tpl, DAYS[2], TZ, now=day_bounds(DAYS[2], TZ)[1]).table
    returnees = Counter(p.city or "（未填城市）" for p in people if p.category == "returnee")
    assert {r[1]: r[2] for r in table.rows if r[2]} == dict(returnees)
    assert all(r[4] is None for r in table.rows)  # households know no origin: the totals row only
