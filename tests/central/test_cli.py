"""``gatepass central add-device / revoke-device / devices`` and a device set up from their output."""

from __future__ import annotations

import json
import re
import tomllib
from types import SimpleNamespace

import pytest

from gatepass.cli import main
from tests.sync.helpers import SECRET, Central, fill, wait_until

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


def _central_cfg(tmp_path):
    cfg = tmp_path / "central.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "central"}"\nsession_secret = "{SECRET}"\n')
    return cfg


def test_add_device_prints_a_usable_sync_config_once(capsys, tmp_path):
    def gatepass_cli(*argv):  # in-process: the same entry point as the installed command, minus start-up time
        code = main(list(argv))
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    cfg = _central_cfg(tmp_path)
    out = gatepass_cli("central", "add-device", "--config", str(cfg), "gate-7", "--name", "东门", "--community", "c1")
    assert out.returncode == 0, out.stderr
    lines = "\n".join(line for line in out.stdout.splitlines() if not line.startswith("#"))
    data = tomllib.loads(lines)
    assert re.fullmatch(r"gp1_[A-Za-z0-9_-]{43}", data["device_token"])
    assert data["central_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    again = gatepass_cli("central", "add-device", "--config", str(cfg), "gate-7")
    assert again.returncode == 2 and "already registered" in again.stderr
    sync_cfg = tmp_path / "sync.toml"
    sync_cfg.write_text(f'central_url = "http://127.0.0.1:9/"\ndata_dir = "{tmp_path / "dev"}"\n' + lines + "\n")
    check = gatepass_cli("sync", "run", "--config", str(sync_cfg), "--check-config")
    assert check.returncode == 0, check.stderr
    listed = gatepass_cli("central", "devices", "--config", str(cfg), "--json")
    rows = json.loads(listed.stdout)
    assert [r["device_id"] for r in rows] == ["gate-7"] and rows[0]["community"] == "c1"
    assert "token_hash" not in listed.stdout and data["device_token"] not in listed.stdout
    revoked = gatepass_cli("central", "revoke-device", "--config", str(cfg), "gate-7")
    assert revoked.returncode == 0
    assert "REVOKED" in gatepass_cli("central", "devices", "--config", str(cfg)).stdout


def test_sync_process_drains_and_the_token_never_reaches_the_logs(gatepass_cli, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    central = Central(tmp_path / "central").start_process()
    try:
        token = central.add_device("gate-a")
        data = tmp_path / "dev"
        data.mkdir()
        fill(data / "edge.db", 30)
        cfg = tmp_path / "sync.toml"
        cfg.write_text(f'central_url = "{central.url}"\ndevice_token = "{token}"\ndata_dir = "{data}"\n'
                       f'interval_s = 0.2\ncentral_public_key = "{tmp_path / "pub.pem"}"\n')
        (tmp_path / "pub.pem").write_text(central.public_pem())
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "gatepass", "--log-level", "DEBUG", "sync", "run", "--config",
                                 str(cfg)], env=env, stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / "sync.log", "wb"))
        try:
            assert wait_until(lambda: len(central.entries()) == 30, 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    finally:
        central.stop()
    assert proc.returncode == 0
    logs = (tmp_path / "sync.log").read_text() + (tmp_path / "central" / "server.log").read_text()
    assert "syncing" in logs and "registered device gate-a" not in logs
    assert token not in logs and token[4:20] not in logs  # the token never reaches a log
