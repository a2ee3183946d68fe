"""When each fault of the gate started and ended: for the hand-over summary and central's devices page.

The health loop (:mod:`edge.upkeep`) observes the faults now — the devices that are not ``ok`` (``camera``,
``thermometer``, ``scanner``, ``relay``) and the fault board's codes — every turn. :class:`FaultHistory` keeps the
start (wall clock) of each fault that is on and the last :data:`PAST_KEPT` that ended. What is on is written to the
sync state (``edge_faults``) for the sync process to report with every upload.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from sync.reasons import FAULTS

PAST_KEPT = 200

#: Words for the device faults (the fault board's own codes have theirs in :data:`sync.reasons.FAULTS`).
DEVICE_FAULTS = {
    "camera": {"zh": "摄像头故障或未连接", "en": "Camera fault or not connected"},
    "thermometer": {"zh": "测温仪故障或未连接", "en": "Thermometer fault or not connected"},
    "scanner": {"zh": "扫码器故障或未连接", "en": "Scanner fault or not connected"},
    "relay": {"zh": "闸门继电器故障或未连接", "en": "Gate relay fault or not connected"},
    "voice": {"zh": "语音播放故障", "en": "Voice prompts fail"},
}


@dataclass(frozen=True)
class FaultSpan:
    """A fault with its start and end (unix s; ``until`` None: still on)."""

    code: str
    since: float
    until: float | None = None


def fault_words(code: str, lang: str = "zh") -> str:
    """The fault in words for a guard (the code itself when unknown)."""
    words = DEVICE_FAULTS.get(code) or FAULTS.get(code)
    return words[lang] if words else code


class FaultHistory:
    """Start and end times of the gate's faults (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on: dict[str, float] = {}
        self._past: collections.deque[FaultSpan] = collections.deque(maxlen=PAST_KEPT)

    def observe(self, codes: Iterable[str], wall: float) -> bool:
        """The faults on at ``wall``; whether anything started or ended."""
        now_on = set(codes)
        with self._lock:
            ended = [c for c in self._on if c not in now_on]
            started = [c for c in now_on if c not in self._on]
            for code in ended:
                self._past.append(FaultSpan(code, self._on.pop(code), wall))
            for code in sorted(started):
                self._on[code] = wall
        return bool(ended or started)

    def active(self) -> list[FaultSpan]:
        """The faults on now, oldest first."""
        with self._lock:
            return [FaultSpan(c, t) for c, t in sorted(self._on.items(), key=lambda kv: kv[1])]

    def between(self, start: float, end: float | None) -> list[FaultSpan]:
        """The faults that were on at some time in [start, end] (end None: up to now), by start."""
        last = float("inf") if end is None else end
        with self._lock:
            spans = [*self._past, *(FaultSpan(c, t) for c, t in self._on.items())]
        return sorted((s for s in spans if s.since <= last and (s.until is None or s.until >= start)),
                      key=lambda s: (s.since, s.code))
