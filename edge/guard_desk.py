"""The guard's actions (guarded gates only): shifts, overrides, visitors, and the direction at "both" gates.

Every action that lets someone through is a new entry recorded (:class:`edge.entry_recorder.EntryRecorder`:
committed before the gate opens) with the id of the signed-in guard. An entry can be overridden once; a
second override of the same entry is refused (a double click on the screen must not open the gate twice or
log two entries); the same visitor registered again within :data:`VISITOR_REPEAT_S` is refused likewise.

A visitor let in goes into the gate's visitor book (:mod:`edge.visitor_book`); the guard's one tap on "left" records
the exit as an information entry linked to the visit (committed before the page answers; it reaches central like
every entry) and takes them off the "now inside" list.

The direction a guard chooses at a "both" gate is theirs (:class:`edge.direction.DirectionChoice`): it
lasts until they change it or their shift ends (sign-out, or a new sign-in); the gate then infers the
direction again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass

from edge import handover
from edge.decision import Decision, decide
from edge.delivery_book import DeliveryDesk
from edge.direction import DirectionChoice
from edge.entry_recorder import EntryFields, EntryRecorder
from edge.errors import EdgeError
from edge.events import Outcome, ShiftFault, ShiftSummary
from edge.fault_history import FaultHistory, fault_words
from edge.gate_profile import GateProfile, minute_of_day
from edge.health_code import HealthCodeDesk
from edge.lists_policy import ListsAndPolicy
from edge.pairing import Measurement, judge_temperature
from edge.shifts import ShiftBook
from edge.store import LocalStore
from edge.temperatures import FeverMemory
from edge.visitor_book import EXIT_EVENT, Visit, VisitorBook
from edge.visitor_fields import check_host
from gatepass.clock import Clock
from sync.locallog import LocalLog
from sync.reasons import OVERRIDE_REASONS

log = logging.getLogger(__name__)

#: Refusals whose override needs a second confirmation on the screen and reaches central first (priority).
CONFIRM_CODES = frozenset({"quarantined", "host_quarantined", "temp_high", "fever", "health_code_yellow",
                           "health_code_red", "health_code_missing"})
NOTE_MAX = 60  # characters of the guard's note on an override
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
    details: dict[str, object] = dataclasses.field(default_factory=dict)  # the form's optional answers

    @property
    def person(self) -> str:
        """The key their temperatures are remembered by."""
        return f"visitor:{self.phone}"


class GuardDesk:
    """Overrides, visitors, shifts and the guard's direction choice."""

    def __init__(self, profile: GateProfile, store: LocalStore, recorder: EntryRecorder, lists: ListsAndPolicy,
                 fevers: FeverMemory, choice: DirectionChoice, clock: Clock,
                 measure: Callable[[float], Measurement], health: HealthCodeDesk | None = None,
                 history: FaultHistory | None = None) -> None:
        self.profile = profile
        self.store = store
        self.recorder = recorder
        self.lists = lists
        self.fevers = fevers
        self.choice = choice
        self.clock = clock
        self.measure = measure  # waits for a reading when the guard typed none
        self.health = health or HealthCodeDesk()  # the scan held for the health code colour, if any
        self.history = history or FaultHistory()  # the faults of a shift, for its hand-over
        self._recent_visitors: dict[tuple[str, str], float] = {}  # (person, host) -> registered (monotonic)
        self._book: VisitorBook | None = None  # made on first use, on the open store's database
        #: what else an override of a refused entry lets in, by the entry's event (e.g. "vehicle": the vehicle desk
        #: puts it on the now-inside list); called with the refused entry's uuid and the time, under the store lock
        self.admit_hooks: dict[str, Callable[[str, float], None]] = {}
        self.deliveries = DeliveryDesk(store, recorder, lists, profile.settings.gate.id, self._require_guard)

    def _require_guard(self, guard_id: str) -> None:
        if self.profile.settings.gate.mode != "guarded":
            raise CheckpointError("this gate is unattended: no overrides or visitor registration")
        on_duty = self.store.shift_guard()
        if on_duty is None or on_duty != guard_id:
            raise CheckpointError(f"guard {guard_id} is not signed in", "sign in to a shift with the PIN first")
        if self.store.shifts is not None and not self.store.shifts.allowed(guard_id):
            raise CheckpointError(f"guard {guard_id} was disabled at central", "sign in with another guard")

    def require_guard(self, guard_id: str) -> None:
        """Refuses (:class:`CheckpointError`) unless the gate is guarded and ``guard_id`` is the guard signed in."""
        self._require_guard(guard_id)

    def visitor_direction(self) -> str:
        """The direction a visitor or vehicle registered now passes (see :meth:`_visitor_direction`)."""
        return self._visitor_direction()

    def health_code_colour(self, colour: str, guard_id: str) -> None:
        """The colour the guard saw on the city health code of the scan being held (:mod:`edge.health_code`)."""
        self._require_guard(guard_id)
        try:
            taken = self.health.answer(colour, guard_id)
        except ValueError as exc:
            raise CheckpointError(str(exc)) from None
        if not taken:
            raise CheckpointError("no scan is waiting for a health code colour")

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

    def override(self, ref_uuid: str, guard_id: str, reason: str, note: str = "",
                 confirmed: bool = False) -> Outcome:
        """Let a refused person through (guarded mode, signed-in guard); see :meth:`edge.events.CheckpointAPI.override`.

        An override of a quarantine, fever or health-code refusal is a priority entry: the sync sends it first
        and central raises a let-through alert naming the guard, the reason and the note.
        """
        self._require_guard(guard_id)
        note = _check_override(reason, note)
        with self.store.lock:  # held across check and commit: two clicks cannot both pass the check
            ref = self.store.entry(ref_uuid)
            if ref is None:
                raise CheckpointError("the entry to override does not exist")
            if ref.decision == "pass":
                raise CheckpointError("that entry was not refused")
            if self.store.overridden(ref_uuid):
                raise CheckpointError("that entry was already overridden")
            serious = ref.reason in CONFIRM_CODES or bool(ref.fever)
            if serious and not confirmed:
                raise CheckpointError("this refusal needs a second confirmation to override",
                                      "confirm again on the screen")
            fields = EntryFields(pass_id=ref.pass_id, household=ref.household, person=ref.person,
                                 pass_kind=ref.pass_kind, visitor_ref=ref.visitor_ref, temp_c=ref.temp_c,
                                 direction=ref.direction, event="override", override_reason=reason,
                                 ref_uuid=ref_uuid, temps=_json_list(ref.temps),
                                 extra={"note": note, "overrode": ref.reason} if note else {"overrode": ref.reason})
            decision = Decision("pass", "override", fever=ref.fever, priority=serious)
            now = self.lists.now()
            outcome = self.recorder.record(fields, decision, now, guard_id=guard_id)
            if ref.pass_kind == "visitor" and outcome.seq > 0:  # the refused visitor is inside now
                self._admit_visitor(ref_uuid, now.t)
            hook = self.admit_hooks.get(ref.event)
            if hook is not None and outcome.seq > 0:  # e.g. the refused vehicle is inside now
                hook(ref_uuid, now.t)
            return outcome

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None, details: dict[str, object] | None = None) -> Outcome:
        """Log a visitor without a pass (guarded mode); the temperature policy still decides. ``details``: the form's
        optional answers (``id_last4``, ``from_city``, ``outside_14d``), kept with the visit."""
        self._require_guard(guard_id)
        if not name.strip() or not phone.strip() or not host_household.strip():
            raise CheckpointError("name, phone and host household are required")
        self.lists.reload()  # the newest lists (as before every scan): a household central just added is known
        check_host(host_household.strip(), self.lists.current().lists)  # before anything is measured or logged
        if temperature_c is None:
            m = self.measure(self.clock.monotonic())
            temperature_c, temps = m.temp_c, list(m.temps)
        else:
            temps = [float(temperature_c)]
        visitor = Visitor(name.strip(), phone.strip(), host_household.strip(), reason.strip(), dict(details or {}))
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
        if self._host_quarantined(visitor.host_household, now.t):  # never bypassed: refused, sent to central first
            decision = Decision("refuse", "host_quarantined", fever=decision.fever, priority=True)
        ref = self.fevers.first_high(person) if decision.fever else None
        fields = EntryFields(event="visitor", household=visitor.host_household, pass_kind="visitor",
                             visitor_ref=uuidlib.uuid4().hex[:12], temp_c=temperature_c, temps=temps,
                             ref_uuid=ref.entry_uuid if ref else None, direction=self._visitor_direction(),
                             extra={**visitor.details, "name": visitor.name, "phone": visitor.phone,
                                    "host_household": visitor.host_household, "reason": visitor.reason})
        outcome = self.recorder.record(fields, decision, now, guard_id=guard_id)
        self.fevers.remember(person, status, outcome.seq, outcome.uuid, temperature_c)
        if outcome.seq > 0:  # a refused visit too: an override may admit it
            self._note_inside(Visit(outcome.uuid, fields.get("visitor_ref"), visitor.name, visitor.phone,
                                    visitor.host_household, visitor.reason, now.t, None,
                                    json.dumps(visitor.details, ensure_ascii=False) if visitor.details else None,
                                    admitted=outcome.decision == "pass"),
                              now.trusted)
        return outcome

    def _admit_visitor(self, visit_uuid: str, t: float) -> None:
        """Put a visitor let in by an override on the "now inside" list (the override is already logged)."""
        try:
            if not self.visitor_book().admit(visit_uuid, t):
                log.warning("visitor %s was let in by an override but is not in the visitor book", visit_uuid)
        except (sqlite3.Error, CheckpointError) as exc:
            log.error("visitor %s is let in but not on the now-inside list: %s", visit_uuid, exc)

    def _note_inside(self, visit: Visit, clock_trusted: bool) -> None:
        """Put a visitor let in on the "now inside" list (the entry is already logged: a failure here is logged)."""
        try:
            book = self.visitor_book()
            book.add(visit)
            if clock_trusted:
                book.purge(visit.in_ts)
        except (sqlite3.Error, CheckpointError) as exc:
            log.error("visitor %s is logged but not on the now-inside list: %s", visit.uuid, exc)

    def visitor_book(self) -> VisitorBook:
        """The gate's visitor book (the store must be open)."""
        db = self.store.db
        if db is None:
            raise CheckpointError("the checkpoint is not started")
        if self._book is None or self._book.db is not db:
            self._book = VisitorBook(db)
        return self._book

    def recent_visitor(self, guard_id: str, phone: str) -> dict[str, object] | None:
        """The latest visit of the visitor with ``phone`` in the gate's book (name, host household, reason and the
        optional answers), for registering them again; None when unknown."""
        self._require_guard(guard_id)
        with self.store.lock:
            typed = "".join(ch for ch in phone if ch.isascii() and (ch.isdigit() or ch == "+"))
            visit = self.visitor_book().latest(typed)
        if visit is None:
            return None
        return {k: v for k, v in visit.as_json(visit.in_ts).items() if k not in ("uuid", "minutes_in")}

    def visitors_inside(self) -> list[dict[str, object]]:
        """Visitors let in today-ish (:data:`edge.visitor_book.INSIDE_HOURS`) with no exit yet, longest in first."""
        now = self.lists.now()
        with self.store.lock:
            book = self.visitor_book()
            if now.trusted:  # the book keeps visits 28 days, by a trusted clock only (never by 1970 or 2038)
                book.purge(now.t)
            return [v.as_json(now.t) for v in book.inside(now.t)]

    def record_visitor_exit(self, guard_id: str, visit_uuid: str) -> dict[str, object]:
        """Record that the visitor of ``visit_uuid`` left (signed-in guard): an information entry ``visitor_exit``
        linked to the visit, committed to the local log before this returns; a second exit is refused."""
        self._require_guard(guard_id)
        with self.store.lock:  # held across check and commit: a double tap records one exit
            book = self.visitor_book()
            visit = book.get(visit_uuid)
            if visit is None:
                raise CheckpointError("no such visitor on the now-inside list")
            if visit.out_ts is not None or book.has_left(visit_uuid):
                raise CheckpointError("this visitor has already left")
            now = self.lists.now()
            fields = EntryFields(event=EXIT_EVENT, direction="out", household=visit.household, pass_kind="visitor",
                                 visitor_ref=visit.visitor_ref, ref_uuid=visit_uuid)
            seq = self.recorder.record_info(fields, EXIT_EVENT, now, guard_id)
            if seq is None:
                raise CheckpointError("the exit could not be saved", "the local log cannot be written: see the fault")
            book.left(visit_uuid, now.t)
        log.info("visitor %s left (entry %d)", visit.visitor_ref, seq)
        return {"seq": seq, "uuid": visit_uuid, "out_ts": now.t, "minutes_in": int((now.t - visit.in_ts) // 60)}

    def _host_quarantined(self, household: str, t: float) -> bool:
        """Whether the household a visitor comes to is under home quarantine now (the gate's lists)."""
        return self.lists.current().lists.household_quarantined(household, t)

    def _visitor_direction(self) -> str:
        """Visitors register on arrival: "in", unless the gate or the guard says "out"."""
        gate = self.profile.settings.gate.direction
        return gate if gate != "both" else (self.choice.current or "in")

    def start_shift(self, guard_id: str, pin: str) -> bool:
        """Sign a guard in with their PIN; False if the PIN is wrong. An open shift ends (and is handed over);
        the sign-in is logged too (a ``shift_start`` entry), so central knows who is on duty here since when."""
        shifts, locallog = self._books()
        with self.store.lock:
            open_shift = shifts.current()
            ok = shifts.start(guard_id, pin, locallog.last_seq())
            started = shifts.current() if ok else None
        if ok:  # any open shift was ended by this sign-in
            self.choice.drop(f"guard {guard_id} signed in")
            if open_shift is not None:
                self._hand_over(self._with_faults(shifts.summary(open_shift[0])))
            if started is not None:
                self._signed_in(guard_id, started[2])
        return ok

    def _signed_in(self, guard_id: str, started_at: float) -> None:
        """Log a sign-in as an ``info`` entry (after the previous guard's hand-over): it reaches central."""
        fields = EntryFields(event="shift_start", direction=self.profile.settings.gate.direction,
                             extra={"started_at": started_at})
        self.recorder.record_info(fields, "shift_start", self.lists.now(), guard_id)

    def end_shift(self, note: str = "") -> ShiftSummary | None:
        """Sign the current guard out and return the hand-over summary (also logged, for central), with the
        guard's hand-over ``note`` for the next guard (:func:`edge.handover.clean_note`; refused before anything
        changes). Raises when the hand-over entry could not be saved in the local log."""
        note = handover.clean_note(note)
        shifts, locallog = self._books()
        with self.store.lock:
            summary = self._with_faults(shifts.end(locallog.last_seq()))
        self.choice.drop("the shift ended")
        if not self._hand_over(summary, note):
            raise CheckpointError("the hand-over could not be saved", "tell the next guard in person; call support")
        return summary

    def _hand_over(self, summary: ShiftSummary | None, note: str = "") -> bool:
        """Log the hand-over summary (and note) as an ``info`` entry: it reaches central like every entry (exactly
        once). False when it could not be saved."""
        if summary is None:
            return True
        gate = self.profile.settings.gate
        extra = _summary_extra(summary) | ({"handover_note": note} if note else {})
        fields = EntryFields(event="shift_end", direction=gate.direction, extra=extra)
        return self.recorder.record_info(fields, "shift_end", self.lists.now(), summary.guard_id) is not None

    def last_hand_over(self) -> handover.HandOverNote | None:
        """The latest hand-over logged at this gate, with its note (for the guard who signs in next)."""
        _, locallog = self._books()
        with self.store.lock:
            return handover.last_hand_over(locallog.db)

    def shift_summary(self) -> ShiftSummary | None:
        """The running summary of the current shift."""
        shifts, _ = self._books()
        with self.store.lock:
            return self._with_faults(shifts.summary())

    def _with_faults(self, summary: ShiftSummary | None) -> ShiftSummary | None:
        """The summary with the faults that were on during its shift."""
        if summary is None:
            return None
        spans = self.history.between(summary.started_ts, summary.ended_ts)
        return dataclasses.replace(summary, faults=tuple(
            ShiftFault(s.code, fault_words(s.code, "zh"), fault_words(s.code, "en"), s.since, s.until) for s in spans))

    def _books(self) -> tuple[ShiftBook, LocalLog]:
        if self.store.shifts is None or self.store.locallog is None:
            raise CheckpointError("the checkpoint is not started")
        return self.store.shifts, self.store.locallog


def _summary_extra(s: ShiftSummary) -> dict[str, object]:
    """The hand-over as central receives it (the ``shift_end`` entry's extra)."""
    return {"started_at": s.started_ts, "ended_at": s.ended_ts, "entries": s.entries, "passed": s.passed,
            "refusals": dict(s.refusals_by_reason), "high_readings": s.high_readings, "fever_events": s.fevers,
            "overrides": [{"reason": n.reason, "note": n.note, "at": n.at} for n in s.override_notes],
            "visitors": s.visitors,
            "faults": [{"code": f.code, "since": f.since, "until": f.until} for f in s.faults]}


def _check_override(reason: str, note: str) -> str:
    """The override's note, stripped; raises unless the reason is known and ``other`` has a note."""
    if reason not in OVERRIDE_REASONS:
        raise CheckpointError(f"override reason must be one of {', '.join(OVERRIDE_REASONS)}")
    note = " ".join(note.split())
    if reason == "other" and not note:
        raise CheckpointError("the reason 'other' needs a short note", "write what happened in a few words")
    if len(note) > NOTE_MAX:
        raise CheckpointError(f"the note is longer than {NOTE_MAX} characters")
    return note


def _json_list(text: str | None) -> list[float]:
    try:
        value = json.loads(text) if text else []
        return [float(v) for v in value] if isinstance(value, list) else []
    except (ValueError, TypeError):
        return []
