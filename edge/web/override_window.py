"""Which refusals the guard may still override, enforced by the server as well as by the page."""

from __future__ import annotations

import queue
import threading
import time

from edge.events import CheckpointAPI, Outcome
from edge.web.errors import ScreenError


class OverrideWindow:
    """Which refusals the guard may still override: decided within ``window_s`` and not overridden yet.

    Fed from a checkpoint subscription drained on every status poll and override request (no thread of its
    own); the newest outcome (``checkpoint.last_outcome()``) always counts, even before the first drain.
    The page hides the override button outside the window; this makes the server refuse it too, so an old
    or already overridden refusal cannot open the gate through the API.
    """

    MAX_REMEMBERED = 256

    def __init__(self, checkpoint: CheckpointAPI, window_s: float) -> None:
        self.checkpoint, self.window_s = checkpoint, window_s
        self.sub: queue.Queue[Outcome] | None = None
        self._refusals: dict[str, float] = {}  # uuid -> t_decided (monotonic), oldest first
        self._overridden: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Subscribe to the checkpoint's outcomes."""
        if self.sub is None:
            self.sub = self.checkpoint.subscribe()

    def stop(self) -> None:
        """Unsubscribe."""
        sub, self.sub = self.sub, None
        if sub is not None:
            self.checkpoint.unsubscribe(sub)

    def _note(self, outcome: Outcome) -> None:
        if outcome.decision != "pass" and outcome.event != "override":
            self._refusals[outcome.uuid] = outcome.t_decided
            while len(self._refusals) > self.MAX_REMEMBERED:
                del self._refusals[next(iter(self._refusals))]

    def drain(self) -> None:
        """Take in the outcomes published since the last call."""
        with self._lock:
            while self.sub is not None:
                try:
                    self._note(self.sub.get_nowait())
                except queue.Empty:
                    break
            last = self.checkpoint.last_outcome()
            if last is not None:
                self._note(last)

    def claim(self, ref_uuid: str) -> None:
        """Reserve ``ref_uuid`` for one override; raises :class:`ScreenError` if it may not be overridden."""
        self.drain()
        with self._lock:
            decided = self._refusals.get(ref_uuid)
            if ref_uuid in self._overridden:
                raise ScreenError(409, "already_overridden", "该记录已放行过", "That refusal was already overridden")
            if decided is None:
                raise ScreenError(409, "refused", f"操作未完成：没有可放行的拒绝记录 {ref_uuid}",
                                  f"Not done: no refusal {ref_uuid} to override")
            if time.monotonic() - decided > self.window_s:
                raise ScreenError(409, "override_too_late", "已超过可放行时间，请让其重新扫码",
                                  "Too late to override: ask the person to scan again")
            self._overridden.add(ref_uuid)

    def release(self, ref_uuid: str) -> None:
        """Give a claim back (the override itself failed)."""
        with self._lock:
            self._overridden.discard(ref_uuid)
