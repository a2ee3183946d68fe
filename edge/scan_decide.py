"""The decision loop: one scan at a time, verify the pass, pair a body temperature, decide, then record it.

:class:`ScanDecider` takes scans from :class:`edge.scan_intake.ScanIntake`, verifies them against the
current :class:`edge.lists_policy.ListsSnapshot` (:func:`sync.passes.verify`), finds the direction at a
``"both"`` gate (:mod:`edge.direction`), measures (:class:`edge.temperatures.TemperatureBuffer`), decides
(:func:`edge.decision.decide`, pure) and hands the entry to :class:`edge.entry_recorder.EntryRecorder`
(commit, then gate, then publish). A scan whose handling fails unexpectedly is reported (fault
``decide_failed``), forgotten by the de-duplication so the person can scan again, and the loop goes on.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from dataclasses import dataclass

from edge.decision import Decision, GateRules, decide, is_open, needs_temperature
from edge.direction import Direction, DirectionChoice, GateWay, resolve
from edge.entry_recorder import EntryFields, EntryRecorder
from edge.events import Outcome
from edge.faults import FaultBoard
from edge.gate_profile import GateProfile, minute_of_day
from edge.health_code import HealthCodeDesk, colour_code, looks_like_health_code
from edge.lists_policy import ListsAndPolicy
from edge.loops import LoopRunner
from edge.pairing import Measurement, TempStatus, judge_temperature
from edge.scan_intake import Scan, ScanIntake
from edge.store import LocalStore
from edge.temperatures import FeverMemory, TemperatureBuffer
from gatepass.clock import Clock
from sync.passes import GateContext, Now, Verdict, verify

log = logging.getLogger(__name__)

#: Latencies kept (scan seen -> committed, seconds).
LATENCIES_KEPT = 20000


@dataclass(frozen=True)
class Thermal:
    """What the decider measures with: the readings and who was high a moment ago."""

    readings: TemperatureBuffer
    fevers: FeverMemory


@dataclass(frozen=True)
class _Judged:
    """A scan's verdict, direction, measurement and decision."""

    verdict: Verdict
    direction: Direction
    person: str | None
    measurement: Measurement | None
    temp_status: TempStatus | None
    decision: Decision


class ScanDecider:
    """The ``decide`` loop and :meth:`handle_scan`."""

    def __init__(self, profile: GateProfile, lists: ListsAndPolicy, intake: ScanIntake, thermal: Thermal,
                 store: LocalStore, recorder: EntryRecorder, choice: DirectionChoice, runner: LoopRunner,
                 clock: Clock, health: HealthCodeDesk | None = None) -> None:
        self.profile = profile
        self.lists = lists
        self.intake = intake
        self.thermal = thermal
        self.store = store
        self.recorder = recorder
        self.choice = choice
        self.runner = runner
        self.clock = clock
        self.health = health or HealthCodeDesk()
        #: Scan seen -> committed (s), the newest :data:`LATENCIES_KEPT`.
        self.latencies: collections.deque[float] = collections.deque(maxlen=LATENCIES_KEPT)

    @property
    def faults(self) -> FaultBoard:
        """The loops' fault board."""
        return self.runner.faults

    def loop(self) -> None:
        """Decide on queued scans until the stop event is set."""
        while not self.runner.stopped:
            self.runner.beat("decide")
            scan = self.intake.next(0.5)
            if scan is not None:
                self.decide_safely(scan)

    def decide_safely(self, scan: Scan) -> Outcome | None:
        """:meth:`handle_scan`; an exception is reported and the pass forgotten (None)."""
        try:
            outcome = self.handle_scan(scan)
        except Exception as exc:  # report, keep the gate shut, let the person scan again
            log.exception("deciding on a %s scan failed; the gate stays shut", scan.source)
            self.faults.raise_("decide_failed", f"{type(exc).__name__}: {exc}")
            self.intake.forget(scan.text)
            return None
        self.faults.clear("decide_failed")
        return outcome

    def handle_scan(self, scan: Scan) -> Outcome:
        """Decide on one scan and act on it (runs in the decide loop; public for tests and benches)."""
        self.lists.reload()
        now = self.lists.now()
        judged = self.judge(scan, now)
        info = judged.verdict.pass_info
        fields = self._fields(scan, judged)
        judged = self._health_code(judged, fields, now)
        decided_at = self.clock.monotonic()
        if judged.decision.remeasure:  # before the outcome is shown: the person may scan again at once
            self._allow_remeasure(scan, decided_at)
        detail = self.store.revocation_reason(info.pass_id) if info and judged.decision.code == "revoked" else ""
        outcome = self.recorder.record(fields, judged.decision, now, valid_to=info.valid_to if info else None,
                                       detail=detail)
        self.latencies.append(self.clock.monotonic() - scan.t_seen)
        m = judged.measurement
        self.thermal.fevers.remember(judged.person, judged.temp_status, outcome.seq, outcome.uuid,
                                     m.temp_c if m else None)
        self.intake.remember_decided(scan.text, outcome)
        if outcome.code == "log_failed":
            self._allow_remeasure(scan, decided_at)
        return outcome

    def judge(self, scan: Scan, now: Now) -> _Judged:
        """Verify, find the direction, measure if needed and decide (nothing recorded yet)."""
        gate = self.profile.settings.gate
        choice = self.choice.current
        certain = resolve(gate.direction, choice, None, gate.both_default)
        verdict = self.verify(scan.text, certain.rules, now)
        info = verdict.pass_info
        direction = certain if certain.source != "default" else self._infer_direction(verdict, choice)
        rules = self.profile.rules(direction.rules)
        minute = minute_of_day(now.t)
        person = f"{info.pass_id}:{info.person}" if info else None
        measurement, temp_status = self._temperature(verdict, rules, minute, scan.t_seen, person)
        decision = decide(verdict.ok, verdict.code, info.kind if info else None, temp_status, rules, minute)
        if verdict.code == "not_our_format" and looks_like_health_code(scan.text):
            decision = Decision("refuse", "health_code_scanned")  # the guard is told what it is, not "not ours"
        return _Judged(verdict, direction, person, measurement, temp_status, decision)

    def _health_code(self, judged: _Judged, fields: EntryFields, now: Now) -> _Judged:
        """At a guarded gate with a health-code policy, hold a pass that would go through until the guard taps the
        colour the phone shows (:mod:`edge.health_code`); the colour goes into ``fields``' extra."""
        policy = self.profile.settings.policy.health_code
        if policy == "off" or judged.decision.decision != "pass" or self.profile.settings.gate.mode != "guarded":
            return judged
        self.recorder.announce_hold("health_code_check", fields, now)

        def keep_waiting() -> bool:
            self.runner.beat("decide")
            return not self.runner.stopped

        answer = self.health.wait(keep_waiting)
        fields["extra"] = {**(fields.get("extra") or {}), "health_code": answer.colour or "none",
                           **({"health_code_by": answer.guard_id} if answer.guard_id else {})}
        code = colour_code(answer.colour, policy)
        if code is None:
            return judged
        return dataclasses.replace(judged, decision=Decision("refuse", code, priority=True))

    def verify(self, text: str, direction: GateWay, now: Now) -> Verdict:
        """The verifier's verdict on ``text`` at this gate, going ``direction``."""
        snap = self.lists.current()
        return verify(text, snap.trust, snap.lists, GateContext(self.profile.settings.gate.id, direction), now)

    def _infer_direction(self, verdict: Verdict, choice: str | None) -> Direction:
        """The direction at a ``"both"`` gate with no guard choice: the holder's history, else the default."""
        gate, info, last = self.profile.settings.gate, verdict.pass_info, None
        if info is not None:
            last = self.store.last_passed(gate.id, str(info.pass_id), info.person)
        return resolve(gate.direction, choice, last, gate.both_default)

    def _temperature(self, verdict: Verdict, rules: GateRules, minute: int, t_seen: float,
                     person: str | None) -> tuple[Measurement | None, TempStatus | None]:
        """Measure when the pass is good, the gate needs it, and the gate is open (or the pass is staff)."""
        info = verdict.pass_info
        if not (verdict.ok and needs_temperature(rules)):
            return None, None
        if info is not None and info.kind != "staff" and not is_open(rules.open_hours, minute):
            return None, None
        measurement = self.measure(t_seen)
        status = judge_temperature(measurement.temp_c, self.lists.policy.fever_c,
                                   self.thermal.fevers.had_high(person))
        return measurement, status

    def measure(self, t_scan: float) -> Measurement:
        """Wait (up to the pairing window, while the loops run) for body readings for the scan at ``t_scan``."""
        def keep_waiting() -> bool:
            if self.runner.stopped:
                return False
            self.runner.beat("decide")
            return True

        return self.thermal.readings.measure(t_scan, self.profile.pairing_rules(self.lists.policy), keep_waiting)

    def _fields(self, scan: Scan, judged: _Judged) -> EntryFields:
        """The entry's fields for a scan (the fever event refers to the first high reading)."""
        info, m, verdict = judged.verdict.pass_info, judged.measurement, judged.verdict
        ref = self.thermal.fevers.first_high(judged.person) if judged.decision.fever else None
        temps = list(m.temps) if m else []
        if ref is not None:
            temps = [ref.temp_c, *temps]
        return EntryFields(
            event="scan", pass_id=str(info.pass_id) if info else None, household=info.household if info else None,
            person=info.person if info else None, pass_kind=info.kind if info else None,
            temp_c=m.temp_c if m else None, temps=temps, ref_uuid=ref.entry_uuid if ref else None,
            extra=_extra(scan, judged, self.choice.chosen_by), direction=judged.direction.for_verdict(verdict.code))

    def _allow_remeasure(self, scan: Scan, decided_at: float) -> None:
        """Let the pass be scanned again at once, paired with readings taken after the decision only."""
        self.intake.allow_rescan(scan.text)
        self.thermal.readings.skip_until(decided_at)


def _extra(scan: Scan, judged: _Judged, chosen_by: str | None) -> dict[str, object] | None:
    """What the entry keeps beyond its columns: the verifier's detail, and the guard who chose the direction."""
    extra: dict[str, object] = {}
    if judged.verdict.detail:
        extra.update(source=scan.source, detail=judged.verdict.detail)
    if judged.direction.source == "guard" and chosen_by is not None:
        extra.update(direction_chosen_by=chosen_by)  # every guard choice is in the entry log
    return extra or None
