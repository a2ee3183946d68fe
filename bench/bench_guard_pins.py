"""Guard sign-in bursts: the edge process's RSS after 40 parallel PIN checks, against its idle RSS.

Issue 18 measured the edge going from 95 to 430 MiB after 40 parallel PIN checks (argon2 at 19 MiB each, all at
once) and staying there. Now the lock-out counts attempts before the check and the checks queue one at a time
(``edge/web/pin_guard.py``), so memory stays flat.

Set-up: ``gatepass edge run`` (no camera, fake relay, voice off) on loopback, guard ``1001`` with a PIN set by
``gatepass edge set-pin``. The idle RSS is taken after the page and ``/status`` were loaded once. Two bursts,
each in a fresh process:

- ``lock-out``: the shipped settings (5 wrong PINs lock sign-in): 40 parallel wrong PINs from one address;
- ``queue``: ``[screen] pin_attempts = 100``, so only the hash queue bounds the burst: 40 parallel wrong PINs from
  10 loopback addresses (127.0.0.1-10), four each.

Each figure is RSS after the burst (and the peak during it, ``VmHWM``, and RSS after a second burst) against the
same process's idle RSS; the ratio is the growth. Run alone: ``python -m bench guard_pins``. Measured on the dev
machine: 79.5 MB idle, 99 MB after either burst (one argon2 block of 19 MiB kept by the hashing thread), no
growth with a second burst; before the single hashing thread: 156 MB and 310 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.harness import Result

GUARD, PIN = "1001", "246810"


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def _sign_in(port: int, token: str, source: str) -> int:
    body = json.dumps({"guard_id": GUARD, "pin": "000000"}).encode()
    head = (f"POST /api/shift/start HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Gatepass-Token: {token}\r\nConnection: close\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(head + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    return int(response.split(b" ", 2)[1])


async def _burst(port: int, token: str, sources: list[str]) -> Counter[int]:
    return Counter(await asyncio.gather(*(_sign_in(port, token, s) for s in sources)))


def _start(work: Path, extra: str) -> tuple[subprocess.Popen, int]:
    from gatepass.procs import free_port

    port = free_port(0)
    cfg = work / "edge.toml"
    cfg.write_text(f'data_dir = "{work / "edge"}"\n[guard_page]\nport = {port}\n[camera]\nsource = "none"\n'
                   f'[relay]\nkind = "fake"\n[voice]\nenabled = false\n{extra}')
    env = {**os.environ, "GATEPASS_ALLOW_ROOT": "1"}
    gatepass = [sys.executable, "-m", "gatepass", "edge"]
    subprocess.run([*gatepass, "set-pin", "--config", str(cfg), "--guard", GUARD], input=f"{PIN}\n{PIN}\n",
                   text=True, check=True, capture_output=True, env=env)
    proc = subprocess.Popen([*gatepass, "run", "--config", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the edge did not start")


def measure(name: str, extra: str, sources: list[str]) -> Result:
    """One fresh edge process: idle RSS, then the burst from ``sources``; RSS after (and peak) against idle."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-pins-") as tmp:
        proc, port = _start(Path(tmp), extra)
        try:
            base = f"http://127.0.0.1:{port}"
            html = httpx.get(base + "/").text
            token = html.split('"token": "', 1)[1].split('"', 1)[0]
            httpx.get(base + "/status")
            time.sleep(1.0)
            idle = _status_kb(proc.pid, "VmRSS")
            statuses = asyncio.run(_burst(port, token, sources))
            time.sleep(1.0)
            after, peak = _status_kb(proc.pid, "VmRSS"), _status_kb(proc.pid, "VmHWM")
            asyncio.run(_burst(port, token, sources))  # a second burst: flat means no more growth
            time.sleep(1.0)
            again = _status_kb(proc.pid, "VmRSS")
        finally:
            proc.terminate()
            proc.wait(20)
    return Result(f"edge RSS after {len(sources)} parallel PIN checks ({name})", after / 1024, "MB",
                  "the same process idle", idle / 1024,
                  {"peak MB": round(peak / 1024, 1), "after a 2nd burst MB": round(again / 1024, 1),
                   "answers": dict(sorted(statuses.items()))})


def run(quick: bool = False) -> list[Result]:
    one = ["127.0.0.1"] * 40
    spread = [f"127.0.0.{1 + i % 10}" for i in range(40)]
    return [measure("lock-out, one address", "", one),
            measure("queue only, 10 addresses", "[screen]\npin_attempts = 100\n", spread)]


if __name__ == "__main__":
    for result in run():
        print(result.line())
