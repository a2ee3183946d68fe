"""An attacker between the gate and central (issue 18 item 5): upload replies are not signed, so nothing in one
may move the gate's time or mark rows synced that were not in the batch.

The attacker is a transport that rewrites central's real replies on their way to the gate (what a forged or
man-in-the-middle reply looks like to the client); central itself is a real server on loopback.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from central.passes import issuance
from sync import client as sync_client
from sync import lists as edge_lists
from sync.passes import DEFAULT_CLOCK_FLOOR, GateContext, effective_now, verify
from sync.timekeeping import best_now

from .helpers import Central, device_rows, fill, sync_settings

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL

YEAR_2100 = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


class RewritingTransport(httpx.BaseTransport):
    """Passes requests to the real central and rewrites the JSON of upload replies with ``forge``."""

    def __init__(self, forge: dict) -> None:
        self.inner = httpx.HTTPTransport()
        self.forge = forge
        self.forged = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        if request.url.path != "/api/v1/upload":
            return resp
        resp.read()
        body = {**resp.json(), **self.forge}
        self.forged += 1
        return httpx.Response(resp.status_code, json=body)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _client(central, tmp_path, forge: dict, **over) -> tuple[sync_client.SyncClient, RewritingTransport]:
    token = central.add_device("gate-a", community="c1")
    settings = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev", **over)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    transport = RewritingTransport(forge)
    return sync_client.SyncClient(settings, transport=transport), transport


def test_a_forged_server_time_of_2100_moves_nothing_and_genuine_passes_stay_valid(central, tmp_path):
    issued = issuance.issue(central.db, central.data_dir, household="3-2-401", person=1, kind="resident", days=1)
    client, transport = _client(central, tmp_path, {"server_time": YEAR_2100})
    client.fetch_lists()  # the gate holds central's trust keys and a signed time
    floor_before = edge_lists.meta(client.db).server_time
    fill(client.settings.db_path, 3)
    assert client.upload_once() == 3 and transport.forged == 1
    held = edge_lists.meta(client.db)
    assert held.server_time == floor_before and held.server_time < time.time() + 60  # the floor did not move
    client.fetch_lists()  # a later genuine page is not taken for a replay of an "expired" one
    trust, lists, _, held = edge_lists.load(client.db)
    gate = GateContext("g1", "in")
    # after a reboot (no anchor in this boot) the gate verifies by its clock and the floor: both still today
    now = best_now(time.time(), time.monotonic(), "another-boot", None, held.server_time, DEFAULT_CLOCK_FLOOR)
    assert now.trusted and verify(issued.text, trust, lists, gate, now).code == "ok"
    assert verify(issued.text, trust, lists, gate, effective_now(time.time(), held.server_time)).code == "ok"
    client.close()


def test_a_reply_claiming_more_than_the_batch_marks_only_the_batch_synced(central, tmp_path):
    client, _ = _client(central, tmp_path, {"held": [[1, 10**18]]}, batch_rows=3, drain_rows=3)
    fill(client.settings.db_path, 10)
    started = time.monotonic()
    assert client.upload_once() == 3
    assert time.monotonic() - started < 5  # a range of 10^18 seqs is never expanded
    assert [r[1] for r in device_rows(client.settings.db_path) if r[3] == 1] == [1, 2, 3]
    assert [r[1] for r in central.entries()] == [1, 2, 3]
    while client.upload_once():  # the other rows still go, each in its own batch
        pass
    assert [r[1] for r in central.entries()] == list(range(1, 11))
    client.close()


def test_a_reply_with_malformed_held_ranges_marks_nothing(central, tmp_path):
    client, _ = _client(central, tmp_path, {"held": [[3, 1], "x"]})
    fill(client.settings.db_path, 2)
    with pytest.raises(sync_client.TransientSyncError, match="malformed"):
        client.upload_once()
    assert all(r[3] == 0 for r in device_rows(client.settings.db_path))
    client.close()
