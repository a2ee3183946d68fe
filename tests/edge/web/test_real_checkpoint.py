"""The guard page on the real :class:`edge.checkpoint.Checkpoint`: simulated camera, thermometer on a real pty."""

from __future__ import annotations

import sqlite3

import pytest

from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge import lists
from edge.checkpoint import Checkpoint
from edge.db import open_db
from edge.shifts import hash_pin
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.edge.web.conftest import Server, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def real(tmp_path, key, pty_thermometer):
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)},
                             guards={"pins": {"1001": hash_pin("2468")}}, voice={"enabled": False},
                             screen={"result_hold_s": 30})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key, extra=[{"op": "revoke", "pass_id": 77, "reason": "lost"}]))
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
    page.fill("#in-pin", "2468")
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
