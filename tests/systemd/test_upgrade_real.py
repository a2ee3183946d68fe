"""``gatepass edge upgrade`` under real systemd (PID 1 of its own namespaces, ``tests/systemdns.py``): a gate
installed the older way (``/opt/gatepass/venv`` a plain directory, 0.4.0) and running READY with its sync uploading to
a central on loopback is upgraded to 0.4.1 (the venv moved aside, the link switched, READY, central shows 0.4.1), then
to a broken 0.4.2 that exits at start (switched back by itself to 0.4.1, READY again, exit status 3 and the edge's
last log lines), then rolled back by hand to 0.4.0.

The three releases are wheels of THIS checkout (a copy with ``__version__`` rewritten; 0.4.2's ``edge.service.run``
raises at once). The new venvs are made with Debian's ``/usr/bin/python3`` (the interpreter of a Pi's venv) and
filled by pip from a wheelhouse made once per module from the package index this machine uses (``pip download``,
no network): ``--find-links WHEELHOUSE --no-index``, as a gate without internet would be upgraded.

What differs from a Pi, and why: ``/opt`` is an overlay of the namespace (``overlays=("opt",)``: the venvs land in
the test's directory, never the host's /opt); the units are the SHIPPED ones verbatim (ExecStart
``/opt/gatepass/venv/bin/gatepass``) with a drop-in writing their output to files (no journald in the namespace; the
upgrade reads the file the unit's ``StandardOutput`` names) and, for the sync, handing its token over as systemd does
on a Pi (see ``CREDENTIALS_FIX`` in test_central_real.py: in this namespace systemd 252 gives credentials to root).

Time (measured with --durations on the 2-core machine): 3 min 25 s at load 2-4 (setup 42 s, upgrade 54 s,
rollback 85 s, rollback by hand 21 s); 10-13 min at load 13-17 (eight engineers sharing it). About 1.5-2 min of CPU
in the test's own processes: three wheel builds (in parallel), the wheelhouse, three venvs (two with pip's byte code,
as on a Pi), five edge starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from gatepass.procs import free_port
from tests import systemdns
from tests.sync.helpers import Central, wait_until
from tests.systemd.units import SYSTEMD_DIR

OK, WHY = systemdns.available()
MUST_RUN = bool(os.environ.get("CI")) and os.geteuid() == 0
PYTHON = "/usr/bin/python3"  # the interpreter of a Pi's venvs (Debian's)
HAVE_VENV = subprocess.run([PYTHON, "-c", "import ensurepip, venv"], capture_output=True).returncode == 0 \
    if os.path.exists(PYTHON) else False
pytestmark = [pytest.mark.skipif(not OK and not MUST_RUN, reason=f"real systemd cannot run here: {WHY}"),
              pytest.mark.skipif(not HAVE_VENV and not MUST_RUN, reason=f"{PYTHON} with venv (python3-venv) needed"),
              pytest.mark.timeout(600)]

EDGE, SYNC = "gatepass-edge.service", "gatepass-sync.service"
REPO = Path(__file__).resolve().parents[2]
BROKEN = "raise SystemExit('gatepass 0.4.2 is broken on purpose: it exits at start')\n"
SYNC_CREDENTIALS = "/run/gatepass-sync-credentials"


def _output_dropin(name: str) -> str:
    return f"[Service]\nStandardOutput=append:/var/log/{name}.log\nStandardError=inherit\n"


SYNC_DROPIN = _output_dropin("gatepass-sync") + (
    "LoadCredential=\n"
    f"Environment=CREDENTIALS_DIRECTORY={SYNC_CREDENTIALS}\n"
    f"ExecStartPre=+/bin/sh -c 'install -d -m 0500 -o gatepass {SYNC_CREDENTIALS} && install -m 0400 -o gatepass "
    f"/etc/gatepass/credentials/device-token {SYNC_CREDENTIALS}/gatepass_sync_device_token'\n")


def _copy_tree(dest: Path) -> None:
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", "node_modules", ".mypy_cache", ".ruff_cache",
        ".hypothesis", ".pytest_cache", "*.db", "screenshots"))


def _start_build(src: Path, version: str, out: Path, broken: bool = False) -> subprocess.Popen:
    """``python -m build --wheel`` of a copy of this checkout as ``version`` (``broken``: exits at start)."""
    _copy_tree(src)
    init = src / "gatepass" / "__init__.py"
    init.write_text(re.sub(r'^__version__ = ".*"$', f'__version__ = "{version}"', init.read_text(), flags=re.M))
    service = src / "edge" / "service.py"
    head = '    """Run the checkpoint and the guard page until ``stop_event`` is set or a signal arrives."""\n'
    assert head in service.read_text()
    if broken:
        service.write_text(service.read_text().replace(head, head + "    " + BROKEN))
    with open(src / "build.log", "wb") as output:
        return subprocess.Popen([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)],
                                stdout=output, stderr=subprocess.STDOUT)


def _runtime_dependencies() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """Wheels of this checkout as 0.4.0, 0.4.1 and a broken 0.4.2, and ``deps``: a wheelhouse of their
    dependencies from the package index this machine uses (made once; all four at the same time)."""
    work = tmp_path_factory.mktemp("wheels")
    builds = {v: _start_build(work / f"src-{v}", v, work / v, broken=(v == "0.4.2"))
              for v in ("0.4.0", "0.4.1", "0.4.2")}
    deps = work / "deps"
    download = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(deps), "--only-binary=:all:",
                               "-c", str(REPO / "constraints.txt"), *_runtime_dependencies()],
                              capture_output=True, text=True, timeout=600)
    assert download.returncode == 0, download.stderr[-2000:]
    for version, build in builds.items():
        assert build.wait(600) == 0, (work / f"src-{version}" / "build.log").read_text()[-2000:]
    return {**{v: next((work / v).glob(f"gatepass-{v}-*.whl")) for v in builds}, "deps": deps}


def _edge_toml(port: int, pts: str) -> str:
    return (f'device_id = "gate-u1"\ndata_dir = "/var/lib/gatepass"\n'
            f'[guard_page]\nport = {port}\n[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n'
            f'[thermometer]\nurl = "{pts}"\n')


def _sync_toml(central: Central) -> str:
    return (f'central_url = "{central.url}"\ncentral_public_key = "/etc/gatepass/central-public-key.pem"\n'
            'data_dir = "/var/lib/gatepass"\nheartbeat_s = 1.0\ninterval_s = 0.5\n')


def _configure(ns: systemdns.SystemdNamespace, central: Central, port: int, pts: str) -> None:
    """The user, the config (0640 root:gatepass, as 'gatepass edge install' writes it) and the device token."""
    users = ns.run("systemd-sysusers", str(SYSTEMD_DIR / "sysusers.d" / "gatepass.conf"))
    assert users.returncode == 0, users.stderr
    ns.write_file("/etc/gatepass/edge.toml", _edge_toml(port, pts))
    ns.write_file("/etc/gatepass/sync.toml", _sync_toml(central))
    ns.write_file("/etc/gatepass/central-public-key.pem", central.public_pem())
    ns.write_file("/etc/gatepass/credentials/device-token", central.add_device("gate-u1", gate_id="gate-u1") + "\n")
    for argv in (["chown", "root:gatepass", "/etc/gatepass/edge.toml", "/etc/gatepass/sync.toml"],
                 ["chmod", "0640", "/etc/gatepass/edge.toml", "/etc/gatepass/sync.toml"],
                 ["chmod", "0700", "/etc/gatepass/credentials"],
                 ["chmod", "0600", "/etc/gatepass/credentials/device-token"],
                 ["install", "-d", "-o", "gatepass", "-g", "gatepass", "-m", "0750", "/var/lib/gatepass"]):
        assert ns.run(*argv).returncode == 0, argv


def _install_old_way(ns: systemdns.SystemdNamespace, wheels: dict[str, Path]) -> None:
    """0.4.0 in a plain-directory /opt/gatepass/venv, as the README told before upgrades existed. To spare CPU,
    without pip and byte-code in it (this checkout's pip fills it): the upgrade uses the NEW venv's pip."""
    made = ns.run(PYTHON, "-m", "venv", "--without-pip", "/opt/gatepass/venv", timeout_s=300)
    assert made.returncode == 0, made.stderr
    pip = ns.run(sys.executable, "-m", "pip", "--python", "/opt/gatepass/venv/bin/python", "install", "-q",
                 "--no-compile", "--no-index", "--find-links", str(wheels["deps"]), str(wheels["0.4.0"]),
                 timeout_s=600)
    assert pip.returncode == 0, pip.stderr[-2000:]


@pytest.fixture(scope="module")
def gate(tmp_path_factory, wheels):
    """The gate running 0.4.0 READY from a plain-directory venv, its sync reporting to a central on loopback;
    yields (ns, guard port, central)."""
    work = tmp_path_factory.mktemp("upgrade-ns")
    thermo, pts = systemdns.start_thermometer(work)
    central = Central(work / "central").start_thread()
    port = free_port(0)
    units = {unit: (SYSTEMD_DIR / unit).read_text() for unit in (EDGE, SYNC)}
    ns = systemdns.SystemdNamespace(work / "ns", units, overlays=("opt",),
                                    dropins={EDGE: {"10-test-env.conf": _output_dropin("gatepass-edge")},
                                             SYNC: {"10-test-env.conf": SYNC_DROPIN}})
    try:
        ns.start()
        _configure(ns, central, port, pts)
        _install_old_way(ns, wheels)
        started = ns.systemctl("start", EDGE, SYNC, timeout_s=180)
        assert started.returncode == 0, f"{started.stderr}\n{_log(ns, 'gatepass-edge')}"
        yield ns, port, central
    finally:
        ns.stop()
        central.stop()
        thermo.stop()


def _log(ns: systemdns.SystemdNamespace, name: str) -> str:
    return ns.run("tail", "-n", "30", f"/var/log/{name}.log").stdout


def _upgrade(ns: systemdns.SystemdNamespace, *args: str) -> subprocess.CompletedProcess:
    """``gatepass edge upgrade ARGS`` run by the installed gatepass, as root inside the namespace."""
    return ns.run("/opt/gatepass/venv/bin/gatepass", "edge", "upgrade", *args, "--ready-timeout", "90",
                  timeout_s=600)


def _reported_version(central: Central) -> str | None:
    row = central.db.execute("SELECT last_report FROM devices WHERE device_id = ?", ["gate-u1"]).fetchone()
    return json.loads(row[0]).get("software_version") if row and row[0] else None


def _link(ns: systemdns.SystemdNamespace, name: str) -> str:
    return os.readlink(ns.upper("opt") / "gatepass" / name)


def _ready(ns: systemdns.SystemdNamespace, port: int) -> dict[str, str]:
    props = ns.show(EDGE)
    assert props["ActiveState"] == "active" and props["SubState"] == "running", props
    assert props["NRestarts"] == "0", props
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    return props


def test_upgrade_moves_the_old_venv_aside_switches_and_central_shows_the_new_version(gate, wheels):
    ns, port, central = gate
    assert wait_until(lambda: _reported_version(central) == "0.4.0", 60), _log(ns, "gatepass-sync")
    before = ns.show(EDGE)["MainPID"]
    done = _upgrade(ns, str(wheels["0.4.1"]), "--find-links", str(wheels["deps"]), "--no-index")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{_log(ns, 'gatepass-edge')}"
    assert "gatepass-edge.service 已就绪 / is READY" in done.stdout, done.stdout
    assert _link(ns, "venv") == "venvs/0.4.1" and _link(ns, "venv-previous") == "venvs/0.4.0"
    assert sorted(p.name for p in (ns.upper("opt") / "gatepass" / "venvs").iterdir()) == ["0.4.0", "0.4.1"]
    assert _ready(ns, port)["MainPID"] != before
    assert ns.run("/opt/gatepass/venv/bin/gatepass", "--version").stdout.split()[-1] == "0.4.1"
    assert ns.show(SYNC)["ActiveState"] == "active"
    assert wait_until(lambda: _reported_version(central) == "0.4.1", 60), _log(ns, "gatepass-sync")


def test_a_release_that_never_gets_ready_is_rolled_back_by_itself(gate, wheels):
    ns, port, central = gate
    assert _link(ns, "venv") == "venvs/0.4.1"
    failed = _upgrade(ns, str(wheels["0.4.2"]), "--find-links", str(wheels["deps"]), "--no-index",
                      "--python", PYTHON)
    assert failed.returncode == 3, f"{failed.stdout}\n{failed.stderr}"
    assert "已自动切回 0.4.1" in failed.stderr and "switched back to 0.4.1" in failed.stderr, failed.stderr
    assert "broken on purpose" in failed.stderr, failed.stderr  # the reason: the edge's last log lines
    assert "exited after its start (Result=exit-code, exit status 1" in failed.stderr, failed.stderr
    assert "restored" in failed.stdout and "wrote nothing" in failed.stdout, failed.stdout  # the database policy
    assert _link(ns, "venv") == "venvs/0.4.1" and _link(ns, "venv-previous") == "venvs/0.4.0"
    assert not (ns.upper("opt") / "gatepass" / "venvs" / "0.4.2").exists()
    _ready(ns, port)
    assert ns.run("/opt/gatepass/venv/bin/gatepass", "--version").stdout.split()[-1] == "0.4.1"
    assert ns.show(SYNC)["ActiveState"] == "active"
    assert wait_until(lambda: _reported_version(central) == "0.4.1", 30)


def test_rollback_by_hand_goes_back_to_the_previous_version(gate):
    ns, port, central = gate
    done = _upgrade(ns, "--rollback")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{_log(ns, 'gatepass-edge')}"
    assert _link(ns, "venv") == "venvs/0.4.0" and _link(ns, "venv-previous") == "venvs/0.4.1"
    _ready(ns, port)
    assert wait_until(lambda: _reported_version(central) == "0.4.0", 60), _log(ns, "gatepass-sync")
