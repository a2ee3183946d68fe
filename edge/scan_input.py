"""The checkpoint's input loops: camera frames, the serial scanner, the thermometer, the demo feeder.

Frames and scanner texts go through :class:`~edge.dedupe.Deduper` into the bounded scan queue (full: the
oldest scan is dropped, counted, and its pass forgotten by the de-duplication so the person can scan again);
thermometer readings go into a small time-stamped ring buffer used for pairing.

A re-scan within the cooldown is not decided again (no second entry, the gate stays as it is) but the guard
page gets a :class:`~edge.events.Notice` ``"rescan"`` with the outcome already recorded for that pass, at
most one per pass every :data:`RESCAN_NOTICE_GAP_S` (the camera sees a code on many frames).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from edge.checkpoint_base import CheckpointBase
from edge.decode import DecodeError
from edge.dedupe import Seen
from edge.events import Notice, Outcome
from edge.pairing import Sample

log = logging.getLogger(__name__)

#: At most one re-scan notice per pass within this many seconds.
RESCAN_NOTICE_GAP_S = 3.0
#: Passes remembered for re-scan notices (the oldest forgotten first).
RECENT_MAX = 1024
V = TypeVar("V")


@dataclass(frozen=True)
class Scan:
    """A new scan: the pass text, when it was seen (monotonic seconds) and by what."""

    text: str
    t_seen: float
    source: str


class ScanInput(CheckpointBase):
    """The input loops and :meth:`submit_text` / :meth:`add_reading`."""

    def _frames_loop(self) -> None:
        last_seq = None
        while not self.stop_event.is_set():
            self._beat("frames")
            frame = self.frame_source.latest(0.5)
            if frame is None or frame.seq == last_seq:
                if frame is not None:
                    self.stop_event.wait(0.005)
                continue
            last_seq = frame.seq
            self._last_frame = frame
            self._decode_frame(frame)

    def _decode_frame(self, frame: object) -> None:
        try:
            texts = self.decoder.decode(frame.image)  # type: ignore[attr-defined]
        except DecodeError as exc:
            self.decode_errors += 1
            log.debug("frame %s skipped: %s", frame.seq, exc)  # type: ignore[attr-defined]
            return
        self.frames_decoded += 1
        for text in texts:
            self.submit_text(text, frame.t_monotonic, "camera")  # type: ignore[attr-defined]

    def _scanner_loop(self) -> None:
        while not self.stop_event.is_set():
            self._beat("scanner")
            text = self.scanner.read(0.5)
            if text:
                self.submit_text(text, time.monotonic(), "scanner")

    def _thermo_loop(self) -> None:
        while not self.stop_event.is_set():
            self._beat("thermometer")
            reading = self.thermometer.read(0.5)
            if reading is not None:
                self.add_reading(Sample(reading.t_monotonic, reading.body_c))

    def _feeder_loop(self) -> None:
        path = Path(self.settings.demo.passes_file)  # type: ignore[arg-type]
        i = 0
        while not self.stop_event.wait(self.settings.demo.interval_s):
            try:
                texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            except OSError as exc:
                log.warning("demo feeder: cannot read %s: %s", path, exc)
                continue
            if texts:
                self.frame_source.present(texts[i % len(texts)], seconds=1.5)
                i += 1

    def submit_text(self, text: str, t_seen: float | None = None, source: str = "manual") -> Seen:
        """Hand a decoded pass text to the checkpoint (as the camera and scanner loops do).

        Returns how the de-duplication classified it; only :attr:`Seen.NEW` is decided on.
        """
        t_seen = time.monotonic() if t_seen is None else t_seen
        with self._dedupe_lock:
            seen = self.dedupe.seen(text, t_seen)
            if seen is Seen.NEW:  # decided afresh: until then there is nothing recorded to point at
                self._decided.pop(text, None)
        if seen is Seen.COOLDOWN:
            log.info("re-scan within the %.0f s cooldown ignored (%s, %s...)", self.dedupe.cooldown_s, source,
                     text[:12])
        if seen in (Seen.COOLDOWN, Seen.IGNORED):
            self._notice_rescan(text, t_seen)
        if seen is Seen.NEW:
            self._enqueue(Scan(text, t_seen, source))
        return seen

    def _remember_decided(self, text: str, outcome: Outcome) -> None:
        """Keep the recorded outcome of a scan of ``text`` for re-scan notices (not a re-measure request or a
        failed commit: those passes are meant to be scanned again)."""
        if outcome.seq < 0 or outcome.remeasure:
            return
        with self._dedupe_lock:
            self._decided.pop(text, None)
            self._decided[text] = outcome
            cutoff = time.monotonic() - self.dedupe.cooldown_s
            _prune(self._decided, lambda o: o.t_decided < cutoff)

    def _notice_rescan(self, text: str, t_seen: float) -> None:
        """Tell the guard page that ``text`` was shown again (bounded per pass; nothing logged)."""
        with self._dedupe_lock:
            entry = self._decided.get(text)
            last = self._noticed.get(text)
            if entry is None or (last is not None and 0 <= t_seen - last < RESCAN_NOTICE_GAP_S):
                return
            self._noticed.pop(text, None)
            self._noticed[text] = t_seen
            _prune(self._noticed, lambda t: t_seen - t >= RESCAN_NOTICE_GAP_S)
        self._notices.publish(Notice("rescan", time.monotonic(), entry=entry))

    def _enqueue(self, scan: Scan) -> None:
        while True:
            try:
                self._scans.put_nowait(scan)
                return
            except queue.Full:
                self._drop_oldest_scan()

    def _drop_oldest_scan(self) -> None:
        try:
            dropped = self._scans.get_nowait()
        except queue.Empty:
            return
        self.dropped_scans += 1
        with self._dedupe_lock:  # not decided: a new scan of that pass must not fall into the cooldown
            self.dedupe.forget(dropped.text)
        log.warning("scan queue full: dropped the oldest scan (%d so far)", self.dropped_scans)

    def add_reading(self, sample: Sample) -> None:
        """Add one thermometer reading to the ring buffer used for pairing."""
        with self._temp_cond:
            self._samples.append(sample)
            self._temp_cond.notify_all()


def _prune(recent: dict[str, V], stale: Callable[[V], bool]) -> None:
    """Drop the entries of the insertion-ordered ``recent`` whose value is ``stale(value)``, and the oldest
    ones beyond :data:`RECENT_MAX`."""
    for key in [k for k, v in recent.items() if stale(v)]:
        del recent[key]
    while len(recent) > RECENT_MAX:
        del recent[next(iter(recent))]
