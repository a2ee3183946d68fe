"""A draining gate reads its next batch while central stores the last (issue 20), exactly once as before."""

from __future__ import annotations

import gzip
import json
import socket
import threading

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import client as sync_client
from sync.client import Batch, SyncClient, TransientSyncError
from sync.devicedb import open_db as open_edge
from sync.locallog import LocalLog
from sync.protocol import encode_upload

from .helpers import Central, bulk_fill, device_rows, entry, sync_settings, wait_until


def _log(path) -> LocalLog:
    return LocalLog(open_edge(path))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(st.booleans(), min_size=1, max_size=30), later=st.lists(st.booleans(), max_size=8),
       rows=st.integers(1, 12), sent_again=st.booleans())
def test_the_batch_after_one_in_flight_is_the_batch_the_log_hands_out_once_that_one_is_synced(
        tmp_path_factory, first, later, rows, sent_again):
    """Priorities of the entries before the batch is read (``first``) and while it is on its way (``later``)."""
    log = _log(tmp_path_factory.mktemp("edge") / "edge.db")
    for i, priority in enumerate(first):
        log.append(**entry(i, priority=priority))
    if sent_again:  # some entries central had, then lost (restored from a backup): they go again
        log.mark_synced(range(1, len(first) + 1))
        log.resend([(1, len(first) // 2)])
    flying = log.next_batch(rows, 4096)
    for i, priority in enumerate(later):  # appended while the batch is on its way
        log.append(**entry(100 + i, priority=priority))
    ahead = log.next_batch(rows, 4096, after=flying.cursor)
    assert not {r["seq"] for r in ahead.rows} & {r["seq"] for r in flying.rows}
    log.mark_synced(r["seq"] for r in flying.rows)
    then = log.next_batch(rows, 4096)
    assert ahead.rows == then.rows and ahead.json == then.json
    log.db.close()


def test_a_batch_body_is_what_encode_upload_makes(tmp_path):
    bulk_fill(tmp_path / "edge.db", 40)
    out = _log(tmp_path / "edge.db").next_batch(30, 10_000)
    batch = Batch.of(out)
    report = {"boot_id": "b", "mono_now": 1.5, "wall_now": 1_790_000_000.25, "list_version": 3, "backlog": 40,
              "last_seq": 40, "pending_min_seq": 1, "software_version": "t", "faults": [{"code": "温度", "since": 1.0}]}
    expected = gzip.decompress(encode_upload(batch.batch_id, out.rows, report))
    assert gzip.decompress(batch.body(report)) == expected
    assert gzip.decompress(batch.body({**report, "backlog": 7})) == expected.replace(b'"backlog":40', b'"backlog":7')
    assert batch.seqs == {r["seq"] for r in out.rows}


class Watching(httpx.BaseTransport):
    """The real HTTP transport, and a hook called while an upload is on its way to central."""

    def __init__(self, during_upload) -> None:
        self.inner = httpx.HTTPTransport()
        self.during_upload = during_upload
        self.uploads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/upload"):
            self.uploads += 1
            return self.during_upload(self.uploads, request, lambda: self.inner.handle_request(request))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _drain(client: SyncClient, most: int = 200) -> None:
    for _ in range(most):
        if client.log.backlog() == 0:
            return
        try:
            client.upload_once()
        except TransientSyncError:
            pass


def test_the_next_batch_is_read_while_central_stores_the_last_and_new_entries_come_once(tmp_path):
    # before: the gate read and encoded each batch only after central had answered the one before
    central = Central(tmp_path / "central").start_thread()
    edge = tmp_path / "dev" / "edge.db"
    read_ahead: list[bool] = []
    fever_seq: list[int] = []
    carried: dict[int, set[int]] = {}  # upload number: the seqs it carried
    holder: dict[str, SyncClient] = {}

    def during_upload(n, request, send):
        carried[n] = {e["seq"] for e in json.loads(gzip.decompress(request.content))["entries"]}
        if n == 2:  # a fever entry and an ordinary one arrive while an upload is on its way
            log = _log(edge)
            fever_seq.append(log.append(**entry(900, priority=True, fever=True, temp_c=38.5))["seq"])
            log.append(**entry(901))
            log.db.close()
        reply = send()  # central has stored the batch: the next one must have been read meanwhile
        if n < 5:
            read_ahead.append(wait_until(lambda: holder["client"].next_out is not None, 5, 0.005))
        return reply

    try:
        token = central.add_device("gate-a")
        s = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev", batch_rows=20, drain_rows=100)
        s.data_dir.mkdir()
        bulk_fill(edge, 450)
        transport = Watching(during_upload)
        client = holder["client"] = SyncClient(s, transport=transport)
        sent = []
        while n := client.upload_once():
            sent.append(n)
        assert sum(sent) == 452 and len(sent) == 5
        assert read_ahead == [True] * 4  # every upload but the last had the next batch read meanwhile
        held = central.entries("gate-a")
        assert sorted(r[1] for r in held) == list(range(1, 453))  # each entry once
        assert all(synced for *_, synced in device_rows(edge))
        # the fever entry went first in the next batch read (the third, or the fourth when the third had been
        # read before it was written): at most one batch later than when each batch was read after the reply
        assert fever_seq[0] in carried[3] | carried[4]
        client.close()
    finally:
        central.stop()


def test_a_lost_reply_after_the_next_batch_was_read_loses_and_duplicates_nothing(tmp_path):
    central = Central(tmp_path / "central").start_thread()

    def during_upload(n, request, send):
        reply = send()
        if n in (2, 5):  # central stored the batch, but its reply never reaches the gate
            raise httpx.ReadTimeout("reply lost", request=request)
        return reply

    try:
        token = central.add_device("gate-a")
        s = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev", batch_rows=30, drain_rows=100)
        s.data_dir.mkdir()
        bulk_fill(s.db_path, 700)
        client = SyncClient(s, transport=Watching(during_upload))
        _drain(client)
        assert client.log.backlog() == 0
        held = central.entries("gate-a")
        assert sorted(r[1] for r in held) == list(range(1, 701))
        assert all(synced for *_, synced in device_rows(s.db_path))
        client.close()
    finally:
        central.stop()


def test_a_stop_during_a_drain_ends_the_upload_thread_and_the_rest_goes_later(tmp_path):
    central = Central(tmp_path / "central").start_thread()
    try:
        token = central.add_device("gate-a")
        s = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev", batch_rows=50, drain_rows=200)
        s.data_dir.mkdir()
        bulk_fill(s.db_path, 3000)
        stop = threading.Event()
        worker = threading.Thread(target=sync_client.run, args=(s, stop))
        worker.start()
        assert wait_until(lambda: 0 < len(central.entries("gate-a")), 30)
        stop.set()
        worker.join(30)
        assert not worker.is_alive()
        assert not [t for t in threading.enumerate() if t.name.startswith("gatepass-upload")]
        stop = threading.Event()
        worker = threading.Thread(target=sync_client.run, args=(s, stop))
        worker.start()
        db = open_edge(s.db_path)
        assert wait_until(lambda: LocalLog(db).backlog() == 0, 60)
        stop.set()
        worker.join(30)
        db.close()
        assert sorted(r[1] for r in central.entries("gate-a")) == list(range(1, 3001))
    finally:
        central.stop()


def test_the_upload_thread_starts_with_the_first_upload_not_with_the_client(tmp_path):
    central = Central(tmp_path / "central").start_thread()
    try:
        token = central.add_device("gate-a")
        s = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev")
        s.data_dir.mkdir()
        before = {t.ident for t in threading.enumerate()}
        client = SyncClient(s)
        assert {t.ident for t in threading.enumerate()} == before
        bulk_fill(s.db_path, 3)
        assert client.upload_once() == 3
        client.close()
        assert not [t for t in threading.enumerate() if t.name.startswith("gatepass-upload")]
    finally:
        central.stop()


def test_the_gates_connection_to_central_sends_without_nagles_delay(tmp_path):
    """An upload is written as a head and a body: the gate turns Nagle's algorithm off, as central does (issue 20)."""
    central = Central(tmp_path / "central").start_thread()
    client = SyncClient(sync_settings(central.url, central.add_device("gate-1"), central.public_pem(),
                                      tmp_path / "dev"))
    try:
        reply = client.http.get("api/v1/whoami")
        assert reply.status_code == 200
        conn = reply.extensions["network_stream"].get_extra_info("socket")
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.close()
        central.stop()
