"""The edge service under REAL systemd: cold start and restart after kill -9 (issue 8).

systemd (Debian 12's /lib/systemd/systemd) runs as PID 1 of its own PID + mount + cgroup namespace
(``tests/systemdns.py``) with the SHIPPED ``systemd/gatepass-edge.service`` (only ExecStart's binary
rewritten; test-environment drop-in described in ``tests/systemdns.py::edge_env_dropin``), as user
``gatepass`` made by the shipped sysusers.d file, with every hardening line.

Set-up as ``bench_service``: passes issued at a real central database and lists on the edge, the
thermometer simulator on a pseudo-terminal, the simulated camera, the demo feeder showing a pass every
0.5 s, a fake relay.

Figures (medians; times from systemd's own ``ActiveEnterTimestampMonotonic``, the moment READY=1 made the
unit active, against CLOCK_MONOTONIC read here just before the command):

* cold start: ``systemctl start`` -> active;
* kill -9 of MainPID -> active again, with the shipped ``RestartSec=2`` and with ``RestartSec=0`` (drop-in).

Baseline, measured in the same run on the same set-up: ``bench_service``'s stand-in supervisor
(cold start to READY=1; kill -9 -> READY=1 restarting at once).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

from bench.bench_service import Supervisor, _set_up
from bench.harness import Result
from gatepass.procs import free_port

log = logging.getLogger(__name__)


def _standin(argv: list[str], work: Path, n: int) -> tuple[list[float], list[float]]:
    """Cold starts and kill -9 restarts (RestartSec=0) under the stand-in supervisor."""
    sup = Supervisor(argv, work)
    cold = []
    try:
        for i in range(n):
            t0 = sup.start()
            cold.append(sup.wait_message("READY=1") - t0)
            if i < n - 1:
                sup.proc.send_signal(signal.SIGTERM)
                sup.proc.wait(30)
        restarts = [sup.kill9_and_restart() for _ in range(n)]
    finally:
        sup.stop()
    return cold, restarts


def _active_at_s(ns, unit: str) -> float:
    return int(ns.show(unit, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"]) / 1e6


def _is_active(props: dict[str, str]) -> bool:
    return props.get("ActiveState") == "active" and props.get("SubState") == "running"


def _systemd_cold(ns, unit: str, n: int) -> list[float]:
    out = []
    ns.systemctl("reset-failed", unit)  # StartLimitBurst=10 in 5 min counts manual starts too
    for _ in range(n):
        t0 = time.monotonic()
        done = ns.systemctl("start", unit, timeout_s=240)
        if done.returncode != 0:
            raise RuntimeError(f"systemctl start {unit}: {done.stderr}")
        out.append(_active_at_s(ns, unit) - t0)
        ns.systemctl("stop", unit, timeout_s=60)
    return out


def _systemd_kill9(ns, unit: str, n: int) -> list[float]:
    ns.systemctl("reset-failed", unit)
    if ns.systemctl("start", unit, timeout_s=240).returncode != 0:
        raise RuntimeError(f"systemctl start {unit} failed")
    out = []
    for _ in range(n):
        before = ns.wait_for(unit, _is_active, timeout_s=240)
        t_kill = time.monotonic()
        ns.run("kill", "-9", before["MainPID"])
        ns.wait_for(unit, lambda p, pid=before["MainPID"]: _is_active(p) and p["MainPID"] != pid, timeout_s=240)
        out.append(_active_at_s(ns, unit) - t_kill)
    ns.systemctl("stop", unit, timeout_s=60)
    return out


def _under_systemd(work: Path, n: int) -> dict[str, list[float]]:
    from tests import systemdns

    unit = systemdns.EDGE_UNIT
    thermo = os.path.realpath(work / "thermometer")
    shutil.chown(thermo, group="dialout")
    os.chmod(thermo, 0o660)
    ns = systemdns.SystemdNamespace(work / "ns", {unit: systemdns.edge_unit()},
                                    dropins={unit: {"10-test-env.conf": systemdns.edge_env_dropin()}})
    state = ns.var_upper / "lib" / "gatepass"  # pre-filled before the overlay is mounted
    state.mkdir(parents=True)
    shutil.copy(work / "edge" / "edge.db", state / "edge.db")  # central's lists
    shutil.copy(work / "passes.txt", state / "passes.txt")
    port = free_port(0)
    with ns:
        users = ns.run("systemd-sysusers", str(systemdns.REPO / "systemd" / "sysusers.d" / "gatepass.conf"))
        if users.returncode != 0:
            raise RuntimeError(f"systemd-sysusers: {users.stderr}")
        ns.run("chown", "-R", "gatepass:gatepass", "/var/lib/gatepass")
        ns.write_file("/etc/gatepass/edge.toml",
                      f'device_id = "bench-sd"\ndata_dir = "/var/lib/gatepass"\n[guard_page]\nport = {port}\n'
                      f'[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n[thermometer]\nurl = "{thermo}"\n'
                      '[demo]\npasses_file = "/var/lib/gatepass/passes.txt"\ninterval_s = 0.5\n')
        out = {"cold": _systemd_cold(ns, unit, n), "kill9_rs2": _systemd_kill9(ns, unit, n)}
        ns.write_file(f"{systemdns.UNIT_DIR}/{unit}.d/20-restart-now.conf", "[Service]\nRestartSec=0\n")
        ns.systemctl("daemon-reload")
        out["kill9_rs0"] = _systemd_kill9(ns, unit, n)
        out["entries_s"] = [_first_entry_s(ns, unit)]
    return out


def _first_entry_s(ns, unit: str, timeout_s: float = 60.0) -> float:
    """Seconds from ``systemctl start`` to the first entry logged (the set-up really decides passes)."""
    def entries() -> int:
        out = ns.run("sqlite3", "-readonly", "/var/lib/gatepass/edge.db", "SELECT count(*) FROM entries").stdout
        return int(out.strip() or 0)

    start = entries()
    t0 = time.monotonic()
    ns.systemctl("start", unit, timeout_s=240)
    while entries() == start:
        if time.monotonic() - t0 > timeout_s:
            return float("nan")
        time.sleep(0.1)
    return time.monotonic() - t0


def run(quick: bool = False) -> list[Result]:
    from tests import systemdns

    ok, why = systemdns.available()
    if not ok:
        return [Result(f"edge under real systemd: not measured ({why})", 0.0, "s")]
    n = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-systemd-") as tmp:
        work = Path(tmp)
        argv, _port, children = _set_up(work)
        try:
            sd = _under_systemd(work, n)
            cold, restarts = _standin(argv, work, n)
        finally:
            for child in reversed(children):
                child.stop()

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    def notes(xs: list[float]) -> dict:
        return {"runs": n, "max": f"{max(xs):.2f} s"}

    return [
        Result("edge cold start under systemd (systemctl start -> active, READY=1)", med(sd["cold"]), "s",
               "stand-in supervisor start -> READY=1", med(cold),
               {**notes(sd["cold"]), "start -> first entry logged": f"{sd['entries_s'][0]:.1f} s"}),
        Result("kill -9 -> active again under systemd, shipped RestartSec=2", med(sd["kill9_rs2"]), "s",
               "stand-in kill -9 -> READY=1 (restart at once)", med(restarts), notes(sd["kill9_rs2"])),
        Result("kill -9 -> active again under systemd, RestartSec=0 (drop-in)", med(sd["kill9_rs0"]), "s",
               "stand-in kill -9 -> READY=1 (restart at once)", med(restarts), notes(sd["kill9_rs0"])),
    ]
