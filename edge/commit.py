"""Committing an entry, then acting on it: the gate opens and the decision is shown only once it is on disk.

A commit that fails (disk full, database locked, ...) turns the decision into a refusal ``log_failed``,
keeps the gate shut and raises a fault on the guard screen; the health loop probes the log and clears the
fault by itself once a write succeeds again.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

from edge.checkpoint_base import LOG_FAULTS, CheckpointBase, safely
from edge.decision import Decision
from edge.events import Outcome
from edge.indicators import LIGHT_FOR
from gatepass.sqlitedb import transaction
from sync.locallog import LogWriteError
from sync.passes import Now
from sync.reasons import message

log = logging.getLogger(__name__)


class Commit(CheckpointBase):
    """:meth:`_commit_and_act` and the local log's faults."""

    def _shift_guard(self) -> str | None:
        """The guard signed in now (None: nobody, or the shift cannot be read)."""
        if self.shifts is None:
            return None
        try:
            with self._db_lock:
                cur = self.shifts.current()
        except sqlite3.Error as exc:  # not knowing who is on duty must not stop a decision
            log.warning("cannot read the current shift: %s", exc)
            return None
        return cur[1] if cur else None

    def _commit_and_act(self, fields: dict[str, Any], decision: Decision, now: Now, *,
                        valid_to: float | None = None, guard_id: str | None = None) -> Outcome:
        """Commit the entry, then (only if it is on disk) open the gate, light up and publish.

        ``fields`` must hold ``direction`` ("in" or "out") and the entry's other caller-supplied fields.
        """
        guard_id = guard_id or self._shift_guard()
        row = self._commit(fields, decision, now, guard_id)
        if row is None:
            decision = Decision("refuse", "log_failed")
        t_decided = time.monotonic()
        if row is not None and decision.decision == "pass" and self.gate is not None:
            safely(lambda: self.gate.pulse(self.settings.relay.pulse_s), "pulsing the gate")
        safely(lambda: self.indicators.show(LIGHT_FOR[decision.decision], self.settings.indicators.show_s),
               "showing the lights")
        outcome = Outcome(
            seq=row["seq"] if row else -1, uuid=row["uuid"] if row else "", event=fields.get("event", "scan"),
            decision=decision.decision, code=decision.code, message_zh=message(decision.code, "zh"),
            message_en=message(decision.code, "en"), wall_ts=now.t, clock_trusted=now.trusted,
            t_decided=t_decided, temperature_c=fields.get("temp_c"), fever=decision.fever,
            remeasure=decision.remeasure, pass_kind=fields.get("pass_kind"), household=fields.get("household"),
            valid_to=valid_to, guard_id=guard_id)
        self._publish(outcome)
        log.info("%s %s %s: %s (%s)%s", outcome.event, fields["direction"],
                 fields.get("pass_id") or fields.get("visitor_ref") or "-", outcome.decision, outcome.code,
                 f" {outcome.temperature_c:.2f} C" if outcome.temperature_c else "")
        return outcome

    def _commit(self, fields: dict[str, Any], decision: Decision, now: Now,
                guard_id: str | None) -> dict[str, Any] | None:
        """Append the entry durably; None (and a fault) when it could not be saved."""
        try:
            with self._db_lock:
                row = self.locallog.append(  # type: ignore[union-attr]
                    device_id=self.settings.device_id, gate_id=self.settings.gate.id, wall_ts=now.t,
                    mono_ts=time.monotonic(), boot_id=self.boot_id, clock_trusted=now.trusted,
                    decision=decision.decision, reason=decision.code, guard_id=guard_id, fever=decision.fever,
                    priority=decision.priority, **fields)
        except LogWriteError as exc:
            self._set_log_fault(exc)
            return None
        self._clear_log_faults()
        return row

    def _set_log_fault(self, exc: LogWriteError) -> None:
        text = str(exc)
        code = "disk_full" if "disk is full" in text else "db_locked" if "locked" in text else "log_failed"
        self._faults[code] = text
        log.error("entry not saved, gate kept shut: %s", text)

    def _clear_log_faults(self) -> None:
        for code in LOG_FAULTS:
            if self._faults.pop(code, None) is not None:
                log.info("the local log can be written again (%s cleared)", code)

    def _probe_log(self) -> None:
        """Try a small write so a log fault clears by itself once the disk or the lock is back."""
        try:
            with self._db_lock, transaction(self.db):
                self.db.execute("CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, t REAL)")
                self.db.execute("INSERT OR REPLACE INTO health_probe (id, t) VALUES (1, ?)", [time.time()])
        except sqlite3.Error as exc:
            log.debug("log probe still failing: %s", exc)
            return
        self._clear_log_faults()
