"""The udev rule example parses cleanly in udev itself and names every gate device."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.systemd.units import SYSTEMD_DIR, have

RULES = SYSTEMD_DIR / "udev" / "99-gatepass.rules"


def _rules() -> list[str]:
    return [ln for ln in RULES.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_every_device_gets_a_stable_name():
    links = set(re.findall(r'SYMLINK\+="([^"]+)"', RULES.read_text()))
    assert {"gatepass-thermometer", "gatepass-relay", "gatepass-scanner", "gatepass-camera"} <= links


def test_known_adapters_are_matched_by_vendor_and_product():
    text = RULES.read_text()
    for vendor, product in (("1a86", "7523"), ("10c4", "ea60"), ("0403", "6001")):
        assert f'ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}"' in text
    for line in _rules():
        if "gatepass-" in line and 'SUBSYSTEM=="tty"' in line:
            assert 'GROUP="dialout"' in line and 'MODE="0660"' in line


def _can_bind_mount() -> bool:
    if not have("unshare", "udevadm"):
        return False
    proc = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return proc.returncode == 0


@pytest.mark.skipif(not _can_bind_mount(), reason="needs unshare --mount (root) and udevadm")
def test_udev_parses_the_rules_without_complaint(tmp_path):
    # udevadm 252 has no 'verify': load the rules in a private mount namespace where /etc/udev/rules.d
    # holds only our file, and run a test event; udev reports every line it cannot parse.
    (tmp_path / RULES.name).write_text(RULES.read_text())
    script = f"mount --bind {tmp_path} /etc/udev/rules.d && udevadm test /sys/class/tty/tty0"
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert f"Reading rules file: /etc/udev/rules.d/{RULES.name}" in out
    complaints = [ln for ln in out.splitlines() if RULES.name in ln and "Reading rules file" not in ln
                  and "Unknown group 'gpio'" not in ln]  # Debian has no gpio group; Raspberry Pi OS has
    assert complaints == []
