"""The decision loop: one scan at a time, verify the pass, pair a body temperature, decide, then commit and act.

Committing and acting (gate, lights, screen) is :mod:`edge.commit`; the direction rule for ``"both"``
gates is :mod:`edge.direction`. A scan whose handling fails unexpectedly is reported (fault
``decide_failed``), forgotten by the de-duplication so the person can scan again, and the loop goes on.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import time
from typing import Any

from edge.checkpoint_base import CheckpointBase, minute_of_day
from edge.decision import Decision, GateRules, decide, is_open, needs_temperature
from edge.direction import Direction, last_passed, resolve
from edge.events import Outcome
from edge.pairing import Measurement, PairingRules, TempStatus, judge_temperature, pair
from edge.scan_input import Scan
from sync.passes import GateContext, Lists, Now, TrustList, Verdict, effective_now, verify

log = logging.getLogger(__name__)


class ScanDecide(CheckpointBase):
    """The ``decide`` loop and :meth:`handle_scan`."""

    def _decide_loop(self) -> None:
        while not self.stop_event.is_set():
            self._beat("decide")
            try:
                scan = self._scans.get(timeout=0.5)
            except queue.Empty:
                continue
            self._decide_safely(scan)

    def _decide_safely(self, scan: Scan) -> Outcome | None:
        try:
            outcome = self.handle_scan(scan)
        except Exception as exc:  # report, keep the gate shut, let the person scan again
            log.exception("deciding on a %s scan failed; the gate stays shut", scan.source)
            self._faults["decide_failed"] = f"{type(exc).__name__}: {exc}"
            with self._dedupe_lock:
                self.dedupe.forget(scan.text)
            return None
        self._faults.pop("decide_failed", None)
        return outcome

    def rules(self, direction: str | None = None) -> GateRules:
        """The gate rules the decision uses now (``direction``: the one the rules apply; default the gate's)."""
        gate, policy = self.settings.gate, self.settings.policy
        return GateRules(direction or gate.direction, gate.mode, self.open_hours,  # type: ignore[arg-type]
                         policy.no_reading, policy.measure_on_exit)

    def pairing_rules(self) -> PairingRules:
        """The pairing rules now (central's policy applied)."""
        p = self.settings.policy
        return PairingRules(self._policy["pair_window_s"], p.pair_lookback_s, p.samples, self._policy["fever_c"])

    def _now(self) -> Now:
        meta = self._snapshot[3] if self._snapshot else None
        return effective_now(time.time(), meta.server_time if meta else None, self.clock_floor)

    def handle_scan(self, scan: Scan) -> Outcome:
        """Decide on one scan and act on it (runs in the decide loop; public for tests and benches)."""
        self._reload_lists()
        now = self._now()
        choice = self._direction_choice
        certain = resolve(self.settings.gate.direction, choice, None, self.settings.gate.both_default)
        verdict = self._verify(scan.text, certain.rules, now)
        info = verdict.pass_info
        direction = certain if certain.source != "default" else self._infer_direction(verdict, choice)
        rules = self.rules(direction.rules)
        minute = minute_of_day(now.t)
        person = f"{info.pass_id}:{info.person}" if info else None
        measurement, temp_status = self._temperature(verdict, rules, minute, scan.t_seen, person)
        decision = decide(verdict.ok, verdict.code, info.kind if info else None, temp_status, rules, minute)
        fields = self._scan_fields(scan, verdict, measurement, decision, person)
        fields["direction"] = direction.for_verdict(verdict.code)
        decided_at = time.monotonic()
        if decision.remeasure:  # before the outcome is shown: the person may scan again at once
            self._allow_remeasure(scan, decided_at)
        outcome = self._commit_and_act(fields, decision, now,
                                       valid_to=info.valid_to if info else None)
        self.latencies.append(time.monotonic() - scan.t_seen)
        self._after_decision(scan, person, temp_status, outcome, measurement, decided_at)
        return outcome

    def _verify(self, text: str, direction: str, now: Now) -> Verdict:
        trust, lists, _, _ = self._snapshot or (TrustList(), Lists(), {}, None)
        return verify(text, trust, lists, GateContext(self.settings.gate.id, direction), now)  # type: ignore[arg-type]

    def _infer_direction(self, verdict: Verdict, choice: str | None) -> Direction:
        """The direction at a ``"both"`` gate with no guard choice: the holder's history, else the default."""
        gate, info, last = self.settings.gate, verdict.pass_info, None
        if info is not None:
            try:
                with self._db_lock:
                    last = last_passed(self.db, gate.id, str(info.pass_id), info.person)
            except sqlite3.Error as exc:  # the direction is a best guess: never fail the scan over it
                log.warning("cannot read the holder's last direction: %s", exc)
        return resolve(gate.direction, choice, last, gate.both_default)

    def _temperature(self, verdict: Verdict, rules: GateRules, minute: int, t_seen: float,
                     person: str | None) -> tuple[Measurement | None, TempStatus | None]:
        """Measure when the pass is good, the gate needs it, and the gate is open (or the pass is staff)."""
        info = verdict.pass_info
        if not (verdict.ok and needs_temperature(rules)):
            return None, None
        if info is not None and info.kind != "staff" and not is_open(rules.open_hours, minute):
            return None, None
        measurement = self._measure(t_seen)
        return measurement, judge_temperature(measurement.temp_c, self._policy["fever_c"], self._had_high(person))

    def _scan_fields(self, scan: Scan, verdict: Verdict, measurement: Measurement | None, decision: Decision,
                     person: str | None) -> dict[str, Any]:
        """The entry's fields for a scan (the fever event refers to the first high reading)."""
        info = verdict.pass_info
        ref = self._high.get(person) if (person and decision.fever) else None
        temps = list(measurement.temps) if measurement else []
        if ref is not None:
            temps = [ref[2], *temps]
        return dict(
            event="scan", pass_id=str(info.pass_id) if info else None, household=info.household if info else None,
            person=info.person if info else None, pass_kind=info.kind if info else None,
            temp_c=measurement.temp_c if measurement else None, temps=temps,
            ref_uuid=ref[1] if ref else None,
            extra={"source": scan.source, "detail": verdict.detail} if verdict.detail else None)

    def _measure(self, t_scan: float) -> Measurement:
        """Wait (up to the pairing window) for body readings for the scan at ``t_scan``."""
        rules = self.pairing_rules()
        deadline = t_scan + rules.window_s
        with self._temp_cond:
            while True:
                now = time.monotonic()
                m = pair(self._samples, t_scan, now, rules, self._temp_used_until)
                if m.complete or self.stop_event.is_set() or now >= deadline:
                    break
                self._beat("decide")
                self._temp_cond.wait(max(0.01, min(0.5, deadline - now)))
            if m.last_t is not None:
                self._temp_used_until = m.last_t
        return m

    def _had_high(self, person: str | None) -> bool:
        if person is None:
            return False
        entry = self._high.get(person)
        return entry is not None and time.monotonic() - entry[0] <= self.settings.policy.remeasure_window_s

    def _remember_temperature(self, person: str | None, status: TempStatus | None, outcome: Outcome,
                              temp_c: float | None) -> None:
        """Keep a first high reading (for the fever event); forget it after a fever or a normal reading."""
        if person and status is TempStatus.HIGH and outcome.seq > 0:
            self._high[person] = (time.monotonic(), outcome.uuid, float(temp_c or 0.0))
        elif person and status in (TempStatus.FEVER, TempStatus.NORMAL):
            self._high.pop(person, None)
        cutoff = time.monotonic() - self.settings.policy.remeasure_window_s
        for key in [k for k, v in list(self._high.items()) if v[0] < cutoff]:
            self._high.pop(key, None)

    def _after_decision(self, scan: Scan, person: str | None, temp_status: TempStatus | None,
                        outcome: Outcome, measurement: Measurement | None, decided_at: float) -> None:
        self._remember_temperature(person, temp_status, outcome, measurement.temp_c if measurement else None)
        self._remember_decided(scan.text, outcome)
        if outcome.code == "log_failed":
            self._allow_remeasure(scan, decided_at)

    def _allow_remeasure(self, scan: Scan, decided_at: float) -> None:
        """Let the pass be scanned again at once, paired with readings taken after the decision only."""
        with self._dedupe_lock:
            self.dedupe.allow_rescan(scan.text)
        with self._temp_cond:
            self._temp_used_until = max(self._temp_used_until or 0.0, decided_at)
