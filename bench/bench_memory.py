"""Does the edge service's memory grow under heavy traffic? RSS per 1,000 entries, second half vs first half.

Set-up: ``bench.bench_service._set_up`` (central passes, thermometer simulator on a pty, simulated camera) with
more traffic per minute: ``[scan] cooldown_s = 1``, the demo feeder presenting a pass every 0.3 s (4 passes:
each back after 1.2 s, past the 1 s same-scan gap), and a guard screen doing what ``edge/web/static/guard.js``
does: the SSE ``/events`` stream held open, ``/status`` every 2 s, ``/preview.jpg``
every 0.3 s after the previous one arrived.

RSS is sampled every ``sample_s``. The figure is RSS growth per 1,000 logged entries in the second half of the run
against the first half; a leak keeps the second-half rate near the first, a warm-up (caches, allocator arenas)
drops it towards 0. The baseline is a bare Python process's RSS.

Run by hand (``python -m bench.bench_memory SECONDS``) it also prints every sample; with
``GATEPASS_BENCH_TRACEMALLOC=DIR`` the edge runs under tracemalloc and dumps a snapshot to DIR on SIGUSR2 at
each quarter of the run (diff them with ``tracemalloc.Snapshot.load``).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.bench_service import Supervisor, _bare_python_rss_mb, _entries, _rss_mb, _set_up
from bench.harness import Result

# Imports and runs the CLI with a SIGUSR2 handler that dumps a tracemalloc snapshot (bench only, not production).
_TRACE_WRAPPER = (
    "import os, signal, sys, tracemalloc, itertools\n"
    "tracemalloc.start(1)\n"
    "_n = itertools.count()\n"
    "_d = sys.argv.pop(1)\n"
    "signal.signal(signal.SIGUSR2, lambda *a: tracemalloc.take_snapshot().dump(f'{_d}/snap-{next(_n)}.pickle'))\n"
    "from gatepass.cli import main\n"
    "sys.argv[0] = 'gatepass'\n"
    "sys.exit(main())\n"
)


class _Guard:
    """A guard screen: SSE stream open, /status and /preview.jpg polled like guard.js does."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.stop = threading.Event()
        self.events = self.status = self.previews = 0
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._sse, self._poll)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            if t.is_alive():
                t.join(10)

    def _sse(self) -> None:
        while not self.stop.is_set():
            try:
                timeout = httpx.Timeout(5, read=None)
                with httpx.Client(timeout=timeout) as c, c.stream("GET", self.base + "/events") as r:
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            self.events += 1
                        if self.stop.is_set():
                            return
            except httpx.HTTPError:
                time.sleep(2)  # guard.js reconnects after 2 s

    def _poll(self) -> None:
        next_status = 0.0
        with httpx.Client(timeout=5) as c:
            while not self.stop.is_set():
                try:
                    if time.monotonic() >= next_status:
                        c.get(self.base + "/status")
                        self.status += 1
                        next_status = time.monotonic() + 2.0
                    c.get(self.base + "/preview.jpg")
                    self.previews += 1
                except httpx.HTTPError:
                    pass
                self.stop.wait(0.3)


def measure(run_s: float, sample_s: float = 10.0, trace_dir: str | None = None,
            echo: bool = False) -> tuple[list[tuple[float, float, int]], dict[str, int]]:
    """Run the edge under heavy traffic; returns samples (seconds, RSS MB, entries) and guard counters."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-memory-") as tmp:
        work = Path(tmp)
        argv, port, children = _set_up(work)
        cfg = Path(argv[-1])
        text = cfg.read_text().replace("interval_s = 0.5", "interval_s = 0.3")
        cfg.write_text(text + "[scan]\ncooldown_s = 1.0\n")
        if trace_dir:
            argv = [sys.executable, "-c", _TRACE_WRAPPER, trace_dir] + argv[3:]
        sup = Supervisor(argv, work)
        guard = _Guard(port)
        samples: list[tuple[float, float, int]] = []
        try:
            sup.start()
            sup.wait_message("READY=1")
            guard.start()
            t0 = time.monotonic()
            quarters = [run_s * q / 4 for q in range(4)] if trace_dir else []
            while True:
                now = time.monotonic() - t0
                if quarters and now >= quarters[0]:
                    quarters.pop(0)
                    sup.proc.send_signal(signal.SIGUSR2)
                samples.append((now, _rss_mb(sup.proc.pid), _entries(work)))
                if echo:
                    print(f"{now:7.0f} s  RSS {samples[-1][1]:6.1f} MB  entries {samples[-1][2]}", flush=True)
                if now >= run_s:
                    break
                end = time.monotonic() + sample_s
                while time.monotonic() < end:
                    try:
                        sup.messages.append(sup.sock.recv(4096).decode())
                    except TimeoutError:
                        pass
            if trace_dir:
                sup.proc.send_signal(signal.SIGUSR2)
                time.sleep(5)
        finally:
            guard.close()
            sup.stop()
            for child in reversed(children):
                child.stop()
    return samples, {"sse events": guard.events, "status polls": guard.status, "previews": guard.previews}


def _per_1000(samples: list[tuple[float, float, int]]) -> float:
    (_, r0, e0), (_, r1, e1) = samples[0], samples[-1]
    return (r1 - r0) / max(e1 - e0, 1) * 1000


def run(quick: bool = False) -> list[Result]:
    run_s = float(os.environ.get("GATEPASS_BENCH_MEMORY_S", 60.0 if quick else 600.0))
    samples, counts = measure(run_s, sample_s=5.0 if quick else 10.0)
    mid = len(samples) // 2
    first, second = _per_1000(samples[: mid + 1]), _per_1000(samples[mid:])
    bare = _bare_python_rss_mb()
    return [
        Result(f"edge RSS growth per 1,000 entries, second half of a {run_s:.0f} s heavy run", second, "MB",
               "first half", first,
               {"RSS start MB": round(samples[0][1], 1), "RSS end MB": round(samples[-1][1], 1),
                "bare python MB": round(bare, 1), "entries": samples[-1][2] - samples[0][2], **counts}),
    ]


if __name__ == "__main__":
    measure(float(sys.argv[1]) if len(sys.argv) > 1 else 600.0, trace_dir=os.environ.get("GATEPASS_BENCH_TRACEMALLOC"),
            echo=True)
