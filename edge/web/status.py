"""The ``/status`` document: the checkpoint's status with English texts, the shift summary, voice and time.

The sync part gains how long uploads have failed and a level for the page (:func:`sync_outage`): ``ok``, ``amber``
after :data:`AMBER_S` without a successful upload, ``red`` after :data:`RED_S`, with the plain sentence of the
problem in both languages.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from drivers.texts import status_text
from edge.events import CheckpointAPI
from edge.voice import VoiceAnnouncer
from sync import messages as sync_messages
from sync.reasons import FAULTS

AMBER_S = 120.0    # no successful upload for this long: the sync chip turns amber, with the sentence
RED_S = 1800.0     # ... and red


def status_json(checkpoint: CheckpointAPI, voice: VoiceAnnouncer | None,
                now: float | None = None) -> dict[str, Any]:
    """``checkpoint.status()`` plus English device texts, the outage level, the shift summary, voice state and
    the time."""
    data = dict(checkpoint.status())
    data["now"] = now = time.time() if now is None else now
    data["sync"] = sync_outage(dict(data.get("sync") or {}), now)
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
    return data


def sync_outage(sync: dict[str, Any], now: float) -> dict[str, Any]:
    """``sync`` plus ``offline_s`` (since the last successful upload; None: never), ``level`` (ok, amber, red)
    and ``problem_zh``/``problem_en``: the plain sentence of the sync's last error (``text``'s bracketed part),
    or the no-network sentence when uploads stopped without one."""
    last = sync.get("last_ok_ts")
    offline = max(0.0, now - float(last)) if isinstance(last, int | float) else None
    level = "ok"
    if offline is not None and offline >= RED_S:
        level = "red"
    elif offline is not None and offline >= AMBER_S:
        level = "amber"
    zh = _bracketed(str(sync.get("text") or ""))
    if zh is None and level != "ok":
        zh = sync_messages.text("offline", "zh")
    sync.update(offline_s=offline, level=level, problem_zh=zh, problem_en=_sync_en(zh) if zh else None)
    return sync


def _bracketed(text: str) -> str | None:
    """The sync error inside ``text`` ("3 条记录待上传（网络不通，…）" -> "网络不通，…"), None when there is none."""
    start = text.find("（")
    if start < 0 or not text.endswith("）"):
        return None
    return text[start + 1:-1] or None


def _sync_en(zh: str) -> str:
    """The English sentence of a sync problem given in zh-CN (:mod:`sync.messages`); ``zh`` when unknown."""
    for code in sync_messages.MESSAGES:
        if sync_messages.text(code, "zh") == zh:
            return sync_messages.text(code, "en")
    return zh


def fault_en(text: str, devices: dict[str, dict[str, Any]]) -> str:
    """The English words of a zh-CN fault text (the text itself when unknown)."""
    for entry in FAULTS.values():
        if entry.get("zh") == text:
            return entry.get("en", text)
    for dev in devices.values():
        if dev.get("text") == text:
            return str(dev.get("text_en") or text)
    return text
