"""The staff password policy (central.console.passwords): on plain data, and wherever a password is set."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from central.console import auth, passwords
from central.console.passwords import WeakPassword, judge
from central.db import open_db
from gatepass.cli import main
from tests.central.console.conftest import csrf_of

WEAK = ["password", "aaaaaaaa", "12345678", "qwertyuiop", "admin123456", "1234567890", "woaini1314520",
        "zhangwei1990", "qwertyuiop[]", "gatepass2024"]
STRONG = ["correct horse battery staple", "晚上七点 北门 换班 记得带伞", "quiet-harbour-lantern-7"]


@pytest.mark.parametrize("password", WEAK)
def test_common_and_patterned_passwords_are_refused_with_reasons_in_both_languages(password):
    verdict = judge(password, ["admin", "管理员"])
    assert not verdict.ok
    assert verdict.zh and any("\u4e00" <= ch <= "\u9fff" for ch in verdict.zh) and verdict.en


def test_the_user_name_itself_or_mostly_is_refused():
    assert not judge("wangxiaoming", ["wangxiaoming"]).ok
    assert not judge("wangxiaoming1", ["wangxiaoming", "王小明"]).ok
    assert not judge("Garden-north-gate", ["Garden", "north-gate"]).ok  # community and gate names count too


@pytest.mark.parametrize("password", STRONG)
def test_a_long_passphrase_is_accepted(password):
    assert judge(password, ["admin"]).ok


@given(st.text(max_size=300))
@settings(max_examples=60, deadline=None)
def test_any_text_gets_a_verdict_never_an_error(text):
    verdict = judge(text, ["admin"])
    assert verdict.ok or (verdict.zh and verdict.en)
    assert not verdict.ok or len(text) >= passwords.MIN_LENGTH


def test_generated_passwords_pass():
    assert all(judge(passwords.generate(["admin"]), ["admin"]).ok for _ in range(20))


def test_add_user_and_set_password_refuse_weak_passwords_for_every_role(tmp_path, central_url):
    db = open_db(central_url)
    for role in auth.ROLES:
        for weak in ("password", "aaaaaaaa", "qwertyuiop", f"{role}{role}", f"{role}-2024"):
            with pytest.raises(WeakPassword, match="密码不符合要求"):
                auth.add_user(db, f"{role}", weak, role)
    auth.add_user(db, "zhao", "quiet-harbour-lantern-7", "admin", "赵六")
    with pytest.raises(WeakPassword):
        auth.set_password(db, "zhao", "zhao123456")
    auth.set_password(db, "zhao", "another calm river morning")
    assert auth.authenticate(db, "zhao", "another calm river morning") is not None


def test_the_console_form_refuses_a_weak_password_saying_why(central):
    with central.client("admin") as c:
        token = csrf_of(c.get("/users").text)
        r = c.post("/users/add", data={"csrf": token, "username": "qian", "password": "password1234",
                                       "role": "admin"})
        assert r.status_code == 400 and "密码不符合要求" in r.text and "Password refused" in r.text
        assert "qian" not in [u["username"] for u in auth.list_users(central.db)]


def test_the_cli_refuses_a_weak_password(tmp_path):
    cfg = tmp_path / "central.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "c"}"\nsession_secret = "{"s" * 32}"\n')
    with CliRunner().isolation(input="admin123456\n") as streams:
        code = main(["central", "user", "add", "--config", str(cfg), "li", "--role", "admin", "--password-stdin"])
        text = b"".join(s.getvalue() for s in streams[:2]).decode()
    assert code == 2 and "密码不符合要求" in text
