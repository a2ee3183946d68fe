"""Who may reach the guard page (issue 18, finding 1), against a real uvicorn server on loopback.

- The ``Host`` check holds for every listen address (it used to be off for ``0.0.0.0``: DNS rebinding read the
  action token); a non-loopback listen address needs explicit configuration and logs a warning.
- Reads of personal data (``/``, which carries the token, ``/status``, ``/events``, ``/preview.jpg``) and every
  action need a paired kiosk: the browser on the Pi itself, or one paired with a one-time code at ``/pair``.
  ``[guard_page] local_kiosk = false`` makes the tests' loopback client a browser from elsewhere.
- Every guard action but sign-in needs a signed-in guard.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi.routing import APIRoute

from edge.kiosk import COOKIE, KioskPairings
from edge.settings import EdgeSettings
from gatepass.config import load_settings
from gatepass.errors import ConfigError
from tests.edge.web.conftest import Server, settings_for
from tests.edge.web.fakes import FakeCheckpoint, make_outcome

REMOTE = {"host": "0.0.0.0", "allow_remote": True, "allow_clients": ["192.168.1.0/24", "127.0.0.1"],
          "server_names": ["gate1.lan"]}
DATA = ("/", "/status", "/preview.jpg", "/events")


def _get(srv: Server, path: str, **headers) -> httpx.Response:
    if path == "/events":  # a stream: only its status and first bytes
        with httpx.stream("GET", srv.url + path, headers=headers, timeout=5) as r:
            r.read() if r.status_code != 200 else next(r.iter_bytes(), b"")
            return r
    return httpx.get(srv.url + path, headers=headers, timeout=5)


@pytest.mark.parametrize("guard_page", [{}, REMOTE], ids=["loopback", "0.0.0.0"])
def test_a_foreign_host_is_refused_whatever_the_listen_address(tmp_path, guard_page):
    fake = FakeCheckpoint()
    with Server(fake, settings_for(tmp_path, guard_page=guard_page)) as srv:
        for path in (*DATA, "/static/guard.js", "/pair", "/healthz"):
            r = _get(srv, path, Host="rebound.evil.example")
            assert r.status_code == 403 and r.json()["error"] == "bad_host", path
            assert "拒绝访问" in r.json()["message_zh"] and r.json()["message_en"]
        page = httpx.get(srv.url + "/", headers={"Host": "evil.example:8080", "Accept": "text/html"})
        assert page.status_code == 403 and "拒绝访问" in page.text and srv.app.state.page.token not in page.text
        token = {"X-Gatepass-Token": srv.app.state.page.token}
        r = httpx.post(srv.url + "/api/shift/start", json={"guard_id": "1001", "pin": "2468"},
                       headers={**token, "Host": "evil.example", "Origin": "http://evil.example"})
        assert r.status_code == 403 and fake.shift is None
        for host in ("127.0.0.1", f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", f"[::1]:{srv.port}"):
            assert httpx.get(srv.url + "/status", headers={"Host": host}).status_code == 200, host
        named = httpx.get(srv.url + "/status", headers={"Host": "gate1.lan"}).status_code
        assert named == (200 if guard_page else 403)


def test_a_client_outside_allow_clients_is_refused(tmp_path):
    section = {**REMOTE, "allow_clients": ["10.9.0.0/16"], "local_kiosk": False}
    with Server(FakeCheckpoint(), settings_for(tmp_path, guard_page=section)) as srv:
        r = httpx.get(srv.url + "/status")
        assert r.status_code == 403 and r.json()["error"] == "bad_client" and "终端" in r.json()["message_zh"]


@pytest.mark.parametrize("section,words", [
    ({"host": "0.0.0.0"}, "allow_remote"),
    ({"host": "192.168.1.20"}, "allow_remote"),
    ({"host": "0.0.0.0", "allow_remote": True}, "allow_clients"),
    ({"host": "::", "allow_remote": True, "tls_cert": "/etc/ssl/gate.pem"}, "tls_key"),
])
def test_a_non_loopback_listen_address_needs_explicit_configuration(tmp_path, section, words):
    cfg = tmp_path / "edge.toml"
    cfg.write_text("[guard_page]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in section.items()))
    with pytest.raises(ConfigError) as err:
        load_settings(EdgeSettings, cfg)
    assert words in str(err.value) and "guard_page" in str(err.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))  # zh-CN first, English too


def _toml(value: object) -> str:
    return "true" if value is True else f'"{value}"'


def test_a_remote_listen_address_logs_a_warning(tmp_path, caplog):
    settings = settings_for(tmp_path, guard_page=REMOTE)
    from edge.webapp import create_app

    with caplog.at_level(logging.WARNING, logger="edge.webapp"):
        create_app(FakeCheckpoint(), settings)
    assert any("0.0.0.0" in r.getMessage() and "WITHOUT TLS" in r.getMessage() for r in caplog.records)


@pytest.fixture
def remote(tmp_path):
    """A page seen from a browser that is not the Pi's own (``local_kiosk = false``)."""
    fake = FakeCheckpoint()
    fake.publish(make_outcome(1, household="3-2-101"))
    with Server(fake, settings_for(tmp_path, guard_page={"local_kiosk": False})) as srv:
        yield fake, srv


def test_an_unpaired_browser_sees_how_to_pair_and_never_data(remote):
    fake, srv = remote
    page = httpx.get(srv.url + "/")
    assert page.status_code == 403 and "此屏幕尚未配对" in page.text and "gatepass edge kiosk pair" in page.text
    for secret in (srv.app.state.page.token, "3-2-101", "gp-config", "东门"):
        assert secret not in page.text
    for path in DATA[1:]:
        r = _get(srv, path)
        assert r.status_code == 403 and r.json()["error"] == "not_paired" and "配对" in r.json()["message_zh"], path
    token = {"X-Gatepass-Token": srv.app.state.page.token}  # even knowing the token (it never gets it)
    r = httpx.post(srv.url + "/api/shift/start", json={"guard_id": "1001", "pin": "2468"}, headers=token)
    assert r.status_code == 403 and r.json()["error"] == "not_paired" and fake.shift is None
    assert httpx.get(srv.url + "/healthz").status_code == 200  # no personal data: the service check


def test_pairing_with_a_one_time_code(remote):
    fake, srv = remote
    code = KioskPairings(srv.settings.db_path).new_code()
    with httpx.Client(base_url=srv.url) as browser:
        r = browser.post("/pair", data={"code": f"{code[:4]} {code[4:]}"})
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert cookie.split(";")[0].split("=", 1)[1] not in srv.settings.db_path.read_bytes().decode("latin-1")
        page = browser.get("/")
        assert page.status_code == 200 and srv.app.state.page.token in page.text
        assert browser.get("/status").json()["devices"]
        assert browser.get("/preview.jpg").headers["content-type"] == "image/jpeg"
        with browser.stream("GET", "/events") as events:
            assert events.status_code == 200
        again = httpx.post(srv.url + "/pair", data={"code": code})  # one time only
        assert again.status_code == 403 and "配对码无效或已过期" in again.text
        assert KioskPairings(srv.settings.db_path).unpair() == 1  # gatepass edge kiosk unpair --all
        assert browser.get("/status").status_code == 403
        assert "此屏幕尚未配对" in browser.get("/").text


def test_wrong_codes_lock_pairing_before_the_code_can_be_guessed(remote):
    _, srv = remote
    code = KioskPairings(srv.settings.db_path).new_code()
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(5):
        r = httpx.post(srv.url + "/pair", data={"code": wrong})
        assert r.status_code == 403 and "配对码无效" in r.text
    r = httpx.post(srv.url + "/pair", data={"code": code})
    assert r.status_code == 429 and "次数过多" in r.text and COOKIE not in r.headers.get("set-cookie", "")
    r = httpx.post(srv.url + "/pair", content=b"code=" + b"1" * 5000,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    r = httpx.post(srv.url + "/pair", data={"code": code}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def _post_paths() -> list[str]:
    """Every POST route of the page's routers."""
    from edge.web import actions, pages, pairing, stream

    return sorted(r.path for m in (actions, pages, pairing, stream) for r in m.router.routes
                  if isinstance(r, APIRoute) and "POST" in r.methods)


def test_every_action_but_sign_in_needs_a_signed_in_guard(tmp_path):
    from tests.edge.web.test_voice import recorder

    fake = FakeCheckpoint()
    with Server(fake, settings_for(tmp_path, voice={"enabled": True, "player": recorder(tmp_path)})) as srv:
        paths = _post_paths()
        assert "/api/mute" in paths and "/api/visitor" in paths and "/api/shift/start" in paths
        token = {"X-Gatepass-Token": srv.token()}
        for path in paths:
            if path in ("/api/shift/start", "/pair"):  # signing in; pairing a kiosk (a one-time code)
                continue
            r = httpx.post(srv.url + path, json={}, headers=token)
            assert r.status_code == 403 and r.json()["error"] == "no_shift", path
        assert not srv.app.state.page.voice.player.muted and fake.calls == []
