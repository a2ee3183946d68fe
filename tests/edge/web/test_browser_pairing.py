"""Pairing a screen, in Debian's chromium at 800x480 (screenshots under /tmp/gatepass-shots/).

``[guard_page] local_kiosk = false`` makes chromium on loopback a browser from elsewhere: it sees the plain
pairing page (no data), a wrong code is refused in words, the code from ``gatepass edge kiosk pair`` pairs it and
the guard page then works; once unpaired it is back to the pairing page.
"""

from __future__ import annotations

import pytest

from edge.kiosk import KioskPairings
from tests.edge.web.conftest import Server, settings_for, shot
from tests.edge.web.fakes import make_outcome

pytestmark = pytest.mark.browser


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollHeight <= 480 && document.documentElement.scrollWidth <= 800")


def test_an_unpaired_screen_pairs_with_the_code_and_then_shows_the_gate(page, tmp_path, fake):
    fake.publish(make_outcome(1, household="3-2-101"))
    with Server(fake, settings_for(tmp_path, guard_page={"local_kiosk": False})) as srv:
        page.goto(srv.url + "/")
        assert page.locator("h1").inner_text() == "此屏幕尚未配对"
        assert "3-2-101" not in page.content() and srv.app.state.page.token not in page.content()
        assert fits_the_screen(page)
        shot(page, "30-unpaired")

        page.fill("#code", "1234 5678")
        page.click("button[type=submit]")
        page.wait_for_selector("#pair-error")
        assert "配对码无效或已过期" in page.inner_text("#pair-error") and fits_the_screen(page)
        shot(page, "31-pairing-wrong-code")

        pairings = KioskPairings(srv.settings.db_path)
        code = pairings.new_code()
        page.fill("#code", f"{code[:4]} {code[4:]}")
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('sync-info') && "
                               "document.getElementById('sync-info').textContent.length > 0")
        page.wait_for_function("document.getElementById('result').dataset.state === 'pass'")
        shot(page, "32-paired-guard-page")
        assert pairings.unpair() == 1  # gatepass edge kiosk unpair --all: the open page clears itself
        pairings.close()
        page.wait_for_function("document.querySelector('h1') && "
                               "document.querySelector('h1').textContent === '此屏幕尚未配对'", timeout=10000)
        assert "3-2-101" not in page.content()
