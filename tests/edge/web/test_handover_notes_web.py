"""Hand-over notes on the guard page (issue 17): the API refuses bad notes in zh-CN; in chromium on the real
checkpoint a guard hands over with a phrase and a typed note, and the next guard sees it right after signing in."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from central.console import shifts
from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge.checkpoint import Checkpoint
from edge.handover import NOTE_MAX
from edge.shifts import ShiftBook
from sync import client as sync_client
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings
from tests.edge.web.conftest import Server, shot
from tests.edge.web.test_api import post, sign_in
from tests.sync.helpers import Central, sync_settings

OUT = Path("/tmp/h11")


def test_the_api_refuses_a_bad_note_with_a_chinese_reason_and_keeps_the_shift(server, fake):
    sign_in(server)
    r = post(server, "/api/shift/end", {"note": "响铃\x07"})
    assert r.status_code == 422 and "控制字符" in r.json()["message_zh"] and fake.shift is not None
    r = post(server, "/api/shift/end", {"note": "长" * (NOTE_MAX + 1)})
    assert r.status_code == 422 and "太长" in r.json()["message_zh"] and fake.shift is not None
    assert post(server, "/api/shift/end", {"note": 5}).status_code == 422
    r = post(server, "/api/shift/end", {"note": " 体温计电量低 "})
    assert r.status_code == 200 and r.json()["note"] == "体温计电量低" and fake.shift is None
    fake.pins["1002"] = "1357"
    r = post(server, "/api/shift/start", {"guard_id": "1002", "pin": "1357"})
    assert r.json()["handover"]["note"] == "体温计电量低" and r.json()["handover"]["guard_id"] == "1001"


@pytest.fixture
def real(tmp_path, pty_thermometer):
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)}, voice={"enabled": False},
                             gate={"mode": "guarded", "name": "东门"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    ShiftBook(db).set_pin("1001", "246810")
    ShiftBook(db).set_pin("1002", "135790")
    db.conn.close()
    cp = Checkpoint(settings, frame_source=SimCamera(settings.camera), thermometer=Thermometer(settings.thermometer),
                    gate=FakeGate())
    cp.start()
    try:
        with Server(cp, settings) as srv:
            yield cp, srv
    finally:
        cp.stop()


def _sign_in(page, guard_id: str, pin: str) -> None:
    page.click("#btn-shift")
    page.fill("#in-guard", guard_id)
    page.fill("#in-pin", pin)
    page.click("#signin-ok")


def _save(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot(page, name), OUT / f"{name}.png")


def _fits(page, sel: str) -> None:
    box = page.locator(sel).bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= 800 and box["y"] + box["height"] <= 480, box


@pytest.mark.browser
def test_the_next_guard_sees_the_note_after_signing_in(page, real):
    cp, srv = real
    page.set_viewport_size({"width": 800, "height": 480})
    page.goto(srv.url + "/")
    page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
    _sign_in(page, "1001", "246810")
    page.wait_for_function("document.getElementById('shift-info').textContent.includes('1001')")
    page.click("#btn-shift")
    page.wait_for_selector("#dlg-summary:not([hidden])")
    _save(page, "handover-summary-with-note-button")
    _fits(page, "#dlg-summary .panel")
    page.click("#summary-note")
    page.wait_for_selector("#dlg-note:not([hidden])")
    page.click("#note-phrases button:has-text('3-2-401 隔离户需送菜')")
    page.fill("#note-text", page.input_value("#note-text") + "\n北侧路灯不亮\x07")
    page.click("#note-ok")
    page.wait_for_function("document.getElementById('note-msg').textContent.includes('控制字符')")
    assert cp.store.shifts.current() is not None  # refused: still on duty
    page.fill("#note-text", page.input_value("#note-text").replace("\x07", ""))
    assert page.inner_text("#note-msg") == ""
    page.click("#note-phrases button:has-text('体温计电量低')")
    _save(page, "handover-note-dialog")
    _fits(page, "#dlg-note .panel")
    page.click("#note-ok")
    page.wait_for_function("document.getElementById('summary-ok').textContent === '完成'")
    row = cp.store.locallog.db.execute("SELECT guard_id, extra FROM entries WHERE event = 'shift_end'").fetchone()
    assert row[0] == "1001"
    assert json.loads(row[1])["handover_note"] == "3-2-401 隔离户需送菜\n北侧路灯不亮\n体温计电量低"
    page.click("#summary-ok")

    _sign_in(page, "1002", "135790")
    page.wait_for_selector("#dlg-handover-in:not([hidden])")
    note = page.inner_text("#handover-in-note")
    assert note.splitlines() == ["3-2-401 隔离户需送菜", "北侧路灯不亮", "体温计电量低"]
    assert "1001" in page.inner_text("#handover-in-who") and "上一班交接事项" in page.inner_text("#dlg-handover-in h2")
    size = page.eval_on_selector("#handover-in-note", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 30  # big text
    _save(page, "handover-note-next-guard")
    _fits(page, "#dlg-handover-in .panel")
    page.click("#dlg-handover-in [data-close]")
    page.wait_for_selector("#dlg-handover-in", state="hidden")
    assert "1002" in page.inner_text("#shift-info")


def test_the_note_syncs_to_central_with_the_shift_summary(tmp_path, pty_thermometer):
    central = Central(tmp_path / "central").start_thread()
    token = central.add_device("pi-east", gate_id="east")
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)}, voice={"enabled": False},
                             gate={"mode": "guarded"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    ShiftBook(db).set_pin("1001", "246810")
    db.conn.close()
    client = sync_client.SyncClient(sync_settings(central.url, token, central.public_pem(), settings.data_dir))
    cp = Checkpoint(settings, frame_source=SimCamera(settings.camera), thermometer=Thermometer(settings.thermometer),
                    gate=FakeGate())
    cp.start()
    try:
        assert cp.start_shift("1001", "246810")
        cp.end_shift("3-2-401 隔离户需送菜\n东侧围挡松动已报修")
        for _ in range(10):
            if client.upload_once() == 0:
                break
        got = shifts.hand_overs(central.db, time.time() - 3600, time.time() + 60)
        note = "3-2-401 隔离户需送菜\n东侧围挡松动已报修"
        assert [(h.gate_id, h.guard_id, h.note) for h in got] == [("east", "1001", note)]
    finally:
        cp.stop()
        client.close()
        central.stop()
