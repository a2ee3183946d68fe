"""The ``/status`` document: the checkpoint's status with English texts, the shift summary, voice and time."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from drivers.texts import status_text
from edge.events import CheckpointAPI
from edge.voice import VoiceAnnouncer
from sync.reasons import FAULTS


def status_json(checkpoint: CheckpointAPI, voice: VoiceAnnouncer | None) -> dict[str, Any]:
    """``checkpoint.status()`` plus English device texts, the shift summary, voice state and the time."""
    data = dict(checkpoint.status())
    devices = {}
    for name, dev in (data.get("devices") or {}).items():
        dev = dict(dev)
        dev.setdefault("text_en", status_text(name, str(dev.get("status", "")), "en"))
        devices[name] = dev
    data["devices"] = devices
    data["faults_en"] = [fault_en(str(f), devices) for f in data.get("faults") or []]
    summary = checkpoint.shift_summary() if data.get("shift") else None
    data["shift_summary"] = asdict(summary) if summary is not None else None
    data["voice"] = voice.player.stats() if voice is not None else None
    data["now"] = time.time()
    return data


def fault_en(text: str, devices: dict[str, dict[str, Any]]) -> str:
    """The English words of a zh-CN fault text (the text itself when unknown)."""
    for entry in FAULTS.values():
        if entry.get("zh") == text:
            return entry.get("en", text)
    for dev in devices.values():
        if dev.get("text") == text:
            return str(dev.get("text_en") or text)
    return text
