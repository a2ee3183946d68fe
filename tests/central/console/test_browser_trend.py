"""The daily report's trend of the key figures, walked in Debian's chromium at 1366x768 and on a 390x844 phone: the
numbers the charts draw (and the table under them) against counts taken straight from the raw tables.

Screenshots go to /tmp/h9/ (trend-*.png) for a person to look at."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from central.console import reports
from central.console.timeutil import day_bounds, zone
from tests.central.console.conftest import PASSWORDS
from tests.central.console.data import entry, ingest_entries
from tests.central.console.test_browser import ARGS, browser  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/h9")
TZ = zone()
DAY = date(2026, 11, 20)
COUNTS = {  # figure -> condition on the raw entries table
    "passages_in": "direction = 'in' AND decision = 'pass'", "passages_out": "direction = 'out' AND decision = 'pass'",
    "refusals": "decision = 'refuse'", "fevers": "fever = 1", "visitors": "event = 'visitor'",
}


@pytest.fixture(scope="module")
def outbreak(central):
    """Three weeks of traffic at a fourth gate before DAY, and a few home quarantines."""
    rng = random.Random(9)
    rows = []
    for back in range(21):
        start, _ = day_bounds(DAY - timedelta(days=back), TZ)
        for _ in range(rng.randint(5, 40)):
            decision = rng.choice(["pass", "pass", "pass", "refuse"])
            rows.append(dict(wall_ts=start + rng.uniform(6 * 3600, 22 * 3600), direction=rng.choice(["in", "out"]),
                             decision=decision, event=rng.choice(["scan", "scan", "visitor"]),
                             reason="quarantined" if decision == "refuse" else "temp_ok",
                             fever=int(rng.random() < 0.05)))
    rows.sort(key=lambda r: r["wall_ts"])
    ingest_entries(central.db, "dev-trend", "Garden", [entry(i + 1, "dev-trend", "trend-gate", **r)
                                                       for i, r in enumerate(rows)])
    for n, (first, days) in enumerate([(DAY - timedelta(days=12), 14), (DAY - timedelta(days=3), 14),
                                       (DAY - timedelta(days=20), 7)]):
        hh = f"T-{n}"
        central.db.execute("INSERT INTO households (household, created_at) VALUES (?, 0) ON CONFLICT DO NOTHING",
                           [hh])
        last = first + timedelta(days=days - 1)
        central.db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, "
                           "set_at, status) VALUES (?, NULL, ?, ?, ?, ?, 0, 'active')",
                           [hh, first.isoformat(), last.isoformat(), day_bounds(first, TZ)[0],
                            day_bounds(last, TZ)[1]])
    return central


def _raw(central, day: date, cond: str) -> int:
    since, until = day_bounds(day, TZ)
    return central.db.execute(f"SELECT COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND {cond}",
                              [since, until]).fetchone()[0]


def _quarantined(central, day: date) -> int:
    since, until = day_bounds(day, TZ)
    return central.db.execute("SELECT COUNT(DISTINCT household) FROM quarantines WHERE start_ts < ? AND end_ts > ?",
                              [until, since]).fetchone()[0]


def _page(browser, central, width: int, height: int):  # noqa: F811
    ctx = browser.new_context(base_url=central.url, viewport={"width": width, "height": height}, locale="zh-CN",
                              is_mobile=width < 500, device_scale_factor=2 if width < 500 else 1)
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", PASSWORDS["viewer"])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    return ctx, page


def _dots(page, key: str) -> list[tuple[str, int]]:
    return [(c.get_attribute("data-day"), int(c.get_attribute("data-value")))
            for c in page.locator(f"figure[data-figure='{key}'] circle").all()]


def test_trend_on_a_desktop_draws_the_raw_counts(browser, outbreak):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page = _page(browser, outbreak, 1366, 768)
    page.goto(f"/report?day={DAY.isoformat()}")
    days = [DAY - timedelta(days=13 - i) for i in range(14)]
    assert page.locator("#trend figure.trend-panel").count() == len(reports.TREND_FIGURES) == 10
    for key, cond in COUNTS.items():
        assert _dots(page, key) == [(d.isoformat(), _raw(outbreak, d, cond)) for d in days], key
    assert _dots(page, "quarantine_households") == [(d.isoformat(), _quarantined(outbreak, d)) for d in days]
    # whole households without a household file: one person each
    assert _dots(page, "quarantine_people") == [(d.isoformat(), _quarantined(outbreak, d)) for d in days]
    assert sum(v for _, v in _dots(page, "passages_in")) > 0 and max(v for _, v in _dots(page, "refusals")) > 0
    caption = page.inner_text("figure[data-figure='passages_in'] figcaption")
    assert "进入人次" in caption and str(_raw(outbreak, DAY, COUNTS["passages_in"])) in caption
    peak = max(_quarantined(outbreak, d) for d in days)
    assert f"最多 {peak}" in page.inner_text("figure[data-figure='quarantine_households'] figcaption")
    panels = page.locator("#trend figure.trend-panel").all()
    assert len({round(p.bounding_box()["y"]) for p in panels}) <= 3  # side by side: 4 to a row at 1366
    assert page.locator("script[src^=http], link[href^=http], img[src^=http]").count() == 0
    assert not page.locator("ul.chart-legend").is_visible()  # the chart has its own legend on a desktop
    page.locator("#trend").screenshot(path=str(SHOTS / "trend-1366-14d.png"))
    page.screenshot(path=str(SHOTS / "trend-1366-page.png"), full_page=True)

    page.click("#trend a[data-span='30']")
    page.wait_for_url("**trend=30**")
    dots = _dots(page, "visitors")
    assert len(dots) == 30 and dots[-1][0] == DAY.isoformat()
    assert dots == [(d.isoformat(), _raw(outbreak, d, COUNTS["visitors"]))
                    for d in (DAY - timedelta(days=29 - i) for i in range(30))]
    table = page.locator("#trend-table tbody tr")
    assert table.count() == 30
    page.click("#trend summary")
    row = table.nth(29).locator("td").all_inner_texts()
    assert row[0] == DAY.isoformat() and int(row[1]) == _raw(outbreak, DAY, COUNTS["passages_in"])
    page.locator("#trend").screenshot(path=str(SHOTS / "trend-1366-30d.png"))
    page.fill("input[name=day]", (DAY - timedelta(days=1)).isoformat())
    page.click("form.filters button[type=submit]")
    assert len(_dots(page, "visitors")) == 30  # the span is kept when another day is chosen
    assert page.goto(f"/report?day={DAY.isoformat()}&trend=7").status == 400
    ctx.close()


def test_trend_fits_a_phone(browser, outbreak):  # noqa: F811
    ctx, page = _page(browser, outbreak, 390, 844)
    page.goto(f"/report?day={DAY.isoformat()}&trend=30&lang=en")
    assert "Key figures over the outbreak" in page.inner_text("#trend h2")
    for svg in page.locator("#trend svg").all():
        box = svg.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 300  # one a row, full width
    ticks = page.locator("figure[data-figure='passages_in'] svg text").all()
    assert min(t.bounding_box()["height"] for t in ticks) >= 10  # the labels stay readable (CSS pixels)
    page.locator("#trend").screenshot(path=str(SHOTS / "trend-390-30d.png"))
    page.screenshot(path=str(SHOTS / "trend-390-page.png"), full_page=True)
    legend = page.locator("ul.chart-legend li")  # the hourly chart scrolls sideways: its colours are listed under it
    assert legend.count() == page.locator("figure.chart-box polyline").count() >= 4 and legend.first.is_visible()
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # wide tables scroll in their own box
    page.screenshot(path=str(SHOTS / "trend-390-top.png"))
    page.locator("ul.chart-legend").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "trend-390-hourly.png"))
    page.goto(f"/report?day={DAY.isoformat()}&lang=zh")
    page.locator("#trend").screenshot(path=str(SHOTS / "trend-390-14d-zh.png"))
    ctx.close()
