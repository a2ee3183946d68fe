"""Sync figures: draining a backlog over loopback and the central ingest rate, each beside the same rows
inserted straight into the central table (the ratio is the protocol's overhead), on SQLite and on PostgreSQL
(a throw-away server from Debian's packages with fsync on, when installed);
the drain after a total outage with the default settings (100 s; the retry wait is cut short when central answers
again); plus the long kill -9 run (1,000+ kills) with its loss/duplicate counts.

``python -m bench sync`` (``--quick``: 10,000 entries and 100 kills).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.harness import Result
from central import db as centraldb
from central import redating
from central.ingest import ENTRY_COLUMNS
from sync.client import SyncClient
from sync.client import run as sync_run
from sync.devicedb import open_db as open_edge
from sync.entryid import EntryIds
from sync.locallog import LocalLog
from sync.protocol import encode_upload


def _direct_insert(rows: list[dict], target: str, *, row_by_row: bool = False, commit_every: int = 0) -> float:
    """Seconds to insert the same rows straight into a fresh central ``entries`` table (one transaction, 500 rows
    a call of the store's own bulk insert, the one the ingest uses: executemany on SQLite; on PostgreSQL COPY into
    a staging table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` a call, the fastest of the ways
    tried). ``row_by_row``: PostgreSQL's pipelined row-by-row ``INSERT`` instead, the store's bulk insert (and
    so this baseline) before issue 20's third pass. ``commit_every``: a transaction of its own for every that many
    rows (each a durable commit, as every upload is at central) instead of one for all."""
    from central.store import postgres

    db = centraldb.open_db(target)
    now = time.time()
    prepared = [[{**r, "community": "c", "received_at": now, "batch_id": "b", "time_suspect": 0,
                  "time_source": redating.time_source(r["clock_trusted"], 0)}.get(c) for c in ENTRY_COLUMNS]
                for r in rows]
    copy_min, postgres.COPY_MIN_ROWS = postgres.COPY_MIN_ROWS, 10**9 if row_by_row else postgres.COPY_MIN_ROWS
    try:
        step = commit_every or len(prepared)
        t0 = time.perf_counter()
        for start in range(0, len(prepared), step):
            with db.transaction():
                for i in range(start, min(start + step, len(prepared)), 500):
                    db.insert_ignore_many("entries", ENTRY_COLUMNS, prepared[i:min(i + 500, start + step)])
        elapsed = time.perf_counter() - t0
    finally:
        postgres.COPY_MIN_ROWS = copy_min
    db.close()
    return elapsed


GATES_AT_ONCE = 4  # the second ingest figure: this many gates posting their batches at the same time


def _bodies(rows: list[dict], n: int) -> list[bytes]:
    """Pre-encoded 500-row upload bodies of ``rows`` under fresh uuids made as a gate makes them (time-ordered,
    :mod:`sync.entryid`; a uuid central holds already, the drained gate's, would be a clash it inserts nothing for:
    the rate of refusing, not of storing)."""
    report = {"boot_id": "b", "mono_now": 1.0, "wall_now": time.time(), "list_version": 0, "backlog": 0,
              "last_seq": n, "pending_min_seq": 1, "software_version": "bench"}
    ids = EntryIds()
    fresh = [{**r, "uuid": ids.new(r["wall_ts"])} for r in rows]
    return [encode_upload(uuid.uuid4().hex, fresh[i:i + 500], report) for i in range(0, len(fresh), 500)]


def _post_all(url: str, token: str, bodies: list[bytes]) -> None:
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}) as http:
        for body in bodies:
            http.post("/api/v1/upload", content=body).raise_for_status()


def _ingest_rates(tmp: Path, rows: list[dict], n: int, new_url: Callable[[], str | None]) -> tuple[float, float]:
    """Entries/s central stores from pre-built 500-row batches: one gate posting back to back, then
    :data:`GATES_AT_ONCE` gates at the same time (n entries in all for each figure). Each figure starts from an
    empty central, as the direct insert it is compared with starts from an empty table."""
    one = _timed_posts(tmp / "ingest-one", new_url(), [_bodies(rows, n)], n)
    central_cpu_us["one gate"] = central_cpu_us["last"]
    bodies = _bodies(rows, n)
    share = -(-len(bodies) // GATES_AT_ONCE)
    many = _timed_posts(tmp / "ingest-many", new_url(),
                        [bodies[i * share:(i + 1) * share] for i in range(GATES_AT_ONCE)], n)
    return one, many


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: central's CPU per ingested row (µs) in the last :func:`_timed_posts`: a figure the other engineers' load on a
#: shared box moves far less than the wall-clock rate
central_cpu_us: dict[str, float] = {}


def _timed_posts(data_dir: Path, database_url: str | None, per_gate: list[list[bytes]], n: int) -> float:
    """Entries/s of a fresh central while each gate of ``per_gate`` posts its bodies (each gate a thread); central's
    CPU per row goes to :data:`central_cpu_us` (``"last"``)."""
    from bench.bench_fleet import _start
    from tests.sync.helpers import Central

    central = Central(data_dir, database_url)
    try:
        pid = _start(central, 1).pid
        posters = [threading.Thread(target=_post_all, args=(central.url, central.add_device(f"gate-m{i}",
                                                                                            gate_id="g1"), bodies))
                   for i, bodies in enumerate(per_gate)]
        t0, cpu0 = time.perf_counter(), _cpu_s(pid)
        for t in posters:
            t.start()
        for t in posters:
            t.join()
        rate = n / (time.perf_counter() - t0)
        central_cpu_us["last"] = (_cpu_s(pid) - cpu0) / n * 1e6
        assert len(central.entries()) == n, "every posted row is stored"
        return rate
    finally:
        central.stop()


def _drain(n: int, tmp: Path, database_url: str | None = None) -> tuple[float, list[dict]]:
    """(seconds to drain n entries through the real client and a fresh central, the rows)."""
    from bench.bench_fleet import _start
    from tests.sync.helpers import Central, bulk_fill, sync_settings

    central = Central(tmp / "central", database_url)
    try:
        _start(central, 1)  # waits longer than the tests' helper for the server to answer (a loaded machine)
        token = central.add_device("gate-a", gate_id="g1")  # the gate its rows name, as at a real gate
        settings = sync_settings(central.url, token, central.public_pem(), tmp / "dev", timeout_s=60)
        settings.data_dir.mkdir()
        bulk_fill(settings.db_path, n)
        client = SyncClient(settings)
        rows = client.log.pending(n + 1)
        t0 = time.perf_counter()
        while client.upload_once():
            pass
        drain_s = time.perf_counter() - t0
        assert client.log.backlog() == 0 and len(central.entries()) == n
        client.close()
        return drain_s, rows
    finally:
        central.stop()


def _kills(kills: int, tmp: Path) -> Result:
    from tests.sync import killloop
    from tests.sync.helpers import Central, device_rows, sync_settings, wait_until

    central = Central(tmp / "kcentral").start_process()
    try:
        token = central.add_device("gate-k")
        settings = sync_settings(central.url, token, central.public_pem(), tmp / "kdev", batch_rows=50)
        settings.data_dir.mkdir()
        rep = killloop.kill_loop(settings, kills=kills)
        db = open_edge(settings.db_path)
        drained = wait_until(lambda: LocalLog(db).backlog() == 0, 120)
        killloop.stop_sync(rep.sync_pid)
        acked = killloop.acked(settings)
        held = {seq: u for _, seq, u, _ in device_rows(settings.db_path)}
        lost = sum(1 for seq, u in acked.items() if held.get(seq) != u)
        cen = central.entries("gate-k")
        dups = len(cen) - len({r[2] for r in cen})
        exact = [(r[1], r[2]) for r in cen] == sorted(held.items())
        return Result("kill -9 loop", rep.kills, "kills", notes={
            "acknowledged": len(acked), "lost": lost, "duplicates": dups, "central==device": exact,
            "drained": drained, "integrity failures": len(rep.integrity_failures), "seconds": round(rep.seconds, 1)})
    finally:
        central.stop()


def _faults(n: int, tmp: Path) -> Result:
    """n entries through the fault proxy for a while, then the link heals: seconds until the backlog is 0."""
    from tests.sync.faultproxy import FaultProxy
    from tests.sync.helpers import Central, bulk_fill, sync_settings, wait_until

    logging.getLogger("sync.client").setLevel(logging.ERROR)  # the retries are expected here
    central = Central(tmp / "fcentral").start_process()
    proxy = FaultProxy(central.port, seed=11).start()
    try:
        token = central.add_device("gate-f")
        settings = sync_settings(f"http://127.0.0.1:{proxy.port}", token, central.public_pem(), tmp / "fdev",
                                 batch_rows=200, timeout_s=1.0, backoff_cap_s=2.0)
        settings.data_dir.mkdir()
        bulk_fill(settings.db_path, n)
        stop = threading.Event()
        worker = threading.Thread(target=sync_run, args=(settings, stop), daemon=True)
        worker.start()
        time.sleep(10)
        faulty = dict(proxy.stats)
        proxy.faults = False
        db = open_edge(settings.db_path)
        backlog_at_heal = LocalLog(db).backlog()  # 0: everything got through the faults already
        t0 = time.perf_counter()
        drained = wait_until(lambda: LocalLog(db).backlog() == 0, 120)
        heal_s = time.perf_counter() - t0
        stop.set()
        worker.join(30)
        cen = central.entries("gate-f")
        return Result(f"drain after faults stop ({n} entries, 10 s of faults)", heal_s, "s", notes={
            "backlog when faults stopped": backlog_at_heal,
            "drained": drained, "central rows": len(cen), "distinct": len({r[2] for r in cen}), **faulty})
    finally:
        proxy.stop()
        central.stop()


def _outage(outage_s: float, tmp: Path) -> Result:
    """Default sync settings; central down for ``outage_s`` while entries pile up, then back: seconds from
    central answering again until the backlog is 0, beside the same drain with central up all along."""
    from tests.sync.helpers import Central, fill, free_port, sync_settings, wait_until

    logging.getLogger("sync.client").setLevel(logging.ERROR)  # the failures are expected here
    central = Central(tmp / "ocentral")
    port = free_port()
    token = central.add_device("gate-o")
    settings = sync_settings(f"http://127.0.0.1:{port}", token, central.public_pem(), tmp / "odev")
    settings.data_dir.mkdir()
    stop = threading.Event()
    worker = threading.Thread(target=sync_run, args=(settings, stop), daemon=True)
    try:
        worker.start()
        fill(settings.db_path, 200)
        time.sleep(outage_s)  # the outage: every try fails, the backoff grows (cap 300 s by default)
        central.start_process(port=port)
        t0 = time.perf_counter()
        drained = wait_until(lambda: len(central.entries("gate-o")) == 200, 600)
        after_s = time.perf_counter() - t0
        fill(settings.db_path, 200, start=200)
        t1 = time.perf_counter()
        wait_until(lambda: len(central.entries("gate-o")) == 400, 120)
        steady_s = time.perf_counter() - t1
        return Result(f"drain after a {outage_s:.0f}-s total outage (default settings, 200 entries)", after_s, "s",
                      "the same drain with central up", steady_s, notes={"drained": drained})
    finally:
        stop.set()
        worker.join(30)
        central.stop()


def _backends(tmp: Path) -> list[tuple[str, Callable[[], str | None], str]]:
    """(name, a new empty database for a central each call, target for the direct insert) per central backend
    available here."""
    from tests.pgserver import PgServer, PgUnavailable

    out: list[tuple[str, Callable[[], str | None], str]] = [("SQLite", lambda: None, str(tmp / "direct.db"))]
    try:
        # durable as a real central runs (the test server turns these off for speed)
        server = PgServer(settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}).start()
    except PgUnavailable as exc:
        logging.getLogger(__name__).warning("PostgreSQL figures skipped: %s", exc)
        return out
    _servers.append(server)
    out.append(("PostgreSQL", server.new_database, server.new_database()))
    return out


_servers: list = []


def _ingest(n: int, tmp: Path) -> list[Result]:
    results = []
    try:
        for name, new_url, direct_target in _backends(tmp):
            drain_s, rows = _drain(n, tmp / name, new_url())
            rate, many = _ingest_rates(tmp / name, rows, n, new_url)
            direct_s = _direct_insert(rows, direct_target)
            # the baseline before the store's bulk insert went through COPY on PostgreSQL (printed beside it)
            older: dict[str, str] = {}
            if name == "PostgreSQL":
                row_by_row_s = _direct_insert(rows, str(new_url()), row_by_row=True)
                older = {"direct insert row by row (the baseline before)": f"{n / row_by_row_s:.0f} entries/s"}
            older["central CPU per row"] = f"{central_cpu_us.get('one gate', 0):.0f} µs"
            # what durability alone costs: the same insert with a commit per 500-row batch, as each upload commits
            per_batch_s = _direct_insert(rows, str(new_url() or tmp / name / "direct-per-batch.db"), commit_every=500)
            older["direct insert, a commit per 500 rows (the bound a durable ingest can reach)"] = \
                f"{n / per_batch_s:.0f} entries/s"
            results += [
                Result(f"{name}: drain {n} entries over loopback", drain_s, "s", f"direct insert into {name}",
                       direct_s),
                Result(f"{name}: central ingest rate (HTTP, 500-row gzip batches)", rate, "entries/s",
                       f"direct insert into {name}", n / direct_s, notes=older),
                Result(f"{name}: central ingest rate, {GATES_AT_ONCE} gates at once (HTTP, 500-row gzip batches)",
                       many, "entries/s", f"direct insert into {name}", n / direct_s),
            ]
    finally:
        while _servers:
            _servers.pop().stop()
    return results


def run(quick: bool = False) -> list[Result]:
    n = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        return [*_ingest(n, tmp), _faults(2000 if quick else 5000, tmp), _outage(20 if quick else 100, tmp),
                _kills(100 if quick else 1000, tmp)]
