"""Issue 19: central made whole again with its gates (``central.resync``): after a restore from an older backup
while the gates keep uploading, after a gate's log restarted (new SD card), with what a gate no longer retains,
and with a central older than the gate."""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import pytest
from starlette.responses import JSONResponse

from central import db as centraldb
from central import ingest
from sync import client as sync_client
from sync.devicedb import open_db as open_edge
from sync.locallog import LocalLog
from sync.protocol import ProtocolError, decode_upload, encode_upload

from .helpers import Central, device_rows, entry, fill, sync_settings, wait_until

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _client(central, tmp_path, device_id="gate-a", token=None, where=None, **over):
    token = token or central.add_device(device_id, community="c1")
    settings = sync_settings(central.url, token, central.public_pem(), tmp_path / (where or device_id), **over)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return sync_client.SyncClient(settings), token


def _drain(client) -> int:
    sent = 0
    while (n := client.upload_once()):
        sent += n
    return sent


def _backup(central, dest):
    from central import backup, backup_pg

    url = central.settings.database_url
    if url is not None:
        return backup_pg.backup(url.get_secret_value(), dest).path
    return backup.backup(central.settings.db_path, dest).path


def _restore(central, saved, save_dir):
    from central import backup, backup_pg

    url = central.settings.database_url
    if url is not None:
        backup_pg.restore(saved, url.get_secret_value(), save_dir)
    else:
        backup.restore(saved, central.settings.db_path)


class _Scanner:
    """A gate's checkpoint writing an entry every ``every`` s into its log while running (its own connection)."""

    def __init__(self, path, device_id: str, every: float = 0.02) -> None:
        self.path, self.device_id, self.every = path, device_id, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        db = open_edge(self.path)
        log = LocalLog(db)
        i = 0
        while not self.stop.wait(self.every):
            log.append(**entry(i, device_id=self.device_id))
            i += 1
        db.close()


def _held(central, device_id) -> int:
    return len(central.entries(device_id))


def test_central_restored_from_an_old_backup_while_gates_keep_uploading_ends_equal_to_the_gates(tmp_path):
    """Three gates scan and sync all along; central is backed up, receives more, is stopped and restored from the
    old backup (losing what it acknowledged since), and started again while the gates go on. In the end central
    holds every entry of every gate once (uuid and seq) and no gap alarm stays open."""
    central = Central(tmp_path / "central").start_process()
    gates = ("gate-a", "gate-b", "gate-c")
    settings = {g: _client(central, tmp_path, g, batch_rows=20, heartbeat_s=0.3)[0] for g in gates}
    for g, client in settings.items():
        settings[g] = client.settings
        client.close()
    scanners = {g: _Scanner(s.db_path, g) for g, s in settings.items()}
    stop = threading.Event()
    loops = [threading.Thread(target=sync_client.run, args=(s, stop), daemon=True) for s in settings.values()]
    try:
        for t in [*(s.thread for s in scanners.values()), *loops]:
            t.start()
        assert wait_until(lambda: all(_held(central, g) >= 30 for g in gates), 60)
        saved = _backup(central, tmp_path / "backups")
        at_backup = {g: _held(central, g) for g in gates}
        assert wait_until(lambda: all(_held(central, g) >= at_backup[g] + 40 for g in gates), 60)
        central.stop()
        central.db.close()
        _restore(central, saved, tmp_path / "saved")
        central.db = centraldb.open_db(central.settings.db_target)
        restored = {g: _held(central, g) for g in gates}
        assert all(restored[g] < at_backup[g] + 40 for g in gates), restored  # central lost what came after
        central.start_process()  # the gates kept scanning (and retrying) meanwhile
        assert wait_until(lambda: all(_held(central, g) >= at_backup[g] + 80 for g in gates), 60)
        for s in scanners.values():
            s.stop.set()
            s.thread.join(10)

        def whole() -> bool:
            return all(sorted(r[1:3] for r in central.entries(g)) == [r[1:3] for r in device_rows(s.db_path)]
                       for g, s in settings.items())

        assert wait_until(whole, 60)
        uuids = [r[0] for r in central.db.execute("SELECT uuid FROM entries").fetchall()]
        assert len(uuids) == len(set(uuids)) == sum(len(device_rows(s.db_path)) for s in settings.values())
        assert wait_until(lambda: all(d["open_gaps"] == [] for d in ingest.list_devices(central.db)), 30)
    finally:
        stop.set()
        for s in scanners.values():
            s.stop.set()
        for t in loops:
            t.join(10)
        central.stop()


def test_a_gate_whose_log_restarted_is_filed_after_its_old_entries_and_never_blocked(central, tmp_path):
    """A new SD card with the old token numbers its entries from 1 again: central files them after the 10 it
    holds (seq_offset 10), answers in the gate's numbering, keeps the old ones, and a second restart moves on."""
    old, token = _client(central, tmp_path)
    first = fill(old.settings.db_path, 10)
    assert _drain(old) == 10
    old.close()
    card, _ = _client(central, tmp_path, token=token, where="new-card")
    second = fill(card.settings.db_path, 4)
    assert _drain(card) == 4  # before: refused for ever ("central holds other entries under the numbers")
    assert all(r[3] == 1 for r in device_rows(card.settings.db_path))
    dev = ingest.list_devices(central.db)[0]
    assert dev["seq_offset"] == 10 and dev["log_reset_at"] is not None and dev["open_gaps"] == []
    assert dev["highest_contiguous_seq"] == 14
    assert [r[1:3] for r in central.entries("gate-a")] == (
        [(r["seq"], r["uuid"]) for r in first] + [(r["seq"] + 10, r["uuid"]) for r in second])
    fill(card.settings.db_path, 3, start=4)
    assert _drain(card) == 3 and [r[1] for r in central.entries("gate-a")][-3:] == [15, 16, 17]
    card.close()
    again, _ = _client(central, tmp_path, token=token, where="third-card")
    fill(again.settings.db_path, 2)
    assert _drain(again) == 2
    assert ingest.list_devices(central.db)[0]["seq_offset"] == 17 and _held(central, "gate-a") == 19
    assert again.upload_once() == 0  # nothing re-sent, nothing asked
    again.close()


def test_a_restarted_logs_priority_entries_sent_before_the_restart_was_noticed_find_their_place(central,
                                                                                                tmp_path):
    """The new card's first batch holds its priority entries 8 and 9 only, numbers the old log never reached:
    central stores them as they are. The next batch clashes (the restart is noticed: offset 9, the highest seq
    central holds); 8 and 9 are then asked again and moved to their place (17, 18): no gap stays open and nothing
    is asked for ever."""
    old, token = _client(central, tmp_path)
    fill(old.settings.db_path, 3)
    assert _drain(old) == 3
    old.close()
    card, _ = _client(central, tmp_path, token=token, where="new-card", batch_rows=2, drain_rows=2,
                      heartbeat_s=0.001)
    rows = [*fill(card.settings.db_path, 7), *fill(card.settings.db_path, 2, start=7, priority=True),
            *fill(card.settings.db_path, 1, start=9)]
    for _ in range(10):
        card.last_report_mono = float("-inf")  # a heartbeat is due (with uvloop a round trip can take under 1 ms)
        card.upload_once()
    assert LocalLog(card.db).backlog() == 0
    assert [r[1:3] for r in central.entries("gate-a")][3:] == [(r["seq"] + 9, r["uuid"]) for r in rows]
    dev = ingest.list_devices(central.db)[0]
    assert dev["seq_offset"] == 9 and dev["open_gaps"] == [] and dev["highest_contiguous_seq"] == 19
    assert card.upload_once() == 0 and LocalLog(card.db).backlog() == 0  # nothing asked again
    card.close()


def _lose_at_central(central, device_id: str, first: int, last: int) -> None:
    """What a restore from an older backup does to one device: entries first..last gone, contiguity back."""
    with centraldb.transaction(central.db):
        central.db.execute("DELETE FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ?",
                           [device_id, first, last])
        central.db.execute("UPDATE devices SET highest_contiguous_seq = ? WHERE device_id = ?",
                           [first - 1, device_id])


def test_what_the_gate_no_longer_retains_is_not_asked_again_and_stays_an_open_gap(central, tmp_path):
    client, token = _client(central, tmp_path, heartbeat_s=0.001)
    fill(client.settings.db_path, 20)
    assert _drain(client) == 20
    purged = LocalLog(client.db).purge(1, now=1_790_000_010.0 + 86400)  # entries 1..10 are past retention
    assert purged == 10 and client.report()["retained_from_seq"] == 11
    _lose_at_central(central, "gate-a", 5, 15)
    client.last_report_mono = float("-inf")  # a heartbeat is due (with uvloop a round trip can take under 1 ms)
    assert client.upload_once() == 0  # a heartbeat: central asks for 11..15 only, the gate marks them again
    assert LocalLog(client.db).backlog() == 5
    assert _drain(client) == 5
    assert [r[1] for r in central.entries("gate-a")] == [1, 2, 3, 4, *range(11, 21)]
    assert ingest.list_devices(central.db)[0]["open_gaps"] == [[5, 10]]  # lost for good: shown as lost
    body = encode_upload("beat-0001", [], client.report())
    reply = client.http.post("api/v1/upload", content=body, headers={"Content-Encoding": "gzip"}).json()
    assert reply["open_gaps"] == []  # before: [[5, 10]] with every reply, for ever
    client.close()


def test_a_resent_entry_whose_visitor_details_were_erased_leaves_centrals_copy_whole(central, tmp_path):
    client, _ = _client(central, tmp_path)
    rows = fill(client.settings.db_path, 3, extra={"name": "张三", "phone": "13800000000"})
    assert _drain(client) == 3
    assert LocalLog(client.db).erase_synced_personal_data() == 3
    _lose_at_central(central, "gate-a", 2, 2)
    assert LocalLog(client.db).resend([(1, 3)]) == 3  # all three go again, without their details
    assert _drain(client) == 3
    got = central.db.execute("SELECT seq, uuid, extra, extra_hash FROM entries ORDER BY seq").fetchall()
    assert [g[:2] for g in got] == [(r["seq"], r["uuid"]) for r in rows]
    assert got[0][2] == rows[0]["extra"] and got[2][2] == rows[2]["extra"]  # central's copies kept whole
    assert got[1][2] is None and got[1][3] == rows[1]["extra_hash"]  # the lost one is back, its details not
    client.close()


def _central_without_retained_from(app: Any) -> Any:
    """Central's app behind the report check an older central had: ``retained_from_seq`` refused with 422."""

    async def older(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/v1/upload":
            await app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        if "retained_from_seq" in json.loads(gzip.decompress(raw))["report"]:
            detail = "upload field report.retained_from_seq: Extra inputs are not permitted (1 problem(s))"
            await JSONResponse({"detail": detail}, status_code=422)(scope, receive, send)
            return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await app(scope, replay, send)

    return older


def test_a_gate_newer_than_central_leaves_the_new_report_field_out(tmp_path, caplog):
    central = Central(tmp_path / "central").start_thread(wrap=_central_without_retained_from)
    try:
        client, _ = _client(central, tmp_path)
        fill(client.settings.db_path, 3)
        assert client.upload_once() == 3 and not client.report_retained
        assert "retained_from_seq" not in client.report()
        assert "older central" in caplog.text
        client.close()
    finally:
        central.stop()


def test_a_report_retaining_less_than_it_has_pending_is_refused():
    report = {"boot_id": "b", "mono_now": 1.0, "wall_now": 1_790_000_000.0, "list_version": 0, "backlog": 1,
              "last_seq": 5, "pending_min_seq": 3, "software_version": "t"}
    decode_upload(encode_upload("batch-0001", [], {**report, "retained_from_seq": 3}), "gzip")
    with pytest.raises(ProtocolError, match="retained_from_seq"):
        decode_upload(encode_upload("batch-0001", [], {**report, "retained_from_seq": 4}), "gzip")
