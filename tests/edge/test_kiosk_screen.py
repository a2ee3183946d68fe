"""The kiosk screen's command line, environment, touch rule and audio settings, from plain settings; bad ``[kiosk]``
values refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edge import kiosk_screen as ks
from edge.settings import EdgeSettings

PROFILE = Path("/run/gatepass-kiosk/chromium")


def settings(**kiosk) -> EdgeSettings:
    return EdgeSettings(kiosk=kiosk, guard_page={"port": 8123})


@pytest.mark.parametrize(("rotation", "turns"), [(0, 0), (90, 1), (180, 2), (270, 3)])
def test_cage_is_turned_once_per_quarter(rotation, turns):
    argv = ks.cage_command(settings(rotation=rotation), PROFILE)
    assert argv[:2] == ["/usr/bin/cage", "-d"]
    split = argv.index("--")
    assert argv[2:split] == ["-r"] * turns  # cage -r: 90 degrees clockwise each
    assert "-s" not in argv[:split]  # no VT switching away from the screen
    browser = argv[split + 1:]
    assert browser[0] == "/usr/bin/chromium" and browser[-1] == "http://127.0.0.1:8123/"
    assert f"--user-data-dir={PROFILE}" in browser


def test_chromium_stays_off_the_network_but_loopback_and_shows_no_bubbles():
    flags = set(ks.chromium_command(settings(), PROFILE))
    for flag in ("--kiosk", "--ozone-platform=wayland", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-translate", "--disable-pinch",
                 "--overscroll-history-navigation=0", "--hide-crash-restore-bubble",
                 "--disable-session-crashed-bubble", "--noerrdialogs", "--disable-infobars",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"):
        assert flag in flags, flag
    features = next(f for f in flags if f.startswith("--disable-features=")).split("=", 1)[1].split(",")
    assert {"Translate", "MediaRouter", "OverscrollHistoryNavigation"} <= set(features)
    assert not any("remote-debugging" in f for f in flags)


def test_the_page_is_opened_over_loopback_even_when_it_listens_wider():
    s = EdgeSettings(guard_page={"host": "0.0.0.0", "port": 9000, "allow_remote": True,
                                 "allow_clients": ["192.168.1.50/32"]})
    assert ks.guard_url(s) == "http://127.0.0.1:9000/"  # the trusted local kiosk (edge/web/README.md)


def test_https_when_the_page_has_tls(tmp_path):
    s = EdgeSettings(guard_page={"tls_cert": str(tmp_path / "c.pem"), "tls_key": str(tmp_path / "k.pem")})
    assert ks.guard_url(s).startswith("https://127.0.0.1:")


def test_environment_keeps_the_units_and_adds_a_runtime_dir():
    env = ks.environment({"WLR_BACKENDS": "headless", "PATH": "/usr/bin", "DISPLAY": ":0"}, Path("/run/k"))
    assert env["WLR_BACKENDS"] == "headless" and env["PATH"] == "/usr/bin"
    assert env["XDG_RUNTIME_DIR"] == "/run/k" and env["HOME"] == "/run/k"
    assert env["WLR_LIBINPUT_NO_DEVICES"] == "1"  # a screen without touch still shows the page
    assert "DISPLAY" not in env  # never an X server
    logind = ks.environment({"XDG_RUNTIME_DIR": "/run/user/994"}, Path("/run/k"))
    assert logind["XDG_RUNTIME_DIR"] == "/run/user/994"  # logind's session directory wins


@pytest.mark.parametrize(("rotation", "matrix"), [(0, "1 0 0 0 1 0"), (90, "0 -1 1 1 0 0"),
                                                  (180, "-1 0 1 0 -1 1"), (270, "0 1 0 -1 0 1")])
def test_touch_follows_the_rotation(rotation, matrix):
    rule = ks.touch_rule(settings(rotation=rotation).kiosk)
    assert f'ENV{{LIBINPUT_CALIBRATION_MATRIX}}="{matrix}"' in rule
    assert 'ENV{ID_INPUT_TOUCHSCREEN}=="1"' in rule and "ATTRS{name}" not in rule


def test_touch_matrix_and_device_when_given():
    rule = ks.touch_rule(settings(rotation=90, touch_device="raspberrypi-ts",
                                  touch_matrix=[1.02, 0, -0.01, 0, -1, 1]).kiosk)
    assert 'ATTRS{name}=="raspberrypi-ts"' in rule
    assert 'LIBINPUT_CALIBRATION_MATRIX}="1.02 0 -0.01 0 -1 1"' in rule  # the given matrix, not the rotation's
    rule_lines = [line for line in rule.splitlines() if not line.startswith("#")]
    assert len(rule_lines) == 1


def test_audio_card_and_volume():
    kiosk = settings(audio_card="Headphones", volume=70).kiosk
    assert ks.alsa_config(kiosk) == ("# Written by gatepass-kiosk.service from [kiosk] audio_card in "
                                     "/etc/gatepass/edge.toml.\n"
                                     'defaults.pcm.card "Headphones"\ndefaults.ctl.card "Headphones"\n')
    assert ks.mixer_command(kiosk) == ["amixer", "-q", "-c", "Headphones", "sset", "PCM", "70%", "unmute"]
    numbered = settings(audio_card="1", mixer_control="Master", volume=0).kiosk
    assert "defaults.pcm.card 1\n" in ks.alsa_config(numbered)
    assert ks.mixer_command(numbered) == ["amixer", "-q", "-c", "1", "sset", "Master", "0%", "unmute"]


def test_no_audio_settings_leave_the_system_alone():
    kiosk = settings().kiosk
    assert ks.alsa_config(kiosk) is None and ks.mixer_command(kiosk) is None
    assert ks.mixer_command(settings(volume=50).kiosk) == ["amixer", "-q", "sset", "PCM", "50%", "unmute"]


def test_prepare_writes_the_rule_and_alsa_file_and_removes_it_when_unset(tmp_path):
    ks.prepare(settings(rotation=180, audio_card="Headphones"), root=tmp_path)
    rule = tmp_path / "etc/udev/rules.d/98-gatepass-touch.rules"
    alsa = tmp_path / "etc/alsa/conf.d/60-gatepass.conf"
    assert "-1 0 1 0 -1 1" in rule.read_text() and "Headphones" in alsa.read_text()
    ks.prepare(settings(), root=tmp_path)
    assert "1 0 0 0 1 0" in rule.read_text() and not alsa.exists()


def test_no_blank_is_what_setterm_sends():
    # setterm --blank 0 --powerdown 0 (util-linux): blank interval 0, VESA powerdown 0
    assert ks.NO_BLANK == "\033[9;0]\033[14;0]"


@pytest.mark.parametrize(("kiosk", "field", "reason"), [
    ({"rotation": 45}, "rotation", "rotation must be 0, 90, 180 or 270"),
    ({"rotation": -90}, "rotation", "0、90、180 或 270"),
    ({"touch_device": 'x", RUN+="/bin/sh'}, "touch_device", "only letters, digits"),
    ({"touch_device": "a\nb"}, "touch_device", "only letters, digits"),
    ({"audio_card": "hw:0\ndefaults.pcm.card 2"}, "audio_card", "only letters, digits"),
    ({"mixer_control": "PCM;reboot"}, "mixer_control", "only letters, digits"),
    ({"touch_matrix": [1, 0, 0, 0, 1]}, "touch_matrix", "Field required"),
    ({"touch_matrix": [1, 0, 0, 0, 1, float("inf")]}, "touch_matrix", "6 finite numbers"),
    ({"volume": 101}, "volume", "less than or equal to 100"),
    ({"volume": -1}, "volume", "greater than or equal to 0"),
    ({"rotate": 90}, "rotate", "Extra inputs are not permitted"),
])
def test_bad_kiosk_values_are_refused_with_a_reason(kiosk, field, reason):
    with pytest.raises(ValidationError) as info:
        EdgeSettings(kiosk=kiosk)
    text = str(info.value)
    assert f"kiosk.{field}" in text and reason in text, text


def test_a_bad_kiosk_section_in_edge_toml_is_a_config_error(tmp_path):
    from gatepass.config import load_settings
    from gatepass.errors import ConfigError

    path = tmp_path / "edge.toml"
    path.write_text("[kiosk]\nrotation = 45\n")
    with pytest.raises(ConfigError) as info:
        load_settings(EdgeSettings, str(path))
    assert "rotation" in str(info.value) and "270" in str(info.value)


def test_a_fresh_profile_at_every_start_with_translation_off(tmp_path):
    import json

    profile = tmp_path / "chromium"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Current Session").write_text("tabs of the last run")
    argv, env = ks.screen_process(settings(), tmp_path, {"PATH": "/usr/bin"})
    assert f"--user-data-dir={profile}" in argv and env["XDG_RUNTIME_DIR"] == str(tmp_path)
    assert sorted(p.name for p in profile.rglob("*")) == ["Default", "Preferences"]  # nothing left to restore
    prefs = json.loads((profile / "Default" / "Preferences").read_text())
    assert prefs["translate"]["enabled"] is False  # chromium 156 offers to translate the zh-CN page otherwise
    assert prefs["profile"]["exit_type"] == "Normal"
