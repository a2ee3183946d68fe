"""Recording a decision: commit the entry durably, THEN actuate the gate and the lights, THEN publish it.

The gate opens and the decision is shown only once the entry is on disk (:meth:`sync.locallog.LocalLog.append`
commits with WAL + ``synchronous=FULL``). A commit that fails (disk full, database locked, ...) turns the
decision into a refusal ``log_failed``, keeps the gate shut and raises a fault on the guard screen
(:data:`edge.faults.LOG_FAULTS`); the health loop probes the log (:meth:`EntryRecorder.probe_log`) and the
fault clears by itself once a write succeeds again. Every outcome is published to the guard page's
subscribers (:class:`edge.events.Fanout`).
"""

from __future__ import annotations

import logging
import queue
from typing import Required, TypedDict

from drivers.interfaces import GateOutput
from edge.decision import Decision
from edge.devices import safely
from edge.events import Decision as OutcomeDecision
from edge.events import Fanout, Outcome
from edge.faults import LOG_FAULTS, FaultBoard
from edge.indicators import LIGHT_FOR, Indicators
from edge.settings import EdgeSettings
from edge.store import LocalStore
from gatepass.clock import Clock
from sync.locallog import LogWriteError
from sync.passes import Now
from sync.reasons import message

log = logging.getLogger(__name__)


class EntryFields(TypedDict, total=False):
    """The entry's caller-supplied fields (the recorder adds the device, gate, times, decision and guard)."""

    direction: Required[str]  # "in" or "out"
    event: str  # scan | visitor | override
    pass_id: str | None
    household: str | None
    person: int | None
    pass_kind: str | None
    visitor_ref: str | None
    temp_c: float | None
    temps: list[float]
    ref_uuid: str | None
    override_reason: str
    extra: dict[str, object] | None


class EntryRecorder:
    """:meth:`record` a decision; the outcomes' subscribers."""

    def __init__(self, settings: EdgeSettings, store: LocalStore, faults: FaultBoard, clock: Clock, *,
                 gate: GateOutput | None, indicators: Indicators, boot_id: str) -> None:
        self.settings = settings
        self.store = store
        self.faults = faults
        self.clock = clock
        self.gate = gate
        self.indicators = indicators
        self.boot_id = boot_id
        self.outcomes: Fanout[Outcome] = Fanout()  # every decision, for the guard page
        self._last: Outcome | None = None

    def record(self, fields: EntryFields, decision: Decision, now: Now, *, valid_to: float | None = None,
               guard_id: str | None = None, detail: str = "") -> Outcome:
        """Commit the entry, then (only if it is on disk) open the gate, light up and publish.

        ``guard_id``: who decided (default: the guard signed in now).
        """
        guard_id = guard_id or self.store.shift_guard()
        row = self._commit(fields, decision, now, guard_id)
        if row is None:
            decision = Decision("refuse", "log_failed")
        t_decided = self.clock.monotonic()
        if row is not None and decision.decision == "pass" and self.gate is not None:
            gate = self.gate
            safely(lambda: gate.pulse(self.settings.relay.pulse_s), "pulsing the gate")
        safely(lambda: self.indicators.show(LIGHT_FOR[decision.decision], self.settings.indicators.show_s),
                "showing the lights")
        outcome = Outcome(
            seq=row[0] if row else -1, uuid=row[1] if row else "", event=fields.get("event", "scan"),
            decision=_shown(decision), code=decision.code, message_zh=message(decision.code, "zh"),
            message_en=message(decision.code, "en"), wall_ts=now.t, clock_trusted=now.trusted,
            t_decided=t_decided, temperature_c=fields.get("temp_c"), fever=decision.fever,
            remeasure=decision.remeasure, pass_kind=fields.get("pass_kind"), household=fields.get("household"),
            valid_to=valid_to, guard_id=guard_id, detail=detail)
        self._publish(outcome)
        log.info("%s %s %s: %s (%s)%s", outcome.event, fields["direction"],
                 fields.get("pass_id") or fields.get("visitor_ref") or "-", outcome.decision, outcome.code,
                 f" {outcome.temperature_c:.2f} C" if outcome.temperature_c else "")
        return outcome

    def record_info(self, fields: EntryFields, code: str, now: Now, guard_id: str | None) -> int | None:
        """Commit an information entry (decision ``info``, e.g. a shift hand-over): its seq, None when it could not
        be saved (the log fault is raised). The gate and the lights do not move; nothing is published."""
        row = self._commit(fields, Decision("info", code), now, guard_id)
        return row[0] if row else None

    def announce_hold(self, code: str, fields: EntryFields, now: Now) -> Outcome:
        """Publish that a scan is held for the guard (decision ``guard``): nothing is logged, the gate stays shut."""
        outcome = Outcome(seq=0, uuid="", event=fields.get("event", "scan"), decision="guard", code=code,
                          message_zh=message(code, "zh"), message_en=message(code, "en"), wall_ts=now.t,
                          clock_trusted=now.trusted, t_decided=self.clock.monotonic(),
                          temperature_c=fields.get("temp_c"), pass_kind=fields.get("pass_kind"),
                          household=fields.get("household"), guard_id=self.store.shift_guard())
        safely(lambda: self.indicators.show(LIGHT_FOR["guard"], self.settings.indicators.show_s), "showing the lights")
        self._publish(outcome)
        return outcome

    def _commit(self, fields: EntryFields, decision: Decision, now: Now,
                guard_id: str | None) -> tuple[int, str] | None:
        """Append the entry durably: its (seq, uuid); None (and a fault) when it could not be saved.

        It is stamped with the best estimate of the time (``wall_ts``, ``now.t``), whether it was trusted, the raw
        system wall time (``sys_ts``) and the monotonic time and boot id central re-dates it by."""
        try:
            with self.store.lock:
                if self.store.locallog is None:
                    raise LogWriteError("the local log is not open")
                row = self.store.locallog.append(
                    device_id=self.settings.device_id, gate_id=self.settings.gate.id, wall_ts=now.t,
                    sys_ts=self.clock.time(), mono_ts=self.clock.monotonic(), boot_id=self.boot_id,
                    clock_trusted=now.trusted,
                    decision=decision.decision, reason=decision.code, guard_id=guard_id, fever=decision.fever,
                    priority=decision.priority, **fields)
        except LogWriteError as exc:
            self._set_log_fault(exc)
            return None
        self._clear_log_faults()
        return int(row["seq"]), str(row["uuid"])

    def _set_log_fault(self, exc: LogWriteError) -> None:
        text = str(exc)
        code = "disk_full" if "disk is full" in text else "db_locked" if "locked" in text else "log_failed"
        self.faults.raise_(code, text)
        log.error("entry not saved, gate kept shut: %s", text)

    def _clear_log_faults(self) -> None:
        for code in LOG_FAULTS:
            if self.faults.clear(code):
                log.info("the local log can be written again (%s cleared)", code)

    def probe_log(self) -> None:
        """Try a small write so a log fault clears by itself once the disk or the lock is back."""
        if self.store.probe(self.clock):
            self._clear_log_faults()

    # -- the outcomes (CheckpointAPI) ---------------------------------------------------------------
    def _publish(self, outcome: Outcome) -> None:
        self._last = outcome
        self.outcomes.publish(outcome)

    def subscribe(self) -> queue.Queue[Outcome]:
        """A bounded queue receiving every new outcome (oldest dropped when full)."""
        return self.outcomes.subscribe()

    def unsubscribe(self, q: queue.Queue[Outcome]) -> None:
        """Stop delivering to ``q``."""
        self.outcomes.unsubscribe(q)

    def last_outcome(self) -> Outcome | None:
        """The newest outcome, if any."""
        return self._last


def _shown(decision: Decision) -> OutcomeDecision:
    """The decision as the guard page shows it (an ``info`` entry is never shown: :meth:`EntryRecorder.record_info`)."""
    value = decision.decision
    if value == "info":
        raise ValueError("an information entry is recorded with record_info, not shown")
    return value
