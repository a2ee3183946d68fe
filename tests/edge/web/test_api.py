"""The guard page's HTTP interface, against a real uvicorn server on loopback."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.edge.web.conftest import Server, settings_for
from tests.edge.web.fakes import FakeCheckpoint, make_outcome


def post(srv: Server, path: str, body: dict, token: str | None = None, **headers) -> httpx.Response:
    hdrs = {"X-Gatepass-Token": token if token is not None else srv.token(), **headers}
    return httpx.post(srv.url + path, json=body, headers=hdrs)


def sign_in(srv: Server) -> None:
    r = post(srv, "/api/shift/start", {"guard_id": "1001", "pin": "2468"})
    assert r.status_code == 200, r.text


def test_page_is_served_locally_and_in_chinese(server):
    r = httpx.get(server.url + "/")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text
    assert "http://" not in r.text.replace(server.url, "") and "https://" not in r.text  # no CDN, no web fonts
    for asset in ("/static/guard.js", "/static/guard.css", "/static/i18n.js"):
        assert httpx.get(server.url + asset).status_code == 200


def test_status_adds_english_device_texts_and_shift(server, fake):
    fake.devices["thermometer"] = {"status": "disconnected", "text": "测温仪未连接，正在自动重试（请检查USB线）"}
    data = httpx.get(server.url + "/status").json()
    assert data["devices"]["thermometer"]["text_en"].startswith("Thermometer disconnected")
    assert data["shift"] is None and data["shift_summary"] is None
    sign_in(server)
    data = httpx.get(server.url + "/status").json()
    assert data["shift"]["guard_id"] == "1001"
    assert data["shift_summary"]["guard_id"] == "1001"


def test_preview_jpeg_or_no_content(server, fake):
    r = httpx.get(server.url + "/preview.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    fake.jpeg = None
    assert httpx.get(server.url + "/preview.jpg").status_code == 204


def test_events_stream_delivers_outcomes_and_unsubscribes(server, fake):
    got: list[dict] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", server.url + "/events", timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                ready.set()
                if line.startswith("data: "):
                    got.append(json.loads(line[6:]))
                    return

    t = threading.Thread(target=listen)
    t.start()
    assert ready.wait(10)
    sent = fake.publish(make_outcome(7, "refuse", "expired", message_zh="通行证已过期", message_en="Pass expired"))
    t.join(10)
    assert got and got[0]["seq"] == 7 and got[0]["uuid"] == sent.uuid and got[0]["decision"] == "refuse"
    assert got[0]["age_s"] >= 0


def test_posts_need_the_page_token_and_same_origin(server):
    assert post(server, "/api/shift/start", {"guard_id": "1001", "pin": "2468"}, token="").status_code == 403
    r = post(server, "/api/shift/start", {"guard_id": "1001", "pin": "2468"}, Origin="http://evil.example")
    assert r.status_code == 403 and r.json()["error"] == "cross_site"
    r = post(server, "/api/shift/start", {"guard_id": "1001", "pin": "2468"}, Origin=server.url)
    assert r.status_code == 200


def test_foreign_host_header_is_refused(server):
    # DNS rebinding: a page on another name resolving to 127.0.0.1 must not read the token.
    r = httpx.get(server.url + "/", headers={"Host": "evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "bad_host" and "拒绝访问" in r.json()["message_zh"]
    assert "token" not in r.text


def test_actions_need_a_shift_and_log_the_shift_guard(server, fake):
    refused = fake.publish(make_outcome(1, "refuse", "expired"))
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "medical"})
    assert r.status_code == 403 and r.json()["error"] == "no_shift"
    sign_in(server)
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "medical"})
    assert r.status_code == 200, r.text
    assert fake.calls[-1] == ("override", refused.uuid, "1001", "medical", "", False)
    assert r.json()["outcome"]["event"] == "override"


def test_override_reason_must_be_one_of_three(server, fake):
    sign_in(server)
    refused = fake.publish(make_outcome(1, "refuse", "expired"))
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "friend"})
    assert r.status_code == 422
    assert "事由" in r.json()["message_zh"]


def test_override_of_unknown_entry_is_a_clear_conflict(server):
    sign_in(server)
    r = post(server, "/api/override", {"ref_uuid": "abc-123", "reason": "staff"})
    assert r.status_code == 409 and "abc-123" in r.json()["message_en"]


def test_visitor_is_validated_and_logged_with_guard(server, fake):
    sign_in(server)
    body = {"name": "王小明", "phone": "138 0013 8000", "host_household": "3-2-101", "reason": "探亲访友",
            "temperature_c": 36.4}
    r = post(server, "/api/visitor", body)
    assert r.status_code == 200, r.text
    assert fake.calls[-1] == ("visitor", "1001", "王小明", "13800138000", "3-2-101", "探亲访友", 36.4)
    r = post(server, "/api/visitor", {**body, "phone": "call me", "temperature_c": 52})
    assert r.status_code == 422
    assert "电话" in r.json()["message_zh"] and "体温" in r.json()["message_zh"]
    assert post(server, "/api/visitor", {**body, "extra": 1}).status_code == 422
    assert httpx.post(server.url + "/api/visitor", content=b"{nope",
                      headers={"X-Gatepass-Token": server.token()}).status_code == 400


def test_wrong_pins_lock_sign_in(tmp_path):
    fake = FakeCheckpoint()
    with Server(fake, settings_for(tmp_path, screen={"pin_attempts": 3, "pin_lockout_s": 60})) as srv:
        for _ in range(3):
            assert post(srv, "/api/shift/start", {"guard_id": "1001", "pin": "0000"}).status_code == 401
        r = post(srv, "/api/shift/start", {"guard_id": "1001", "pin": "2468"})
        assert r.status_code == 429 and "PIN" in r.json()["message_zh"]
        assert fake.shift is None


def test_shift_end_returns_the_hand_over_summary(server, fake):
    sign_in(server)
    r = post(server, "/api/shift/end", {})
    assert r.status_code == 200
    summary = r.json()["summary"]
    assert summary["guard_id"] == "1001" and summary["ended_ts"] is not None
    assert post(server, "/api/shift/end", {}).status_code == 403  # nobody signed in any more


@pytest.mark.parametrize("path,body", [
    ("/api/shift/start", {"guard_id": "1001", "pin": "2468"}),
    ("/api/override", {"ref_uuid": "x", "reason": "staff"}),
    ("/api/visitor", {"name": "a", "phone": "12345", "host_household": "1", "reason": "r"}),
    ("/api/mute", {"muted": True}),
])
def test_unattended_mode_has_no_actions(tmp_path, path, body):
    fake = FakeCheckpoint(mode="unattended")
    with Server(fake, settings_for(tmp_path, mode="unattended")) as srv:
        html = httpx.get(srv.url + "/").text
        assert 'id="actions"' not in html and "dlg-override" not in html and "dlg-visitor" not in html
        r = post(srv, path, body)
        assert r.status_code == 403 and r.json()["error"] == "unattended"
        assert fake.calls == []


def test_mute_toggle_and_voice_state_in_status(tmp_path):
    from tests.edge.web.test_voice import recorder

    fake = FakeCheckpoint()
    with Server(fake, settings_for(tmp_path, voice={"enabled": True, "player": recorder(tmp_path)})) as srv:
        assert httpx.get(srv.url + "/status").json()["voice"]["muted"] is False
        assert post(srv, "/api/mute", {"muted": True}).json()["error"] == "no_shift"  # a guard's choice
        sign_in(srv)
        assert post(srv, "/api/mute", {"muted": True}).json() == {"ok": True, "muted": True}
        assert httpx.get(srv.url + "/status").json()["voice"]["muted"] is True
        assert post(srv, "/api/mute", {"muted": "loud"}).status_code == 422


def test_no_voice_means_no_mute(server):
    assert httpx.get(server.url + "/status").json()["voice"] is None
    assert 'id="btn-mute"' not in httpx.get(server.url + "/").text
    sign_in(server)
    assert post(server, "/api/mute", {"muted": True}).status_code == 409


def test_an_event_stream_never_started_leaves_no_subscriber():
    # Regression: the route subscribed before the response started, so a client that went away before the
    # stream began left a subscriber queue behind for good.
    import asyncio

    from edge.web.stream import event_stream

    class _Gone:
        async def is_disconnected(self) -> bool:
            return True

    fake = FakeCheckpoint()
    stream = event_stream(fake, _Gone(), ())
    assert fake.subscribers == []
    del stream

    async def one_message() -> str:
        gen = event_stream(fake, _Gone(), ())
        first = await gen.__anext__()
        assert len(fake.subscribers) == 1
        await gen.aclose()
        return first

    assert asyncio.run(one_message()).startswith("retry:")
    assert fake.subscribers == []


def test_override_only_within_the_window_and_only_once(server, fake):
    # Regression: the override window was enforced by the page only; through the API any refusal, however
    # old, could be overridden (and overridden again), each time opening the gate.
    import time

    sign_in(server)
    old = fake.publish(make_outcome(1, "refuse", "expired", t_decided=time.monotonic() - 10_000))
    fake.publish(make_outcome(2, "pass"))
    r = post(server, "/api/override", {"ref_uuid": old.uuid, "reason": "staff"})
    assert r.status_code == 409 and r.json()["error"] == "override_too_late"
    assert not any(c[0] == "override" for c in fake.calls)  # the checkpoint was never asked

    refused = fake.publish(make_outcome(3, "refuse", "expired"))
    assert post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "staff"}).status_code == 200
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "staff"})
    assert r.status_code == 409 and r.json()["error"] == "already_overridden"
    assert [c for c in fake.calls if c[0] == "override"] == [("override", refused.uuid, "1001", "staff", "", False)]
