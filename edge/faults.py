"""The fault board: what is wrong with the checkpoint now, by fault code.

The codes and their plain words are :data:`sync.reasons.FAULTS`; the guard screen shows them
(:mod:`edge.checkpoint_status`). Who sets and clears which code:

* ``disk_full``, ``db_locked``, ``log_failed`` (:data:`LOG_FAULTS`): :mod:`edge.entry_recorder`;
* ``disk_low``, ``clock_untrusted``: the health loop, :mod:`edge.upkeep`;
* ``lists_failed``: :mod:`edge.lists_policy`; ``decide_failed``: :mod:`edge.scan_decide`;
* ``loop_failed``: :mod:`edge.loops` (cleared by the failed loop's next turn);
* ``clock_off``: the health loop (:mod:`edge.upkeep`); ``voice``: the guard page's voice player.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: Fault codes of the local log (set when a commit fails, cleared by the next good write).
LOG_FAULTS = ("disk_full", "db_locked", "log_failed")
#: Faults of parts outside the checkpoint, raised through ``Checkpoint.report_fault`` (the guard page shows them in
#: its own words, so the status's fault list leaves them out).
OUTSIDE_FAULTS = ("voice",)


class FaultBoard:
    """Fault code -> detail text, in the order they were raised (thread-safe)."""

    def __init__(self) -> None:
        self._faults: dict[str, str] = {}
        self._lock = threading.Lock()

    def raise_(self, code: str, detail: str) -> None:
        """Set fault ``code`` (again) with ``detail``."""
        with self._lock:
            self._faults[code] = detail

    def clear(self, code: str, detail: str | None = None) -> bool:
        """Clear ``code`` (only if its detail is ``detail``, when given); whether it was set."""
        with self._lock:
            if code not in self._faults or (detail is not None and self._faults[code] != detail):
                return False
            del self._faults[code]
            return True

    def get(self, code: str) -> str | None:
        """The detail of ``code``, or None when it is not raised."""
        with self._lock:
            return self._faults.get(code)

    def any_of(self, codes: Iterable[str]) -> bool:
        """Whether any of ``codes`` is raised."""
        with self._lock:
            return any(c in self._faults for c in codes)

    def codes(self) -> list[str]:
        """The raised codes, oldest first."""
        with self._lock:
            return list(self._faults)

    def __contains__(self, code: object) -> bool:
        with self._lock:
            return code in self._faults
