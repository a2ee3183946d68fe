"""A gate not enrolled yet, in Debian's chromium at 800x480: its guard screen shows the enrolment code and a QR
of central's approve URL (decoded from the screenshot with zxing-cpp), a new code by itself when the old one
expires, a plain-words retry when central is unreachable, and no guard action works until it is enrolled.
Screenshots under /tmp/gatepass-shots/."""

from __future__ import annotations

import dataclasses
import json
import stat
import threading
import time

import cv2
import httpx
import pytest
import zxingcpp

from edge.enrol import EnrolClient, Enroller, EnrolPaths, ScreenState, install_result, screen_writer, write_screen
from gatepass.clock import ManualClock
from sync.enrolment import key_fingerprint
from tests.edge.enrol_helpers import PUBLIC_URL, approve, start_central
from tests.edge.web.conftest import Server, settings_for, shot
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollHeight <= 480 && document.documentElement.scrollWidth <= 800")


def qr_text(path) -> str:
    found = zxingcpp.read_barcodes(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    assert len(found) == 1, found
    return found[0].text


def _starting(data_dir) -> None:
    """What `gatepass edge install` leaves without a token (edge/install.py)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    state = ScreenState(status="starting", message_zh="本设备尚未接入，正在向中心服务器申请接入码…",
                        message_en="This gate is not enrolled yet; asking central for an enrolment code...")
    (data_dir / "enrolment.json").write_text(json.dumps(dataclasses.asdict(state), ensure_ascii=False))


def _shown_code(page, code: str) -> None:
    page.wait_for_function(f"document.getElementById('code').textContent === '{code}' && "
                           "document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0",
                           timeout=15000)


def test_guard_screen_shows_code_and_qr_renews_it_and_opens_after_enrolment(page, tmp_path, fake):
    settings = settings_for(tmp_path)
    _starting(settings.data_dir)
    clock = ManualClock(wall=time.time())
    central = start_central(tmp_path / "central", clock=clock)
    paths = EnrolPaths(tmp_path / "etc", settings.data_dir, tmp_path / "etc/enrolled.toml")
    client = EnrolClient(central.url)
    codes: list[str] = []
    write = screen_writer(paths)

    def show(state: ScreenState) -> None:
        write(state)
        if state.code and state.code not in codes:
            codes.append(state.code)

    enroller = Enroller(client, paths, show, clock=clock, stop=threading.Event())
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(done=enroller.run()), daemon=True)
    try:
        with Server(fake, settings) as srv:
            srv.app.state.enrolment_clock = clock
            # no guard action, no data before enrolment: the page is the enrolment screen
            for method, path in (("POST", "/api/sign-in"), ("GET", "/status"), ("GET", "/events")):
                r = httpx.request(method, srv.url + path, json={}, timeout=5)
                assert r.status_code == 503 and r.json()["error"] == "not_enrolled", (path, r.text)
                assert "尚未接入" in r.json()["message_zh"]
            page.goto(srv.url + "/")
            assert page.url.endswith("/enrol")
            assert "正在向中心服务器申请接入码" in page.inner_text("#message")
            thread.start()
            assert wait_until(lambda: codes, 20)
            _shown_code(page, codes[0])
            assert fits_the_screen(page)
            assert "剩余 29:" in page.inner_text("#left") or "剩余 30:" in page.inner_text("#left")
            assert page.evaluate("getComputedStyle(document.getElementById('code')).fontSize") == "60px"
            first = shot(page, "60-enrol-code")
            assert qr_text(first) == f"{PUBLIC_URL}/devices/enrol?code={codes[0]}"
            assert srv.app.state.page.token not in page.content()

            clock.advance(31 * 60)  # the code expires at central: a new one appears by itself
            assert wait_until(lambda: len(codes) == 2, 20)
            _shown_code(page, codes[1])
            assert qr_text(shot(page, "61-enrol-new-code")) == f"{PUBLIC_URL}/devices/enrol?code={codes[1]}"

            device_id = approve(central, codes[1], now=clock.time())
            thread.join(20)
            offer, approved = result["done"]
            assert approved.device_id == device_id
            install_result(paths, offer, approved, clock.time())
            write_screen(paths, ScreenState(status="approved", fingerprint=approved.central_key_fingerprint,
                                            message_zh="已接入：东门。正在启动，请稍候…",
                                            message_en="Enrolled as 东门. Starting, please wait...",
                                            updated_at=time.time()))
            page.wait_for_function("document.getElementById('enrol').dataset.status === 'approved'", timeout=10000)
            assert page.inner_text("#fingerprint") == key_fingerprint(central.public_pem())
            assert fits_the_screen(page)
            shot(page, "62-enrol-approved")
            assert httpx.post(srv.url + "/api/sign-in", json={}).status_code == 503  # still closed until restart
        # the services restart with their token: the page is the guard page again
        time.sleep(0.01)
        with Server(fake, settings) as srv:
            page.goto(srv.url + "/enrol")
            assert not page.url.endswith("/enrol")
            assert httpx.get(srv.url + "/enrol/state").json() == {"status": "done"}
            assert httpx.post(srv.url + "/api/sign-in", json={}).status_code != 503
    finally:
        enroller.stop.set()
        client.close()
        central.stop()


def test_central_unreachable_is_said_on_screen_in_plain_words(page, tmp_path, fake):
    settings = settings_for(tmp_path)
    paths = EnrolPaths(tmp_path / "etc", settings.data_dir, tmp_path / "etc/enrolled.toml")
    write_screen(paths, ScreenState(status="waiting", code="ABCD-2345", expires_at=time.time() + 600,
                                    approve_url=f"{PUBLIC_URL}/devices/enrol?code=ABCD-2345",
                                    message_zh="请工作人员在管理后台输入此接入码或扫描二维码，批准本设备接入。",
                                    message_en="Staff: enter this code in the console (or scan the QR)."))
    with Server(fake, settings) as srv:
        page.goto(srv.url + "/")
        _shown_code(page, "ABCD-2345")
        # what edge.enrol.Enroller writes when central does not answer
        write_screen(paths, ScreenState(status="unreachable", code="ABCD-2345", expires_at=time.time() + 600,
                                        approve_url=f"{PUBLIC_URL}/devices/enrol?code=ABCD-2345",
                                        message_zh="暂时连不上中心服务器，20 秒后自动重试。请检查网线或网络。",
                                        message_en="Cannot reach central right now; retrying by itself in 20 s."))
        page.wait_for_function("document.getElementById('message').textContent.includes('连不上中心服务器')",
                               timeout=10000)
        assert "Cannot reach central" in page.inner_text("#message-en")
        assert fits_the_screen(page)
        assert qr_text(shot(page, "63-enrol-unreachable")).endswith("code=ABCD-2345")


def test_the_cli_enrols_through_the_console_in_chromium(browser, tmp_path):
    """`gatepass edge enroll` against a real central; an administrator opens the printed approve URL (the QR's
    link) in chromium, signs in and approves; the CLI writes the files and shows the fingerprint the console shows."""
    from tests.central.console.conftest import PASSWORDS, stop_central
    from tests.central.console.conftest import start_central as start_console_central
    from tests.edge.enrol_helpers import Cli, gate_config

    central = start_console_central(tmp_path / "c", seed_data=False)
    central.settings.public_url = central.url  # the app reads this settings object
    try:
        config = gate_config(tmp_path / "gate")
        cli = Cli("--central", central.url, "--config", str(config))
        code = cli.wait_code()
        approve_url = next(line.split("approve at:")[1].strip() for line in cli.lines if "approve at:" in line)
        assert approve_url == f"{central.url}/devices/enrol?code={code}"
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(approve_url)
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORDS["admin"])
        page.click("button[type=submit]")
        page.wait_for_selector("#enrol-approve")
        page.fill("input[name=community]", "丽景苑")
        page.fill("input[name=gate_id]", "north")
        page.fill("input[name=gate_name]", "北门")
        page.select_option("select[name=direction]", "in")
        page.click("#enrol-approve button[type=submit]")
        page.wait_for_selector("#enrol-approved")
        fingerprint = page.inner_text("#enrol-approved .fingerprint").strip()
        ctx.close()
        assert cli.wait() == 0, cli.text
        assert fingerprint and fingerprint in cli.text
        etc = config.parent
        assert stat.S_IMODE((etc / "credentials/device-token").stat().st_mode) == 0o600
        from edge.settings import EdgeSettings
        from gatepass.config import load_settings

        edge = load_settings(EdgeSettings, config)
        gate = (edge.gate.id, edge.gate.name, edge.gate.community, edge.gate.direction)
        assert gate == ("north", "北门", "丽景苑", "in")
    finally:
        stop_central(central)
