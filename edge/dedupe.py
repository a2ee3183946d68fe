"""One person = one event: telling a new scan from the same pass seen again.

A pass held in front of the camera shows up in many consecutive frames; every
sighting within ``same_scan_gap_s`` of the previous one belongs to the same
scan. A *new* scan of the same pass within ``cooldown_s`` of its first scan is
ignored; the first such re-scan is reported once (so it is logged once, not
once per frame). Pure bookkeeping over the times it is given: no clock inside.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Seen(enum.Enum):
    """What a sighting of a pass means."""

    NEW = "new"              # a new scan: decide on it
    SAME = "same"            # the same scan still in view: nothing to do
    COOLDOWN = "cooldown"    # a re-scan within the cooldown: ignored, report once
    IGNORED = "ignored"      # a further re-scan within the cooldown, already reported


@dataclass
class _Track:
    first_t: float
    last_t: float
    reported: bool = False


class Deduper:
    """Classifies sightings of pass texts (or any key) by time; see the module docstring."""

    def __init__(self, same_scan_gap_s: float = 1.0, cooldown_s: float = 10.0, max_keys: int = 4096) -> None:
        self.same_scan_gap_s = float(same_scan_gap_s)
        self.cooldown_s = float(cooldown_s)
        self.max_keys = max_keys
        self._tracks: dict[str, _Track] = {}

    def seen(self, key: str, t: float) -> Seen:
        """Record a sighting of ``key`` at time ``t`` (monotonic seconds) and classify it."""
        track = self._tracks.get(key)
        if track is not None and t < track.last_t:  # out-of-order sighting: part of what is known
            return Seen.SAME
        if track is not None and t - track.last_t <= self.same_scan_gap_s:
            track.last_t = t
            return Seen.SAME
        if track is not None and t - track.first_t < self.cooldown_s:
            track.last_t = t
            if track.reported:
                return Seen.IGNORED
            track.reported = True
            return Seen.COOLDOWN
        self._tracks[key] = _Track(t, t)
        if len(self._tracks) > self.max_keys:
            self.prune(t)
        return Seen.NEW

    def forget(self, key: str) -> None:
        """Drop what is known of ``key``: its next sighting is a new scan (e.g. after a re-measure request)."""
        self._tracks.pop(key, None)

    def allow_rescan(self, key: str) -> None:
        """Let ``key`` be scanned again without waiting for the cooldown (after a re-measure request).

        The pass must still leave the view first: sightings within ``same_scan_gap_s`` stay the same scan.
        """
        track = self._tracks.get(key)
        if track is not None:
            track.first_t = float("-inf")
            track.reported = False

    def prune(self, now: float) -> int:
        """Forget keys whose scan and cooldown are both over; returns how many were dropped."""
        horizon = max(self.same_scan_gap_s, self.cooldown_s)
        stale = [k for k, tr in self._tracks.items() if now - tr.last_t > horizon and now - tr.first_t > horizon]
        for key in stale:
            del self._tracks[key]
        while len(self._tracks) > self.max_keys:  # still too many: drop the oldest
            del self._tracks[min(self._tracks, key=lambda k: self._tracks[k].last_t)]
        return len(stale)

    def __len__(self) -> int:
        return len(self._tracks)
