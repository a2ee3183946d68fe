"""``gatepass central`` pass commands, run as the operator would."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gatepass.cli import cli
from tests.conftest import run_gatepass


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "central.toml"
    path.write_text(f'data_dir = "{tmp_path / "central"}"\nsession_secret = "0123456789abcdef0123"\n')
    return str(path)


def _ok(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_issue_revoke_quarantine_release_and_keys(config, tmp_path):
    png = tmp_path / "pass.png"
    out = run_gatepass("central", "issue", "--config", config, "--household", "3-2-401", "--person", "1",
                       "--kind", "resident", "--days", "30", "--png", str(png))
    assert out.returncode == 0, out.stderr
    assert "pass 1: 3-2-401 #1 resident" in out.stdout and "QR version 7-M" in out.stdout
    assert out.stdout.splitlines()[1].startswith("GP1:") and png.read_bytes().startswith(b"\x89PNG")

    assert "pass 1 revoked (list version 3)" in _ok("central", "revoke", "--config", config, "1", "--reason", "lost")
    assert "list version 4" in _ok("central", "quarantine", "--config", config, "3-2-401",
                                   "--start", "2026-11-20", "--end", "2026-12-04")
    assert "released" in _ok("central", "release", "--config", config, "3-2-401")
    out = _ok("central", "quarantine", "--config", config, "5-1-101", "--person", "2", "--first-day", "2026-11-20")
    assert "5-1-101 person 2" in out and "2026-11-20 .. 2026-12-03 (last day included" in out  # 14 days preset
    assert "released" in _ok("central", "release", "--config", config, "5-1-101", "--person", "2", "--note", "ok")
    assert "active" in _ok("central", "keys", "list", "--config", config)
    rotated = _ok("central", "keys", "rotate", "--config", config)
    old_kid = rotated.split("; ")[1].split()[0]
    assert f"key {old_kid} retired" in _ok("central", "keys", "retire", "--config", config, old_kid)
    assert "BEGIN PUBLIC KEY" in _ok("central", "keys", "root-public", "--config", config)


def test_errors_are_one_line_with_exit_2(config):
    out = run_gatepass("central", "release", "--config", config, "9-9-999")
    assert out.returncode == 2 and out.stderr.strip().splitlines()[-1] == (
        "gatepass: error: household 9-9-999 is not under quarantine")
    out = run_gatepass("central", "quarantine", "--config", config, "1-1-1", "--start", "2026-12-04",
                       "--end", "2026-11-20")
    assert out.returncode == 2 and "is before its first day" in out.stderr


def test_bulk_issue_reports_bad_lines_and_writes_cards(config, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("户号,序号,类型,姓名\n3-2-401,1,居民,张三\n3-2-401,x,居民,李四\n3-2-402,0,visitor,\n",
                        encoding="utf-8")
    cards = tmp_path / "cards.html"
    out = run_gatepass("central", "issue-bulk", "--config", config, str(register), "--cards", str(cards))
    assert out.returncode == 1, out.stderr
    assert "issued 2, skipped 0, refused 1" in out.stdout
    assert "line 3: refused: 序号「x」不是整数 / person: 'x' is not a whole number" in out.stdout
    assert cards.read_text(encoding="utf-8").count('class="card"') == 2
    all_cards = tmp_path / "all.html"
    assert "2 card(s) on 1 A4 page(s)" in _ok("central", "cards", "--config", config, "--out", str(all_cards))
    assert "张三" in all_cards.read_text(encoding="utf-8")


def test_card_exports_are_audited(config, tmp_path):
    # Exports of personal data are audited (CONTRIBUTING: "every export audited"); the CLI wrote cards silently.
    import sqlite3

    _ok("central", "issue", "--config", config, "--household", "3-2-401", "--person", "1", "--name", "张三")
    out = tmp_path / "cards.html"
    _ok("central", "cards", "--config", config, "--out", str(out))
    conn = sqlite3.connect(tmp_path / "central" / "central.db")
    try:
        rows = conn.execute("SELECT role, action, detail, client FROM audit_log "
                            "WHERE action = 'export_cards'").fetchall()
    finally:
        conn.close()
    assert len(rows) == 1 and rows[0][0] == "cli" and rows[0][3] == "cli"
    assert str(out.resolve()) in rows[0][2] and '"cards": 1' in rows[0][2]
