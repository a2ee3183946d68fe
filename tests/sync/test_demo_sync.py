"""``gatepass demo`` registers its gate at central and the gate's entries reach central."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tomllib

from .helpers import wait_until


def _central_count(path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(path, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM entries WHERE device_id = 'demo-gate-1'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_demo_entries_reach_central(tmp_path):
    data = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "demo", "--data-dir", str(data),
                             "--central-port", "0", "--guard-port", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")})
    try:
        reached = wait_until(lambda: _central_count(data / "central" / "central.db") >= 1, 90, every=0.5)
        logs = data / "logs"
        detail = "\n".join(p.read_text(errors="replace")[-800:] for p in logs.glob("*.log")) if logs.exists() else ""
        assert reached, detail
        token = tomllib.loads((data / "sync.toml").read_text())["device_token"]
        assert all(token not in p.read_text(errors="replace") for p in logs.glob("*.log"))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
