"""The guard page's side of issue 13 through HTTP: overrides with 其他 and a second confirmation, the health code
colour, the outage level in ``/status``, voice failure as a fault."""

from __future__ import annotations

import time

import httpx
import pytest

from edge.screen_settings import VoiceSection
from edge.voice import PromptLibrary, VoiceAnnouncer, VoicePlayer
from edge.web.status import sync_outage
from tests.edge.web.conftest import Server, settings_for
from tests.edge.web.fakes import FakeCheckpoint, make_outcome
from tests.edge.web.test_api import post, sign_in
from tests.waiting import wait_until

QUARANTINED = dict(decision="refuse", code="quarantined", household="2-3-401",
                   message_zh="居家隔离期间，禁止外出", message_en="Home quarantine")
OFFLINE_ZH = "网络不通，记录已保存在本机，恢复后自动上传"


def test_override_with_other_needs_a_note_and_passes_it_through(server, fake):
    sign_in(server)
    refused = fake.publish(make_outcome(1, "refuse", "expired"))
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "other"})
    assert r.status_code == 422 and "其他" in r.json()["message_zh"] and "Other" in r.json()["message_en"]
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "other", "note": " " * 3})
    assert r.status_code == 422
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "other", "note": "x" * 61})
    assert r.status_code == 422 and "60" in r.json()["message_zh"]
    assert not any(c[0] == "override" for c in fake.calls)
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "other", "note": "  送医  孕妇 "})
    assert r.status_code == 200, r.text
    assert fake.calls[-1] == ("override", refused.uuid, "1001", "other", "送医 孕妇", False)


def test_a_quarantine_refusal_needs_the_second_confirmation(server, fake):
    sign_in(server)
    refused = fake.publish(make_outcome(1, **QUARANTINED))
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "medical"})
    assert r.status_code == 409 and r.json()["error"] == "confirm_needed"
    assert r.json()["message_zh"] == "请再次确认放行"  # the checkpoint's refusal in the page's words
    r = post(server, "/api/override", {"ref_uuid": refused.uuid, "reason": "medical", "confirmed": True})
    assert r.status_code == 200, r.text
    assert fake.calls[-1] == ("override", refused.uuid, "1001", "medical", "", True)


def test_the_page_knows_which_refusals_need_the_second_confirmation(server):
    html = httpx.get(server.url + "/").text
    for code in ("quarantined", "host_quarantined", "temp_high", "fever", "health_code_red"):
        assert f'"{code}"' in html
    assert 'data-reason="other"' in html and 'id="in-o-note"' in html


def test_health_code_colour_needs_a_shift_a_colour_and_a_held_scan(server, fake):
    fake.health_policy = "record"
    fake.hold_for_health_code()
    r = post(server, "/api/health_code", {"colour": "green"})
    assert r.status_code == 403 and r.json()["error"] == "no_shift"
    sign_in(server)
    r = post(server, "/api/health_code", {"colour": "blue"})
    assert r.status_code == 422 and "健康码颜色" in r.json()["message_zh"]
    assert httpx.get(server.url + "/status").json()["health_code"] == {"policy": "record", "waiting": True}
    r = post(server, "/api/health_code", {"colour": "yellow"})
    assert r.status_code == 200 and r.json() == {"ok": True, "colour": "yellow"}
    assert fake.calls[-1] == ("health_code", "yellow", "1001")
    assert fake.last is not None and fake.last.code == "health_code_yellow"
    r = post(server, "/api/health_code", {"colour": "green"})  # a late second tap: nothing is held any more
    assert r.status_code == 409 and r.json()["error"] == "no_hold" and "重新扫码" in r.json()["message_zh"]


def test_health_code_is_a_guard_action(tmp_path):
    fake = FakeCheckpoint(mode="unattended")
    with Server(fake, settings_for(tmp_path, mode="unattended")) as srv:
        r = post(srv, "/api/health_code", {"colour": "green"})
        assert r.status_code == 403 and r.json()["error"] == "unattended"
        assert 'id="hc-buttons"' not in httpx.get(srv.url + "/").text


@pytest.mark.parametrize("age_s,level", [(30, "ok"), (119, "ok"), (121, "amber"), (1799, "amber"), (1801, "red")])
def test_outage_level_follows_the_last_successful_upload(age_s, level):
    now = 1_800_000_000.0
    sync = sync_outage({"last_ok_ts": now - age_s, "backlog": 7, "text": f"7 条记录待上传（{OFFLINE_ZH}）"}, now)
    assert sync["level"] == level and sync["offline_s"] == pytest.approx(age_s)
    assert sync["problem_zh"] == OFFLINE_ZH and sync["problem_en"].startswith("No network")
    assert sync["backlog"] == 7


def test_outage_without_a_recorded_error_still_says_it_in_plain_words():
    now = 1_800_000_000.0
    sync = sync_outage({"last_ok_ts": now - 600, "backlog": 2, "text": "2 条记录待上传"}, now)
    assert sync["level"] == "amber" and sync["problem_zh"] == OFFLINE_ZH
    fresh = sync_outage({"last_ok_ts": now - 5, "backlog": 0, "text": "记录已全部上传"}, now)
    assert fresh["level"] == "ok" and fresh["problem_zh"] is None
    never = sync_outage({"last_ok_ts": None, "backlog": 0, "text": "记录已全部上传"}, now)
    assert never["level"] == "ok" and never["offline_s"] is None


def test_status_carries_the_outage(server, fake):
    fake.sync = {"last_ok_ts": time.time() - 300, "backlog": 42, "text": f"42 条记录待上传（{OFFLINE_ZH}）"}
    sync = httpx.get(server.url + "/status").json()["sync"]
    assert sync["level"] == "amber" and sync["backlog"] == 42 and sync["problem_zh"] == OFFLINE_ZH


def test_failing_voice_playback_is_a_fault_in_status(tmp_path, fake):
    section = VoiceSection(player=[str(tmp_path / "no-aplay")])
    voice = VoiceAnnouncer(fake, VoicePlayer(section, PromptLibrary(None)))
    with Server(fake, settings_for(tmp_path), voice) as srv:
        data = httpx.get(srv.url + "/status").json()["voice"]
        assert data["state"] == "failing" and data["problem"] == "player_missing"  # known at start


def test_a_player_that_fails_makes_voice_failing_until_one_plays(tmp_path):
    flag = tmp_path / "broken"
    flag.touch()
    code = f"import pathlib, sys; sys.stdin.buffer.read(); sys.exit(1 if pathlib.Path({str(flag)!r}).exists() else 0)"
    import sys

    player = VoicePlayer(VoiceSection(player=[sys.executable, "-c", code]), PromptLibrary(None))
    player.start()
    try:
        assert player.stats()["state"] == "ok"
        player.say("pass")
        assert wait_until(lambda: player.stats()["state"] == "failing")
        assert player.stats()["problem"] == "player_failed" and player.failed == 1
        flag.unlink()
        player.say("refuse")
        assert wait_until(lambda: player.played == 1)
        assert player.stats()["state"] == "ok" and player.stats()["problem"] is None
    finally:
        player.stop()
