"""Sign-in limits (central.console.signin) against a real server on loopback: bursts are checked one at a time
and only up to the limits, failing someone's sign-in cannot keep them out, administrators end waits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from central.console import auth, signin
from central.console.signin import SignInGuard
from tests.central.console.conftest import PASSWORDS, csrf_of, login

PASSWORD = "quiet-harbour-lantern-7"


def _fresh_guard(central) -> SignInGuard:
    guard = central.server.config.app.state.signin = SignInGuard()
    return guard


def _client(central, address: str) -> httpx.Client:
    """A browser at ``address`` (the server trusts X-Forwarded-For from loopback, as behind a reverse proxy)."""
    return httpx.Client(base_url=central.url, follow_redirects=False, timeout=30,
                        headers={"X-Forwarded-For": address})


def _audit_count(central, name: str, action: str) -> int:
    return int(central.db.execute("SELECT count(*) FROM audit_log WHERE username = ? AND action = ?",
                                  [name, action]).fetchone()[0])


@pytest.fixture
def member(central, request):
    """A fresh staff member (and fresh limits) per test."""
    name = "m" + str(abs(hash(request.node.name)) % 10**8)
    auth.add_user(central.db, name, PASSWORD, "viewer", "测试 王")
    _fresh_guard(central)
    yield name
    _fresh_guard(central)


def test_forty_concurrent_wrong_sign_ins_check_at_most_the_limit_and_the_right_one_waits(central, member):
    clients = [_client(central, "10.9.0.1") for _ in range(41)]
    tokens = [csrf_of(c.get("/login").text) for c in clients]
    barrier = threading.Barrier(len(clients))

    def attempt(i: int) -> int:
        barrier.wait()
        password = PASSWORD if i == 20 else f"wrong-guess-{i}"
        return clients[i].post("/login", data={"username": member, "password": password, "csrf": tokens[i],
                                               "next": "/"}).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        codes = list(pool.map(attempt, range(len(clients))))
    rows = central.db.execute("SELECT action FROM audit_log WHERE username = ? AND action IN ('login', "
                              "'login_failed') ORDER BY id", [member]).fetchall()
    checked = [r[0] for r in rows]
    assert set(codes) <= {303, 429}, codes  # no 500, nothing else
    assert len(checked) <= signin.FREE_FAILURES <= signin.ADDRESS_LIMIT  # at most the limit hashed
    assert "login" not in checked or checked.index("login") < signin.FREE_FAILURES  # right only before the limit
    assert _audit_count(central, member, "login_locked") == codes.count(429) >= len(clients) - signin.ADDRESS_LIMIT
    with _client(central, "10.9.0.1") as c:  # once the limit is reached, the right password waits too
        while (r := login(c, member, "wrong-guess")).status_code == 303:
            pass
        r = login(c, member, PASSWORD)
        assert r.status_code == 429 and "请稍候" in r.text and int(r.headers["retry-after"]) >= 1
        assert c.get("/entries").status_code == 303
    for c in clients:
        c.close()


def test_an_address_that_keeps_failing_waits_and_other_addresses_do_not(central, member):
    with _client(central, "10.9.1.1") as c:
        for i in range(signin.ADDRESS_LIMIT):
            assert login(c, f"nobody{i}", "wrong-guess").status_code == 303
        r = login(c, "viewer", PASSWORDS["viewer"])
        assert r.status_code == 429 and "请稍候 900 秒再试" in r.text
    with _client(central, "10.9.1.2") as c:
        assert login(c, "viewer", PASSWORDS["viewer"]).headers["location"] == "/"


def test_failing_someones_sign_in_cannot_keep_them_out(central, member):
    with _client(central, "10.9.2.1") as own:  # the member's own browser, signed in once before
        assert login(own, member, PASSWORD).headers["location"] == "/"
        known = own.cookies.get(signin.KNOWN_COOKIE, path="/login")
    assert known
    for i in range(12):  # a stranger guesses from many addresses
        with _client(central, f"10.9.3.{i}") as c:
            assert login(c, member, "wrong-guess").status_code in (303, 429)
    with _client(central, "10.9.4.1") as c:  # a new browser: the name's checks are spaced out ...
        r = login(c, member, PASSWORD)
        assert r.status_code == 429 and "请稍候" in r.text
    with _client(central, "10.9.4.2") as c:  # a forged mark is not honoured ...
        c.cookies.set(signin.KNOWN_COOKIE, known[:-1] + ("0" if known[-1] != "0" else "1"), path="/login")
        assert login(c, member, "wrong-guess").status_code == 429
    with _client(central, "10.9.2.1") as again:  # ... the member's own browser is not held back
        again.cookies.set(signin.KNOWN_COOKIE, known, path="/login")
        assert login(again, member, PASSWORD).headers["location"] == "/"


def test_an_administrator_ends_a_wait_and_it_is_audited(central, member):
    for i in range(signin.FREE_FAILURES + 1):
        with _client(central, f"10.9.5.{i}") as c:
            login(c, member, "wrong-guess")
    with _client(central, "10.9.6.1") as c:
        assert login(c, member, PASSWORD).status_code == 429
    with central.client("admin") as admin:
        page = admin.get("/users")
        assert f"/users/{member}/unlock" in page.text and "需等待" in page.text
        assert admin.post(f"/users/{member}/unlock", data={"csrf": csrf_of(page.text)}).status_code == 303
        assert f"/users/{member}/unlock" not in admin.get("/users").text
    assert _audit_count(central, "admin", "unlock_user") >= 1
    with _client(central, "10.9.6.1") as c:
        assert login(c, member, PASSWORD).headers["location"] == "/"


def test_wrong_then_right_password_clears_the_name(central, member):
    with _client(central, "10.9.7.1") as c:
        for _ in range(signin.FREE_FAILURES - 1):
            assert login(c, member, "wrong-guess").headers["location"] == "/login?error=bad"
        assert login(c, member, PASSWORD).headers["location"] == "/"
    assert signin.delays(central.db, 0.0).get(member) is None


def test_name_wait_grows_and_is_bounded():
    waits = [signin.name_wait(n) for n in range(1, 40)]
    assert waits[: signin.FREE_FAILURES - 1] == [0.0] * (signin.FREE_FAILURES - 1)
    assert waits == sorted(waits) and waits[-1] == signin.MAX_DELAY_S


def test_the_cli_ends_a_wait_and_it_is_audited(tmp_path):
    from click.testing import CliRunner

    from central.db import open_db
    from gatepass.cli import main

    cfg = tmp_path / "central.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "c"}"\nsession_secret = "{"s" * 32}"\n')
    db = open_db(tmp_path / "c" / "central.db")
    for _ in range(signin.FREE_FAILURES + 2):
        signin.reserve_name(db, "wang", 1_780_000_000.0)
    assert signin.delays(db, 1_780_000_000.0)["wang"]["wait_s"] > 0
    with CliRunner().isolation() as streams:
        code = main(["central", "user", "unlock", "--config", str(cfg), "wang"])
        text = b"".join(s.getvalue() for s in streams[:2]).decode()
    assert code == 0 and "已解除 wang 的登录等待" in text
    assert signin.delays(db, 1_780_000_000.0) == {}
    assert db.execute("SELECT detail FROM audit_log WHERE action = 'unlock_user'").fetchone()[0].count("wang")
