"""Body temperatures the checkpoint holds: recent thermometer readings, and who was high a moment ago.

:class:`TemperatureBuffer` keeps the newest readings (a small ring, oldest forgotten) and pairs a scan with
them (:func:`edge.pairing.pair`), waiting up to the pairing window; a reading is never used for two people.
:class:`FeverMemory` keeps a person's first high reading for ``[policy] remeasure_window_s``, so a second
high one within that window is a fever event referring to the first (:func:`edge.pairing.judge_temperature`).
Time comes from the injected clock.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.pairing import Measurement, PairingRules, Sample, TempStatus, pair
from gatepass.clock import Clock

#: Readings kept for pairing.
SAMPLES_KEPT = 256


class TemperatureBuffer:
    """Recent readings, and the time of the last one already used for someone."""

    def __init__(self, clock: Clock, maxlen: int = SAMPLES_KEPT) -> None:
        self.clock = clock
        self._samples: collections.deque[Sample] = collections.deque(maxlen=maxlen)
        self._cond = threading.Condition()
        self._used_until: float | None = None

    def add(self, sample: Sample) -> None:
        """Add one reading (wakes a waiting :meth:`measure`)."""
        with self._cond:
            self._samples.append(sample)
            self._cond.notify_all()

    def measure(self, t_scan: float, rules: PairingRules, keep_waiting: Callable[[], bool]) -> Measurement:
        """Wait (up to the pairing window, while ``keep_waiting()``) for body readings for the scan at ``t_scan``;
        the readings used are not used again."""
        deadline = t_scan + rules.window_s
        with self._cond:
            while True:
                now = self.clock.monotonic()
                m = pair(self._samples, t_scan, now, rules, self._used_until)
                if m.complete or now >= deadline or not keep_waiting():
                    break
                self._cond.wait(max(0.01, min(0.5, deadline - now)))
            if m.last_t is not None:
                self._used_until = m.last_t
        return m

    def newest(self) -> float | None:
        """When the newest reading was taken (monotonic s; None: no reading yet)."""
        with self._cond:
            return self._samples[-1].t if self._samples else None

    def skip_until(self, t: float) -> None:
        """Never pair readings taken at or before ``t`` (after a re-measure request)."""
        with self._cond:
            self._used_until = max(self._used_until or 0.0, t)

    def wake_all(self) -> None:
        """Wake every waiting :meth:`measure` (at stop)."""
        with self._cond:
            self._cond.notify_all()


@dataclass(frozen=True, slots=True)
class HighReading:
    """A person's first high reading: when (monotonic), the entry that logged it, the temperature."""

    t: float
    entry_uuid: str
    temp_c: float


class FeverMemory:
    """Person -> first high reading, for ``window_s`` seconds (thread-safe)."""

    def __init__(self, clock: Clock, window_s: float) -> None:
        self.clock = clock
        self.window_s = window_s
        self._high: dict[str, HighReading] = {}
        self._lock = threading.Lock()

    def had_high(self, person: str | None) -> bool:
        """Whether ``person`` had a high reading within the window."""
        if person is None:
            return False
        with self._lock:
            entry = self._high.get(person)
        return entry is not None and self.clock.monotonic() - entry.t <= self.window_s

    def first_high(self, person: str | None) -> HighReading | None:
        """The remembered high reading of ``person`` (what a fever event refers to)."""
        if person is None:
            return None
        with self._lock:
            return self._high.get(person)

    def remember(self, person: str | None, status: TempStatus | None, entry_seq: int, entry_uuid: str,
                 temp_c: float | None) -> None:
        """Keep a first high reading logged as entry ``entry_seq``/``entry_uuid``; forget it after a fever or a
        normal reading; forget readings older than the window."""
        now = self.clock.monotonic()
        with self._lock:
            if person and status is TempStatus.HIGH and entry_seq > 0:
                self._high[person] = HighReading(now, entry_uuid, float(temp_c or 0.0))
            elif person and status in (TempStatus.FEVER, TempStatus.NORMAL):
                self._high.pop(person, None)
            cutoff = now - self.window_s
            for key in [k for k, v in self._high.items() if v.t < cutoff]:
                del self._high[key]
