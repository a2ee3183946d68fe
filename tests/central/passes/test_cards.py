"""Printable cards: rendered by Debian's chromium, the printed QR scans back and verifies."""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import time

import cv2
import pytest
import zxingcpp

from central.db import open_db
from central.passes import changelog, issuance
from central.passes.cards import render_cards
from gatepass.sqlitedb import connect
from sync import lists as edge_lists
from sync.passes import GateContext, Now, verify

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
SCREENSHOT = "/tmp/gatepass-cards.png"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")]


@pytest.fixture
def issued(tmp_path, central_url):
    db = open_db(central_url)
    kinds = ["resident", "resident", "temporary", "visitor", "staff", "delivery", "resident", "resident", "resident"]
    passes = [issuance.issue(db, tmp_path / "data", household=f"3-2-40{i}", person=i % 3, kind=kind, days=30,
                             gates=("north",) if kind == "visitor" else None, name="张三" if i == 0 else "")
              for i, kind in enumerate(kinds)]
    yield db, passes
    db.close()


def test_card_sheet_prints_on_a4_and_its_qr_codes_scan_and_verify(tmp_path, issued):
    from playwright.sync_api import sync_playwright

    db, passes = issued
    html = tmp_path / "cards.html"
    html.write_text(render_cards(passes), encoding="utf-8")
    def render() -> bytes:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 794, "height": 1123}, device_scale_factor=2)
                page.goto(html.as_uri())
                assert page.locator("article.card").count() == 9
                assert page.locator("section.sheet").count() == 2
                page.screenshot(path=SCREENSHOT, full_page=False)
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()

    # In its own thread: another test module may hold a session-wide Playwright (an asyncio loop) here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pdf = pool.submit(render).result(timeout=120)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 2  # 9 cards: two A4 pages when printed

    image = cv2.imread(SCREENSHOT)
    found = {r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode}
    first_page = {p.text for p in passes[:8]}
    assert found == first_page  # all eight QR codes of page 1 scan back exactly

    edb = connect(tmp_path / "edge.db")
    edge_lists.migrate(edb)
    edge_lists.apply_page(edb, changelog.snapshot(db))
    trust, lists, _, _ = edge_lists.load(edb)
    gate, now = GateContext("north", "in"), Now(time.time(), True)
    assert all(verify(text, trust, lists, gate, now).ok for text in found)
    edb.close()
