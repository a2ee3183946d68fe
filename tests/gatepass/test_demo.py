"""``gatepass demo`` starts every part and both URLs answer."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx


def test_demo_starts_and_both_urls_answer(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "demo", "--data-dir", str(tmp_path / "demo"),
                             "--central-port", "0", "--guard-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")})
    try:
        urls = {}
        deadline = time.monotonic() + 90
        while len(urls) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.match(r"(guard page|central console):\s+(\S+)", line)
            if m:
                urls[m.group(1)] = m.group(2)
        assert len(urls) == 2, proc.stderr.read() if proc.poll() is not None else "no URLs printed"
        for url in urls.values():
            # The console redirects to its sign-in page; both must end in a page that answers.
            assert httpx.get(url, timeout=5, follow_redirects=True).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode in (0, 130, -2)
