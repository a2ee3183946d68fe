"""The SHIPPED ``systemd/gatepass-edge.service`` under real systemd (PID 1 of its own namespaces, see
``tests/systemdns.py``): Type=notify READY, restart after ``kill -9``, the watchdog killing a hung service.

What differs from the shipped unit, and why:

* ``ExecStart``: this venv's ``gatepass edge run --config /etc/gatepass/edge.toml`` instead of
  ``/opt/gatepass/venv/bin/gatepass`` (what ``gatepass edge install`` does too). Nothing else in the file changes;
  ``User=gatepass``, its groups and every hardening line stay. The ``gatepass`` user and the ``gpio`` group are
  made inside the namespace by ``systemd-sysusers`` from the SHIPPED ``systemd/sysusers.d/gatepass.conf``
  (written to the namespace's ``/etc`` overlay, never the host's).
* drop-in ``10-test-env.conf`` (test only):
  ``ProtectHome=tmpfs`` + ``BindReadOnlyPaths=/root/.pyenv``: this machine's venv points at an interpreter in
  ``/root/.pyenv`` (``/root`` is mode 0700), which ``ProtectHome=yes`` hides; ``tmpfs`` still hides every home
  directory, only the interpreter is bound back read-only. On a Pi the venv's interpreter is ``/usr/bin/python3``.
  ``StandardOutput/StandardError=append:/var/log/gatepass-edge.log``: no journald runs in the namespace.
  ``BindReadOnlyPaths=<checkout>``: the venv and the (editable) code live in the checkout, which ``PrivateTmp``
  or ``ProtectHome`` would hide when it was cloned under /tmp or /root (on a Pi the venv is /opt/gatepass/venv).
* drop-in ``20-watchdog.conf`` (the watchdog test only): ``WatchdogSec=3`` instead of 30 s, to keep the test short.

All hardening lines work in the namespace (systemd sets up the service's own mount namespace, seccomp filters and
capability bounds as on a Pi). A hung service is made with SIGSTOP of the main process: the edge has no test hook to
hang a loop, and SIGSTOP freezes every loop at once (the per-loop staleness of ``LoopWatch`` is covered in
``test_edge_service.py``). systemd then sends the watchdog signal (SIGABRT) with SIGCONT, the process dies and
``Restart=on-failure`` starts it again.

The edge: simulated camera (``sim://``), the thermometer simulator on a real pseudo-terminal (its ``/dev/pts/N``
given to the ``dialout`` group, as the shipped udev rule does for the USB adapter), a fake relay.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from gatepass.procs import free_port
from tests import systemdns
from tests.systemd.units import SYSTEMD_DIR

OK, WHY = systemdns.available()
# CI as root must run these (a missing piece then fails loudly in the fixture instead of skipping).
MUST_RUN = bool(os.environ.get("CI")) and os.geteuid() == 0
pytestmark = pytest.mark.skipif(not OK and not MUST_RUN, reason=f"real systemd cannot run here: {WHY}")

UNIT = systemdns.EDGE_UNIT


def test_the_unit_run_is_the_shipped_one_but_for_the_binary():
    shipped = (SYSTEMD_DIR / UNIT).read_text().splitlines()
    ran = systemdns.edge_unit().splitlines()
    changed = [(a, b) for a, b in zip(shipped, ran, strict=True) if a != b]
    assert [a.split("=")[0] for a, _ in changed] == ["ExecStart"], changed
    assert changed[0][1].endswith(" edge run --config /etc/gatepass/edge.toml")


def active(props: dict[str, str]) -> bool:
    return props.get("ActiveState") == "active" and props.get("SubState") == "running"


@pytest.fixture(scope="module")
def edge_ns(tmp_path_factory):
    """A systemd namespace with the gatepass user and the shipped edge unit, the demo feeder showing passes
    (issued at a real central database; central's lists on the edge) every 0.5 s; yields (ns, guard port)."""
    from gatepass.demo import _demo_passes

    work = tmp_path_factory.mktemp("systemd-ns")
    thermo, pts = systemdns.start_thermometer(work)
    port = free_port(0)
    ns = systemdns.SystemdNamespace(work / "ns", {UNIT: systemdns.edge_unit()},
                                    dropins={UNIT: {"10-test-env.conf": systemdns.edge_env_dropin()}})
    state = ns.var_upper / "lib" / "gatepass"  # /var/lib/gatepass inside, filled before the overlay is mounted
    state.mkdir(parents=True)
    assert _demo_passes(work) is not None
    shutil.copy(work / "edge" / "edge.db", state / "edge.db")
    shutil.copy(work / "passes.txt", state / "passes.txt")
    try:
        ns.start()
        users = ns.run("systemd-sysusers", str(SYSTEMD_DIR / "sysusers.d" / "gatepass.conf"))
        assert users.returncode == 0, users.stderr
        ns.run("chown", "-R", "gatepass:gatepass", "/var/lib/gatepass")
        ns.write_file("/etc/gatepass/edge.toml",
                      f'device_id = "sd-1"\ndata_dir = "/var/lib/gatepass"\n[guard_page]\nport = {port}\n'
                      f'[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n[thermometer]\nurl = "{pts}"\n'
                      '[scan]\ncooldown_s = 1.0\n'  # the feeder's passes become entries every few seconds
                      '[demo]\npasses_file = "/var/lib/gatepass/passes.txt"\ninterval_s = 0.5\n')
        yield ns, port
    finally:
        ns.stop()
        thermo.stop()


def edge_log(ns: systemdns.SystemdNamespace) -> str:
    return ns.run("tail", "-n", "30", "/var/log/gatepass-edge.log").stdout


def test_starts_ready_as_the_gatepass_user_with_the_hardening(edge_ns):
    ns, port = edge_ns
    started = ns.systemctl("start", UNIT, timeout_s=180)  # Type=notify: returns once READY=1 arrived
    props = ns.show(UNIT)
    assert started.returncode == 0, f"{started.stderr}\n{props}\n{edge_log(ns)}"
    assert active(props) and props["NRestarts"] == "0", props
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    status = ns.run("cat", f"/proc/{props['MainPID']}/status").stdout
    uid = ns.run("id", "-u", "gatepass").stdout.strip()
    assert re.search(rf"^Uid:\s+{uid}\s", status, re.M) and uid != "0", status
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M) and re.search(r"^Seccomp:\s+2$", status, re.M)
    assert re.search(r"^CapBnd:\s+0+$", status, re.M), status
    groups = ns.run("id", "-Gn", "gatepass").stdout.split()
    assert {"dialout", "video", "gpio", "audio"} <= set(groups)
    devices = _devices_when_ok(port)  # the thermometer's pty is reached through group dialout, hardened as shipped
    assert devices["thermometer"]["status"] == "ok" and devices["camera"]["status"] == "ok", devices


def _devices_when_ok(port: int, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        devices = httpx.get(f"http://127.0.0.1:{port}/status", timeout=10).json()["devices"]
        if all(d["status"] == "ok" for d in devices.values()) or time.monotonic() > deadline:
            return devices
        time.sleep(0.2)


def test_kill_9_restarts_it(edge_ns):
    ns, port = edge_ns
    before = ns.wait_for(UNIT, active, timeout_s=120)
    assert ns.run("kill", "-9", before["MainPID"]).returncode == 0
    after = ns.wait_for(UNIT, lambda p: active(p) and p["MainPID"] != before["MainPID"]
                        and int(p["NRestarts"]) == int(before["NRestarts"]) + 1, timeout_s=120)
    assert int(after["ExecMainStartTimestampMonotonic"]) > int(before["ExecMainStartTimestampMonotonic"])
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200


def test_the_watchdog_kills_and_restarts_a_hung_service(edge_ns):
    ns, port = edge_ns
    ns.write_file(f"{systemdns.UNIT_DIR}/{UNIT}.d/20-watchdog.conf", "[Service]\nWatchdogSec=3\n")
    assert ns.systemctl("daemon-reload").returncode == 0
    assert ns.systemctl("restart", UNIT, timeout_s=180).returncode == 0, edge_log(ns)
    before = ns.wait_for(UNIT, active, timeout_s=120)
    assert ns.show(UNIT, "WatchdogUSec")["WatchdogUSec"] in ("3s", "3000000")
    # the service pings: the watchdog timestamp moves while it runs
    first = int(before["WatchdogTimestampMonotonic"])
    ns.wait_for(UNIT, lambda p: int(p["WatchdogTimestampMonotonic"]) > first, timeout_s=10)
    assert ns.run("kill", "-STOP", before["MainPID"]).returncode == 0
    # killed for the missed pings: Result=watchdog while it waits RestartSec before the restart
    killed = ns.wait_for(UNIT, lambda p: p["Result"] == "watchdog", timeout_s=30, poll_s=0.02)
    assert killed["MainPID"] in (before["MainPID"], "0"), killed  # still dying of the SIGABRT, or gone
    after = ns.wait_for(UNIT, lambda p: active(p) and p["MainPID"] != before["MainPID"], timeout_s=120)
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1, after
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200


def _entries(ns: systemdns.SystemdNamespace) -> int:
    out = ns.run("sqlite3", "-readonly", "/var/lib/gatepass/edge.db", "SELECT count(*) FROM entries").stdout
    return int(out.strip() or 0)


def _with_watchdog_3s(ns: systemdns.SystemdNamespace) -> dict[str, str]:
    if ns.show(UNIT, "WatchdogUSec")["WatchdogUSec"] not in ("3s", "3000000"):
        ns.write_file(f"{systemdns.UNIT_DIR}/{UNIT}.d/20-watchdog.conf", "[Service]\nWatchdogSec=3\n")
        assert ns.systemctl("daemon-reload").returncode == 0
        assert ns.systemctl("restart", UNIT, timeout_s=180).returncode == 0, edge_log(ns)
    return ns.wait_for(UNIT, active, timeout_s=120)


def test_the_watchdog_restarts_the_service_when_the_decide_loop_hangs_on_a_database_lock(edge_ns):
    """One loop hung while the others turn: another process holds edge.db's write lock, so the decide loop
    waits in SQLite's busy timeout (5 s) on every entry; LoopWatch stops the pings after WatchdogSec/3 and
    systemd kills and restarts the service. No test hook: the real lock, the real loops."""
    ns, port = edge_ns
    before = _with_watchdog_3s(ns)
    deadline = time.monotonic() + 60
    start = _entries(ns)
    while _entries(ns) == start and time.monotonic() < deadline:  # the feeder's scans are being decided
        time.sleep(0.2)
    assert _entries(ns) > start, edge_log(ns)
    holder = subprocess.Popen(
        ["nsenter", "-t", str(ns.pid), "-m", "-p", sys.executable, "-c",
         "import sqlite3, sys\nc = sqlite3.connect('/var/lib/gatepass/edge.db', isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.read()\nc.rollback()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        killed = ns.wait_for(UNIT, lambda p: p["Result"] == "watchdog", timeout_s=60, poll_s=0.02)
    finally:
        holder.stdin.close()  # release the lock: the restarted service must be able to write
        holder.wait(30)
    assert killed["MainPID"] in (before["MainPID"], "0"), killed
    ns.wait_for(UNIT, lambda p: active(p) and p["MainPID"] != before["MainPID"], timeout_s=120)
    assert "decide have not turned" in ns.run("cat", "/var/log/gatepass-edge.log").stdout
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    after = _entries(ns)
    deadline = time.monotonic() + 60
    while _entries(ns) == after and time.monotonic() < deadline:  # deciding again after the restart
        time.sleep(0.2)
    assert _entries(ns) > after
