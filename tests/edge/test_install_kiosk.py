"""``gatepass edge install --kiosk`` into a staging root and as a dry run; refused when cage or chromium is missing."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.systemd.units import VENV_BIN, directives, have, invoke

pytestmark = pytest.mark.skipif(not have("systemd-sysusers", "systemctl", "systemd-analyze", "cage", "chromium"),
                                reason="needs systemd's offline tools, cage and chromium")

UNIT = "gatepass-kiosk.service"


@pytest.fixture
def installed(tmp_path, capsys):
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "edge", "install", "--kiosk", "--root", str(root), "--gate-id", "north")
    assert code == 0, err
    assert f"install {root}/etc/systemd/system/{UNIT}" in out
    return root


def _members(root, group: str) -> set[str]:
    for line in (root / "etc/group").read_text().splitlines():
        name, _, _, members = line.split(":")
        if name == group:
            return set(members.split(",")) - {""}
    return set()


def test_kiosk_unit_written_enabled_and_pointing_at_this_install(installed):
    unit = installed / "etc/systemd/system" / UNIT
    d = directives(unit)
    assert d["Service.ExecStart"] == [f"{VENV_BIN} edge screen --config /etc/gatepass/edge.toml"]
    assert d["Service.ExecStartPre"] == [f"+{VENV_BIN} edge screen --prepare --config /etc/gatepass/edge.toml"]
    assert "/opt/gatepass" not in unit.read_text()
    assert (installed / "etc/systemd/system/multi-user.target.wants" / UNIT).is_symlink()
    for other in ("gatepass-edge.service", "gatepass-sync.service"):  # the rest of the install as without --kiosk
        assert (installed / "etc/systemd/system/multi-user.target.wants" / other).is_symlink()


def test_kiosk_unit_starts_after_the_ready_edge_on_tty1_and_always_comes_back():
    from tests.systemd.units import SYSTEMD_DIR

    d = directives(SYSTEMD_DIR / UNIT)
    assert "gatepass-edge.service" in d["Unit.After"][0].split() and d["Unit.Wants"] == ["gatepass-edge.service"]
    assert d["Unit.Conflicts"] == ["getty@tty1.service"] and d["Unit.StartLimitIntervalSec"] == ["0"]
    assert d["Service.TTYPath"] == ["/dev/tty1"] and d["Service.StandardInput"] == ["tty-fail"]
    assert d["Service.Restart"] == ["always"] and d["Service.User"] == ["gatepass-kiosk"]
    assert d["Service.IPAddressDeny"] == ["any"] and d["Service.IPAddressAllow"] == ["localhost"]
    edge = directives(SYSTEMD_DIR / "gatepass-edge.service")
    assert edge["Service.Type"] == ["notify"]  # so After= waits for READY=1


def test_kiosk_user_and_the_users_that_play_sound_are_in_audio(installed):
    passwd = (installed / "etc/passwd").read_text()
    assert any(line.startswith("gatepass-kiosk:") and line.endswith("/usr/sbin/nologin")
               for line in passwd.splitlines())
    assert {"gatepass", "gatepass-kiosk"} <= _members(installed, "audio")  # voice prompts (aplay) and the browser
    for group in ("video", "render", "input"):
        assert "gatepass-kiosk" in _members(installed, group), group
    assert "gatepass-kiosk" in _members(installed, "gatepass")  # reads edge.toml (0640 root:gatepass)


def test_installed_kiosk_unit_verifies_clean(installed):
    units = [str(installed / "etc/systemd/system" / u) for u in ("gatepass-edge.service", UNIT)]
    proc = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_dry_run_lists_the_kiosk_steps_and_touches_nothing(tmp_path, capsys):
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "edge", "install", "--kiosk", "--root", str(root), "--dry-run")
    assert code == 0, err
    assert "would create user gatepass-kiosk" in out and f"would install {root}/etc/systemd/system/{UNIT}" in out
    assert f"would enable gatepass-edge.service, gatepass-sync.service, gatepass-enrol.service, {UNIT}" in out
    assert not root.exists()


def test_without_kiosk_no_screen_is_installed(tmp_path, capsys):
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "edge", "install", "--root", str(root))
    assert code == 0, err
    assert not (root / "etc/systemd/system" / UNIT).exists() and "gatepass-kiosk" not in out


@pytest.mark.parametrize(("present", "missing"), [((), "cage、Xwayland、chromium"),
                                                  (("chromium", "Xwayland"), "cage"),
                                                  (("cage", "Xwayland"), "chromium"),
                                                  (("cage", "chromium"), "Xwayland")])
def test_kiosk_refused_in_one_line_when_cage_or_chromium_is_missing(tmp_path, capsys, monkeypatch, present, missing):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in present:
        os.symlink(f"/usr/bin/{name}", bin_dir / name)
    monkeypatch.setenv("PATH", str(bin_dir))
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "edge", "install", "--kiosk", "--root", str(root), "--dry-run")
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err  # one line
    assert f"未安装 {missing}" in err and "sudo apt-get install -y cage xwayland chromium" in err
    assert f"{missing.replace('、', ', ')} not installed" in err
    assert not root.exists()


def test_uninstall_removes_the_kiosk_unit_and_user_file(installed, capsys):
    code, _, err = invoke(capsys, "edge", "uninstall", "--root", str(installed))
    assert code == 0, err
    assert not (installed / "etc/systemd/system" / UNIT).exists()
    assert not (installed / "etc/systemd/system/multi-user.target.wants" / UNIT).exists()
    assert not (installed / "usr/lib/sysusers.d/gatepass-kiosk.conf").exists()
