"""The edge service as systemd runs it: cold start to READY, restart after kill -9, RSS under traffic.

systemd is installed here but is not PID 1 (and ``systemd-run --user`` has no bus), so a small
supervisor stands in for it: it listens on a ``NOTIFY_SOCKET`` as systemd does, starts
``gatepass edge run`` with ``WATCHDOG_USEC``, and restarts it at once when it dies
(``Restart=on-failure`` with ``RestartSec=0``; the shipped unit adds ``RestartSec=2``).

Traffic: the demo's set-up (passes issued at a real central database, lists on the edge, the
thermometer simulator on a pseudo-terminal, the simulated camera showing a pass every 0.5 s)
plus a guard screen polling ``/status`` every second.

Figures: cold start (process start -> READY=1, i.e. guard page up and camera loop running)
against a bare ``python -c pass``; kill -9 -> READY=1 of the restarted process against the cold
start; RSS over the run against a bare Python process.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Result
from gatepass.procs import Child, free_port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Supervisor:
    """Starts the edge with a notify socket and restarts it when it dies, like systemd would."""

    def __init__(self, argv: list[str], work: Path, watchdog_s: float = 10.0) -> None:
        self.argv = argv
        self.sock_path = work / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.sock_path))
        self.sock.settimeout(0.05)
        self.watchdog_s = watchdog_s
        self.log = open(work / "edge.log", "ab")
        self.proc: subprocess.Popen | None = None
        self.messages: list[str] = []

    def start(self) -> float:
        """Start the service; returns the monotonic start time."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "NOTIFY_SOCKET", "WATCHDOG_"))}
        env.update(GATEPASS_ALLOW_ROOT="1", NOTIFY_SOCKET=str(self.sock_path),
                   WATCHDOG_USEC=str(int(self.watchdog_s * 1e6)))
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        return t0

    def wait_message(self, prefix: str, timeout_s: float = 120.0) -> float:
        """Monotonic time when a message starting with ``prefix`` arrives."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                msg = self.sock.recv(4096).decode()
            except TimeoutError:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"edge exited with {self.proc.returncode}") from None
                continue
            self.messages.append(msg)
            if msg.startswith(prefix):
                return time.monotonic()
        raise RuntimeError(f"no {prefix} within {timeout_s} s")

    def kill9_and_restart(self) -> float:
        """SIGKILL the service, restart it when the exit is seen; seconds from the kill to READY=1."""
        assert self.proc is not None
        t_kill = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()  # what systemd learns through SIGCHLD
        self.start()
        return self.wait_message("READY=1") - t_kill

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()
        self.log.close()


def _set_up(work: Path) -> tuple[list[str], int, list[Child]]:
    """Central lists, passes, the thermometer simulator and the edge config; returns argv, port, children."""
    from gatepass.demo import _demo_passes, _start_thermometer_sim

    logs = work / "logs"
    logs.mkdir()
    children: list[Child] = []
    passes = _demo_passes(work)
    thermometer = _start_thermometer_sim(work, logs, children)
    port = free_port(0)
    cfg = work / "edge.toml"
    cfg.write_text(f'device_id = "bench-1"\ndata_dir = "{work / "edge"}"\n[guard_page]\nport = {port}\n'
                   '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n'
                   + (f'[thermometer]\nurl = "{thermometer}"\n' if thermometer else "")
                   + (f'[demo]\npasses_file = "{passes}"\ninterval_s = 0.5\n' if passes else ""))
    return [sys.executable, "-m", "gatepass", "edge", "run", "--config", str(cfg)], port, children


def _bare_python_s(n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append(time.monotonic() - t0)
    return statistics.median(samples)


def _bare_python_rss_mb() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        return _rss_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def _entries(work: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(work / "edge" / "edge.db")
    try:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()


def _fill_edge_db(path: Path, n: int) -> None:
    """An edge database with ``n`` entries (inserted in one transaction; hashes are not chained here)."""
    from gatepass.sqlitedb import transaction
    from sync.devicedb import open_db

    db = open_db(path)
    now = time.time()
    rows = [(i, f"uuid-{i}", "bench-1", "gate-1", now + i, float(i), "boot", 1, "scan", str(i), f"h{i % 500}", 1,
             "resident", "in", 36.5, "[36.4,36.5]", "pass", "ok", 0, 0, "0" * 64, f"{i:064x}", int(i < n // 2))
            for i in range(1, n + 1)]
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO entries (seq, uuid, device_id, gate_id, wall_ts, mono_ts, boot_id, clock_trusted, event, "
            "pass_id, household, person, pass_kind, direction, temp_c, temps, decision, reason, fever, priority, "
            "prev_hash, hash, synced) VALUES (" + ", ".join("?" * 23) + ")", rows)
    db.conn.close()


def _startup_checks(quick: bool) -> list[Result]:
    """quick_check at start, and the recovery of a damaged file, on an edge.db of realistic size."""
    import shutil
    import sqlite3

    from sync import salvage
    from sync.devicedb import open_db

    n = 20_000 if quick else 200_000  # 200k entries: about 3 months of a busy gate before purge
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-db-") as tmp:
        path = Path(tmp) / "edge.db"
        _fill_edge_db(path, n)
        size_mb = path.stat().st_size / 1e6
        checks, scans = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            assert salvage.quick_check(path) == ""
            checks.append(time.perf_counter() - t0)
            conn = sqlite3.connect(path)
            t0 = time.perf_counter()
            conn.execute("SELECT count(*), sum(length(hash)) FROM entries").fetchone()
            scans.append(time.perf_counter() - t0)
            conn.close()
        damaged = Path(tmp) / "damaged.db"
        shutil.copy(path, damaged)
        page = 4096
        with open(damaged, "r+b") as fh:  # wreck 1% of the pages in the second half of the file
            pages = damaged.stat().st_size // page
            for p in range(pages // 2, pages, 100):
                fh.seek(p * page + 8)
                fh.write(os.urandom(page - 8))
        quiet = logging.getLogger("gatepass.startup")
        level, quiet.level = quiet.level, logging.CRITICAL + 1  # the alarm is expected here
        try:
            t0 = time.perf_counter()
            result = salvage.check_database(damaged, open_db, alarm_dir=tmp)
            recover_s = time.perf_counter() - t0
        finally:
            quiet.setLevel(level)
    return [
        Result(f"quick_check of edge.db at start ({n} entries, {size_mb:.0f} MB)", statistics.median(checks), "s",
               "full scan of entries", statistics.median(scans)),
        Result(f"recovery of a damaged edge.db ({n} entries, 1% of pages wrecked)", recover_s, "s",
               "quick_check of the healthy file", statistics.median(checks),
               {"entries kept": result.entries_copied, "entries lost": result.entries_lost}),
    ]


def run(quick: bool = False) -> list[Result]:
    return _service(quick) + _startup_checks(quick)


def _service(quick: bool) -> list[Result]:
    starts = 2 if quick else 5
    # GATEPASS_BENCH_TRAFFIC_S: the length of the RSS run (the closing figure is a 3600 s run)
    run_s = float(os.environ.get("GATEPASS_BENCH_TRAFFIC_S", 20.0 if quick else 120.0))
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-service-") as tmp:
        work = Path(tmp)
        argv, port, children = _set_up(work)
        sup = Supervisor(argv, work)
        try:
            cold, http = [], []
            for i in range(starts):
                t0 = sup.start()
                cold.append(sup.wait_message("READY=1") - t0)
                http.append(time.monotonic() - t0)
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
                if i < starts - 1:
                    sup.proc.send_signal(signal.SIGTERM)
                    sup.proc.wait(30)
            restarts = [sup.kill9_and_restart() for _ in range(starts)]
            # RSS under traffic (the feeder shows a pass every 0.5 s; a guard screen polls /status).
            entries0 = _entries(work)
            rss = [_rss_mb(sup.proc.pid)]
            pings0 = sum(m == "WATCHDOG=1" for m in sup.messages)
            deadline = time.monotonic() + run_s
            while time.monotonic() < deadline:
                httpx.get(f"http://127.0.0.1:{port}/status", timeout=5)
                rss.append(_rss_mb(sup.proc.pid))
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    try:
                        sup.messages.append(sup.sock.recv(4096).decode())
                    except TimeoutError:
                        pass
            entries = _entries(work) - entries0
            pings = sum(m == "WATCHDOG=1" for m in sup.messages) - pings0
        finally:
            sup.stop()
            for child in reversed(children):
                child.stop()
        bare = _bare_python_s(starts)
        bare_rss = _bare_python_rss_mb()
    cold_med, restart_med = statistics.median(cold), statistics.median(restarts)
    return [
        Result("edge cold start to READY=1 (guard page up, camera loop running)", cold_med, "s",
               "python -c pass", bare, {"runs": starts, "max": f"{max(cold):.2f} s"}),
        Result("kill -9 to READY=1 under the stand-in supervisor (RestartSec=0)", restart_med, "s",
               "cold start", cold_med, {"runs": starts, "max": f"{max(restarts):.2f} s",
                                        "supervisor": "python stand-in (systemd is not PID 1 here)"}),
        Result(f"edge RSS, max over {run_s:.0f} s of traffic", max(rss), "MB", "bare python RSS", bare_rss,
               {"start": f"{rss[0]:.1f} MB", "after 10 min": f"{rss[min(600, len(rss) - 1)]:.1f} MB",
                "end": f"{rss[-1]:.1f} MB", "entries logged": entries,
                "watchdog pings": pings}),
    ]
