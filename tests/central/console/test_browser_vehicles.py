"""The vehicle ledger in Debian's chromium (zh-CN) at 1366x768 and on a 390x844 phone: the menu keeps one line, the
ledger fits; screenshots in /tmp/h24/ for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.central.console.conftest import PASSWORDS
from tests.central.console.test_browser import ARGS, browser  # noqa: F401 - the browser fixture
from tests.central.console.test_vehicle_ledger import DAY, cars  # noqa: F401 - the vehicles fixture

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/h24")


def _page(browser, central, width: int, height: int, role: str = "staff"):  # noqa: F811
    ctx = browser.new_context(base_url=central.url, viewport={"width": width, "height": height}, locale="zh-CN",
                              is_mobile=width < 500, device_scale_factor=2 if width < 500 else 1)
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    return ctx, page


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_the_vehicle_ledger_on_a_desktop_and_a_phone(browser, central, cars, width, height):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page = _page(browser, central, width, height)
    try:
        page.goto(f"/vehicles?day_from={DAY}")
        assert "京AD12345" in page.inner_text("#vehicles") and "沪B12345" in page.inner_text("#inside")
        page.screenshot(path=str(SHOTS / f"vehicles-{width}.png"), full_page=True)
        if width > 1000:
            tops = page.evaluate("[...document.querySelectorAll('#menu > a, #menu > details > summary')]"
                                 ".map(e => Math.round(e.getBoundingClientRect().top))")
            assert len(set(tops)) == 1, tops  # the menu on one line
        page.goto(f"/trace?kind=pass_id&value=501&since={DAY}T00:00&until={DAY}T23:59&minutes=15")
        assert "刘师傅" in page.inner_text("#people")
        page.screenshot(path=str(SHOTS / f"trace-driver-{width}.png"), full_page=True)
    finally:
        ctx.close()
