"""``gatepass central enrolments list / approve / refuse``: enrolment without a browser (issue 19), audited."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from central import enrolment, ingest
from central.db import open_db
from gatepass.cli import main
from sync import enrolment as wire
from tests.sync.helpers import SECRET


@pytest.fixture
def setup(tmp_path, central_url, capsys):
    cfg = tmp_path / "central.toml"
    data_dir = tmp_path / "central" if central_url.startswith("postgresql") else Path(central_url).parent
    text = f'data_dir = "{data_dir}"\nsession_secret = "{SECRET}"\n'
    if central_url.startswith("postgresql"):
        text += f'database_url = "{central_url}"\n'
    cfg.write_text(text)
    db = open_db(central_url)

    def cli(*argv):
        code = main(["central", "enrolments", *argv[:1], "--config", str(cfg), *argv[1:]])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    def request(**over):
        secret = wire.new_secret()
        req = wire.EnrolmentRequest(claim=wire.claim_of(secret), hostname="pi-7", software_version="0.4.0", **over)
        return secret, wire.format_code(enrolment.create(db, req, "10.0.0.7", time.time(), 30).code)

    return SimpleNamespace(cli=cli, db=db, request=request, data_dir=data_dir)


def test_list_approve_and_the_gate_gets_its_token(setup):
    assert "没有等待批准的设备" in setup.cli("list").stdout
    secret, code = setup.request()
    out = setup.cli("list")
    assert code in out.stdout and "pi-7" in out.stdout and "10.0.0.7" in out.stdout and "分钟" in out.stdout
    out = setup.cli("approve", code.lower(), "--community", "幸福里社区", "--gate-id", "east", "--gate-name", "东门",
                    "--direction", "in")
    assert out.returncode == 0, out.stderr
    assert "已批准" in out.stdout and "east" in out.stdout
    audit = list(setup.db.query("SELECT username, role, detail FROM audit_log WHERE action = 'approve_enrolment'"))
    assert audit and audit[0]["role"] == "cli" and code in audit[0]["detail"]
    status, body = enrolment.poll(setup.db, secret, time.time(), "-----BEGIN PUBLIC KEY-----\nx\n")
    assert status == 200 and body["device_id"] == "east" and body["gate"]["direction"] == "in"
    assert ingest.authenticate(setup.db, body["token"])["gate_id"] == "east"
    again = setup.cli("approve", code, "--community", "c", "--gate-id", "g", "--gate-name", "n")
    assert again.returncode != 0 and "接入码已经用过" in again.stderr


def test_refuse_and_plain_reasons(setup):
    secret, code = setup.request()
    out = setup.cli("refuse", code)
    assert out.returncode == 0 and "已拒绝" in out.stdout
    assert enrolment.poll(setup.db, secret, time.time(), "")[0] == 410
    bad = setup.cli("approve", "ABCD-0000", "--community", "c", "--gate-id", "g", "--gate-name", "n")
    assert bad.returncode != 0 and "不用 0、O、1、I、L" in bad.stderr
    ingest.add_device(setup.db, "old", community="c", gate_id="g")
    _, code = setup.request()
    busy = setup.cli("approve", code, "--community", "c", "--gate-id", "g", "--gate-name", "n")
    assert busy.returncode != 0 and "这个门岗已有设备" in busy.stderr
    ok = setup.cli("approve", code, "--community", "c", "--gate-id", "g", "--gate-name", "n", "--replaces", "old")
    assert ok.returncode == 0 and "g-2" not in ok.stdout and "设备 g " in ok.stdout
