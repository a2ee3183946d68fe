"""The checkpoint's upkeep: list snapshots and central's policy, and the ``health`` loop.

Lists are loaded with :func:`sync.lists.load` and reloaded when their version changes (a failure keeps the
last good snapshot and raises ``lists_failed``). Central's policy values win over the config for the keys
in :data:`POLICY_KEYS` (logged when they differ). The health loop runs retention, the disk floor and the
clock check every ``[health] check_interval_s`` and probes a failing local log every round.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from edge.checkpoint_base import LOG_FAULTS, CheckpointBase
from edge.health import Housekeeper
from sync import lists as edgelists

log = logging.getLogger(__name__)

#: Central policy keys that override the config (central wins when it sets them).
POLICY_KEYS = {"fever_c": float, "cooldown_s": float, "pair_window_s": float}
#: Faults the health checks own (set and cleared by each full round).
HEALTH_FAULTS = ("disk_low", "clock_untrusted")


class Upkeep(CheckpointBase):
    """Lists, policy and the health loop."""

    def _reload_lists(self, force: bool = False) -> None:
        try:
            with self._db_lock:
                version = edgelists.meta(self.db).version
                if not force and self._snapshot is not None and self._snapshot[3].version == version:
                    return
                self._snapshot = edgelists.load(self.db)
            self._faults.pop("lists_failed", None)
        except Exception as exc:  # keep the last good snapshot
            self._faults["lists_failed"] = str(exc)
            log.warning("cannot load the lists (keeping the last copy): %s", exc)
            return
        log.info("lists version %d loaded", self._snapshot[3].version)
        self._apply_policy(self._snapshot[2])

    def _policy_defaults(self) -> dict[str, float]:
        return {"fever_c": self.settings.policy.fever_c, "cooldown_s": self.settings.scan.cooldown_s,
                "pair_window_s": self.settings.policy.pair_window_s}

    def _apply_policy(self, central: dict[str, Any]) -> None:
        """Central's policy values win over the config for the keys in :data:`POLICY_KEYS`."""
        defaults = self._policy_defaults()
        for key, kind in POLICY_KEYS.items():
            value = defaults[key]
            if key in central:
                try:
                    value = kind(central[key])
                    if value != defaults[key]:
                        log.info("policy %s: central's %s wins over the config's %s", key, value, defaults[key])
                except (TypeError, ValueError):
                    log.warning("policy %s from central is not a number (%r); using the config's %s", key,
                                central[key], defaults[key])
                    value = defaults[key]
            self._policy[key] = value
        with self._dedupe_lock:
            self.dedupe.cooldown_s = self._policy["cooldown_s"]

    def _health_loop(self) -> None:
        health = self.settings.health
        keeper = Housekeeper(self.locallog, self.settings.data_dir, health.retention_days,  # type: ignore[arg-type]
                             health.disk_floor_mb, clock_floor=self.clock_floor)
        next_full = 0.0
        while not self.stop_event.is_set():
            if time.monotonic() >= next_full:
                next_full = time.monotonic() + health.check_interval_s
                self._health_round(keeper)
            if any(c in self._faults for c in LOG_FAULTS):
                self._probe_log()
            self._reload_lists()
            self.stop_event.wait(2.0)

    def _health_round(self, keeper: Housekeeper) -> None:
        meta = self._snapshot[3] if self._snapshot else None
        with self._db_lock:
            report = keeper.run(meta.server_time if meta else None)
        for code in HEALTH_FAULTS:
            if code in report.faults:
                self._faults[code] = code
            else:
                self._faults.pop(code, None)
