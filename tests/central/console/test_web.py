"""The console's context: built from the central settings (time zone)."""

from __future__ import annotations

from central.console.web import Console
from central.settings import CentralSettings


def test_console_uses_the_configured_time_zone(tmp_path):
    base = dict(data_dir=tmp_path, session_secret="s" * 32)
    assert CentralSettings(**base).timezone == "Asia/Shanghai"
    shanghai = Console.from_settings(CentralSettings(**base))
    utc = Console.from_settings(CentralSettings(**base, timezone="UTC"))
    assert shanghai.env.from_string("{{ 0|t }}").render() == "1970-01-01 08:00:00"
    assert utc.env.from_string("{{ 0|t }}").render() == "1970-01-01 00:00:00" and utc.tz_name == "UTC"
