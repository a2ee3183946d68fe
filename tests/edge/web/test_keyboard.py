"""The on-screen keyboard of the guard page (keyboard.js) in chromium at 800x480: pinyin with candidates and pages,
the digit pad and the plate keyboard, typed by taps only; the physical keyboard still types."""

from __future__ import annotations

import pytest

from tests.edge.web.conftest import shot
from tests.edge.web.test_browser import open_page, sign_in

pytestmark = pytest.mark.browser


def open_visitor(page, server):
    open_page(page, server)
    sign_in(page)
    page.click("#btn-visitor")
    page.wait_for_selector("#dlg-visitor:not([hidden])")
    page.wait_for_selector("#kb:not([hidden])")


def tap_keys(page, text: str) -> None:
    for ch in text:
        page.click(f"#kb button.kb-key[data-k='t:{ch}']")


def candidates(page) -> list[str]:
    return page.locator("#kb button.kb-cand:not(.kb-blank)").all_inner_texts()


def test_explore(page, server):
    open_visitor(page, server)
    tap_keys(page, "zhang")
    shot(page, "kb-zhang")
    print(candidates(page))
