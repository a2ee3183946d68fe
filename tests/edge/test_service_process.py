"""The edge service under a stand-in for systemd: READY, WATCHDOG from the loops, STOPPING; root refused;
a damaged database recovered at start. (systemd is not PID 1 here: the notify socket is ours.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from gatepass import startup
from gatepass.procs import free_port
from gatepass.sdnotify import LoopWatch, Notifier
from sync import salvage


def _edge_config(tmp_path, port):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'device_id = "t1"\ndata_dir = "{tmp_path / "data"}"\n[guard_page]\nport = {port}\n'
                   '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n')
    return cfg


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    env.update(extra)
    return env


def _receive_until(sock, wanted, timeout_s):
    got = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        if wanted(got):
            break
    return got


def test_ready_watchdog_stopping_under_a_notify_socket_after_recovering_the_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "edge.db").write_bytes(b"garbage, not sqlite " * 300)  # damaged: moved aside and rebuilt at start
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.5)
    port = free_port(0)
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "edge", "run", "--config",
                             str(_edge_config(tmp_path, port))],
                            env=_env(GATEPASS_ALLOW_ROOT="1", NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="2000000"),
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "edge.log", "wb"))
    try:
        got = _receive_until(sock, lambda g: sum("WATCHDOG=1" in m for m in g) >= 3, 60)
        log = (tmp_path / "edge.log").read_text()
        ready = [m for m in got if m.startswith("READY=1")]
        assert ready and "STATUS=gate" in ready[0], log[-2000:]
        assert sum(m == "WATCHDOG=1" for m in got) >= 3, log[-2000:]
        import httpx
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        got = _receive_until(sock, lambda g: any(m.startswith("STOPPING=1") for m in g), 20)
        assert any(m.startswith("STOPPING=1") for m in got)
        assert proc.wait(20) == 0
        assert [a["code"] for a in startup.read_alarms(data)] == ["database_recovered"]
        assert list(data.glob("edge.db.corrupt-*"))
        assert salvage.quick_check(data / "edge.db") == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


def test_root_is_refused_without_the_override(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    proc = subprocess.run([sys.executable, "-m", "gatepass", "edge", "run", "--config",
                           str(_edge_config(tmp_path, free_port(0)))], env=_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "refusing to run as root" in proc.stderr and "GATEPASS_ALLOW_ROOT" in proc.stderr


def test_a_hung_loop_stops_the_watchdog_pings(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "n.sock"))
    sock.settimeout(0.2)
    watch = LoopWatch(Notifier(str(tmp_path / "n.sock"), watchdog_s=30.0))
    assert watch.stale_s == 10.0  # a third of WatchdogSec
    assert watch.beat("frames", now=100.0)
    watch.beat("decide", now=100.1)
    assert not watch.beat("frames", now=116.0)  # decide has been silent for 15.9 s
    assert sock.recv(64) == b"WATCHDOG=1"
    with pytest.raises(TimeoutError):
        sock.recv(64)
    sock.close()


def test_loopwatch_pings_only_while_every_loop_turns(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "n.sock"))
    sock.settimeout(0.2)
    watch = LoopWatch(Notifier(str(tmp_path / "n.sock"), watchdog_s=30.0), stale_s=10.0)
    pings = []
    for t in range(0, 60):  # both loops turn every second for 60 s: pinged every 15 s
        pings.append(watch.beat("frames", now=float(t)))
        watch.beat("decide", now=t + 0.5)
    assert sum(pings) >= 3
    # now "decide" hangs: frames keeps turning but no more pings
    hung = [watch.beat("frames", now=float(t)) for t in range(60, 120)]
    assert not any(hung[11:]) and watch.stale(now=120.0) == ["decide"]
    sock.close()
