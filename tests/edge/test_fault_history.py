"""When faults start and end: the history behind the hand-over and central's devices page."""

from __future__ import annotations

import json

from edge.fault_history import FaultHistory, FaultSpan, fault_words


def test_faults_start_and_end_with_their_times():
    h = FaultHistory()
    assert h.observe([], 100.0) is False
    assert h.observe(["thermometer"], 110.0) is True
    assert h.observe(["thermometer"], 120.0) is False  # still on: nothing new
    assert h.observe(["thermometer", "disk_low"], 130.0) is True
    assert h.active() == [FaultSpan("thermometer", 110.0), FaultSpan("disk_low", 130.0)]
    assert h.observe(["disk_low"], 200.0) is True
    assert h.active() == [FaultSpan("disk_low", 130.0)]
    assert h.between(0, 115) == [FaultSpan("thermometer", 110.0, 200.0)]
    assert h.between(150, None) == [FaultSpan("thermometer", 110.0, 200.0), FaultSpan("disk_low", 130.0)]
    assert h.between(300, None) == [FaultSpan("disk_low", 130.0)]
    assert h.between(0, 100) == []


def test_fault_words_are_for_a_guard_and_unknown_codes_stay_codes():
    assert "测温仪" in fault_words("thermometer") and "Thermometer" in fault_words("thermometer", "en")
    assert fault_words("disk_full").startswith("存储空间已满")
    assert fault_words("odd_code") == "odd_code"


def test_the_hand_over_lists_the_faults_of_the_shift_and_the_sync_state_carries_those_on(tmp_path, key):
    from tests.edge.test_guard_actions import _health_cp

    cp = _health_cp(tmp_path, key, "off")
    try:
        clock = cp.readings.clock
        cp.faults.raise_("disk_low", "disk_low")
        cp.health.note_faults()
        state = cp.db.execute("SELECT value FROM sync_state WHERE key = 'edge_faults'").fetchone()
        assert [f["code"] for f in json.loads(state[0])] == ["disk_low"]
        clock.advance(60)
        cp.faults.clear("disk_low")
        cp.health.note_faults()
        assert json.loads(cp.db.execute("SELECT value FROM sync_state WHERE key = 'edge_faults'").fetchone()[0]) == []
        summary = cp.end_shift()
        assert summary is not None
        assert [(f.code, f.until is not None) for f in summary.faults] == [("disk_low", True)]
        assert summary.faults[0].text_zh.startswith("存储空间不足")
        sent = json.loads(cp.db.execute("SELECT extra FROM entries WHERE event = 'shift_end'").fetchone()[0])
        assert [f["code"] for f in sent["faults"]] == ["disk_low"]
    finally:
        cp.stop()


def test_a_failing_voice_is_a_fault_of_the_shift_but_not_a_second_line_on_the_screen(tmp_path, key):
    from tests.edge.test_guard_actions import _health_cp

    cp = _health_cp(tmp_path, key, "off")
    try:
        cp.report_fault("voice", True, "player_missing")
        cp.health.note_faults()
        assert "voice" in cp.faults and not any("语音" in f for f in cp.status()["faults"])
        state = json.loads(cp.db.execute("SELECT value FROM sync_state WHERE key = 'edge_faults'").fetchone()[0])
        assert [f["code"] for f in state] == ["voice"]  # central hears of it
        cp.readings.clock.advance(30)
        cp.report_fault("voice", False)
        cp.health.note_faults()
        summary = cp.end_shift()
        assert summary is not None and [f.code for f in summary.faults] == ["voice"]
        assert summary.faults[0].text_zh == "语音播放故障"
    finally:
        cp.stop()


def test_the_voice_player_tells_every_change_of_its_problem():
    from pathlib import Path

    from edge.screen_settings import VoiceSection
    from edge.voice import PromptLibrary, VoicePlayer

    heard: list[str | None] = []
    player = VoicePlayer(VoiceSection(player=["no-such-player-xyz"]), PromptLibrary(Path("/nonexistent")))
    player.on_problem = heard.append
    player.start()
    try:
        assert heard == ["player_missing"]
        player._set_problem("player_missing")  # the same problem again: nothing new to tell
        player._set_problem(None)
        assert heard == ["player_missing", None]
    finally:
        player.stop()
