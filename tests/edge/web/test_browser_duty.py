"""Issue 17 done-when, in chromium: two guards rostered for a gate at a real central; the PINs set at central
reach the gate through the signed lists; one guard signs in on the gate's guard page; after a sync central's
board shows them signed in and flags the other as absent. A PIN reset at central then ends the old PIN."""

from __future__ import annotations

import time

import pytest

from central import duty, people
from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge.checkpoint import Checkpoint
from sync import client as sync_client
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings
from tests.edge.web.conftest import Server, shot
from tests.sync.helpers import Central, sync_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _sign_in(page, guard_id: str, pin: str) -> None:
    page.click("#btn-shift")
    page.fill("#in-guard", guard_id)
    page.fill("#in-pin", pin)
    page.click("#signin-ok")


def test_a_guard_signs_in_on_the_page_and_the_board_shows_who_is_in_place(page, central, tmp_path,
                                                                          pty_thermometer):
    ids = {g: people.add(central.db, g, name, "", "watch") for g, name in (("2001", "王强"), ("2002", "李梅"))}
    people.set_pin(central.db, ids["2001"], "13572468")
    people.set_pin(central.db, ids["2002"], "24681357")
    token = central.add_device("pi-north", gate_id="north")
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)}, voice={"enabled": False},
                             gate={"mode": "guarded"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    open_db(settings.db_path).conn.close()
    client = sync_client.SyncClient(sync_settings(central.url, token, central.public_pem(), settings.data_dir))
    client.fetch_lists()
    duty.sync_gate_posts(central.db)
    post = next(p for p in duty.posts(central.db) if p.gate_id == "north")
    now = time.time()
    for guard_id in ("2001", "2002"):
        duty.add_slot(central.db, post.id, guard_id, now - 3600, now + 8 * 3600)
    cp = Checkpoint(settings, frame_source=SimCamera(settings.camera), thermometer=Thermometer(settings.thermometer),
                    gate=FakeGate())
    cp.start()
    try:
        with Server(cp, settings) as srv:
            page.goto(srv.url + "/")
            page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
            _sign_in(page, "2001", "13572468")
            page.wait_for_selector("#dlg-signin", state="hidden")
            page.wait_for_function("document.getElementById('shift-info').textContent.includes('2001')")
            shot(page, "60-duty-signed-in-with-central-pin")
            for _ in range(10):
                if client.upload_once() == 0:
                    break
            row = next(r for r in duty.board(central.db) if r.post.id == post.id)
            assert row.signed_in is not None and row.signed_in.guard_id == "2001"
            assert [s.guard_id for s in row.absent] == ["2002"] and not row.empty

            people.set_pin(central.db, ids["2002"], "97531864")  # reset at central
            client.fetch_lists()
            assert not cp.store.shifts.verify("2002", "24681357") and cp.store.shifts.verify("2002", "97531864")
    finally:
        cp.stop()
        client.close()
