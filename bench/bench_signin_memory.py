"""Central's memory under a burst of console sign-ins: 100 concurrent wrong sign-ins, unauthenticated, each from
its own client address and for its own user name (so neither the per-address nor the per-name limit spares a
hash: only the hash queue of :mod:`central.console.signin` bounds them), against a real ``gatepass central serve``
subprocess on loopback with the production argon2 parameters (argon2id, 64 MiB per hash).

Figures: the server's RSS at its peak during the burst and one second after it, each as a ratio to the same
server's idle RSS measured just before (after a warm-up sign-in, so argon2 and the templates are loaded); the
outcome counts (``303``: checked and wrong, ``429``: told to wait, anything else is a failure). Before the hash
queue, 40 parallel sign-ins took central from 230 MiB to 2.5 GiB.

``python -m bench signin_memory`` (``--quick``: 40 sign-ins).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.harness import Result

PASSWORD = "quiet-harbour-lantern-7"


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _start(tmp: Path) -> tuple[subprocess.Popen, str]:
    """A central server (one process) with one admin account, on a free loopback port."""
    from gatepass.procs import free_port

    port = free_port(0)
    cfg = tmp / "central.toml"
    cfg.write_text(f'data_dir = "{tmp / "data"}"\nport = {port}\nsession_secret = "{"b" * 40}"\n')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1",
           "GATEPASS_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "gatepass", "central", "user", "add", "--config", str(cfg), "admin",
                    "--role", "admin", "--password-stdin"], input=PASSWORD + "\n", text=True, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "central", "serve", "--config", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "ab"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError((tmp / "server.log").read_text()[-2000:])


def _sign_in(url: str, address: str, username: str, password: str, barrier: threading.Barrier | None) -> int:
    with httpx.Client(base_url=url, timeout=60, headers={"X-Forwarded-For": address}) as c:
        page = c.get("/login").text
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        if barrier is not None:
            barrier.wait()
        return c.post("/login", data={"username": username, "password": password, "csrf": token,
                                      "next": "/"}).status_code


def _burst(url: str, pid: int, n: int) -> tuple[float, Counter]:
    """``n`` concurrent wrong sign-ins; the peak RSS while they run and their status codes."""
    barrier = threading.Barrier(n)
    codes: Counter = Counter()
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(pid))
            time.sleep(0.01)

    def one(i: int) -> None:
        try:
            codes[_sign_in(url, f"10.77.{i // 250}.{i % 250 + 1}", f"guess{i}", f"wrong-guess-{i}", barrier)] += 1
        except (httpx.HTTPError, threading.BrokenBarrierError) as exc:
            codes[type(exc).__name__] += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    workers = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    sampler.join()
    return peak[0], codes


def run(quick: bool = False) -> list[Result]:
    n = 40 if quick else 100
    with tempfile.TemporaryDirectory() as d:
        proc, url = _start(Path(d))
        try:
            assert _sign_in(url, "10.76.0.1", "admin", PASSWORD, None) == 303  # warm-up: one real hash
            time.sleep(1.0)
            idle = _rss_mb(proc.pid)
            peak, codes = _burst(url, proc.pid, n)
            time.sleep(1.0)
            after = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    notes = {"outcomes": dict(sorted((str(k), v) for k, v in codes.items()))}
    return [Result(f"central RSS peak during {n} concurrent sign-ins (argon2id 64 MiB)", peak, "MiB",
                   "the same server idle", idle, notes),
            Result(f"central RSS 1 s after {n} concurrent sign-ins", after, "MiB", "the same server idle", idle)]
