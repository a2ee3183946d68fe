"""Central's memory under inflating uploads (issue 18 item 4): the RSS of a real ``gatepass central serve``
(uvicorn, SQLite, one worker) on loopback while 10 clients with a device token post at once, again and again:

* ``gzip 32 KiB -> 32 MiB``: a 32 KiB gzip body that inflates to 32 MiB of ``{},{},...`` (refused at the 4 MiB
  inflate cap: 413);
* ``4 MiB of {}``: a body just under the cap, 1.4 million empty objects (refused by the item count before it is
  parsed: 413);
* ``genuine 2 MiB batches``: the largest batch a gate may send (``batch_bytes`` at its 2 MiB ceiling, ~3,500
  rows), for scale: what the same 10 clients cost when they are honest.

Figure: the server's peak RSS during each load (sampled every 10 ms), as a ratio to the same server's idle RSS
measured in the same run just before (after a warm-up upload). Before the bounds, one 32 KiB body cost ~1 GB.

``python -m bench upload_memory`` (``--quick``: 2 rounds of each load instead of 5).
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.harness import Result
from sync.protocol import MAX_BATCH_BYTES, MAX_BODY_BYTES, canonical, encode_upload

CLIENTS = 10


def _rss_mb(pid: int) -> float:
    """RSS of ``pid`` and its children (MiB)."""
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        pids += [int(p) for p in task.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


class _Sampler:
    """Peak RSS of a process while a load runs (a thread sampling every 10 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _report(last_seq: int) -> dict:
    return {"boot_id": "bench", "mono_now": 1000.0, "wall_now": time.time(), "list_version": 0, "backlog": 0,
            "last_seq": last_seq, "pending_min_seq": last_seq + 1, "software_version": "bench"}


def _genuine_rows(start: int) -> list[dict]:
    """Rows up to the 2 MiB batch ceiling, cut as the gate's LocalLog.pending cuts a batch."""
    rows: list[dict] = []
    size = 0
    while size < MAX_BATCH_BYTES:
        seq = start + len(rows)
        rows.append({"seq": seq, "uuid": str(uuid.uuid4()), "device_id": "bench-gate", "gate_id": "north",
                     "wall_ts": time.time() - 60, "mono_ts": 900.0, "boot_id": "bench", "clock_trusted": 1,
                     "event": "scan", "pass_id": str(100000 + seq), "household": "3-2-401", "person": 1,
                     "pass_kind": "resident", "visitor_ref": None, "direction": "in", "temp_c": 36.5,
                     "temps": "[36.4,36.5]", "decision": "pass", "reason": "temp_ok", "guard_id": None,
                     "override_reason": None, "ref_uuid": None, "fever": 0, "priority": 0, "extra": None,
                     "extra_hash": None, "prev_hash": "0" * 64, "hash": "1" * 64})
        size += len(canonical(rows[-1]))
    return rows


def _bodies() -> dict[str, object]:
    bomb = gzip.compress(b'{"entries":[' + b"{}," * (32 * 1024 * 1024 // 3) + b"{}]}", 9)
    under = gzip.compress(b'{"entries":[' + b"{}," * ((MAX_BODY_BYTES - 100) // 3) + b"{}]}", 9)
    return {f"gzip {len(bomb) // 1024} KiB -> 32 MiB": lambda i: bomb,
            f"4 MiB of {{}} (gzip {len(under) // 1024} KiB)": lambda i: under,
            "genuine 2 MiB batches": lambda i: encode_upload(uuid.uuid4().hex, rows := _genuine_rows(i * 10000 + 1),
                                                             _report(rows[-1]["seq"]))}


def _start(work: Path) -> tuple[subprocess.Popen, str, str]:
    from central import ingest
    from central.db import open_db
    from tests.sync.helpers import SECRET, free_port, wait_until

    port = free_port()
    (work / "central").mkdir()
    cfg = work / "central.toml"
    cfg.write_text(f'data_dir = "{work / "central"}"\nport = {port}\nsession_secret = "{SECRET}"\n')
    db = open_db(work / "central" / "central.db")
    token = ingest.add_device(db, "bench-gate", community="c1", gate_id="north")
    db.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1",
           "GATEPASS_LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "central", "serve", "--config", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "ab"))
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    if not wait_until(healthy, 60):
        raise RuntimeError((work / "server.log").read_text()[-2000:])
    return proc, url, token


def _load(url: str, token: str, body_of, rounds: int) -> tuple[Counter, float]:
    """``rounds`` times, CLIENTS uploads at once; the statuses and the wall time."""
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}
    bodies = [body_of(i) for i in range(rounds * CLIENTS)]
    started = time.perf_counter()
    with httpx.Client(timeout=300, limits=httpx.Limits(max_connections=CLIENTS)) as client, \
            ThreadPoolExecutor(CLIENTS) as pool:
        for r in range(rounds):
            batch = bodies[r * CLIENTS:(r + 1) * CLIENTS]
            for resp in pool.map(lambda b: client.post(url + "/api/v1/upload", content=b, headers=headers), batch):
                statuses[resp.status_code] += 1
    return statuses, time.perf_counter() - started


def run(quick: bool = False) -> list[Result]:
    rounds = 2 if quick else 5
    results = []
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-upmem-") as tmp:
        proc, url, token = _start(Path(tmp))
        try:
            warm = _genuine_rows(10**9)[:50]  # every code path of an upload imported and warmed once
            httpx.post(url + "/api/v1/upload", content=encode_upload("warm-up-1", warm, _report(10**9 + 49)),
                       headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}, timeout=60)
            time.sleep(1.0)
            idle = _rss_mb(proc.pid)
            for name, body_of in _bodies().items():
                with _Sampler(proc.pid) as sampler:
                    statuses, wall = _load(url, token, body_of, rounds)
                results.append(Result(f"central peak RSS, {CLIENTS} concurrent uploads: {name}", sampler.peak, "MiB",
                                      "idle server", idle,
                                      {"statuses": dict(statuses), "uploads": sum(statuses.values()),
                                       "wall_s": f"{wall:.1f}", "RSS after": f"{_rss_mb(proc.pid):.0f} MiB"}))
        finally:
            proc.terminate()
            proc.wait(30)
    return results


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.line())
