"""``gatepass demo`` starts every part and both URLs answer; the demo guard signs in with the PIN it prints (set in
the device database, never in a config file), and nothing the demo writes is readable by other users."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

SECRETS = ("central.toml", "session-secret", "sync.toml", "edge.toml", "central/central.db", "edge/edge.db",
           "edge/pin-pepper", "passes.txt")


def assert_private(demo: Path) -> None:
    """Every file and folder the demo made is its user's alone (issue 18: central.toml and central.db were 0644)."""
    for name in SECRETS:
        assert (demo / name).exists(), name
    shared = [f"{p.relative_to(demo)} {stat.filemode(p.stat().st_mode)}" for p in [demo, *demo.rglob("*")]
              if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert shared == [], shared


def demo_guard_signs_in(guard_url: str, line: str) -> None:
    """Sign in as the guard the demo prints (the browser on this machine is the paired kiosk)."""
    match = re.search(r"(\d+) / PIN (\d+)", line)
    assert match, line
    guard, pin = match.groups()
    assert len(pin) >= 6
    html = httpx.get(guard_url, timeout=5).text
    token = re.search(r'"token": "([^"]+)"', html).group(1)
    r = httpx.post(guard_url + "api/shift/start", json={"guard_id": guard, "pin": pin},
                   headers={"X-Gatepass-Token": token}, timeout=30)
    assert r.status_code == 200, r.text


def test_demo_starts_and_both_urls_answer(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "demo", "--data-dir", str(tmp_path / "demo"),
                             "--central-port", "0", "--guard-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")})
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 90
        while len(urls) < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.match(r"(guard page|central console|guard sign-in):\s+(.+)", line)
            if m:
                urls[m.group(1)] = m.group(2).strip()
        assert len(urls) == 3, proc.stderr.read() if proc.poll() is not None else "no URLs printed"
        for name in ("guard page", "central console"):
            # The console redirects to its sign-in page; both must end in a page that answers.
            assert httpx.get(urls[name], timeout=5, follow_redirects=True).status_code == 200
        demo_guard_signs_in(urls["guard page"], urls["guard sign-in"])
        assert "[guards]" not in (tmp_path / "demo" / "edge.toml").read_text()
        assert_private(tmp_path / "demo")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode in (0, 130, -2)
