"""The systemd units: ``systemd-analyze verify`` clean, hardened, watchdog and restart policy in place.

``systemd-analyze verify`` insists that ExecStart names an existing executable, so each unit is
verified from a temporary copy whose ExecStart is rewritten from /opt/gatepass/venv/bin/gatepass
to this virtualenv's gatepass (exactly what ``gatepass edge install`` does when it installs them).
No running systemd is needed.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.systemd.units import SYSTEMD_DIR, TEMPLATE_BIN, VENV_BIN, directives, have, unit_files

pytestmark = pytest.mark.skipif(not have("systemd-analyze"), reason="systemd-analyze is not installed")

SERVICES = ["gatepass-edge.service", "gatepass-sync.service", "gatepass-central.service",
            "gatepass-central-backup.service"]


@pytest.fixture(scope="module")
def verify_copies(tmp_path_factory):
    d = tmp_path_factory.mktemp("units")
    for unit in unit_files():
        (d / unit.name).write_text(unit.read_text().replace(TEMPLATE_BIN, str(VENV_BIN)))
    return d


def test_every_unit_is_shipped():
    names = {p.name for p in unit_files()}
    assert set(SERVICES) | {"gatepass-central-backup.timer"} <= names


@pytest.mark.parametrize("name", [p.name for p in unit_files()])
def test_systemd_analyze_verify_is_clean(verify_copies, name):
    proc = subprocess.run(["systemd-analyze", "verify", str(verify_copies / name)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # unknown keys are only warnings: none allowed


def test_verify_catches_a_broken_unit(verify_copies, tmp_path):
    bad = tmp_path / "gatepass-edge.service"
    bad.write_text((verify_copies / "gatepass-edge.service").read_text().replace("Type=notify", "Typo=notify"))
    proc = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True, text=True, timeout=60)
    assert "Unknown key" in proc.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_exposure_level_is_low(verify_copies, name):
    # systemd's own audit of the sandbox: 0 (locked down) .. 100 (fully exposed); demand <= 4.0
    proc = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=40",
                           str(verify_copies / name)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "Overall exposure level" in proc.stdout


def test_edge_unit_is_a_watched_notify_service():
    d = directives(SYSTEMD_DIR / "gatepass-edge.service")
    assert d["Service.Type"] == ["notify"]
    assert int(d["Service.WatchdogSec"][0]) > 0
    assert d["Service.Restart"] == ["on-failure"]
    assert int(d["Unit.StartLimitBurst"][0]) > 0 and int(d["Unit.StartLimitIntervalSec"][0]) > 0
    assert set(d["Service.SupplementaryGroups"][0].split()) == {"dialout", "video", "gpio", "audio"}
    assert d["Service.User"] == ["gatepass"]


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened(name):
    d = directives(SYSTEMD_DIR / name)
    assert d["Service.NoNewPrivileges"] == ["yes"]
    assert d["Service.ProtectSystem"] == ["strict"]
    assert d["Service.PrivateTmp"] == ["yes"]
    assert d["Service.StateDirectory"]
    assert d["Service.User"][0].startswith("gatepass")
    assert d["Service.ExecStart"][0].startswith(TEMPLATE_BIN + " ")


@pytest.mark.parametrize(("name", "credential"), [("gatepass-sync.service", "gatepass_sync_device_token"),
                                                  ("gatepass-central.service", "gatepass_central_session_secret")])
def test_secrets_come_as_credentials_named_for_the_settings(name, credential):
    d = directives(SYSTEMD_DIR / name)
    assert [v.split(":")[0] for v in d["Service.LoadCredential"]] == [credential]


def test_backup_timer_is_nightly_and_persistent():
    d = directives(SYSTEMD_DIR / "gatepass-central-backup.timer")
    assert d["Timer.OnCalendar"] and d["Timer.Persistent"][0] in ("yes", "true")
    assert "central backup" in directives(SYSTEMD_DIR / "gatepass-central-backup.service")["Service.ExecStart"][0]
