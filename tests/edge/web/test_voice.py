"""Voice prompts: the prompt table, the shipped WAV files, volume, and playback through a stand-in player."""

from __future__ import annotations

import io
import shutil
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.screen_settings import VoiceSection
from edge.voice import (
    LANGUAGES,
    PROMPTS,
    SHIPPED_DIR,
    PromptLibrary,
    VoiceAnnouncer,
    VoicePlayer,
    prompt_key,
    scale_wav,
    synthesize,
)
from tests.edge.web.fakes import FakeCheckpoint, make_outcome
from tests.waiting import wait_until


def recorder(tmp_path: Path, delay_s: float = 0.0) -> list[str]:
    """A player command that stores the WAV it receives on stdin (numbered files in tmp_path/played)."""
    out = tmp_path / "played"
    out.mkdir()
    code = ("import sys, time, pathlib; d = pathlib.Path(sys.argv[1]); data = sys.stdin.buffer.read(); "
            f"time.sleep({delay_s}); n = len(list(d.iterdir())); (d / f'{{n:03d}}.wav').write_bytes(data)")
    return [sys.executable, "-c", code, str(out)]


@pytest.mark.parametrize("fields,key", [
    ({"decision": "pass"}, "pass_temp_ok"),
    ({"decision": "pass", "temperature_c": None}, "pass"),
    ({"decision": "pass", "event": "override"}, "override"),
    ({"decision": "pass", "event": "visitor"}, "visitor"),
    ({"decision": "refuse", "code": "fever", "fever": True, "remeasure": True, "temperature_c": 38.2}, "remeasure"),
    ({"decision": "refuse", "code": "fever", "fever": True, "temperature_c": 38.4}, "fever"),
    ({"decision": "guard", "code": "no_temperature", "remeasure": True, "temperature_c": None}, "measure"),
    ({"decision": "guard", "code": "no_temperature", "temperature_c": None}, "guard"),
    ({"decision": "refuse", "code": "expired"}, "expired"),
    ({"decision": "refuse", "code": "quarantined"}, "quarantined"),
    ({"decision": "refuse", "code": "corrupt"}, "rescan"),
    ({"decision": "refuse", "code": "revoked"}, "refuse"),
    ({"decision": "refuse", "code": "temp_missing", "temperature_c": None}, "measure"),
    ({"decision": "refuse", "code": "temp_high", "remeasure": True, "temperature_c": 37.6}, "remeasure"),
    ({"decision": "refuse", "code": "closed"}, "closed"),
    ({"decision": "pass", "code": "visitor_ok", "event": "visitor"}, "visitor"),
])
def test_prompt_for_each_outcome(fields, key):
    assert prompt_key(make_outcome(1, **fields)) == key


@given(decision=st.sampled_from(["pass", "refuse", "guard"]), code=st.text(max_size=20),
       event=st.sampled_from(["scan", "visitor", "override", "manual"]), fever=st.booleans(),
       remeasure=st.booleans(), temp=st.none() | st.floats(20, 45))
def test_every_outcome_has_a_prompt_in_both_languages(decision, code, event, fever, remeasure, temp):
    key = prompt_key(make_outcome(1, decision, code, event=event, fever=fever, remeasure=remeasure,
                                  temperature_c=temp))
    assert set(PROMPTS[key]) == set(LANGUAGES)
    assert (decision == "pass") == (key in ("pass", "pass_temp_ok", "override", "visitor"))


def test_shipped_prompts_are_small_valid_wavs():
    total = 0
    for lang in LANGUAGES:
        for key in PROMPTS:
            path = SHIPPED_DIR / lang / f"{key}.wav"
            with wave.open(str(path), "rb") as w:
                assert (w.getnchannels(), w.getframerate()) == (1, 16000), path
                duration = w.getnframes() / w.getframerate()
            assert 0.4 < duration < 4.5, (path, duration)
            size = path.stat().st_size
            assert size < 80_000, path
            total += size
    assert total < 1_500_000


@given(volume=st.integers(0, 100), samples=st.lists(st.integers(-32768, 32767), min_size=1, max_size=200))
def test_volume_scales_16_bit_samples(volume, samples):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.array(samples, "<i2").tobytes())
    with wave.open(io.BytesIO(scale_wav(buf.getvalue(), volume)), "rb") as w:
        out = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(int)
    assert len(out) == len(samples)
    assert np.all(np.abs(out - np.array(samples) * volume / 100) <= 1)


@given(data=st.binary(max_size=64))
def test_volume_rejects_what_is_not_a_wav(data):
    with pytest.raises((wave.Error, EOFError)):
        scale_wav(data, 50)


def test_player_plays_through_the_configured_command_at_volume(tmp_path):
    section = VoiceSection(player=recorder(tmp_path), volume=50)
    player = VoicePlayer(section, PromptLibrary(None))
    player.start()
    try:
        assert player.say("pass_temp_ok")
        assert wait_until(lambda: player.played == 1)
    finally:
        player.stop()
    played = (tmp_path / "played" / "000.wav").read_bytes()
    original = (SHIPPED_DIR / "zh-CN" / "pass_temp_ok.wav").read_bytes()
    with wave.open(io.BytesIO(played)) as w, wave.open(io.BytesIO(original)) as o:
        got = np.frombuffer(w.readframes(w.getnframes()), np.uint8).astype(int) - 128
        ref = np.frombuffer(o.readframes(o.getnframes()), np.uint8).astype(int) - 128
    assert len(got) == len(ref) and 0.45 < np.abs(got).max() / np.abs(ref).max() < 0.55


def test_muted_and_disabled_players_say_nothing(tmp_path):
    player = VoicePlayer(VoiceSection(player=recorder(tmp_path), muted=True), PromptLibrary(None))
    assert not player.say("pass")
    player.set_muted(False)
    assert player.say("pass")
    assert not VoicePlayer(VoiceSection(enabled=False), PromptLibrary(None)).say("pass")
    assert not player.say("no such prompt")


def test_stale_prompts_are_dropped_and_counted(tmp_path):
    now = [0.0]
    section = VoiceSection(player=recorder(tmp_path), queue_size=2, max_age_s=1.0)
    player = VoicePlayer(section, PromptLibrary(None), clock=lambda: now[0])
    for key in ("pass", "refuse", "guard"):  # the queue holds 2: the oldest is pushed out
        player.say(key)
    assert player.dropped_full == 1
    now[0] = 5.0  # both left are now too old to start
    player.start()
    try:
        assert wait_until(lambda: player.dropped_stale == 2)
    finally:
        player.stop()
    assert player.played == 0 and not list((tmp_path / "played").iterdir())


def test_a_new_prompt_cuts_the_playing_one_short(tmp_path):
    player = VoicePlayer(VoiceSection(player=recorder(tmp_path, delay_s=5)), PromptLibrary(None))
    player.start()
    try:
        player.say("refuse")
        assert wait_until(lambda: player.now.proc is not None)
        first = player.now.proc
        player.say("pass")
        assert player.interrupted == 1  # say() cut the playing prompt at once (it does not wait for its end)
        assert wait_until(lambda: first.poll() is not None)
        assert first.returncode < 0  # killed by a signal, not finished
    finally:
        player.stop()
    assert not list((tmp_path / "played").iterdir())  # neither prompt played to its end


def test_missing_player_is_counted_not_raised(tmp_path):
    player = VoicePlayer(VoiceSection(player=[str(tmp_path / "no-such-player")]), PromptLibrary(None))
    player.start()
    try:
        player.say("pass")
        assert wait_until(lambda: player.failed == 1)
    finally:
        player.stop()


def test_announcer_speaks_each_published_outcome(tmp_path):
    fake = FakeCheckpoint()
    section = VoiceSection(player=recorder(tmp_path), language="en")
    announcer = VoiceAnnouncer(fake, VoicePlayer(section, PromptLibrary(None)))
    announcer.start()
    try:
        fake.publish(make_outcome(1, "refuse", "fever", fever=True, remeasure=True, temperature_c=38.0))
        assert wait_until(lambda: announcer.player.played == 1)
    finally:
        announcer.stop()
    assert fake.subscribers == []
    played = (tmp_path / "played" / "000.wav").read_bytes()
    assert len(played) > 10_000


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed (Debian package espeak-ng)")
def test_missing_prompts_are_generated_with_espeak_into_the_cache(tmp_path):
    library = PromptLibrary(tmp_path / "cache", shipped_dir=tmp_path / "none")
    path = library.path("remeasure", "zh-CN")
    assert path == tmp_path / "cache" / "zh-CN" / "remeasure.wav"
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getnframes() > 8000
    assert library.path("remeasure", "zh-CN") == path  # cached
    synthesize("Please go ahead.", "en", tmp_path / "en.wav")
    assert (tmp_path / "en.wav").stat().st_size > 5000


def test_no_espeak_and_nothing_shipped_means_no_prompt(tmp_path):
    library = PromptLibrary(tmp_path / "cache", shipped_dir=tmp_path / "none", espeak="no-such-espeak")
    assert library.path("pass", "en") is None
    assert library.path("unknown", "en") is None


def test_a_prompt_never_cuts_short_the_newest_one(tmp_path):
    # Regression: say() killed "the playing prompt" after queueing; if the player thread had already started
    # the new prompt, say() killed the very prompt it had just asked for. Now only older prompts are cut.
    player = VoicePlayer(VoiceSection(player=recorder(tmp_path, delay_s=5)), PromptLibrary(None))
    player.start()
    try:
        player.say("refuse")
        assert wait_until(lambda: player.now.proc is not None)
        playing = player.now.proc
        assert not player.now.kill(older_than=player.now.playing_gen)  # the newest: left alone
        assert playing.poll() is None and player.interrupted == 0
        player.say("pass")  # a newer prompt: the old one is cut
        assert player.interrupted == 1
        assert wait_until(lambda: playing.poll() is not None)
    finally:
        player.stop()
