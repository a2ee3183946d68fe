"""Several central server processes on one port: real subprocesses, real sockets, both database backends."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from central import ingest
from central.settings import CentralSettings
from sync import client as sync_client
from sync import signing
from sync.protocol import encode_upload
from tests.sync.helpers import SECRET, Central, device_rows, fill, free_port, sync_settings, wait_until

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL

WORKERS = 3


def _start(central: Central, workers: int = WORKERS) -> Central:
    """``gatepass central serve`` with ``workers`` processes in a subprocess (as ``Central.start_process``)."""
    central.port = free_port()
    cfg = central.data_dir / "central.toml"
    url = central.settings.database_url
    cfg.write_text(f'data_dir = "{central.data_dir}"\nport = {central.port}\nsession_secret = "{SECRET}"\n'
                   f"workers = {workers}\n" + (f'database_url = "{url.get_secret_value()}"\n' if url else ""))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1"}
    central.proc = subprocess.Popen([sys.executable, "-m", "gatepass", "central", "serve", "--config", str(cfg)],
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=open(central.data_dir / "server.log", "ab"))
    want = workers if workers > 1 else 0
    assert wait_until(lambda: len(_workers(central.proc.pid)) == want and central._healthy(), 60), _log(central)
    return central


def _log(central: Central) -> str:
    return (central.data_dir / "server.log").read_text()[-3000:]


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state, ppid, ...
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _workers(pid: int) -> set[int]:
    """The server (uvicorn worker) processes under the supervisor ``pid``."""
    out = set()
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.add(child)
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _server_pid_of(port: int, client_port: int, pids: set[int]) -> int | None:
    """Which of ``pids`` holds the accepted socket of the loopback connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[1] == f"0100007F:{port:04X}" and cols[2] == f"0100007F:{client_port:04X}":
            inode = cols[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central")
    yield c
    c.stop()


def test_workers_setting_is_bounded():
    assert CentralSettings(session_secret=SECRET).workers == 1
    for bad in (0, 65):
        with pytest.raises(ValidationError, match="workers"):
            CentralSettings(session_secret=SECRET, workers=bad)


def test_concurrent_uploads_to_three_workers_land_exactly_once_signed_by_one_key(central, tmp_path):
    tokens = {f"gate-{i}": central.add_device(f"gate-{i}", community="c1") for i in range(6)}
    _start(central)
    pem = central.public_pem()  # read after start: the key the server's parent created
    clients = []
    for device_id, token in tokens.items():
        settings = sync_settings(central.url, token, pem, tmp_path / device_id, batch_rows=7, drain_rows=7)
        settings.data_dir.mkdir(parents=True)
        fill(settings.db_path, 60, device_id=device_id)
        clients.append(sync_client.SyncClient(settings))
    errors: list[BaseException] = []

    def drain(client: sync_client.SyncClient) -> None:
        try:
            while client.upload_once():
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and not any(t.is_alive() for t in threads), _log(central)

    for client in clients:
        device_id = client.settings.data_dir.name
        rows = central.entries(device_id)
        assert [r[1] for r in rows] == list(range(1, 61))
        assert {r[2] for r in rows} == {r[2] for r in device_rows(client.settings.db_path)}
        assert all(r[3] == 1 for r in device_rows(client.settings.db_path))
        client.close()
    devices = {d["device_id"]: d for d in ingest.list_devices(central.db)}
    assert all(devices[d]["highest_contiguous_seq"] == 60 for d in tokens)
    assert ingest.open_gaps(central.db) == []

    # one batch posted at once over four connections (so to several workers): stored once
    rows = fill(clients[0].settings.db_path, 5, start=60, device_id="gate-0")  # seq 61..65 on the device
    for r in rows:
        r.pop("synced", None), r.pop("synced_at", None)
    report = {"boot_id": "b", "mono_now": 1.0, "wall_now": 1_790_000_000.0, "list_version": 0, "backlog": 5,
              "last_seq": 65, "pending_min_seq": 61, "software_version": "t"}
    body = encode_upload(f"batch-{uuid.uuid4()}", rows, report)
    replies: list[httpx.Response] = []
    posts = [threading.Thread(target=lambda: replies.append(httpx.post(
        central.url + "/api/v1/upload", content=body, timeout=30,
        headers={"Authorization": f"Bearer {tokens['gate-0']}", "Content-Encoding": "gzip"}))) for _ in range(4)]
    for t in posts:
        t.start()
    for t in posts:
        t.join(60)
    assert [r.status_code for r in replies] == [200] * 4
    assert sum(r.json()["inserted"] for r in replies) == 5
    assert [r[1] for r in central.entries("gate-0")] == list(range(1, 66))

    # list pages served by different workers all verify with the one public key
    public = signing.load_public_key(pem)
    workers = _workers(central.proc.pid)
    served_by: set[int] = set()
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", central.port, timeout=10)
        conn.connect()
        conn.request("GET", "/api/v1/changes?since=0", headers={"Authorization": f"Bearer {tokens['gate-1']}"})
        resp = conn.getresponse()
        envelope = httpx.Response(resp.status, content=resp.read()).json()
        assert resp.status == 200
        signing.verify_envelope(public, envelope)
        pid = _server_pid_of(central.port, conn.sock.getsockname()[1], workers)
        conn.close()
        if pid is not None:
            served_by.add(pid)
        if len(served_by) == WORKERS:
            break
    assert len(served_by) >= 2, f"all pages came from {served_by}"


def test_a_killed_worker_is_replaced_and_sigterm_stops_every_process(central, tmp_path):
    token = central.add_device("gate-a", community="c1")
    _start(central)
    before = _workers(central.proc.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    ok = [httpx.get(central.url + "/healthz", timeout=10).status_code for _ in range(20)]
    assert ok == [200] * 20
    assert wait_until(lambda: len(now := _workers(central.proc.pid)) == WORKERS and victim not in now, 30), \
        _log(central)
    assert wait_until(lambda: f"server process {victim} ended (exit code -9)" in _log(central), 10)

    settings = sync_settings(central.url, token, central.public_pem(), tmp_path / "gate-a")
    settings.data_dir.mkdir(parents=True)
    fill(settings.db_path, 10)
    client = sync_client.SyncClient(settings)
    assert client.upload_once() == 10
    client.close()
    assert [r[1] for r in central.entries("gate-a")] == list(range(1, 11))

    workers = _workers(central.proc.pid)
    family = set(_children(central.proc.pid))  # the workers and multiprocessing's resource tracker
    assert len(workers) == WORKERS and workers <= family
    central.proc.send_signal(signal.SIGTERM)
    assert central.proc.wait(30) == 0, _log(central)
    assert [pid for pid in workers if _alive(pid)] == []  # joined by the parent before it exits
    # the workers are joined by the parent; multiprocessing's resource tracker exits on its own when the
    # parent's end of its pipe closes, a moment after the parent
    assert wait_until(lambda: not any(_alive(pid) for pid in family), 10), \
        [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in family if _alive(pid)]
    with socket.socket() as again:  # the port is free again: nobody kept the listening socket
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", central.port))


def test_one_worker_serves_in_the_process_itself(central):
    _start(central, workers=1)
    assert _workers(central.proc.pid) == set() and _children(central.proc.pid) == []
    assert httpx.get(central.url + "/healthz", timeout=10).json() == {"ok": True}


def test_device_api_pool_hands_each_thread_its_own_connection_up_to_the_bound(central):
    from central import db as centraldb
    from central.state import CentralState

    target = central.settings.db_target
    state = CentralState(centraldb.connect(target), None, connect=lambda: centraldb.connect(target), pool_size=2)
    held: list[int] = []
    most = [0]
    guard = threading.Lock()

    def use() -> None:
        for _ in range(5):
            with state.connection() as db:
                with guard:
                    assert id(db) not in held  # nobody else has it meanwhile
                    held.append(id(db))
                    most[0] = max(most[0], len(held))
                db.execute("SELECT 1").fetchone()
                time.sleep(0.01)  # hold it a moment, so the threads overlap
                with guard:
                    held.remove(id(db))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    sqlite = central.db.dialect == "sqlite"
    assert most[0] == (1 if sqlite else 2)  # SQLite: the one connection under the lock
    assert state._idle.qsize() == (1 if sqlite else 2)
    while not state._idle.empty():
        state._idle.get().close()
