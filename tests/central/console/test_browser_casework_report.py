"""Casework figures in report templates built in Debian's chromium at 1366x768: a daily sheet per grid (people in
home quarantine, returnees, missed and fever readings, open needs, vehicles) and returnees per origin city, both
generated for a past day, the XLSX files opened with openpyxl and checked against counts computed from the raw rows
(household files, quarantines, readings, needs, vehicle entries) the test stored.

Screenshots go to /tmp/gatepass-console-shots/ (rt-casework-*.png)."""

from __future__ import annotations

import io
import random
from collections import Counter
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from central import screening
from central.console.timeutil import day_bounds
from tests.central.console.conftest import PASSWORDS
from tests.central.console.data import ingest_entries
from tests.central.console.test_browser import SHOTS, browser, download  # noqa: F401 - the browser fixture
from tests.central.console.test_browser_reports import _build
from tests.central.test_figures_casework import (
    FEVER_C,
    TZ,
    _deliveries,
    _files,
    _grid,
    _missed,
    _needs,
    _quarantines,
    _readings,
    _under_quarantine,
    _vehicles,
)

pytestmark = pytest.mark.browser
DAY = date(2026, 11, 20)
GRID_FIGURES = [("quarantine_people", "1", "在隔离人数"), ("quarantine_people_new", "2", "新增隔离"),
                ("quarantine_returnees", "3", "返乡人员"), ("care_missed", "4", "漏报体温"),
                ("care_fevers", "5", "居家发热"), ("care_needs_open", "6", "待办需求"),
                ("vehicles_in", "7", "车辆进入"), ("vehicles_inside", "8", "未离开车辆"),
                ("deliveries_received", "9", "代收快递"), ("deliveries_waiting", "10", "待取快递"),
                ("deliveries_quarantined", "11", "隔离户快递")]


@pytest.fixture(scope="module")
def casework(central):
    rng = random.Random(2828)
    _files(central.db)
    qs = _quarantines(central.db, rng)
    readings = _readings(central.db, rng, qs)
    needs = _needs(central.db, rng, qs)
    vehicle_rows = _vehicles(central.db, rng)
    ingest_entries(central.db, "dev-v", "Garden", vehicle_rows)
    delivery_rows = _deliveries(rng, qs)
    ingest_entries(central.db, "dev-d", "Garden", delivery_rows)
    _register(central.db, rng)
    return central, qs, readings, needs, vehicle_rows + delivery_rows


def _register(db, rng: random.Random) -> None:
    """Two lists on the screening register before DAY (returnees from three cities, close contacts), some called."""
    since = day_bounds(DAY, TZ)[0]
    for n, (kind, at) in enumerate((("returnee_list", since - 86400), ("close_contact_list", since + 3600))):
        rows = [screening.ScreenRow(phone=f"1380000{n}{i:03d}", name=f"人{i}", household=rng.choice(["H1", "H4", ""]),
                                    origin_city=rng.choice(["武汉", "上海", "北京"])) for i in range(12)]
        screening.import_rows(db, kind, f"名单{n}", rows, by="staff", now=at)
    for pid, in db.execute("SELECT id FROM screening_people").fetchall():
        if pid % 3:
            screening.record_call(db, pid, rng.choice(["reached", "no_answer"]), "", by="staff",
                                  now=since + rng.uniform(2 * 3600, 30 * 3600))


def _expected_per_grid(qs, readings, needs, rows) -> dict[str, Counter]:
    """Each figure per grid ('' no grid) and in all (None), from the raw rows."""
    since, until = day_bounds(DAY, TZ)

    def people(counted) -> Counter:
        found = {p for q in counted for p in q.people()}
        return Counter({None: len(found), **Counter(_grid(hh) for hh, _ in found)})

    def per_household(households: list[str]) -> Counter:
        return Counter({None: len(households), **Counter(_grid(hh) for hh in households)})

    exits = {r["ref_uuid"]: r["wall_ts"] for r in rows if r["event"] == "vehicle_exit"}
    came = [r for r in rows if r["event"] == "vehicle" and r["decision"] == "pass" and since <= r["wall_ts"] < until]
    missed = _missed(qs, readings, DAY, until, grid=True)
    pickups = {r["ref_uuid"]: r["wall_ts"] for r in rows if r["event"] == "delivery_pickup"}
    parcels = [r for r in rows if r["event"] == "delivery"]
    week = day_bounds(DAY - timedelta(days=6), TZ)[0]
    return {
        "quarantine_people": people(q for q in qs if q.holds(since, until)),
        "quarantine_people_new": people(q for q in qs if since <= q.start_ts < until),
        "quarantine_returnees": people(q for q in qs if q.holds(since, until) and q.source == "returnee"),
        "care_missed": Counter({None: missed[()], **{k[0]: n for k, n in missed.items() if k}}),
        "care_fevers": per_household([r[1] for r in readings if r[5] >= FEVER_C and since <= r[6] < until]),
        "care_needs_open": per_household([n[0] for n in needs if n[1] < until and (n[2] is None or n[2] >= until)]),
        "vehicles_in": per_household([r["household"] or "" for r in came]),
        "vehicles_inside": per_household([r["household"] or "" for r in came if exits.get(r["uuid"], until) >= until]),
        "deliveries_received": per_household([r["household"] for r in parcels if since <= r["wall_ts"] < until]),
        "deliveries_waiting": per_household([r["household"] for r in parcels if week <= r["wall_ts"] < until
                                             and pickups.get(r["uuid"], until) >= until]),
        "deliveries_quarantined": per_household([r["household"] for r in parcels if since <= r["wall_ts"] < until
                                                 and _under_quarantine(qs, r["household"], r["wall_ts"])]),
    }


def _sign_in(browser, central):  # noqa: F811
    ctx = browser.new_context(base_url=central.url, viewport={"width": 1366, "height": 768}, accept_downloads=True,
                              locale="zh-CN")
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORDS["staff"])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    return ctx, page


def _generate(page, name: str):
    row = f"#templates tr[data-name='{name}']"
    page.locator(row).locator("input[name=day]").fill(DAY.isoformat())
    return load_workbook(io.BytesIO(download(page, f"{row} button[type=submit]"))).active


def test_casework_templates_per_grid_and_per_origin_for_a_past_day(browser, casework):  # noqa: F811
    central, qs, readings, needs, rows = casework
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page = _sign_in(browser, central)
    page.goto("/report-templates/new")
    returnees = page.locator("tr[data-figure='quarantine_returnees']")
    assert "仅合计、按网格或按来源城市" in returnees.inner_text()
    assert "仅合计或按网格" in page.inner_text("tr[data-figure='care_missed']")
    page.locator("tr[data-figure='quarantine_people']").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "rt-casework-edit.png"), full_page=False)
    _build(page, "网格防控日报", "居家隔离与车辆情况", "grid", GRID_FIGURES)
    _build(page, "返乡人员来源", "返乡人员（按来源城市）", "origin",
           [("quarantine_returnees", "1", "在隔离返乡人员"), ("quarantine_returnees_new", "2", "当日新增"),
            ("vehicles_in", "3", "车辆进入"), ("screening_returnees", "4", "登记返乡人员"),
            ("screening_to_reach", "5", "仍待联系")])
    grid_sheet, origin_sheet = _generate(page, "网格防控日报"), _generate(page, "返乡人员来源")
    page.goto("/report-templates")
    page.screenshot(path=str(SHOTS / "rt-casework-list.png"), full_page=False)

    expect = _expected_per_grid(qs, readings, needs, rows)
    assert grid_sheet["A1"].value == f"居家隔离与车辆情况 {DAY.isoformat()}" and grid_sheet.freeze_panes == "A3"
    assert [c.value for c in grid_sheet[2]] == ["日期", "网格", *(label for _, _, label in GRID_FIGURES)]
    body = {r[1].value: [c.value for c in r[2:]] for r in grid_sheet.iter_rows(min_row=3) if r[0].is_date}
    assert set(body) == {"一网格", "二网格", "（未分网格）"}
    blank = {"一网格": "一网格", "二网格": "二网格", "（未分网格）": ""}
    for i, (key, _, _) in enumerate(GRID_FIGURES):
        assert {name: values[i] for name, values in body.items()} == {name: expect[key][grid]
                                                                      for name, grid in blank.items()}, key
    total = next(r for r in grid_sheet.iter_rows(min_row=3, values_only=True) if r[0] == "合计")
    assert list(total[2:]) == [expect[key][None] for key, _, _ in GRID_FIGURES]
    assert all(expect[key][None] > 0 for key in ("quarantine_people", "care_missed", "vehicles_in",
                                                 "deliveries_waiting", "deliveries_quarantined"))

    since, until = day_bounds(DAY, TZ)
    by_city = {r[1].value: r[2].value for r in origin_sheet.iter_rows(min_row=3) if r[0].is_date and r[2].value}
    assert [c.value for c in origin_sheet[2]] == ["日期", "来源城市", "在隔离返乡人员", "当日新增", "车辆进入",
                                                  "登记返乡人员", "仍待联系"]
    found = {}
    for q in qs:
        if q.holds(since, until) and q.source == "returnee":
            found.setdefault(q.city or "（未填城市）", set()).update(q.people())
    assert by_city == {city: len(people) for city, people in found.items()} and len(by_city) >= 2
    cells = [[c.value for c in r[1:]] for r in origin_sheet.iter_rows(min_row=3) if r[0].is_date]
    assert all(r[3] is None for r in cells)  # a figure without an origin: blank per city, in the totals only
    total = next(r for r in origin_sheet.iter_rows(min_row=3, values_only=True) if r[0] == "合计")
    assert total[4] == expect["vehicles_in"][None]
    # the register, from its raw tables: returnees by city, and who the phone round still has to reach by the end
    # of the day (no call yet, or the last call before the end of the day not answered)
    db = central.db
    returnees = Counter(city for city, in db.execute("SELECT origin_city FROM screening_people WHERE "
                                                     "category = 'returnee' AND created_at < ?", [until]))
    assert {r[0]: r[4] for r in cells if r[4]} == dict(returnees) and sum(returnees.values()) == 12
    last = {}
    for pid, at, outcome in db.execute("SELECT person_id, at, outcome FROM screening_calls ORDER BY at"):
        if at < until:
            last[pid] = outcome
    people = db.execute("SELECT id, origin_city FROM screening_people WHERE created_at < ?", [until]).fetchall()
    to_reach = Counter(city for pid, city in people if last.get(pid, "") != "reached")
    assert {r[0]: r[5] for r in cells if r[5]} == dict(to_reach) and total[6] == sum(to_reach.values()) > 0
    ctx.close()
