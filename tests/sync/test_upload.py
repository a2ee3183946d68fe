"""Upload end to end against a real central server on loopback: exactly once, priority, auth, gaps."""

from __future__ import annotations

import gzip
import json
import threading
import uuid

import httpx
import pytest

from central import db as centraldb
from central import ingest
from sync import client as sync_client
from sync import messages, state
from sync.devicedb import open_db as open_edge
from sync.locallog import LocalLog
from sync.protocol import encode_upload
from sync.timekeeping import Anchor

from .helpers import Central, device_rows, entry, fill, sync_settings, wait_until

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _client(central, tmp_path, device_id="gate-a", **over):
    token = central.add_device(device_id, community="c1")
    settings = sync_settings(central.url, token, central.public_pem(), tmp_path / device_id, **over)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return sync_client.SyncClient(settings), token


def _report(**over):
    base = {"boot_id": "b", "mono_now": 1.0, "wall_now": 1_790_000_000.0, "list_version": 0, "backlog": 1,
            "last_seq": 1, "pending_min_seq": 1, "software_version": "t"}
    base.update(over)
    return base


def _post(central, token, body: bytes):
    return httpx.post(central.url + "/api/v1/upload", content=body, timeout=10,
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})


def test_backlog_drains_exactly_once(central, tmp_path):
    client, _ = _client(central, tmp_path, batch_rows=7)
    fill(client.settings.db_path, 50)
    sent = 0
    while (n := client.upload_once()):
        sent += n
    assert sent == 50
    rows = central.entries("gate-a")
    assert [r[1] for r in rows] == list(range(1, 51))
    assert {r[2] for r in rows} == {r[2] for r in device_rows(client.settings.db_path)}
    assert all(r[3] == 1 for r in device_rows(client.settings.db_path))
    community = central.db.execute("SELECT DISTINCT community FROM entries").fetchall()
    assert community == [("c1",)]
    dev = ingest.list_devices(central.db)[0]
    assert dev["highest_contiguous_seq"] == 50 and dev["open_gaps"] == []
    assert dev["backlog"] == 0  # follows the last upload, not the next heartbeat
    client.close()


def test_every_signed_list_page_anchors_centrals_time_for_this_boot(central, tmp_path):
    import time as _time

    from sync import state as sync_state
    from sync.timekeeping import Anchor

    client, _ = _client(central, tmp_path)
    fill(client.settings.db_path, 3)
    client.upload_once()
    assert sync_state.read(client.db).get("server_anchor") is None  # an upload reply's time is not signed
    client.fetch_lists()
    anchor = Anchor.from_json(sync_state.read(client.db).get("server_anchor"))
    assert anchor is not None and anchor.boot == client.boot_id
    assert abs(anchor.t - _time.time()) < 30 and 0 <= _time.monotonic() - anchor.mono < 30
    client.close()


def test_a_gate_at_1970_tells_central_its_trusted_time_once_anchored_and_central_re_dates_that_boot(central,
                                                                                                     tmp_path):
    """Issue 21: entries stamped on an unset clock (1970, untrusted) reach central with their boot and monotonic
    time; once central's signed time anchors the boot, the report carries ``trusted_now`` and central re-dates them
    by it (``corrected_by_anchor``)."""
    import time as _time

    client, _ = _client(central, tmp_path)
    mono = _time.monotonic()
    fill(client.settings.db_path, 2, wall_ts=3_600.0, sys_ts=3_600.0, mono_ts=mono - 100, boot_id=client.boot_id,
         clock_trusted=False)
    assert "trusted_now" not in client.report()
    client.upload_once()
    client.fetch_lists()
    report = client.report()
    assert abs(report["trusted_now"] - _time.time()) < 30
    fill(client.settings.db_path, 1, start=2, wall_ts=_time.time(), mono_ts=_time.monotonic(),
         boot_id=client.boot_id, clock_trusted=True)
    client.upload_once()
    got = central.db.execute("SELECT seq, wall_ts, sys_ts, time_source FROM entries ORDER BY seq").fetchall()
    assert [(s, src) for s, _, _, src in got] == [(1, "corrected_by_anchor"), (2, "corrected_by_anchor"),
                                                  (3, "gate_trusted")]
    anchor = Anchor.from_json(state.read(client.db).get("server_anchor"))
    assert anchor is not None
    assert got[0][1] == pytest.approx(anchor.t - (anchor.mono - (mono - 100)), abs=1e-3) and got[0][2] == 3_600.0
    client.close()


def test_the_gates_faults_reach_centrals_devices_page_with_the_next_report(central, tmp_path):
    import time as _time

    client, _ = _client(central, tmp_path)
    fill(client.settings.db_path, 1)
    state.write(client.db, edge_faults=[{"code": "thermometer", "since": _time.time() - 60}, {"bad": 1},
                                        {"code": "x" * 99, "since": 1.0}])
    client.upload_once()
    faults = ingest.list_devices(central.db)[0]["faults"]
    assert [f["code"] for f in faults] == ["thermometer", "x" * 40]  # malformed ones dropped, long codes cut
    state.write(client.db, edge_faults=[])
    fill(client.settings.db_path, 1, start=1)
    client.upload_once()
    assert ingest.list_devices(central.db)[0]["faults"] == []
    client.close()


def test_the_devices_backlog_counts_what_is_left_after_each_upload(central, tmp_path):
    client, _ = _client(central, tmp_path, batch_rows=20, drain_rows=20)  # no larger batches while draining
    fill(client.settings.db_path, 50)
    left = []
    while client.upload_once():
        left.append(ingest.list_devices(central.db)[0]["backlog"])
    assert left == [30, 10, 0]
    client.close()


def test_a_draining_gate_sends_larger_batches_and_the_steady_state_small_ones(central, tmp_path):
    """More than batch_rows waiting: drain_rows per upload (fewer commits at central); then batch_rows again."""
    client, _ = _client(central, tmp_path, batch_rows=20, drain_rows=100)
    fill(client.settings.db_path, 250)
    sent = []
    while n := client.upload_once():
        sent.append(n)
    assert sent == [100, 100, 50]  # 50 left is still more than batch_rows: one batch of them
    assert len(central.entries()) == 250
    fill(client.settings.db_path, 5, start=250)
    assert client.upload_once() == 5
    client.close()


def test_drain_batches_stay_within_drain_bytes(central, tmp_path):
    client, _ = _client(central, tmp_path, batch_rows=5, batch_bytes=1024, drain_rows=1000, drain_bytes=4096)
    fill(client.settings.db_path, 60)
    rows, limit = client.batch_limits()
    batch = client.log.next_batch(rows, limit)
    assert (rows, limit) == (1000, 4096) and 5 < len(batch.rows) < 60 and len(batch.json) <= 4096
    client.close()


def test_replayed_upload_adds_nothing_and_same_id_other_content_is_refused(central, tmp_path):
    token = central.add_device("gate-a")
    rows = fill(tmp_path / "edge.db", 3)
    for r in rows:
        r.pop("synced", None), r.pop("synced_at", None)
    body = encode_upload("batch-0001", rows, _report(last_seq=3, backlog=3))
    first = _post(central, token, body)
    assert first.status_code == 200 and first.json()["inserted"] == 3
    again = _post(central, token, body)
    assert again.status_code == 200
    assert again.json()["inserted"] == 0 and again.json()["duplicates"] == 3 and again.json()["held"] == [[1, 3]]
    assert len(central.entries()) == 3
    other = encode_upload("batch-0001", rows[:2], _report())
    conflict = _post(central, token, other)
    assert conflict.status_code == 409 and "different content" in conflict.json()["detail"]
    assert len(central.entries()) == 3


def test_revoked_token_gets_401_and_rows_stay(central, tmp_path):
    client, _ = _client(central, tmp_path)
    fill(client.settings.db_path, 2)
    ingest.revoke_device(central.db, "gate-a")
    with pytest.raises(sync_client.RejectedError, match="401"):
        client.upload_once()
    assert client.log.backlog() == 2 and central.entries() == []
    bad = httpx.get(central.url + "/api/v1/changes", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert httpx.get(central.url + "/api/v1/changes").status_code == 401
    client.close()


def test_device_a_cannot_write_as_device_b(central, tmp_path):
    token_a = central.add_device("gate-a")
    central.add_device("gate-b")
    rows = fill(tmp_path / "edge.db", 2, device_id="gate-b")
    resp = _post(central, token_a, encode_upload("batch-0002", rows, _report(last_seq=2)))
    assert resp.status_code == 200 and resp.json()["device_id"] == "gate-a"
    assert central.entries("gate-b") == []
    assert [r[0] for r in central.entries()] == ["gate-a", "gate-a"]


def test_priority_rows_go_first_without_a_false_gap_alarm(central, tmp_path):
    client, _ = _client(central, tmp_path, batch_rows=5, drain_rows=5)
    db = open_edge(client.settings.db_path)
    log = LocalLog(db)
    for i in range(12):
        log.append(**entry(i))
    fever = log.append(**entry(99, fever=True, priority=True, temp_c=38.4, decision="refuse", reason="fever"))
    assert client.upload_once() == 5
    first = central.entries()
    assert fever["seq"] in [r[1] for r in first]  # the fever entry went in the first batch
    assert ingest.open_gaps(central.db) == []      # 1..4 held, 13 held, 5..12 pending: no alarm
    while client.upload_once():
        pass
    assert [r[1] for r in central.entries()] == list(range(1, 14))
    assert ingest.open_gaps(central.db) == []
    client.close()
    db.close()


def test_a_seq_lost_on_the_device_raises_a_gap_alarm(central, tmp_path):
    client, _ = _client(central, tmp_path, heartbeat_s=0.001)
    fill(client.settings.db_path, 10)
    db = open_edge(client.settings.db_path)
    db.execute("DELETE FROM entries WHERE seq IN (4, 5)")  # lost on the device (e.g. SD card damage)
    assert client.upload_once() == 8
    assert ingest.open_gaps(central.db) == []  # 4..5 could still be pending as far as central knows
    client.last_report_mono = float("-inf")  # a heartbeat is due now (on a fast machine 1 ms may not have passed)
    client.upload_once()  # the next report says nothing older is pending
    gaps = ingest.open_gaps(central.db, "gate-a")
    assert [(g["from_seq"], g["to_seq"]) for g in gaps] == [(4, 5)]
    assert ingest.list_devices(central.db)[0]["highest_contiguous_seq"] == 3
    client.close()
    db.close()


def test_bad_uploads_get_422_with_a_reason(central, tmp_path):
    token = central.add_device("gate-a")
    cases = [b"not gzip", gzip.compress(b"{"), gzip.compress(b"[]"),
             gzip.compress(json.dumps({"format": "gatepass-upload/1", "batch_id": "x" * 10, "content_hash": "0" * 64,
                                       "report": _report(), "entries": []}).encode())]
    for body in cases:
        resp = _post(central, token, body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"]


def test_server_flags_clock_skew(central, tmp_path):
    client, _ = _client(central, tmp_path, heartbeat_s=0.01)
    client.clock = lambda: 3600.0  # 1970
    fill(client.settings.db_path, 1)
    assert client.upload_once() == 1
    dev = ingest.list_devices(central.db)[0]
    assert dev["clock_skewed"] and dev["clock_skew_s"] < -1e9
    assert dev["last_report"]["wall_now"] == 3600.0 and dev["last_report"]["receive_time"] > 1e9
    client.close()


def test_run_loop_writes_state_for_the_guard_screen(central, tmp_path):
    client, token = _client(central, tmp_path)
    client.close()
    fill(client.settings.db_path, 20)
    stop = threading.Event()
    t = threading.Thread(target=sync_client.run, args=(client.settings, stop), daemon=True)
    t.start()
    try:
        db = open_edge(client.settings.db_path)
        assert wait_until(lambda: state.read(db).get("backlog") == 0 and state.read(db).get("list_version")
                          is not None, 30)
        st = state.status(db)
        assert st["last_error"] is None and st["last_upload_at"] > 0 and st["lists_stale"] is False
        ingest.revoke_device(central.db, "gate-a")
        LocalLog(db).append(**entry(50))
        assert wait_until(lambda: state.read(db).get("error_kind") == "rejected", 30)
        st = state.read(db)
        assert st["last_error"] == messages.text("token_rejected", "zh") and "凭证" in st["last_error"]
        assert "token" in st["last_error_en"] and st["last_error_code"] == "token_rejected"
        assert "401" in st["last_error_detail"] and token not in json.dumps(st)
    finally:
        stop.set()
        t.join(10)
    assert len(central.entries()) == 20


def test_batch_ids_are_fresh_per_batch(central, tmp_path):
    client, _ = _client(central, tmp_path, batch_rows=2, drain_rows=2)
    fill(client.settings.db_path, 4)
    client.upload_once()
    client.upload_once()
    ids = [r[0] for r in central.db.execute("SELECT batch_id FROM upload_batches")]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(uuid.UUID(i) for i in ids)
    client.close()


def test_client_follows_a_rebuilt_edge_database(central, tmp_path):
    """The edge's start-up check moves a damaged edge.db aside and builds a new one: sync must use the new file."""
    from sync.salvage import recover_database

    client, _ = _client(central, tmp_path)
    path = client.settings.db_path
    fill(path, 5)
    assert client.upload_once() == 5
    old_identity = client.db_identity
    result = recover_database(path, open_edge)  # what gatepass.startup does with a damaged file
    assert result.entries_copied == 5 and result.moved_to.exists()
    fill(path, 3, start=5)  # the edge appends to the new file
    assert client.upload_once() == 3
    assert client.db_identity != old_identity and client.db_identity == sync_client.file_identity(path)
    assert [r[1] for r in central.entries("gate-a")] == list(range(1, 9))
    assert all(r[3] == 1 for r in device_rows(path))  # marked in the new file
    client.close()


def test_client_never_creates_the_edge_database_while_it_is_being_rebuilt(central, tmp_path):
    client, _ = _client(central, tmp_path)
    path = client.settings.db_path
    fill(path, 2)
    aside = path.with_name(path.name + ".recovered")
    path.rename(aside)  # between the two renames of a recovery
    with pytest.raises(sync_client.DatabaseUnavailableError):
        client.upload_once()
    assert not path.exists()
    aside.rename(path)
    assert client.upload_once() == 2
    client.close()


def test_guard_texts_are_plain_zh_first_with_english():
    assert messages.text("offline") == "网络不通，记录已保存在本机，恢复后自动上传"
    assert messages.text("offline", "en").startswith("No network")
    for code, (zh, en) in messages.MESSAGES.items():
        assert zh and en and zh != en, code
        assert not any(word in zh for word in ("HTTP", "Error", "exception")), code
    assert messages.text("no-such-code") == messages.text("internal")


def test_unreachable_central_is_reported_in_plain_words(tmp_path):
    from .helpers import free_port, sync_settings

    c = Central(tmp_path / "central")
    token = c.add_device("gate-a")
    settings = sync_settings(f"http://127.0.0.1:{free_port()}", token, c.public_pem(), tmp_path / "dev",
                             backoff_cap_s=0.05)
    settings.data_dir.mkdir()
    fill(settings.db_path, 1)
    stop = threading.Event()
    t = threading.Thread(target=sync_client.run, args=(settings, stop), daemon=True)
    t.start()
    try:
        db = open_edge(settings.db_path)
        assert wait_until(lambda: state.read(db).get("last_error_code") == "offline", 30)
        st = state.read(db)
        assert st["last_error"] == "网络不通，记录已保存在本机，恢复后自动上传" and st["backlog"] == 1
        assert "ConnectError" in st["last_error_detail"]
        db.close()
    finally:
        stop.set()
        t.join(10)


def test_central_flags_lists_older_than_the_limit_even_at_the_current_version(central, tmp_path):
    import time as _time

    client, _ = _client(central, tmp_path, heartbeat_s=0.001)
    client.fetch_lists()  # the device holds central's current version, issued just now
    fill(client.settings.db_path, 1)
    assert client.upload_once() == 1
    now = _time.time()
    dev = ingest.list_devices(central.db, client.central_list_version, now, lists_max_age_s=3600)[0]
    assert dev["last_report"]["lists_issued_at"] > now - 60
    assert not dev["lists_behind"] and not dev["lists_too_old"] and not dev["lists_stale"]
    later = ingest.list_devices(central.db, client.central_list_version, now + 7200, lists_max_age_s=3600)[0]
    assert later["lists_too_old"] and later["lists_stale"] and not later["lists_behind"]
    assert 7100 < later["lists_age_s"] < 7300
    client.close()


def test_an_oversized_upload_without_length_is_refused_while_streaming(central, tmp_path, monkeypatch):
    from sync import protocol

    token = central.add_device("gate-a")

    def chunks():
        for _ in range(40):
            yield b"x" * (1024 * 1024)

    resp = httpx.post(central.url + "/api/v1/upload", content=chunks(), timeout=30,
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})
    assert resp.status_code == 413 and str(protocol.MAX_BODY_BYTES) in resp.json()["detail"]
    assert central.entries() == []


def test_a_refused_upload_does_not_keep_lists_from_the_gate(central, tmp_path):
    """Central refuses this device's rows (another device holds entries with the same ids: a copied log), yet
    revocations and quarantine must still reach the gate."""
    from datetime import date

    from central.passes import issuance
    from sync import lists as edge_lists

    client, _ = _client(central, tmp_path)
    copied = fill(client.settings.db_path, 1)  # the same entry reached central first from another device
    for r in copied:
        r.pop("synced", None), r.pop("synced_at", None)
    other = central.add_device("gate-b", community="c1")
    assert _post(central, other, encode_upload("batch-0003", copied, _report())).status_code == 200
    issuance.quarantine(central.db, "3-2-401", date(2026, 11, 20), date(2026, 12, 4))
    settings = client.settings
    client.close()
    stop = threading.Event()
    t = threading.Thread(target=sync_client.run, args=(settings, stop), daemon=True)
    t.start()
    try:
        db = open_edge(settings.db_path)
        assert wait_until(lambda: state.read(db).get("last_error_code") == "seq_conflict", 30)
        assert wait_until(lambda: "3-2-401" in edge_lists.load(db)[1].quarantine, 30)
        assert LocalLog(db).backlog() == 1  # the refused entry stays on the device
        db.close()
    finally:
        stop.set()
        t.join(10)


def test_heartbeats_update_the_device_but_leave_no_batch_rows(central, tmp_path):
    client, _ = _client(central, tmp_path, heartbeat_s=0.001)
    for _ in range(3):
        assert client.upload_once() == 0  # nothing to send: a report only
    dev = ingest.list_devices(central.db)[0]
    assert dev["last_seen_at"] is not None and dev["last_report"]["backlog"] == 0
    assert central.db.execute("SELECT count(*) FROM upload_batches").fetchone()[0] == 0
    fill(client.settings.db_path, 2)
    assert client.upload_once() == 2
    assert central.db.execute("SELECT rows FROM upload_batches").fetchall() == [(2,)]
    client.close()


def test_after_central_is_restored_from_an_older_backup_the_gate_sends_what_central_lost(tmp_path):
    """Issue 19: central restored from a backup taken before some uploads; the gate re-sends what it still holds,
    and central == the gate again (the backup and restore commands' own code paths, on either backend)."""
    central = Central(tmp_path / "central").start_process()
    try:
        client, _ = _client(central, tmp_path, batch_rows=10)
        fill(client.settings.db_path, 20)
        while client.upload_once():
            pass
        saved = _backup(central, tmp_path / "backups")  # 20 entries in it
        fill(client.settings.db_path, 25, start=20)
        while client.upload_once():
            pass
        assert len(central.entries("gate-a")) == 45
        central.stop()
        central.db.close()
        _restore(central, saved, tmp_path / "saved")  # central loses 21..45
        central.db = centraldb.open_db(central.settings.db_target)
        central.start_process()
        assert len(central.entries("gate-a")) == 20
        fill(client.settings.db_path, 5, start=45)  # the gate kept scanning meanwhile
        for _ in range(20):
            if not client.upload_once() and len(central.entries("gate-a")) == 50:
                break
        held = [r[1:3] for r in central.entries("gate-a")]
        assert held == [r[1:3] for r in device_rows(client.settings.db_path)]  # seq and uuid, all 50, once each
        assert ingest.list_devices(central.db)[0]["open_gaps"] == []
        client.close()
    finally:
        central.stop()


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
