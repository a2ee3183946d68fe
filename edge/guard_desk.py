"""The guard's actions (guarded gates only): shifts, overrides, visitors, and the direction at "both" gates.

Every action that lets someone through is a new entry recorded (:class:`edge.entry_recorder.EntryRecorder`:
committed before the gate opens) with the id of the signed-in guard. An entry can be overridden once; a
second override of the same entry is refused (a double click on the screen must not open the gate twice or
log two entries); the same visitor registered again within :data:`VISITOR_REPEAT_S` is refused likewise.

The direction a guard chooses at a "both" gate is theirs (:class:`edge.direction.DirectionChoice`): it
lasts until they change it or their shift ends (sign-out, or a new sign-in); the gate then infers the
direction again.
"""

from __future__ import annotations

import json
import logging
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass

from edge.decision import Decision, decide
from edge.direction import DirectionChoice
from edge.entry_recorder import EntryFields, EntryRecorder
from edge.errors import EdgeError
from edge.events import Outcome, ShiftSummary
from edge.gate_profile import GateProfile, minute_of_day
from edge.lists_policy import ListsAndPolicy
from edge.pairing import Measurement, judge_temperature
from edge.shifts import ShiftBook
from edge.store import LocalStore
from edge.temperatures import FeverMemory
from gatepass.clock import Clock
from sync.locallog import LocalLog

log = logging.getLogger(__name__)

OVERRIDE_REASONS = ("emergency", "medical", "staff")
#: The same visitor (phone, host household) registered again within this many seconds is a repeated click
#: (a re-measure after a high reading takes longer than that).
VISITOR_REPEAT_S = 3.0


class CheckpointError(EdgeError):
    """A guard action is not allowed (wrong mode, nobody signed in, unknown entry...)."""


@dataclass(frozen=True)
class Visitor:
    """A visitor as the guard registers them (texts stripped)."""

    name: str
    phone: str
    host_household: str
    reason: str

    @property
    def person(self) -> str:
        """The key their temperatures are remembered by."""
        return f"visitor:{self.phone}"


class GuardDesk:
    """Overrides, visitors, shifts and the guard's direction choice."""

    def __init__(self, profile: GateProfile, store: LocalStore, recorder: EntryRecorder, lists: ListsAndPolicy,
                 fevers: FeverMemory, choice: DirectionChoice, clock: Clock,
                 measure: Callable[[float], Measurement]) -> None:
        self.profile = profile
        self.store = store
        self.recorder = recorder
        self.lists = lists
        self.fevers = fevers
        self.choice = choice
        self.clock = clock
        self.measure = measure  # waits for a reading when the guard typed none
        self._recent_visitors: dict[tuple[str, str], float] = {}  # (person, host) -> registered (monotonic)

    def _require_guard(self, guard_id: str) -> None:
        if self.profile.settings.gate.mode != "guarded":
            raise CheckpointError("this gate is unattended: no overrides or visitor registration")
        on_duty = self.store.shift_guard()
        if on_duty is None or on_duty != guard_id:
            raise CheckpointError(f"guard {guard_id} is not signed in", "sign in to a shift with the PIN first")

    def set_direction(self, direction: str | None, guard_id: str) -> None:
        """At a "both" gate, the direction people pass now ("in", "out"; None: infer it again).

        Guarded gates only, by the signed-in guard, until changed or the shift ends; see :mod:`edge.direction`
        for the rule.
        """
        self._require_guard(guard_id)
        gate_direction = self.profile.settings.gate.direction
        if gate_direction != "both":
            raise CheckpointError(f"this gate is '{gate_direction}' only")
        if direction not in ("in", "out", None):
            raise CheckpointError("direction must be 'in', 'out' or none")
        self.choice.choose(direction, guard_id)

    def override(self, ref_uuid: str, guard_id: str, reason: str) -> Outcome:
        """Let a refused person through (guarded mode, signed-in guard, reason emergency/medical/staff)."""
        self._require_guard(guard_id)
        if reason not in OVERRIDE_REASONS:
            raise CheckpointError(f"override reason must be one of {', '.join(OVERRIDE_REASONS)}")
        with self.store.lock:  # held across check and commit: two clicks cannot both pass the check
            ref = self.store.entry(ref_uuid)
            if ref is None:
                raise CheckpointError("the entry to override does not exist")
            if ref.decision == "pass":
                raise CheckpointError("that entry was not refused")
            if self.store.overridden(ref_uuid):
                raise CheckpointError("that entry was already overridden")
            fields = EntryFields(pass_id=ref.pass_id, household=ref.household, person=ref.person,
                                 pass_kind=ref.pass_kind, visitor_ref=ref.visitor_ref, temp_c=ref.temp_c,
                                 direction=ref.direction, event="override", override_reason=reason,
                                 ref_uuid=ref_uuid, temps=_json_list(ref.temps))
            decision = Decision("pass", "override", fever=ref.fever, priority=ref.fever)
            return self.recorder.record(fields, decision, self.lists.now(), guard_id=guard_id)

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None) -> Outcome:
        """Log a visitor without a pass (guarded mode); the temperature policy still decides."""
        self._require_guard(guard_id)
        if not name.strip() or not phone.strip() or not host_household.strip():
            raise CheckpointError("name, phone and host household are required")
        if temperature_c is None:
            m = self.measure(self.clock.monotonic())
            temperature_c, temps = m.temp_c, list(m.temps)
        else:
            temps = [float(temperature_c)]
        visitor = Visitor(name.strip(), phone.strip(), host_household.strip(), reason.strip())
        with self.store.lock:  # held across the check and the commit: a double click logs one entry
            self._refuse_repeated_visitor(visitor)
            outcome = self._register(guard_id, visitor, temperature_c, temps)
            if outcome.seq > 0:
                self._recent_visitors[(visitor.person, visitor.host_household)] = self.clock.monotonic()
        return outcome

    def _refuse_repeated_visitor(self, visitor: Visitor) -> None:
        cutoff = self.clock.monotonic() - VISITOR_REPEAT_S
        for key in [k for k, t in self._recent_visitors.items() if t < cutoff]:
            del self._recent_visitors[key]
        if (visitor.person, visitor.host_household) in self._recent_visitors:
            raise CheckpointError("this visitor was registered a moment ago", "wait a few seconds to register again")

    def _register(self, guard_id: str, visitor: Visitor, temperature_c: float | None,
                  temps: list[float]) -> Outcome:
        person = visitor.person
        status = judge_temperature(temperature_c, self.lists.policy.fever_c, self.fevers.had_high(person))
        now = self.lists.now()
        decision = decide(True, "ok", "visitor", status, self.profile.rules(), minute_of_day(now.t))
        if decision.code == "temp_ok":
            decision = Decision("pass", "visitor_ok")
        ref = self.fevers.first_high(person) if decision.fever else None
        fields = EntryFields(event="visitor", household=visitor.host_household, pass_kind="visitor",
                             visitor_ref=uuidlib.uuid4().hex[:12], temp_c=temperature_c, temps=temps,
                             ref_uuid=ref.entry_uuid if ref else None, direction=self._visitor_direction(),
                             extra={"name": visitor.name, "phone": visitor.phone,
                                    "host_household": visitor.host_household, "reason": visitor.reason})
        outcome = self.recorder.record(fields, decision, now, guard_id=guard_id)
        self.fevers.remember(person, status, outcome.seq, outcome.uuid, temperature_c)
        return outcome

    def _visitor_direction(self) -> str:
        """Visitors register on arrival: "in", unless the gate or the guard says "out"."""
        gate = self.profile.settings.gate.direction
        return gate if gate != "both" else (self.choice.current or "in")

    def start_shift(self, guard_id: str, pin: str) -> bool:
        """Sign a guard in with their PIN; False if the PIN is wrong."""
        shifts, locallog = self._books()
        with self.store.lock:
            ok = shifts.start(guard_id, pin, locallog.last_seq())
        if ok:  # any open shift was ended by this sign-in
            self.choice.drop(f"guard {guard_id} signed in")
        return ok

    def end_shift(self) -> ShiftSummary | None:
        """Sign the current guard out and return the hand-over summary."""
        shifts, locallog = self._books()
        with self.store.lock:
            summary = shifts.end(locallog.last_seq())
        self.choice.drop("the shift ended")
        return summary

    def shift_summary(self) -> ShiftSummary | None:
        """The running summary of the current shift."""
        shifts, _ = self._books()
        with self.store.lock:
            return shifts.summary()

    def _books(self) -> tuple[ShiftBook, LocalLog]:
        if self.store.shifts is None or self.store.locallog is None:
            raise CheckpointError("the checkpoint is not started")
        return self.store.shifts, self.store.locallog


def _json_list(text: str | None) -> list[float]:
    try:
        value = json.loads(text) if text else []
        return [float(v) for v in value] if isinstance(value, list) else []
    except (ValueError, TypeError):
        return []
