"""Guards' PINs and the device's files at rest (issue 18, finding 9, edge side).

PINs never in a config file; at least 6 digits for new ones; hashes peppered with a per-device secret kept in a
0600 file next to the database, so a stolen copy of the database alone does not give the PINs away; hashes from
before the pepper keep working and are replaced at the next sign-in; the device's files private; the set-pin
command never takes the PIN on its command line; kiosk pairings made, listed and revoked from the device.
"""

from __future__ import annotations

import sqlite3
import stat

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from edge.kiosk import KioskPairings
from edge.settings import EdgeSettings
from edge.shifts import PEPPER_FILE, ShiftBook, check_pin
from edge.store import LocalStore
from gatepass.cli import cli
from gatepass.clock import ManualClock
from gatepass.config import load_settings
from gatepass.errors import ConfigError


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def gatepass(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def test_pins_in_the_config_file_are_refused_with_the_command_to_use(tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n[guards]\npins = {{ "1001" = "$argon2id$v=19$m=19456,t=2,p=1$x$y" }}\n')
    with pytest.raises(ConfigError) as err:
        load_settings(EdgeSettings, cfg)
    text = str(err.value)
    assert "PIN 不能写在配置文件里" in text and "PINs may not be in a config file" in text
    assert "gatepass edge set-pin" in text
    cfg.write_text(f'data_dir = "{tmp_path}"\n[guards]\n')
    assert load_settings(EdgeSettings, cfg).data_dir == tmp_path


def test_a_stolen_database_without_the_pepper_does_not_give_pins_away(tmp_path, edge_db):
    db = edge_db(tmp_path / "edge.db")
    book = ShiftBook(db)
    book.set_pin("1001", "246810")
    pepper = tmp_path / PEPPER_FILE
    assert pepper.exists() and mode(pepper) == 0o600 and len(pepper.read_bytes()) == 32
    stored = db.execute("SELECT pin_hash FROM guard_pins").fetchone()[0]
    plain = stored.removeprefix("hmac-sha256$")
    assert plain != stored
    # The offline guess of the old scheme (argon2 of the PIN itself) no longer matches, even for the right PIN.
    assert not _argon2_matches(plain, "246810")
    assert not check_pin(stored, "246810", b"x" * 32)  # another device's pepper
    assert book.verify("1001", "246810")
    with pytest.raises(Exception, match="6 to 12 digits"):
        book.set_pin("1002", "2468")


def _argon2_matches(hashed: str, pin: str) -> bool:
    try:
        return PasswordHasher().verify(hashed, pin)
    except Exception:
        return False


def test_a_hash_from_before_the_pepper_still_signs_in_and_is_peppered_then(tmp_path, edge_db):
    db = edge_db(tmp_path / "edge.db")
    book = ShiftBook(db)
    legacy = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash("2468")
    db.execute("INSERT INTO guard_pins (guard_id, pin_hash, set_at) VALUES ('old', ?, 0)", [legacy])
    assert not book.verify("old", "1357")
    assert db.execute("SELECT pin_hash FROM guard_pins WHERE guard_id = 'old'").fetchone()[0] == legacy
    assert book.start("old", "2468", 0)  # a 4-digit PIN set before the rule keeps working
    renewed = db.execute("SELECT pin_hash FROM guard_pins WHERE guard_id = 'old'").fetchone()[0]
    assert renewed.startswith("hmac-sha256$") and book.verify("old", "2468")


def test_the_device_database_and_pepper_are_private_whatever_the_umask(tmp_path, key):
    import os

    from tests.edge.conftest import edge_settings

    old = os.umask(0o022)
    try:
        store = LocalStore(edge_settings(tmp_path))
        store.open()
        try:
            assert store.shifts is not None
            store.shifts.set_pin("1001", "246810")
        finally:
            store.close()
    finally:
        os.umask(old)
    data = store.settings.data_dir
    for path in [data / "edge.db", data / PEPPER_FILE, *data.glob("edge.db-*")]:
        assert mode(path) == 0o600, path


def test_set_pin_asks_for_the_pin_and_never_takes_it_on_the_command_line(tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    refused = CliRunner().invoke(cli, ["edge", "set-pin", "--config", str(cfg), "--guard", "g9", "--pin", "987654"])
    assert refused.exit_code == 2 and "--pin" in refused.output
    short = CliRunner().invoke(cli, ["edge", "set-pin", "--config", str(cfg), "--guard", "g9"], input="1234\n1234\n")
    assert short.exit_code != 0 and "PIN 须为 6-12 位数字" in str(short.exception)
    ok = gatepass("edge", "set-pin", "--config", str(cfg), "--guard", "g9", stdin="987654\n987654\n")
    assert ok.exit_code == 0 and "已设置保安 g9 的PIN" in ok.output and "987654" not in ok.output
    data = tmp_path / "data"
    assert mode(data / "edge.db") == 0o600 and mode(data / PEPPER_FILE) == 0o600
    conn = sqlite3.connect(data / "edge.db")
    try:
        assert conn.execute("SELECT guard_id FROM guard_pins").fetchall() == [("g9",)]
    finally:
        conn.close()


def test_kiosk_codes_are_one_time_and_expire(tmp_path):
    clock = ManualClock()
    pairings = KioskPairings(tmp_path / "edge.db", clock)
    try:
        code = pairings.new_code(ttl_s=300)
        assert len(code) == 8 and code.isdigit()
        clock.advance(301)
        assert pairings.redeem(code, "late") is None
        code = pairings.new_code(ttl_s=300)
        assert pairings.redeem("0" * 8 if code != "0" * 8 else "1" * 8, "guess") is None
        token = pairings.redeem(f"{code[:4]}-{code[4:]}", "kiosk 2")
        assert token and pairings.is_paired(token) and pairings.redeem(code, "again") is None
        assert not pairings.is_paired("x" * 43) and not pairings.is_paired(None)
        stored = (tmp_path / "edge.db").read_bytes()
        assert token.encode() not in stored and code.encode() not in stored
        assert [p.label for p in pairings.pairings()] == ["kiosk 2"]
        assert mode(tmp_path / "edge.db") == 0o600
    finally:
        pairings.close()


def test_kiosk_pair_list_unpair_commands(tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    made = gatepass("edge", "kiosk", "pair", "--config", str(cfg), "--minutes", "2")
    assert made.exit_code == 0 and "配对码" in made.output
    line = next(line for line in made.output.splitlines() if line.startswith("配对码"))
    code = "".join(ch for ch in line.split(":", 1)[1] if ch.isdigit())
    pairings = KioskPairings(tmp_path / "data" / "edge.db")
    try:
        assert pairings.redeem(code, "10.0.0.5 chromium")
    finally:
        pairings.close()
    listed = gatepass("edge", "kiosk", "list", "--config", str(cfg))
    assert "10.0.0.5 chromium" in listed.output
    assert gatepass("edge", "kiosk", "unpair", "--config", str(cfg)).exit_code == 2  # --id or --all
    gone = gatepass("edge", "kiosk", "unpair", "--config", str(cfg), "--id", "1")
    assert gone.exit_code == 0 and "已撤销 1 个配对" in gone.output
    assert "没有已配对的屏幕" in gatepass("edge", "kiosk", "list", "--config", str(cfg)).output
