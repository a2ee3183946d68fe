"""A new SD card, end to end under real systemd (``tests/systemdns.py``): the SHIPPED edge, sync and enrolment
units (only ExecStart's binary rewritten, plus the test drop-in of ``systemdns.edge_env_dropin``), a gate with no
token but its old local log, central on loopback. The guard page shows the code; staff approve it at central;
``gatepass-enrol.service`` writes the token, the key and the profile, restarts the services, and the sync uploads
the old log under the new device, nobody at a keyboard."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import httpx
import pytest

from gatepass.procs import free_port
from tests import systemdns
from tests.edge.enrol_helpers import approve, start_central
from tests.sync.helpers import fill
from tests.systemd.units import SYSTEMD_DIR
from tests.waiting import wait_until

OK, WHY = systemdns.available()
MUST_RUN = bool(os.environ.get("CI")) and os.geteuid() == 0
pytestmark = pytest.mark.skipif(not OK and not MUST_RUN, reason=f"real systemd cannot run here: {WHY}")

EDGE, SYNC, ENROL = "gatepass-edge.service", "gatepass-sync.service", "gatepass-enrol.service"


def shipped(unit: str) -> str:
    text = (SYSTEMD_DIR / unit).read_text()
    return text.replace("ExecStart=/opt/gatepass/venv/bin/gatepass ",
                        f"ExecStart={Path(sys.executable).parent / 'gatepass'} ")


def dropin(unit: str) -> str:
    text = systemdns.edge_env_dropin().replace("gatepass-edge.log", unit.replace(".service", ".log"))
    if unit == SYNC:
        # In this namespace systemd cannot mount ramfs for credentials and falls back to a root-only folder without
        # ACLs, so the gatepass user cannot read its LoadCredential= (on a Pi it can). Only here, a privileged
        # ExecStartPre hands the same file over the same way: $CREDENTIALS_DIRECTORY/gatepass_sync_device_token.
        creds = "/run/gptest-creds"
        text += ("LoadCredential=\nEnvironment=CREDENTIALS_DIRECTORY=" + creds + "\n"
                 f"ExecStartPre=+/bin/sh -c 'install -d -m 0500 -o gatepass {creds} && install -m 0400 -o gatepass "
                 f"/etc/gatepass/credentials/device-token {creds}/gatepass_sync_device_token'\n")
    return text


def _state(port: int) -> dict:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/enrol/state", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def _diagnosis(ns: systemdns.SystemdNamespace) -> str:
    out = [ns.log_tail(40)]
    for unit in (EDGE, SYNC, ENROL):
        log = ns.run("tail", "-n", "25", f"/var/log/{unit.replace('.service', '.log')}").stdout
        out.append(f"--- {unit} {ns.show(unit)}\n{log}")
    return "\n".join(out)


def test_a_new_sd_card_enrols_from_its_screen_and_uploads_its_old_log(tmp_path):
    from edge.enrol import ScreenState

    central = start_central(tmp_path / "central")
    thermo, pts = systemdns.start_thermometer(tmp_path)
    port = free_port(0)
    units = {u: shipped(u) for u in (EDGE, SYNC, ENROL)}
    ns = systemdns.SystemdNamespace(tmp_path / "ns", units, dropins={u: {"10-test-env.conf": dropin(u)} for u in units})
    state_dir = ns.var_upper / "lib" / "gatepass"
    state_dir.mkdir(parents=True)
    fill(state_dir / "edge.db", 3)  # the old local log
    (state_dir / "enrolment.json").write_text(json.dumps(ScreenState(status="starting").__dict__))  # as installed
    try:
        ns.start()
        assert ns.run("systemd-sysusers", str(SYSTEMD_DIR / "sysusers.d" / "gatepass.conf")).returncode == 0
        ns.run("chown", "-R", "gatepass:gatepass", "/var/lib/gatepass")
        ns.write_file("/etc/gatepass/edge.toml",
                      f'data_dir = "/var/lib/gatepass"\n[guard_page]\nport = {port}\n[camera]\nsource = "sim://"\n'
                      f'[relay]\nkind = "fake"\n[thermometer]\nurl = "{pts}"\n[voice]\nenabled = false\n')
        ns.write_file("/etc/gatepass/sync.toml", f'central_url = "{central.url}/"\ndata_dir = "/var/lib/gatepass"\n'
                      "interval_s = 0.2\nheartbeat_s = 1.0\nlists_interval_s = 1.0\n")
        started = ns.systemctl("start", EDGE, timeout_s=180)
        assert started.returncode == 0, started.stderr + ns.run("tail", "/var/log/gatepass-edge.log").stdout
        assert httpx.post(f"http://127.0.0.1:{port}/api/sign-in", json={}).status_code == 503  # not enrolled
        assert ns.systemctl("start", ENROL).returncode == 0
        assert wait_until(lambda: _state(port).get("status") == "waiting", 60), \
            ns.run("tail", "/var/log/gatepass-enrol.log").stdout
        code = _state(port)["code"]
        assert _state(port)["approve_url"].endswith(f"/devices/enrol?code={code}")
        device_id = approve(central, code)
        # the enrolment service writes the files, shows the fingerprint, restarts edge and sync by itself
        assert wait_until(lambda: len(central.entries(device_id)) == 3, 120), _diagnosis(ns)
        assert wait_until(lambda: _state(port).get("status") == "done", 60)
        modes = ns.run("stat", "-c", "%n %a %U %G", "/etc/gatepass/credentials/device-token",
                       "/etc/gatepass/enrolled.toml", "/etc/gatepass/central-public-key.pem").stdout.split("\n")
        assert modes[0].endswith(" 600 root root") and modes[1].endswith(" 640 root gatepass"), modes
        assert modes[2].endswith(" 644 root root"), modes
        assert ns.show(ENROL, "ActiveState")["ActiveState"] == "inactive"
        assert ns.show(SYNC, "ActiveState")["ActiveState"] == "active"
        # the enrolment never runs again on an enrolled gate
        ns.systemctl("start", ENROL)
        assert ns.show(ENROL, "ConditionResult")["ConditionResult"] == "no"
        assert stat.S_IMODE(os.stat(ns.etc_upper / "gatepass/credentials").st_mode) == 0o700
    finally:
        ns.stop()
        thermo.stop()
        central.stop()
