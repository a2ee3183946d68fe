"""Where scans come in: de-duplication, the bounded scan queue, and re-scan notices.

Frames and scanner texts go through :class:`~edge.dedupe.Deduper`; a new scan goes into the bounded scan
queue (full: the oldest scan is dropped, counted, and its pass forgotten by the de-duplication so the person
can scan again). A re-scan within the cooldown is not decided again (no second entry, the gate stays as it
is) but the guard page gets a :class:`~edge.events.Notice` ``"rescan"`` with the outcome already recorded
for that pass, at most one per pass every :data:`RESCAN_NOTICE_GAP_S` (the camera sees a code on many
frames). Time comes from the injected clock.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from edge.dedupe import Deduper, Seen
from edge.events import Fanout, Notice, Outcome
from gatepass.clock import Clock

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


class ScanIntake:
    """:meth:`submit` classifies and queues scans; the decide loop takes them with :meth:`next`."""

    def __init__(self, dedupe: Deduper, notices: Fanout[Notice], clock: Clock, queue_size: int) -> None:
        self.dedupe = dedupe
        self.notices = notices
        self.clock = clock
        #: Scans dropped because the queue was full.
        self.dropped = 0
        self._scans: queue.Queue[Scan] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()  # the de-duplication and the two memories below
        self._decided: dict[str, Outcome] = {}  # pass text -> its recorded outcome, within the cooldown
        self._noticed: dict[str, float] = {}  # pass text -> when its last re-scan notice went out (monotonic)

    def submit(self, text: str, t_seen: float | None = None, source: str = "manual") -> Seen:
        """Classify a sighting of ``text``; queue it when it is :attr:`Seen.NEW`, notice a re-scan."""
        t_seen = self.clock.monotonic() if t_seen is None else t_seen
        with self._lock:
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

    def next(self, timeout: float) -> Scan | None:
        """The oldest queued scan, waiting at most ``timeout`` seconds (None: none came)."""
        try:
            return self._scans.get(timeout=timeout) if timeout > 0 else self._scans.get_nowait()
        except queue.Empty:
            return None

    def forget(self, text: str) -> None:
        """The next sighting of ``text`` is a new scan (it was not decided)."""
        with self._lock:
            self.dedupe.forget(text)

    def allow_rescan(self, text: str) -> None:
        """Let ``text`` be scanned again without waiting for the cooldown (a re-measure request)."""
        with self._lock:
            self.dedupe.allow_rescan(text)

    def set_cooldown(self, seconds: float) -> None:
        """The cooldown central's policy sets."""
        with self._lock:
            self.dedupe.cooldown_s = seconds

    def remember_decided(self, text: str, outcome: Outcome) -> None:
        """Keep the recorded outcome of a scan of ``text`` for re-scan notices (not a re-measure request or a
        failed commit: those passes are meant to be scanned again)."""
        if outcome.seq < 0 or outcome.remeasure:
            return
        with self._lock:
            self._decided.pop(text, None)
            self._decided[text] = outcome
            cutoff = self.clock.monotonic() - self.dedupe.cooldown_s
            _prune(self._decided, lambda o: o.t_decided < cutoff)

    def _notice_rescan(self, text: str, t_seen: float) -> None:
        """Tell the guard page that ``text`` was shown again (bounded per pass; nothing logged)."""
        with self._lock:
            entry = self._decided.get(text)
            last = self._noticed.get(text)
            if entry is None or (last is not None and 0 <= t_seen - last < RESCAN_NOTICE_GAP_S):
                return
            self._noticed.pop(text, None)
            self._noticed[text] = t_seen
            _prune(self._noticed, lambda t: t_seen - t >= RESCAN_NOTICE_GAP_S)
        self.notices.publish(Notice("rescan", self.clock.monotonic(), entry=entry))

    def _enqueue(self, scan: Scan) -> None:
        while True:
            try:
                self._scans.put_nowait(scan)
                return
            except queue.Full:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        try:
            dropped = self._scans.get_nowait()
        except queue.Empty:
            return
        self.dropped += 1
        self.forget(dropped.text)  # not decided: a new scan of that pass must not fall into the cooldown
        log.warning("scan queue full: dropped the oldest scan (%d so far)", self.dropped)


def _prune(recent: dict[str, V], stale: Callable[[V], bool]) -> None:
    """Drop the entries of the insertion-ordered ``recent`` whose value is ``stale(value)``, and the oldest
    ones beyond :data:`RECENT_MAX`."""
    for key in [k for k, v in recent.items() if stale(v)]:
        del recent[key]
    while len(recent) > RECENT_MAX:
        del recent[next(iter(recent))]
