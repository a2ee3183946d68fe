"""``gatepass central install`` into a staging root (never the running system)."""

from __future__ import annotations

import re
import stat

import pytest

from central.console import auth
from central.console.passwords import judge
from central.db import open_db
from gatepass.installer import InstallError, check_machine, lookup_ids
from tests.systemd.units import VENV_BIN, have, invoke

pytestmark = pytest.mark.skipif(not have("systemd-sysusers", "systemctl"), reason="needs systemd's offline tools")


def test_dry_run_touches_nothing(tmp_path, capsys):
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "central", "install", "--root", str(root), "--dry-run", "--admin", "zhang")
    assert code == 0, err
    assert "would create user gatepass-central" in out and "would enable gatepass-central.service" in out
    assert "first admin account 'zhang'" in out
    assert not root.exists()


def test_install_makes_user_dirs_config_secret_units_and_the_first_admin(tmp_path, capsys):
    root = tmp_path / "root"
    code, out, err = invoke(capsys, "central", "install", "--root", str(root), "--admin", "zhang",
                            "--port", "8100", "--bin", str(VENV_BIN))
    assert code == 0, err
    assert (root / "etc/passwd").read_text().startswith("gatepass-central:")
    assert stat.S_IMODE((root / "etc/gatepass-central/credentials").stat().st_mode) == 0o700
    secret = root / "etc/gatepass-central/credentials/session-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text().strip()) >= 40
    toml = (root / "etc/gatepass-central/central.toml").read_text()
    assert 'data_dir = "/var/lib/gatepass-central"' in toml and "port = 8100" in toml
    config = (root / "etc/gatepass-central/central.toml").stat()
    assert stat.S_IMODE(config.st_mode) == 0o640 and config.st_gid == lookup_ids(root, "gatepass-central")[1]
    made = sorted((root / "var/lib/gatepass-central").glob("central.db*"))
    assert made and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in made), made
    assert stat.S_IMODE((root / "var/lib/gatepass-central").stat().st_mode) == 0o700
    for unit in ("gatepass-central.service", "gatepass-central-backup.service", "gatepass-central-backup.timer"):
        text = (root / "etc/systemd/system" / unit).read_text()
        assert "/opt/gatepass/venv/bin/gatepass" not in text
    assert f"ExecStart={VENV_BIN} central serve" in (root / "etc/systemd/system/gatepass-central.service").read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/gatepass-central.service").is_symlink()
    assert (root / "etc/systemd/system/timers.target.wants/gatepass-central-backup.timer").is_symlink()
    assert "中心服务器已安装，管理后台：http://127.0.0.1:8100/" in out and "central installed" in out
    assert "--admin" not in out.split("中心服务器已安装")[1]  # an admin was made: no reminder
    password = re.search(r"\(shown once\): (\S+)", out).group(1)
    db = open_db(str(root / "var/lib/gatepass-central/central.db"))
    try:
        assert auth.authenticate(db, "zhang", password) is not None  # the admin can sign in
        assert judge(password, ["zhang"]).ok  # and the password meets the policy
    finally:
        db.close()
    # a second run keeps the config and the secret
    before = secret.read_text()
    code, out, err = invoke(capsys, "central", "install", "--root", str(root), "--bin", str(VENV_BIN))
    assert code == 0, err
    assert secret.read_text() == before and "如还没有管理员账号，请加 --admin 用户名 再运行一次" in out


def test_a_32_bit_system_is_refused_in_one_line():
    with pytest.raises(InstallError, match="64-bit"):
        check_machine("armv7l")
    check_machine("aarch64")
