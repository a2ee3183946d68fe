"""``gatepass edge install|uninstall`` into a staging root (never the running system)."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edge.settings import EdgeSettings
from gatepass.config import load_settings
from tests.systemd.units import VENV_BIN, directives, have, invoke

pytestmark = pytest.mark.skipif(not have("systemd-sysusers", "systemctl", "systemd-analyze"),
                                reason="needs systemd's offline tools")



def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def installed(tmp_path, capsys):
    root = tmp_path / "root"
    token = tmp_path / "token"
    token.write_text("device-token-123\n")
    key = tmp_path / "central.pem"
    key.write_text(_pem())
    code, _, err = invoke(capsys, "edge", "install", "--root", str(root), "--gate-id", "north", "--gate-name", "北门",
                          "--community", "丽景苑", "--central-url", "https://central.test/",
                          "--device-token-file", str(token), "--central-public-key-file", str(key))
    assert code == 0, err
    return root


def test_dry_run_touches_nothing(tmp_path, capsys):
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "edge", "install", "--root", str(root), "--dry-run")
    assert code == 0, err
    assert "would create user gatepass" in out and "would enable" in out
    assert not root.exists()


def test_install_creates_user_dirs_config_units(installed):
    root = installed
    passwd = (root / "etc/passwd").read_text()
    assert passwd.startswith("gatepass:") and "/usr/sbin/nologin" in passwd
    group = (root / "etc/group").read_text()
    for g in ("dialout", "video", "gpio", "audio"):
        assert any(line.startswith(f"{g}:") and line.endswith("gatepass") for line in group.splitlines())
    assert stat.S_IMODE((root / "etc/gatepass/credentials").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "etc/gatepass/credentials/device-token").stat().st_mode) == 0o600
    data = root / "var/lib/gatepass"
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    if os.geteuid() == 0:
        uid = int(passwd.split(":")[2])
        assert data.stat().st_uid == uid
    for name in ("edge.toml", "sync.toml"):  # the services read them; nobody else
        config = root / "etc/gatepass" / name
        assert stat.S_IMODE(config.stat().st_mode) == 0o640, name
        if os.geteuid() == 0:
            assert (config.stat().st_uid, config.stat().st_gid) == (0, int(passwd.split(":")[3])), name
    for unit in ("gatepass-edge.service", "gatepass-sync.service"):
        path = root / "etc/systemd/system" / unit
        assert directives(path)["Service.ExecStart"][0].startswith(f"{VENV_BIN} ")
        assert (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()
    assert (root / "etc/udev/rules.d/99-gatepass.rules").exists()


def test_installed_units_verify(installed):
    units = [str(installed / "etc/systemd/system" / u) for u in ("gatepass-edge.service", "gatepass-sync.service")]
    proc = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_installed_config_is_valid(installed):
    settings = load_settings(EdgeSettings, installed / "etc/gatepass/edge.toml")
    assert settings.gate.id == "north" and settings.gate.name == "北门" and settings.gate.community == "丽景苑"
    assert str(settings.data_dir) == "/var/lib/gatepass"


def test_sync_reads_its_token_as_systemd_hands_it_over(installed, tmp_path, monkeypatch, capsys):
    # Do what systemd does for LoadCredential=NAME:PATH: copy PATH to $CREDENTIALS_DIRECTORY/NAME.
    unit = directives(installed / "etc/systemd/system/gatepass-sync.service")
    creds = tmp_path / "creds"
    creds.mkdir()
    for spec in unit["Service.LoadCredential"]:
        name, _, path = spec.partition(":")
        (creds / name).write_bytes((installed / path.lstrip("/")).read_bytes())
    config = installed / "etc/gatepass/sync.toml"
    text = config.read_text().replace('"/etc/gatepass/central-public-key.pem"',
                                      f'"{installed}/etc/gatepass/central-public-key.pem"')
    config.write_text(text)
    from sync.settings import SyncSettings

    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    code, out, err = invoke(capsys, "sync", "run", "--config", str(config), "--check-config")
    assert code == 0, err
    assert "device-token-123" not in out + err
    assert load_settings(SyncSettings, config).device_token.get_secret_value() == "device-token-123"


def test_reinstall_keeps_the_edited_config(installed, capsys):
    edge_toml = installed / "etc/gatepass/edge.toml"
    edge_toml.write_text(edge_toml.read_text().replace('"北门"', '"北门 2"'))
    code, _, err = invoke(capsys, "edge", "install", "--root", str(installed), "--gate-id", "other")
    assert code == 0, err
    assert '"北门 2"' in edge_toml.read_text()


def test_uninstall_keeps_data_then_purge_removes_everything(installed, capsys):
    log = installed / "var/lib/gatepass/edge.db"
    log.write_bytes(b"entries")
    code, _, err = invoke(capsys, "edge", "uninstall", "--root", str(installed))
    assert code == 0, err
    assert not (installed / "etc/systemd/system/gatepass-edge.service").exists()
    assert not (installed / "etc/systemd/system/multi-user.target.wants/gatepass-edge.service").exists()
    assert not (installed / "etc/udev/rules.d/99-gatepass.rules").exists()
    assert log.read_bytes() == b"entries" and (installed / "etc/gatepass/edge.toml").exists()
    assert "gatepass:" in (installed / "etc/passwd").read_text()

    code, _, err = invoke(capsys, "edge", "uninstall", "--root", str(installed), "--purge")
    assert code != 0 and "--discard-unsynced" in err  # not a readable log: it may hold unsynced entries
    assert log.read_bytes() == b"entries"
    code, _, err = invoke(capsys, "edge", "uninstall", "--root", str(installed), "--purge", "--discard-unsynced")
    assert code == 0, err
    assert not log.exists() and not (installed / "etc/gatepass").exists()
    assert "gatepass:" not in (installed / "etc/passwd").read_text()
    assert not any(line.startswith("gatepass:") for line in (installed / "etc/group").read_text().splitlines())


@settings(max_examples=60, deadline=None)
@given(name=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
       url=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
@example(name="a\x7fb", url="\x7f")  # DEL: fine in JSON, not raw in TOML
def test_any_names_render_into_valid_toml(name, url):
    import tomllib

    from edge.install import Options, render_template
    from tests.systemd.units import SYSTEMD_DIR

    opts = Options(gate_name=name, gate_id=name, community=name, device_id=name, central_url=url)
    edge = tomllib.loads(render_template((SYSTEMD_DIR / "templates/edge.toml").read_text(encoding="utf-8"), opts))
    assert edge["gate"]["name"] == name and edge["device_id"] == name
    sync = tomllib.loads(render_template((SYSTEMD_DIR / "templates/sync.toml").read_text(encoding="utf-8"), opts))
    assert sync["central_url"] == url


def test_purge_is_refused_while_the_local_log_holds_unsynced_entries(installed, capsys):
    from sync.devicedb import open_db
    from sync.locallog import LocalLog

    path = installed / "var/lib/gatepass/edge.db"
    db = open_db(path)
    log = LocalLog(db)
    seqs = [log.append(device_id="d", gate_id="g", wall_ts=1.8e9, mono_ts=1.0, boot_id="b", clock_trusted=True,
                       event="scan", direction="in", decision="pass", reason="temp_ok")["seq"] for _ in range(3)]
    log.mark_synced(seqs[:2])
    db.conn.close()
    code, _, err = invoke(capsys, "edge", "uninstall", "--root", str(installed), "--purge")
    assert code != 0 and "1 entries not yet synced" in err
    assert path.exists() and (installed / "etc/gatepass/edge.toml").exists()
    db = open_db(path)
    LocalLog(db).mark_synced(seqs[2:])
    db.conn.close()
    code, _, err = invoke(capsys, "edge", "uninstall", "--root", str(installed), "--purge")
    assert code == 0, err
    assert not path.exists()


def test_dry_run_against_the_running_system_plans_reloads_and_start(capsys):
    code, out, err = invoke(capsys, "edge", "install", "--dry-run")  # root "/": only printed, nothing done
    assert code == 0, err
    for words in ("would reload udev rules", "would reload systemd", "would enable", "would start gatepass-edge"):
        assert words in out
    code, out, err = invoke(capsys, "edge", "uninstall", "--dry-run", "--purge")
    assert code == 0, err
    assert "would DELETE /etc/gatepass" in out and "would remove the user and group gatepass" in out


def test_a_32_bit_pi_is_refused_in_one_line(tmp_path, capsys):
    from edge.install import Options, plan_install
    from gatepass.installer import InstallError

    with pytest.raises(InstallError, match="64-bit"):
        plan_install(Options(root=tmp_path / "root", bin=VENV_BIN, machine="armv7l"))


@pytest.mark.parametrize(("machine", "bits", "what"), [("armv7l", 32, "armv7l"), ("armv6l", 32, "armv6l"),
                                                      ("aarch64", 32, "32-bit on aarch64")])
def test_edge_install_refuses_a_32_bit_system_in_one_line_in_chinese_and_english(tmp_path, capsys, monkeypatch,
                                                                                 machine, bits, what):
    """Issue 19: the 32-bit Raspberry Pi OS (armv7l/armv6l, or its 32-bit userland on a Pi 4/5's 64-bit kernel,
    where the machine says aarch64) is refused before anything is done, dry run or not, in one line."""
    import platform
    import struct

    monkeypatch.setattr(platform, "machine", lambda: machine)
    real_calcsize = struct.calcsize
    monkeypatch.setattr(struct, "calcsize", lambda fmt: bits // 8 if fmt == "P" else real_calcsize(fmt))
    for dry in ([], ["--dry-run"]):
        code, out, err = invoke(capsys, "edge", "install", "--root", str(tmp_path / "root"), "--bin", str(VENV_BIN),
                                *dry)
        assert code == 2 and out == ""
        assert err.count("\n") == 1, err
        assert f"这是 32 位系统（{what}），gatepass 需要 64 位系统" in err
        assert f"this is a 32-bit system ({what}): gatepass needs a 64-bit one" in err
        assert "Raspberry Pi OS Lite（64 位，bookworm）" in err and "(64-bit, bookworm)" in err
        assert not (tmp_path / "root").exists()


def test_a_64_bit_system_passes_the_machine_check(tmp_path):
    from edge.install import Options, plan_install

    assert plan_install(Options(root=tmp_path / "root", bin=VENV_BIN, machine="aarch64", bits=64))


def test_install_without_a_token_puts_the_gate_in_enrol_mode(tmp_path, capsys):
    import json

    root = tmp_path / "root"
    code, out, err = invoke(capsys, "edge", "install", "--root", str(root), "--central-url", "https://central.test/")
    assert code == 0, err
    state = json.loads((root / "var/lib/gatepass/enrolment.json").read_text())
    assert state["status"] == "starting" and "尚未接入" in state["message_zh"]
    assert stat.S_IMODE((root / "var/lib/gatepass/enrolment.json").stat().st_mode) == 0o640
    unit = root / "etc/systemd/system/gatepass-enrol.service"
    assert (root / "etc/systemd/system/multi-user.target.wants/gatepass-enrol.service").is_symlink()
    d = directives(unit)
    assert d["Service.ExecStart"][0].startswith(f"{VENV_BIN} edge enroll --screen --config /etc/gatepass/edge.toml")
    assert d["Unit.ConditionPathExists"] == ["!/etc/gatepass/credentials/device-token"]
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    assert "接入码" in out and "no token to copy by hand" in out


def test_install_with_a_token_is_not_in_enrol_mode(installed):
    assert not (installed / "var/lib/gatepass/enrolment.json").exists()


def test_the_plan_without_a_token_has_the_enrol_mode_step(tmp_path):
    from edge.install import Options, plan_install

    steps = plan_install(Options(root=tmp_path / "r", bin=VENV_BIN, machine="aarch64", bits=64))
    assert any("enrol mode" in s.description for s in steps)
