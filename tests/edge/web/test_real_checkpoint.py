"""The guard page on the real :class:`edge.checkpoint.Checkpoint`: simulated camera, thermometer on a real pty."""

from __future__ import annotations

import sqlite3

import pytest

from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge.checkpoint import Checkpoint
from edge.dedupe import Seen
from edge.shifts import ShiftBook
from sync import lists
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.edge.web.conftest import Server, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def real(request, tmp_path, key, pty_thermometer):
    gate = getattr(request, "param", {})
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)},
                             voice={"enabled": False},
                             screen={"result_hold_s": 30}, gate=gate)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key, extra=[{"op": "revoke", "pass_id": 77, "reason": "lost"}]))
    ShiftBook(db).set_pin("1001", "246810")
    db.conn.close()
    camera = SimCamera(settings.camera)
    cp = Checkpoint(settings, frame_source=camera, thermometer=Thermometer(settings.thermometer), gate=FakeGate())
    cp.start()
    try:
        with Server(cp, settings) as srv:
            yield cp, camera, pty_thermometer, srv
    finally:
        cp.stop()


def test_real_scans_show_on_the_page_and_the_guard_override_is_logged(page, real, key):
    cp, camera, therm, srv = real
    page.goto(srv.url + "/")
    page.wait_for_function("document.getElementById('preview').src.startsWith('blob:')", timeout=10000)

    therm.temperature = 36.4
    camera.present(make_pass(key), seconds=0.5)
    page.wait_for_function("document.getElementById('result').dataset.state === 'pass'", timeout=15000)
    assert page.inner_text("#headline") == "请通行" and "36." in page.inner_text("#temp")
    shot(page, "20-real-checkpoint-pass")

    camera.present(make_pass(key, pass_id=77), seconds=0.5)
    page.wait_for_function("document.getElementById('result').dataset.state === 'refuse'", timeout=15000)
    assert "注销" in page.inner_text("#reason")
    shot(page, "21-real-checkpoint-revoked")

    page.click("#btn-override")
    page.fill("#in-guard", "1001")
    page.fill("#in-pin", "246810")
    page.click("#signin-ok")
    page.wait_for_selector("#dlg-override:not([hidden])")
    page.click("[data-reason='staff']")
    page.click("#override-ok")
    page.wait_for_selector("#dlg-override", state="hidden")
    page.wait_for_function("document.getElementById('headline').textContent === '保安放行'", timeout=10000)

    conn = sqlite3.connect(cp.settings.db_path)
    try:
        row = conn.execute("SELECT event, decision, guard_id, override_reason FROM entries "
                           "ORDER BY seq DESC").fetchone()
    finally:
        conn.close()
    assert row == ("override", "pass", "1001", "staff")


def _entries(cp: Checkpoint) -> list[tuple]:
    conn = sqlite3.connect(cp.settings.db_path)
    try:
        return conn.execute("SELECT decision, direction, guard_id FROM entries ORDER BY seq").fetchall()
    finally:
        conn.close()


def test_a_real_rescan_shows_a_notice_and_logs_nothing(page, real, key):
    cp, camera, therm, srv = real
    page.goto(srv.url + "/")
    page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
    therm.temperature = 36.4
    text = make_pass(key, pass_id=1201)
    camera.present(text, seconds=0.5)
    page.wait_for_function("document.getElementById('result').dataset.state === 'pass'", timeout=15000)
    page.wait_for_timeout(1000)  # the pass has left the view
    camera.present(text, seconds=0.5)  # shown again within the cooldown
    page.wait_for_function("document.getElementById('result').dataset.state === 'notice'", timeout=15000)
    assert page.inner_text("#headline") == "已登记，请通行" and "已记录 · 通行" in page.inner_text("#reason")
    shot(page, "35-real-rescan-notice")
    assert _entries(cp) == [("pass", "in", None)]
    assert [on for _, on in cp.gate.history].count(True) == 1  # the gate opened once only
    assert cp.submit_text(text) in (Seen.IGNORED, Seen.SAME)  # still within the cooldown: never decided again


@pytest.mark.parametrize("real", [{"direction": "both"}], indirect=True)
def test_the_guard_sets_the_direction_on_a_real_both_gate(page, real, key):
    cp, camera, therm, srv = real
    page.goto(srv.url + "/")
    page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
    assert not page.is_enabled("#dir-control [data-dir='out']")
    page.click("#btn-shift")
    page.fill("#in-guard", "1001")
    page.fill("#in-pin", "246810")
    page.click("#signin-ok")
    page.wait_for_selector("#dlg-signin", state="hidden")
    page.click("#dir-control [data-dir='out']")
    page.wait_for_function("document.getElementById('dir-now').textContent === '方向：出'")
    assert cp.status()["gate"]["chosen_direction"] == "out"
    therm.temperature = 36.4
    camera.present(make_pass(key, pass_id=1202), seconds=0.5)
    page.wait_for_function("document.getElementById('result').dataset.state === 'pass'", timeout=15000)
    assert _entries(cp) == [("info", "both", "1001"), ("pass", "out", "1001")]  # the sign-in, then the pass
    page.reload()
    page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'out'", timeout=5000)
    page.click("#btn-shift")
    page.click("#summary-ok")
    page.wait_for_function("document.getElementById('summary-ok').textContent === '完成'")
    page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'auto'", timeout=5000)
    assert cp.status()["gate"]["chosen_direction"] is None
