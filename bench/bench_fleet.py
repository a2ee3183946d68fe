"""The fleet simulator: thousands of gates in one asyncio process against a real central, to find the largest
fleet central sustains with a p99 upload latency under 1 s, on SQLite and PostgreSQL (a throw-away server from
Debian's packages, fsync on), with ``workers = 1`` and ``workers = 2``.

Each simulated gate speaks the real device protocol with the real rules of ``sync/``: entries arrive by a Poisson
process whose rate follows a day with a morning and an evening peak (:data:`DAY_SHAPE`, compressed into the run:
one simulated day takes ``day_s`` seconds, but the rates are the real per-hour rates of a busy gate, so the peak
load is a real peak); every ``interval_s`` the gate takes its next batch by the client's batching rule
(:func:`sync.locallog.take_batch`, ``batch_rows``/``batch_bytes``), encodes it with
:func:`sync.protocol.encode_upload` with a report, posts it and drops what the reply says central holds; with
nothing to send it sends a heartbeat report every ``heartbeat_s``; it asks ``/api/v1/changes`` by the client's rule
(:func:`sync.client.lists_wanted`: when a reply tells a newer version, when no reply told it for
``lists_interval_s``, and every ``lists_refresh_s``) and checks the page's signature. Timers start at random
phases, as a fleet's would. The defaults are :class:`sync.settings.SyncSettings`'s. The gates are registered
straight in the central database.

A fleet size passes when, over the whole simulated day, the p99 upload latency is under :data:`P99_LIMIT_S`, no
request failed, and the simulator kept its timers (event-loop lag p99 under 0.5 s: otherwise the simulator, not
central, would be the bottleneck). Sizes grow by doubling from :data:`START` and are then bisected.
The simulator's own CPU (of one core) and central's (its processes, PostgreSQL's too) are printed with every size.

``python -m bench fleet`` (``--quick``: a 6-second day, up to 400 gates, workers=1, for a smoke run).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request  # at module level: the canned server's routes are annotated with it

from bench.harness import Result, percentile
from central import ingest
from sync.client import NO_DELAY, lists_wanted
from sync.entryid import ENTRY_IDS
from sync.locallog import take_batch
from sync.protocol import encode_upload, held_of
from sync.settings import SyncSettings
from sync.signing import load_public_key, verify_envelope

log = logging.getLogger(__name__)

#: Share of the peak rate in each hour of the day (0-23): quiet nights, a morning and an evening peak.
DAY_SHAPE = (0.02, 0.01, 0.01, 0.01, 0.02, 0.08, 0.35, 0.9, 1.0, 0.55, 0.35, 0.35,
             0.45, 0.4, 0.3, 0.3, 0.45, 0.85, 1.0, 0.7, 0.45, 0.3, 0.15, 0.05)
#: Entries a busy community gate logs in its peak hour (one person every 30 s).
PEAK_PER_HOUR = 120.0
P99_LIMIT_S = 1.0
START = 500
LAG_LIMIT_S = 0.5
GATES_PER_CLIENT = 50


def _defaults() -> dict[str, Any]:
    """The sync client's timing and batching defaults (:class:`sync.settings.SyncSettings`)."""
    fields = SyncSettings.model_fields
    return {k: fields[k].default for k in ("batch_rows", "batch_bytes", "interval_s", "heartbeat_s",
                                           "lists_interval_s", "lists_refresh_s", "timeout_s")}


@dataclass
class Stats:
    """What one run measured."""

    latency: list[float] = field(default_factory=list)  # upload POSTs (batches and heartbeats), s
    lag: list[float] = field(default_factory=list)  # how late the simulator's timers fired, s
    uploads: int = 0
    heartbeats: int = 0
    entries: int = 0
    lists: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


class Day:
    """The compressed day: simulated hour of a moment, and the per-gate arrival rate then (entries/s)."""

    def __init__(self, start: float, day_s: float, peak_per_hour: float = PEAK_PER_HOUR) -> None:
        self.start, self.day_s, self.peak = start, day_s, peak_per_hour

    def hour(self, t: float) -> float:
        return 24 * ((t - self.start) / self.day_s % 1.0)

    def rate(self, t: float) -> float:
        return self.peak / 3600 * DAY_SHAPE[int(self.hour(t)) % 24]


class SimGate:
    """One simulated gate: its log's pending rows and the sync client's timers."""

    def __init__(self, device_id: str, token: str, rnd: random.Random, rules: dict[str, Any]) -> None:
        self.device_id, self.rnd, self.rules = device_id, rnd, rules
        self.headers = {"Authorization": f"Bearer {token}"}
        self.boot_id = uuid.uuid4().hex
        self.seq = 0
        self.pending: list[dict[str, Any]] = []
        self.list_version = 0
        self.central_list_version = 0  # as the last reply told it
        self.heard_at = float("-inf")  # when a reply last told central's list version (sync.client.lists_wanted)
        self.fetched_at = float("-inf")  # when a list page last arrived
        self.mono0 = time.monotonic()
        self.next_t = float("inf")  # when the next entry arrives (set when the day starts)
        self.client = 0  # which of the simulator's HTTP clients it uses

    def next_arrival(self, after: float, day: Day) -> float:
        """When the next person comes (a Poisson process whose rate follows the day: drawn at the peak rate and
        kept with probability rate/peak, so an idle gate need not be woken to find out)."""
        peak = day.peak / 3600
        t = after
        while True:
            t += self.rnd.expovariate(peak)
            if self.rnd.random() * peak < day.rate(t):
                return t

    def arrive(self, now: float, day: Day) -> None:
        """Log the entries that arrived up to ``now`` (as the checkpoint appends them)."""
        while self.next_t <= now:
            self.seq += 1
            t = self.next_t
            self.pending.append(_row(self.device_id, self.seq, t, t - self.mono0 + 100.0, self.boot_id))
            self.next_t = self.next_arrival(t, day)

    def report(self) -> dict[str, Any]:
        first = min((r["seq"] for r in self.pending), default=self.seq + 1)
        return {"boot_id": self.boot_id, "mono_now": time.monotonic() - self.mono0 + 100.0, "wall_now": time.time(),
                "list_version": self.list_version, "backlog": len(self.pending), "last_seq": self.seq,
                "pending_min_seq": first, "software_version": "fleet-sim", "retained_from_seq": 1}


_TEMPLATE = {"gate_id": "g", "clock_trusted": 1, "event": "scan", "household": "3-2-401", "person": 1,
             "pass_kind": "resident", "visitor_ref": None, "direction": "in", "temp_c": 36.5,
             "temps": "[36.4,36.5]", "decision": "pass", "reason": "ok", "guard_id": None, "override_reason": None,
             "ref_uuid": None, "fever": 0, "priority": 0, "extra": None, "extra_hash": None}


def _row(device_id: str, seq: int, wall: float, mono: float, boot: str) -> dict[str, Any]:
    """One local-log row as :meth:`sync.locallog.LocalLog.pending` hands it to the client."""
    u = ENTRY_IDS.new(wall)  # the gate's own ids (time-ordered)
    return {**_TEMPLATE, "seq": seq, "uuid": u, "device_id": device_id, "wall_ts": wall, "sys_ts": wall,
            "mono_ts": mono, "boot_id": boot, "pass_id": str(1000 + seq), "prev_hash": "0" * 64,
            "hash": u.replace("-", "") * 2}


class Fleet:
    """The gates of one run, their shared HTTP client and what they measured."""

    def __init__(self, clients: list[httpx.AsyncClient], day: Day, public_key: Any, until: float) -> None:
        self.clients, self.day, self.public_key, self.until = clients, day, public_key, until
        self.stats = Stats()

    async def _post(self, gate: SimGate, rows: list[dict[str, Any]], text: bytes) -> dict[str, Any] | None:
        body = encode_upload(uuid.uuid4().hex, rows, gate.report(), entries_json=text)
        t0 = time.perf_counter()
        try:
            resp = await self.clients[gate.client].post("/api/v1/upload", content=body, headers=gate.headers)
        except httpx.HTTPError as exc:
            self.stats.error(type(exc).__name__)
            return None
        self.stats.latency.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            self.stats.error(f"HTTP {resp.status_code}")
            return None
        reply = resp.json()
        if isinstance(reply.get("list_version"), int):
            gate.central_list_version, gate.heard_at = reply["list_version"], time.monotonic()
        return reply

    async def upload(self, gate: SimGate) -> None:
        """Send what is pending, batch after batch (the client's upload rounds), or a heartbeat."""
        rules = self.stats, gate.rules
        while True:
            batch = take_batch(gate.pending[:rules[1]["batch_rows"]], rules[1]["batch_bytes"])
            rows = batch.rows
            reply = await self._post(gate, rows, batch.json)
            if reply is None:
                return
            if not rows:
                self.stats.heartbeats += 1
                return
            held = held_of(reply.get("held", []), {r["seq"] for r in rows})
            gate.pending = [r for r in gate.pending if r["seq"] not in held]
            self.stats.uploads += 1
            self.stats.entries += len(held)
            if not gate.pending or time.monotonic() > self.until:
                return

    async def lists(self, gate: SimGate) -> None:
        try:
            resp = await self.clients[gate.client].get(
                "/api/v1/changes", params={"since": gate.list_version, "format": 4}, headers=gate.headers)
        except httpx.HTTPError as exc:
            self.stats.error(type(exc).__name__)
            return
        if resp.status_code != 200:
            self.stats.error(f"lists HTTP {resp.status_code}")
            return
        page = verify_envelope(self.public_key, resp.json())
        gate.list_version = max(gate.list_version, int(page.get("version") or 0))
        gate.fetched_at = time.monotonic()
        self.stats.lists += 1

    async def run_gate(self, gate: SimGate) -> None:
        """The sync loop of one gate until the day ends."""
        rules = gate.rules
        now = time.monotonic()
        last_report = now - gate.rnd.uniform(0, rules["heartbeat_s"])
        lists_due = now + gate.rnd.uniform(0, rules["lists_interval_s"])
        wake = now + gate.rnd.uniform(0, rules["interval_s"])
        gate.next_t = gate.next_arrival(now, self.day)
        while True:
            await asyncio.sleep(max(0.0, wake - time.monotonic()))
            now = time.monotonic()
            if now >= self.until:
                return
            self.stats.lag.append(now - wake)
            gate.arrive(now, self.day)
            if gate.pending or now - last_report >= rules["heartbeat_s"]:
                await self.upload(gate)
                last_report = time.monotonic()
            now = time.monotonic()
            if lists_wanted(now, due=lists_due, behind=lambda: gate.central_list_version > gate.list_version,
                            heard_at=gate.heard_at, fetched_at=gate.fetched_at, interval_s=rules["lists_interval_s"],
                            refresh_s=rules["lists_refresh_s"]):
                await self.lists(gate)
                lists_due = time.monotonic() + rules["lists_interval_s"]
            elif now >= lists_due:  # due but skipped: nothing can make it wanted before then but a reply's version
                lists_due = min(gate.heard_at + rules["lists_interval_s"], gate.fetched_at + rules["lists_refresh_s"])
            wake = _next_round(time.monotonic(), rules["interval_s"], gate.pending,
                               min(gate.next_t, last_report + rules["heartbeat_s"], lists_due))
            wake = min(wake, self.until)  # the day's end: the run's wall time is the day's


def _next_round(now: float, interval: float, pending: list[Any], due: float) -> float:
    """When the gate's sync loop next finds something to do: a gate polls every ``interval``; an idle one is only
    woken at the first poll on or after ``due`` (its next entry or timer), the moment it would act."""
    if pending:
        return now + interval
    return now + interval * max(1, math.ceil((due - now) / interval))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and all their descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, list(pids)
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / tick
        todo += children.get(pid, [])
    return total


def register(db: Any, gates: int) -> list[tuple[str, str]]:
    """``gates`` devices registered straight in the central database, in one transaction: (device id, token)."""
    now = time.time()
    out, rows = [], []
    for i in range(gates):
        device_id, token = f"sim-{i:05d}", ingest.TOKEN_PREFIX + secrets.token_urlsafe(32)
        out.append((device_id, token))
        rows.append([device_id, "", f"c{i // 50}", f"g{i:05d}", ingest.hash_token(token), now])
    with db.transaction():
        db.insert_ignore_many("devices", ["device_id", "name", "community", "gate_id", "token_hash", "created_at"],
                              rows)
    return out


async def simulate(url: str, public_key: Any, gates: list[SimGate], day_s: float, watch: list[int],
                   peak_per_hour: float = PEAK_PER_HOUR) -> dict[str, Any]:
    """One compressed day of ``gates`` against central at ``url``; the figures, CPU shares included."""
    # one HTTP client per GATES_PER_CLIENT gates: httpx's pool walks its connections on every request
    count = math.ceil(len(gates) / GATES_PER_CLIENT)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=GATES_PER_CLIENT, keepalive_expiry=60.0)
    clients = [httpx.AsyncClient(base_url=url, timeout=gates[0].rules["timeout_s"], headers=headers,
                                 transport=httpx.AsyncHTTPTransport(limits=limits, socket_options=NO_DELAY))
               for _ in range(count)]  # connections kept and Nagle off as sync.client's gates
    for i, gate in enumerate(gates):
        gate.client = i % count
    try:
        start = time.monotonic()
        fleet = Fleet(clients, Day(start, day_s, peak_per_hour), public_key, start + day_s)
        cpu0, central0 = time.process_time(), cpu_seconds(watch)
        await asyncio.gather(*(fleet.run_gate(g) for g in gates))
        wall = time.monotonic() - start
        sim_cpu, central_cpu = time.process_time() - cpu0, cpu_seconds(watch) - central0
    finally:
        for client in clients:
            await client.aclose()
    s = fleet.stats
    p99 = percentile(s.latency, 99) if s.latency else float("inf")
    lag99 = percentile(s.lag, 99) if s.lag else 0.0
    return {"gates": len(gates), "p99": p99, "p50": percentile(s.latency, 50) if s.latency else float("inf"),
            "lag99": lag99, "uploads": s.uploads, "heartbeats": s.heartbeats, "lists": s.lists,
            "entries": s.entries, "errors": s.errors, "error_kinds": s.error_kinds,
            "requests_s": (s.uploads + s.heartbeats + s.lists) / wall,
            "sim_cpu": sim_cpu / wall, "central_cpu": central_cpu / wall,
            "ok": p99 < P99_LIMIT_S and not s.errors and lag99 < LAG_LIMIT_S}


@dataclass
class Target:
    """One central under test: backend, workers, and how to reach and watch it."""

    name: str
    workers: int
    url: str = ""
    public_key: Any = None
    watch: list[int] = field(default_factory=list)


def _loop_factory() -> Any:
    """uvloop's event loop for the simulator where it is installed (the ``bench`` extra: ``./run.sh bench``
    installs it), else asyncio's: the simulator's own event loop, not central, limited the fleet on asyncio's.
    The servers measured (central, the canned one) run on asyncio's either way (``gatepass.serve.LOOP``)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _search(target: Target, tokens: list[tuple[str, str]], day_s: float, sizes: list[int] | None,
            most: int) -> tuple[int, list[dict[str, Any]]]:
    """Grow the fleet (doubling, then bisecting) until a size fails; the largest that passed and every run."""
    rules = _defaults()
    rnd = random.Random(20)
    gates = [SimGate(d, t, random.Random(rnd.random()), rules) for d, t in tokens]
    runs: list[dict[str, Any]] = []

    def attempt(n: int) -> bool:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            run = runner.run(simulate(target.url, target.public_key, gates[:n], day_s, target.watch))
        runs.append(run)
        log.info("%s workers=%d: %s", target.name, target.workers, _describe(run))
        return bool(run["ok"])

    if sizes is not None:
        passed = [n for n in sizes if attempt(n)]
        return max(passed, default=0), runs
    good, bad, n = 0, most + 1, START
    while n <= most and attempt(n):
        good, n = n, n * 2
    bad = min(bad, n)
    while bad - good > max(250, good // 8) and good:
        mid = (good + bad) // 2
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return good, runs


def _cpu_per_request_ms(run: dict[str, Any]) -> float:
    """Central's CPU (its processes and PostgreSQL's) per device request, in ms: the figure a busy box moves least."""
    return run["central_cpu"] / run["requests_s"] * 1000 if run["requests_s"] else 0.0


def _describe(run: dict[str, Any]) -> str:
    return (f"{run['gates']} gates: p99 {run['p99'] * 1000:.0f} ms, p50 {run['p50'] * 1000:.0f} ms, "
            f"{run['requests_s']:.0f} req/s, {run['entries']} entries, errors {run['errors']} {run['error_kinds']}, "
            f"simulator CPU {run['sim_cpu']:.0%} of a core, central CPU {run['central_cpu']:.0%} "
            f"({_cpu_per_request_ms(run):.1f} ms per request), "
            f"timer lag p99 {run['lag99'] * 1000:.0f} ms -> {'ok' if run['ok'] else 'over'}")


class CannedCentral:
    """The baseline: the same simulator against a minimal server (FastAPI on uvicorn, as central, one process)
    answering the same routes with canned replies: an upload is read, inflated and parsed and every entry said
    held, a list poll gets one page signed at start. What this machine's HTTP stack and simulator allow."""

    def __init__(self, tmp: Path) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        self.key_file = tmp / "canned-key.pem"
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        self.public_key = key.public_key()
        self.proc: Any = None
        self.url = ""

    def start(self) -> CannedCentral:
        """The server in a process of its own (never the simulator's), once it answers."""
        import subprocess
        import sys

        from tests.sync.helpers import answers, free_port, wait_until

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-c", "import sys; from bench.bench_fleet import serve_canned; "
                                      "serve_canned(int(sys.argv[1]), sys.argv[2])", str(port), str(self.key_file)],
                                     cwd=Path(__file__).resolve().parent.parent)
        if not wait_until(lambda: answers(self.url), 60):
            self.stop()
            raise RuntimeError("the canned server did not start")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def canned_app(key_file: Path) -> Any:
    """The canned server's application (:class:`CannedCentral`)."""
    import gzip
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi import FastAPI

    from sync.lists import PAGE_FORMATS
    from sync.signing import sign_page

    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    page = sign_page(key, {"format": PAGE_FORMATS[3], "version": 0, "since": 0, "snapshot": False, "more": False,
                           "changes": []})
    app = FastAPI()

    @app.post("/api/v1/upload")
    async def upload(request: Request) -> dict[str, Any]:
        seqs = [e["seq"] for e in json.loads(gzip.decompress(await request.body()))["entries"]]
        return {"held": [[min(seqs), max(seqs)]] if seqs else [], "list_version": 0, "server_time": time.time()}

    @app.get("/api/v1/changes")
    async def changes() -> dict[str, Any]:
        return page

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True}

    return app


def serve_canned(port: int, key_file: str) -> None:
    """Run the canned server on loopback ``port`` until terminated (in its own process)."""
    from gatepass import serve

    sock = serve.bind("127.0.0.1", port)
    serve.make_server(canned_app(Path(key_file)), sock).run(sockets=[sock])


def _start(central: Any, workers: int) -> Any:
    """``gatepass central serve`` with ``workers`` processes (bench_central_workers' start), with a long start-up
    wait: the fleet's machine is busy."""
    from bench.bench_central_workers import _start as start_central

    return start_central(central, workers, start_timeout_s=240, settle_s=2.0 * workers)


def _one_target(tmp: Path, name: str, database_url: str | None, pg_pid: int | None, workers: int,
                day_s: float, sizes: list[int] | None, most: int) -> tuple[int, list[dict[str, Any]]]:
    from tests.sync.helpers import Central

    central = Central(tmp / f"{name}-w{workers}", database_url)
    tokens = register(central.db, most)
    try:
        proc = _start(central, workers)
        target = Target(name, workers, central.url, load_public_key(central.public_pem()),
                        [proc.pid] + ([pg_pid] if pg_pid else []))
        return _search(target, tokens, day_s, sizes, most)
    finally:
        central.stop()
        central.db.close()


def _backends() -> tuple[list[tuple[str, Any, int | None]], list]:
    """(name, database URL factory or None, PostgreSQL's pid) per backend available here, and the servers."""
    from tests.pgserver import PgServer, PgUnavailable

    out: list[tuple[str, Any, int | None]] = [("SQLite", None, None)]
    try:
        server = PgServer(settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                                    "max_connections": "200"}).start()
    except PgUnavailable as exc:
        log.warning("PostgreSQL figures skipped: %s", exc)
        return out, []
    out.append(("PostgreSQL", server.new_database, _postmaster(server)))
    return out, [server]


def _postmaster(server: Any) -> int | None:
    pid_file = Path(getattr(server, "data_dir", "")) / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _canned(tmp: Path, day_s: float, sizes: list[int] | None, most: int) -> tuple[int, list[dict[str, Any]]]:
    """The largest fleet the canned server sustains (the baseline: :class:`CannedCentral`)."""
    canned = CannedCentral(tmp).start()
    try:
        tokens = [(f"sim-{i:05d}", f"canned-{i}") for i in range(most)]
        target = Target("canned server", 1, canned.url, canned.public_key, [canned.proc.pid])
        return _search(target, tokens, day_s, sizes, most)
    finally:
        canned.stop()


def _result(name: str, workers: int | None, largest: int, runs: list[dict[str, Any]], day_s: float,
            base: int) -> Result:
    best = next((r for r in runs if r["gates"] == largest), None)
    notes: dict[str, Any] = {"goal": 5000, "runs": "; ".join(_describe(r) for r in runs)}
    if best:
        notes = {"p99 ms": round(best["p99"] * 1000), "req/s": round(best["requests_s"]),
                 "simulator CPU": f"{best['sim_cpu']:.0%}", "central CPU": f"{best['central_cpu']:.0%}",
                 "central CPU per request ms": round(_cpu_per_request_ms(best), 2), **notes}
    what = name if workers is None else f"{name}, workers={workers}"
    return Result(f"{what}: largest fleet with p99 upload < 1 s ({day_s:.0f}-s day)", largest, "gates",
                  BASELINE, base, notes)


BASELINE = "canned server (same routes, canned replies: the HTTP stack and simulator's limit)"


def run(quick: bool = False) -> list[Result]:
    day_s, most = (5.0, 400) if quick else (30.0, 12_000)
    sizes = [100, 400] if quick else None
    logging.getLogger("httpx").setLevel(logging.WARNING)
    backends, servers = _backends()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            base, runs = _canned(Path(d), day_s, sizes, most)
            results.append(_result("canned server", None, base, runs, day_s, base))
            for name, new_url, pg_pid in backends:
                for workers in ((1,) if quick else (1, 2)):
                    url = new_url() if callable(new_url) else None
                    largest, runs = _one_target(Path(d), name, url, pg_pid, workers, day_s, sizes, most)
                    results.append(_result(name, workers, largest, runs, day_s, base))
    finally:
        for server in servers:
            server.stop()
    return results


# -- what one device request costs central, without HTTP (issue 20: the PostgreSQL fleet is bound by round trips) ----


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_costs(database_url: str, n: int = 400) -> dict[str, dict[str, float]]:
    """Per device request as the device API runs it (token look-up, then ``central.api._ingest``), in-process on one
    connection: wall time, this process's CPU and its PostgreSQL backend's CPU (ms), for ``n`` 1-entry uploads and
    ``n`` heartbeats of one gate (after ``n`` of each to warm up); and the statements each makes
    (:mod:`tests.central.roundtrips`). ``PYTHONPATH=. python -c "from bench.bench_fleet import main_costs;
    main_costs()"`` starts a throw-away PostgreSQL for it."""
    from central import api
    from central.db import open_db
    from central.deps import device
    from central.state import CentralState
    from tests.central.roundtrips import _Creds, _entry, _report, device_requests

    db = open_db(database_url)
    try:
        trips = {k: c.trips for k, c in device_requests(db).items()}
        backend = int(db.execute("SELECT pg_backend_pid()").fetchone()[0])
        state, creds, seq = CentralState(db, signing_key=None), _Creds(ingest.add_device(db, "cost-gate")), 0
        out: dict[str, dict[str, float]] = {}
        for kind in ("upload", "heartbeat") * 2:
            t0, c0, b0 = time.perf_counter(), time.process_time(), _backend_cpu_s(backend)
            for _ in range(n):
                seq += kind == "upload"
                rows = [_entry("cost-gate", seq)] if kind == "upload" else []
                raw = encode_upload(uuid.uuid4().hex, rows, _report(seq, seq + 1))
                api._ingest(state, device(creds, state), raw, "gzip", 1_795_000_000.0 + seq)  # type: ignore[arg-type]
            out[kind] = {"wall ms": (time.perf_counter() - t0) / n * 1000,
                         "central CPU ms": (time.process_time() - c0) / n * 1000,
                         "PostgreSQL CPU ms": (_backend_cpu_s(backend) - b0) / n * 1000,
                         "statements": trips[kind]}
        return out
    finally:
        db.close()


def main_costs() -> None:
    """Print :func:`request_costs` against a throw-away PostgreSQL server (fsync on)."""
    from tests.pgserver import PgServer

    server = PgServer(settings={"fsync": "on", "synchronous_commit": "on"}).start()
    try:
        for kind, figures in request_costs(server.new_database()).items():
            print(kind, ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    finally:
        server.stop()
