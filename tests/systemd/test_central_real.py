"""``gatepass central install`` into a staging root, then what it installed run under real systemd (PID 1 of its own
namespaces, ``tests/systemdns.py``): the server answers ``/healthz`` on loopback as the ``gatepass-central`` user
with the session secret handed over as a credential, the first admin signs in with the printed password, and the
backup service makes a copy and leaves the data directory owner-only.

What differs from the installed files, and why: the units are the ones the installer wrote (ExecStart = this venv's
``gatepass``), run with the drop-in ``10-test-env.conf`` the edge's test uses too (output to a file, as no journald
runs in the namespace; the checkout and this venv's interpreter bound back read-only) and a privileged pre-start
command handing the session secret over as systemd does on a Pi (:data:`CREDENTIALS_FIX`). The user is made inside the
namespace by ``systemd-sysusers`` from the installed ``sysusers.d`` file (the staging root's uid may be taken on
this host), and the installed ``/etc/gatepass-central`` and ``/var/lib/gatepass-central`` are copied into the
namespace's ``/etc`` and ``/var`` overlays and given to that user there, as the installer does on a real system.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import time

import httpx
import pytest

from gatepass.procs import free_port
from tests import systemdns
from tests.systemd.units import VENV_BIN, have

OK, WHY = systemdns.available()
MUST_RUN = bool(os.environ.get("CI")) and os.geteuid() == 0
pytestmark = [pytest.mark.skipif(not OK and not MUST_RUN, reason=f"real systemd cannot run here: {WHY}"),
              pytest.mark.skipif(not have("systemd-sysusers", "systemctl"), reason="needs systemd's offline tools")]

#: In this namespace systemd 252 hands a service's credentials over in a directory only root can read (on a Pi or a
#: PC it gives it to the service's user; remounting it here breaks the service's namespace set-up). So the test
#: drop-in does what systemd does, from the same installed file: a privileged pre-start command copies it to
#: ``/run/gatepass-central-credentials/gatepass_central_session_secret`` (0400, the service user's) and
#: ``CREDENTIALS_DIRECTORY`` names that directory. Which file and under which name stays what the unit says.
CREDENTIAL_DIR = "/run/gatepass-central-credentials"
CREDENTIALS_FIX = (
    "LoadCredential=\n"
    f"Environment=CREDENTIALS_DIRECTORY={CREDENTIAL_DIR}\n"
    f"ExecStartPre=+/bin/sh -c 'install -d -m 0500 -o gatepass-central {CREDENTIAL_DIR} && install -m 0400 "
    f"-o gatepass-central /etc/gatepass-central/credentials/session-secret "
    f"{CREDENTIAL_DIR}/gatepass_central_session_secret'\n")
SERVER = "gatepass-central.service"
BACKUP = "gatepass-central-backup.service"
TIMER = "gatepass-central-backup.timer"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def central_ns(tmp_path_factory):
    """The installed central under real systemd; yields (namespace, base URL, admin password)."""
    work = tmp_path_factory.mktemp("central-ns")
    root = work / "root"
    port = free_port(0)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1"}
    made = subprocess.run([str(VENV_BIN), "central", "install", "--root", str(root), "--admin", "zhang",
                           "--port", str(port), "--bin", str(VENV_BIN)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert made.returncode == 0, made.stderr
    out = made.stdout
    password = re.search(r"\(shown once\): (\S+)", out).group(1)
    units = {u: (root / "etc/systemd/system" / u).read_text() for u in (SERVER, BACKUP, TIMER)}
    dropin = systemdns.edge_env_dropin().replace("gatepass-edge.log", "gatepass-central.log") + CREDENTIALS_FIX
    ns = systemdns.SystemdNamespace(work / "ns", units,
                                    dropins={u: {"10-test-env.conf": dropin} for u in (SERVER, BACKUP)})
    shutil.copytree(root / "etc/gatepass-central", ns.etc_upper / "gatepass-central", symlinks=True)
    shutil.copytree(root / "var/lib/gatepass-central", ns.var_upper / "lib/gatepass-central", symlinks=True)
    try:
        ns.start()
        users = ns.run("systemd-sysusers", str(root / "usr/lib/sysusers.d/gatepass-central.conf"))
        assert users.returncode == 0, users.stderr
        for argv in (("chown", "-R", "gatepass-central:gatepass-central", "/var/lib/gatepass-central"),
                     ("chgrp", "gatepass-central", "/etc/gatepass-central/central.toml")):
            assert ns.run(*argv).returncode == 0
        started = ns.systemctl("start", SERVER, TIMER, timeout_s=120)
        assert started.returncode == 0, (started.stderr + ns.systemctl("status", SERVER).stdout
                                         + ns.run("tail", "-n", "30", "/var/log/gatepass-central.log").stdout)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while not _healthy(url):
            assert time.monotonic() < deadline, ns.run("tail", "-n", "30", "/var/log/gatepass-central.log").stdout
            time.sleep(0.2)
        yield ns, url, password
    finally:
        ns.stop()


def test_the_installed_server_answers_on_loopback_as_its_own_user(central_ns):
    ns, url, _ = central_ns
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    props = ns.show(SERVER, "MainPID", "ActiveState", "User")
    assert props["ActiveState"] == "active" and props["User"] == "gatepass-central"
    uid = ns.run("id", "-u", "gatepass-central").stdout.strip()
    status = ns.run("cat", f"/proc/{props['MainPID']}/status").stdout
    assert re.search(rf"^Uid:\s+{uid}\s", status, re.M), status
    assert ns.show(TIMER, "ActiveState")["ActiveState"] == "active"  # the nightly backup is scheduled
    mode = stat.S_IMODE((ns.var_upper / "lib/gatepass-central").stat().st_mode)
    assert mode == 0o700  # StateDirectoryMode of the unit agrees with the installer


def test_the_first_admin_signs_in_with_the_printed_password(central_ns):
    _, url, password = central_ns
    with httpx.Client(base_url=url, timeout=10, follow_redirects=False) as http:
        page = http.get("/login")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        signed = http.post("/login", data={"username": "zhang", "password": password, "csrf": csrf, "next": "/"})
        assert signed.status_code == 303 and "error" not in signed.headers["location"], signed.headers
        assert http.get("/", follow_redirects=True).status_code == 200


def test_the_backup_service_makes_a_copy_and_keeps_the_data_directory_owner_only(central_ns):
    ns, url, _ = central_ns
    ran = ns.systemctl("start", BACKUP, timeout_s=180)
    assert ran.returncode == 0, ns.run("tail", "-n", "30", "/var/log/gatepass-central.log").stdout
    copies = list((ns.var_upper / "lib/gatepass-central/backups").glob("central-*.db"))
    assert copies and all(stat.S_IMODE(c.stat().st_mode) == 0o600 for c in copies), copies
    assert stat.S_IMODE((ns.var_upper / "lib/gatepass-central").stat().st_mode) == 0o700  # before: 0755
    assert _healthy(url)
