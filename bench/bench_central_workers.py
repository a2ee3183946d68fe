"""Central throughput with several server processes: K gates posting small batches at once for N seconds
against ``workers = 1`` and ``workers = 2`` (this machine has 2 cores), on SQLite and on PostgreSQL (a throw-away
server from Debian's packages with fsync on, when installed). Figures: uploads/s and entries/s, each with its
ratio to ``workers = 1`` on the same backend, measured in the same run (alternating runs, median).

The load generator (asyncio + httpx, one keep-alive connection per gate, as the real client holds) runs in
this process on the same 2 cores as the server, so the figures are lower bounds of what the server can do.

``python -m bench central_workers`` (``--quick``: 16 gates, 5 s per run, one run each).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import Result, percentile
from central import ingest
from sync.protocol import encode_upload

log = logging.getLogger(__name__)

GATES = 16
BATCH = 20  # entries per upload, like a busy gate's


def _start(central, workers: int, start_timeout_s: float = 60.0, settle_s: float | None = None) -> subprocess.Popen:
    """``gatepass central serve`` with ``workers`` processes for ``central`` (a tests.sync.helpers.Central);
    ``settle_s``: the wait after the first answer for every worker to finish starting."""
    from tests.sync.helpers import SECRET, free_port, wait_until

    central.port = free_port()
    cfg = central.data_dir / "central.toml"
    url = central.settings.database_url
    cfg.write_text(f'data_dir = "{central.data_dir}"\nport = {central.port}\nsession_secret = "{SECRET}"\n'
                   f"workers = {workers}\n" + (f'database_url = "{url.get_secret_value()}"\n' if url else ""))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1",
           "GATEPASS_LOG_LEVEL": "WARNING"}
    central.proc = subprocess.Popen([sys.executable, "-m", "gatepass", "central", "serve", "--config", str(cfg)],
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=open(central.data_dir / "server.log", "ab"))
    if not wait_until(central._healthy, start_timeout_s):
        raise RuntimeError((central.data_dir / "server.log").read_text()[-2000:])
    # let every worker finish starting (the first answers earliest)
    time.sleep(settle_s if settle_s is not None else 1.0 if workers > 1 else 0.2)
    return central.proc


def _template() -> list[dict]:
    """One batch of realistic entry rows (seq 1..BATCH), as the edge's log hands them to the client."""
    from sync.devicedb import open_db as open_edge
    from sync.locallog import LocalLog
    from tests.sync.helpers import bulk_fill

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "edge.db"
        bulk_fill(path, BATCH)
        db = open_edge(path)
        rows = LocalLog(db).pending(BATCH)
        db.close()
    return rows


async def _gate(url: str, token: str, template: list[dict], until: float, stats: dict) -> None:
    """Post batch after batch (new entries each time, seqs following on) until ``until``."""
    headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}
    seq = 0
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as http:
        while time.monotonic() < until:
            rows = [{**r, "seq": seq + i + 1, "uuid": str(uuid.uuid4())} for i, r in enumerate(template)]
            report = {"boot_id": "b", "mono_now": 1.0, "wall_now": time.time(), "list_version": 0,
                      "backlog": BATCH, "last_seq": seq + BATCH, "pending_min_seq": seq + 1,
                      "software_version": "bench"}
            body = encode_upload(uuid.uuid4().hex, rows, report)
            t0 = time.perf_counter()
            resp = await http.post("/api/v1/upload", content=body)
            stats["latency"].append(time.perf_counter() - t0)
            if resp.status_code == 200:
                stats["uploads"] += 1
                stats["entries"] += resp.json()["inserted"]
                seq += BATCH
            else:
                stats["errors"] += 1


def _one_run(tmp: Path, name: str, database_url: str | None, workers: int, seconds: float,
             template: list[dict]) -> dict:
    """One timed run against a fresh central; returns the counts and the correctness check."""
    from tests.sync.helpers import Central

    central = Central(tmp / f"{name}-w{workers}-{uuid.uuid4().hex[:6]}", database_url)
    tokens = {f"gate-{i:02d}": central.add_device(f"gate-{i:02d}", community="c1") for i in range(GATES)}
    try:
        _start(central, workers)
        stats = {"uploads": 0, "entries": 0, "errors": 0, "latency": []}

        async def load() -> float:
            t0 = time.monotonic()
            await asyncio.gather(*(_gate(central.url, t, template, t0 + seconds, stats) for t in tokens.values()))
            return time.monotonic() - t0

        elapsed = asyncio.run(load())
        held = central.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        devices = ingest.list_devices(central.db)
        contiguous = sum(d["highest_contiguous_seq"] for d in devices)
        stats.update(elapsed=elapsed, exact=held == stats["entries"] == contiguous,
                     gaps=len(ingest.open_gaps(central.db)))
        return stats
    finally:
        central.stop()
        central.db.close()


def _backends() -> tuple[list[tuple[str, object]], list]:
    """(name, database URL factory or None) per backend available here, and the servers to stop."""
    from tests.pgserver import PgServer, PgUnavailable

    out: list[tuple[str, object]] = [("SQLite", None)]
    try:
        server = PgServer(settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}).start()
    except PgUnavailable as exc:
        log.warning("PostgreSQL figures skipped: %s", exc)
        return out, []
    out.append(("PostgreSQL", server.new_database))
    return out, [server]


def _results(name: str, runs: dict[int, list[dict]]) -> list[Result]:
    def rate(stats: dict, key: str) -> float:
        return stats[key] / stats["elapsed"]

    out = []
    for key, unit in (("uploads", "uploads/s"), ("entries", "entries/s")):
        base = statistics.median(rate(s, key) for s in runs[1])
        for workers in sorted(runs):
            value = statistics.median(rate(s, key) for s in runs[workers])
            notes = {}
            if key == "uploads":
                lat = [x for s in runs[workers] for x in s["latency"]]
                notes = {"p50 ms": round(percentile(lat, 50) * 1000, 1), "p95 ms": round(percentile(lat, 95) * 1000, 1),
                         "errors": sum(s["errors"] for s in runs[workers]),
                         "exactly once": all(s["exact"] for s in runs[workers]),
                         "gap alarms": sum(s["gaps"] for s in runs[workers])}
            out.append(Result(f"{name}: workers={workers}, {GATES} gates x {BATCH}-entry uploads", value, unit,
                              f"workers=1 on {name}", base, notes))
    return out


def run(quick: bool = False) -> list[Result]:
    seconds, repeats = (5.0, 1) if quick else (15.0, 3)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    template = _template()
    backends, servers = _backends()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            for name, new_url in backends:
                runs: dict[int, list[dict]] = {1: [], 2: []}
                for _ in range(repeats):
                    for workers in (1, 2):  # alternate, so background load hits both alike
                        url = new_url() if callable(new_url) else None
                        runs[workers].append(_one_run(tmp, name, url, workers, seconds, template))
                results += _results(name, runs)
    finally:
        for server in servers:
            server.stop()
    return results
