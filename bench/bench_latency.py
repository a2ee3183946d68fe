"""Decision latency from frame capture to committed log entry, and the edge process's peak memory.

Latency: a real :class:`edge.checkpoint.Checkpoint` on a real SQLite file (WAL, synchronous=FULL) decides
10,000 simulated scans (1,000 with ``--quick``): each is a 640x480 frame holding a signed pass, decoded by the
scan step, verified, paired with a body reading already in the ring buffer, decided, committed and acted on
(recording gate). Baseline in the same run: one bare durable ``LocalLog.append`` (the commit alone).

Peak RSS: ``gatepass edge run`` (simulated camera with the demo feeder, recording gate, guard page) for a while,
its ``VmHWM`` against a bare ``python -c`` that imports nothing (the interpreter's own floor).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.harness import Result, percentile


def _frames(n: int):
    """``n`` distinct signed passes drawn into frames (pass texts, frames)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from drivers.camera import render_code
    from sync.passes import PassInfo, sign_pass

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    kid = bytes.fromhex("beefbeef")
    start = int(time.time()) // 60 * 60 - 3600
    texts, frames = [], []
    for i in range(n):
        info = PassInfo(10_000 + i, f"{i % 30}-{i % 6}-{100 + i % 40}", 1, "resident", start, start + 86400, start,
                        None, kid)
        text = sign_pass(info, key)
        frame = np.full((480, 640), 118, np.uint8)
        patch = render_code(text, 4)
        h, w = patch.shape
        frame[(480 - h) // 2:(480 - h) // 2 + h, (640 - w) // 2:(640 - w) // 2 + w] = patch
        texts.append(text)
        frames.append(frame)
    return key, kid, texts, frames


def _page(key, kid: bytes) -> dict:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    return {"format": "gatepass-lists/1", "version": 1, "since": 0, "snapshot": True, "issued_at": time.time(),
            "changes": [{"v": 1, "op": "key_add", "kid": kid.hex(), "public_key": pub, "not_before": 0}]}


def latency(scans: int, tmp: Path, direction: str = "in") -> list[Result]:
    """Capture -> committed entry through a real Checkpoint at a gate of ``direction`` ("both": each scan
    also looks up the holder's last passage, see edge/direction.py), against a bare durable append."""
    from drivers.gate import FakeGate
    from edge.checkpoint import Checkpoint
    from edge.pairing import Sample
    from edge.settings import EdgeSettings
    from sync import lists
    from sync.devicedb import open_db
    from sync.locallog import LocalLog

    key, kid, texts, frames = _frames(200)
    settings = EdgeSettings(data_dir=tmp / f"edge-{direction}", gate={"id": "bench", "direction": direction},
                            camera={"source": "none"}, relay={"kind": "fake", "pulse_s": 0.1},
                            scan={"cooldown_s": 0, "same_scan_gap_s": 0, "window": (0.2, 0.1, 0.6, 0.8)},
                            policy={"samples": 1, "pair_lookback_s": 1.0}, health={"check_interval_s": 3600})
    settings.data_dir.mkdir(parents=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, _page(key, kid))
    db.conn.close()
    cp = Checkpoint(settings, gate=FakeGate())
    cp.start()
    q = cp.subscribe()
    try:
        for i in range(scans):
            frame = frames[i % len(frames)]
            t_capture = time.monotonic()
            cp.add_reading(Sample(t_capture - 0.01, 36.5))  # the person is already in front of the thermometer
            for text in cp.decoder.decode(frame):
                cp.submit_text(text, t_capture, "bench")
            out = q.get(timeout=10)
            assert out.decision == "pass", out
        lat = list(cp.latencies)
    finally:
        cp.stop()
    base_db = open_db(tmp / f"baseline-{direction}.db")
    base = LocalLog(base_db)
    samples = []
    for _ in range(min(scans, 2000)):
        t0 = time.perf_counter()
        base.append(device_id="d", gate_id="g", wall_ts=time.time(), mono_ts=time.monotonic(), boot_id="b",
                    clock_trusted=True, event="scan", direction="in", decision="pass", reason="temp_ok")
        samples.append(time.perf_counter() - t0)
    base_db.conn.close()
    b_med, b_p99 = statistics.median(samples), percentile(samples, 99)
    return [
        Result(f"capture -> committed entry ({direction} gate), median", statistics.median(lat) * 1e3, "ms",
               "bare durable LocalLog.append, median", b_med * 1e3, {"scans": len(lat)}),
        Result(f"capture -> committed entry ({direction} gate), p99", percentile(lat, 99) * 1e3, "ms",
               "bare durable LocalLog.append, p99", b_p99 * 1e3, {"scans": len(lat)}),
    ]


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def peak_rss(seconds: float, tmp: Path) -> Result:
    key, kid, texts, _ = _frames(4)
    from sync import lists
    from sync.devicedb import open_db

    data = tmp / "rss"
    (data / "edge").mkdir(parents=True)
    db = open_db(data / "edge" / "edge.db")
    lists.apply_page(db, _page(key, kid))
    db.conn.close()
    (data / "passes.txt").write_text("\n".join(texts) + "\n")
    from gatepass.procs import free_port

    cfg = data / "edge.toml"
    cfg.write_text(f'data_dir = "{data / "edge"}"\n[guard_page]\nport = {free_port(0)}\n'
                   '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n[voice]\nenabled = false\n'
                   f'[demo]\npasses_file = "{data / "passes.txt"}"\ninterval_s = 1\n')
    env = {**os.environ, "GATEPASS_ALLOW_ROOT": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "edge", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        time.sleep(seconds)
        hwm = _vm_hwm_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(20)
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    time.sleep(0.5)
    bare_hwm = _vm_hwm_kb(bare.pid)
    bare.wait()
    return Result("edge process peak RSS (VmHWM)", hwm / 1024, "MB", "bare python interpreter", bare_hwm / 1024,
                  {"ran_s": seconds, "Pi Zero 2 W RAM": "512 MB"})


def run(quick: bool = False) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        results = latency(1000 if quick else 10_000, Path(tmp))
        results += latency(1000 if quick else 10_000, Path(tmp), "both")
        results.append(peak_rss(10 if quick else 30, Path(tmp)))
    return results
