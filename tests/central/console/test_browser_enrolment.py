"""接入新设备 through Debian's chromium (zh-CN): an administrator approves a gate's code on a desktop (1366×768),
and on a phone (390×844) opens the link of the gate's QR code, signs in and approves a new SD card that replaces
the gate's old device. The gate then gets its token and key once, the token works, the second poll gets 410.

Screenshots go to /tmp/gatepass-console-shots/ for a person to look at.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import expect

from sync import enrolment as wire
from sync.protocol import encode_upload
from tests.central.console.conftest import PASSWORDS
from tests.central.console.data import entry
from tests.central.console.test_browser import SHOTS, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _gate_request(central, **over) -> tuple[str, str]:
    secret = wire.new_secret()
    body = {"claim": wire.claim_of(secret), "hostname": "gatepi-east", "software_version": "0.4.0",
            "previous_device_id": None, **over}
    r = httpx.post(central.url + wire.CREATE_PATH, json=body, timeout=30)
    assert r.status_code == 201, r.text
    return secret, r.json()["code"]


def _poll(central, secret: str) -> httpx.Response:
    return httpx.post(central.url + wire.POLL_PATH, json={"secret": secret}, timeout=30)


def _heartbeat(central, token: str, device_id: str, gate_id: str) -> httpx.Response:
    import time

    rows = [entry(1, device_id, gate_id, time.time())]
    report = {"boot_id": "b", "mono_now": 10.0, "wall_now": time.time(), "list_version": 0, "backlog": 0,
              "last_seq": 1, "pending_min_seq": 2, "software_version": "0.4.0"}
    return httpx.post(central.url + "/api/v1/upload", content=encode_upload(uuid.uuid4().hex, rows, report),
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}, timeout=30)


def _sign_in(page, central) -> None:
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button[type=submit]")


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_desktop_enter_the_code_and_approve(browser, central):  # noqa: F811
    secret, code = _gate_request(central)
    ctx = browser.new_context(base_url=central.url, viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    page.goto("/login")
    _sign_in(page, central)
    page.wait_for_url(central.url + "/")
    page.goto("/devices")
    page.click("#enrol-link")
    expect(page.locator("h1")).to_have_text("接入新设备")
    expect(page.locator("#enrol-pending")).to_contain_text(code)
    page.fill("#enrol-code input[name=code]", code.lower())  # as typed on a phone keyboard
    page.click("#enrol-code button[type=submit]")
    expect(page.locator("#enrol-request")).to_contain_text("gatepi-east")
    expect(page.locator("#enrol-request")).to_contain_text("分钟")
    page.fill("input[name=community]", "Garden")
    page.fill("input[name=gate_id]", "gate-w")
    page.fill("input[name=gate_name]", "西门")
    page.select_option("select[name=direction]", "in")
    shot = SHOTS / "enrol-desktop-form.png"
    page.screenshot(path=str(shot), full_page=True)
    assert _poll(central, secret).json()["status"] == "pending"
    page.click("#enrol-approve button[type=submit]")
    expect(page.locator("#enrol-approved")).to_contain_text("gate-w")
    page.screenshot(path=str(SHOTS / "enrol-desktop-approved.png"), full_page=True)
    fingerprint = page.inner_text("#enrol-approved .fingerprint")

    r = _poll(central, secret)
    got = wire.read_poll_reply(r.json())
    assert isinstance(got, wire.PollApproved) and got.device_id == "gate-w" and got.gate.gate_name == "西门"
    assert got.central_key_fingerprint == fingerprint
    assert _heartbeat(central, got.token, "gate-w", "gate-w").status_code == 200
    assert _poll(central, secret).status_code == 410
    ctx.close()


def test_phone_opens_the_qr_link_and_approves_a_new_sd_card(browser, central):  # noqa: F811
    secret, code = _gate_request(central, previous_device_id="dev-s")
    ctx = browser.new_context(base_url=central.url, viewport=PHONE, locale="zh-CN", is_mobile=True,
                              has_touch=True, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(f"/devices/enrol?code={code}")  # the QR code's link: sign in first, then back here
    _sign_in(page, central)
    expect(page.locator("#enrol-request .code")).to_have_text(code)
    # the gate named its previous device: its gate, name and the replacement are filled in
    expect(page.locator("input[name=gate_id]")).to_have_value("south")
    expect(page.locator("select[name=replaces]")).to_have_value("dev-s")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "enrol-phone-form.png"), full_page=True)
    page.fill("input[name=gate_name]", "南门")
    page.click("#enrol-approve button[type=submit]")
    expect(page.locator("#enrol-approved")).to_contain_text("south")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "enrol-phone-approved.png"), full_page=True)
    got = wire.read_poll_reply(_poll(central, secret).json())
    assert isinstance(got, wire.PollApproved) and got.device_id == "south" and got.gate.gate_id == "south"
    assert _heartbeat(central, got.token, "south", "south").status_code == 200
    rows = list(central.db.query("SELECT DISTINCT device_id FROM entries WHERE gate_id = 'south'"))
    assert {r["device_id"] for r in rows} == {"dev-s", "south"}  # the gate's history goes on under its id
    ctx.close()

    ctx = browser.new_context(base_url=central.url, viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    page.goto("/login?next=/devices")
    _sign_in(page, central)
    page.wait_for_url(central.url + "/devices")
    expect(page.locator("#devices")).to_contain_text("替换了 dev-s")
    expect(page.locator("#devices")).to_contain_text("已被替换为 south")
    page.screenshot(path=str(SHOTS / "enrol-devices.png"), full_page=True)
    ctx.close()
