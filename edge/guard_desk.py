"""The guard's actions (guarded gates only): shifts, overrides, visitors, and the direction at "both" gates.

Every action that lets someone through is a new entry committed before the gate opens, with the id of the
signed-in guard. An entry can be overridden once; a second override of the same entry is refused (a
double click on the screen must not open the gate twice or log two entries).

The direction a guard chooses at a "both" gate is theirs: it lasts until they change it or their shift
ends (sign-out, or a new sign-in); the gate then infers the direction again. Every change is
published as a :class:`~edge.events.Notice` ``"direction"`` so every open guard page follows.
"""

from __future__ import annotations

import json
import logging
import time
import uuid as uuidlib
from typing import Any

from edge.checkpoint_base import CheckpointBase, CheckpointError, minute_of_day
from edge.decision import Decision, decide
from edge.events import Notice, Outcome, ShiftSummary
from edge.pairing import judge_temperature

log = logging.getLogger(__name__)

OVERRIDE_REASONS = ("emergency", "medical", "staff")
#: The same visitor (phone, host household) registered again within this many seconds is a repeated click
#: (a re-measure after a high reading takes longer than that).
VISITOR_REPEAT_S = 3.0


class GuardDesk(CheckpointBase):
    """Overrides, visitors, shifts and the guard's direction choice."""

    def _require_guard(self, guard_id: str) -> None:
        if self.settings.gate.mode != "guarded":
            raise CheckpointError("this gate is unattended: no overrides or visitor registration")
        on_duty = self._shift_guard()
        if on_duty is None or on_duty != guard_id:
            raise CheckpointError(f"guard {guard_id} is not signed in", "sign in to a shift with the PIN first")

    def set_direction(self, direction: str | None, guard_id: str) -> None:
        """At a "both" gate, the direction people pass now ("in", "out"; None: infer it again).

        Guarded gates only, by the signed-in guard, until changed or the shift ends; see :mod:`edge.direction`
        for the rule.
        """
        self._require_guard(guard_id)
        if self.settings.gate.direction != "both":
            raise CheckpointError(f"this gate is '{self.settings.gate.direction}' only")
        if direction not in ("in", "out", None):
            raise CheckpointError("direction must be 'in', 'out' or none")
        self._direction_choice = direction
        log.info("guard %s set the direction to %s", guard_id, direction or "automatic")
        self._notices.publish(Notice("direction", time.monotonic(), chosen_direction=direction, guard_id=guard_id))

    def _drop_direction_choice(self, why: str) -> None:
        """Back to the inferred direction (the choosing guard's shift is over)."""
        if self._direction_choice is None:
            return
        log.info("direction choice %s dropped: %s", self._direction_choice, why)
        self._direction_choice = None
        self._notices.publish(Notice("direction", time.monotonic()))

    def _entry(self, entry_uuid: str) -> dict[str, Any] | None:
        with self._db_lock:
            cur = self.db.execute("SELECT * FROM entries WHERE uuid = ?", [entry_uuid])
            values = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], values, strict=True)) if values else None

    def _overridden(self, entry_uuid: str) -> bool:
        with self._db_lock:
            return self.db.execute("SELECT 1 FROM entries WHERE event = 'override' AND ref_uuid = ? LIMIT 1",
                                   [entry_uuid]).fetchone() is not None

    def override(self, ref_uuid: str, guard_id: str, reason: str) -> Outcome:
        """Let a refused person through (guarded mode, signed-in guard, reason emergency/medical/staff)."""
        self._require_guard(guard_id)
        if reason not in OVERRIDE_REASONS:
            raise CheckpointError(f"override reason must be one of {', '.join(OVERRIDE_REASONS)}")
        with self._db_lock:  # held across check and commit: two clicks cannot both pass the check
            ref = self._entry(ref_uuid)
            if ref is None:
                raise CheckpointError("the entry to override does not exist")
            if ref["decision"] == "pass":
                raise CheckpointError("that entry was not refused")
            if self._overridden(ref_uuid):
                raise CheckpointError("that entry was already overridden")
            fields = {k: ref[k] for k in ("pass_id", "household", "person", "pass_kind", "visitor_ref", "temp_c",
                                          "direction")}
            fields.update(event="override", override_reason=reason, ref_uuid=ref_uuid,
                          temps=_json_list(ref["temps"]))
            decision = Decision("pass", "override", fever=bool(ref["fever"]), priority=bool(ref["fever"]))
            return self._commit_and_act(fields, decision, self._now(), guard_id=guard_id)

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None) -> Outcome:
        """Log a visitor without a pass (guarded mode); the temperature policy still decides."""
        self._require_guard(guard_id)
        if not name.strip() or not phone.strip() or not host_household.strip():
            raise CheckpointError("name, phone and host household are required")
        if temperature_c is None:
            m = self._measure(time.monotonic())
            temperature_c, temps = m.temp_c, list(m.temps)
        else:
            temps = [float(temperature_c)]
        person = f"visitor:{phone.strip()}"
        with self._db_lock:  # held across the check and the commit: a double click logs one entry
            self._refuse_repeated_visitor(person, host_household.strip())
            outcome = self._register(guard_id, person, (name, phone, host_household, reason), temperature_c, temps)
            if outcome.seq > 0:
                self._recent_visitors[(person, host_household.strip())] = time.monotonic()
        return outcome

    def _refuse_repeated_visitor(self, person: str, host: str) -> None:
        cutoff = time.monotonic() - VISITOR_REPEAT_S
        for key in [k for k, t in self._recent_visitors.items() if t < cutoff]:
            del self._recent_visitors[key]
        if (person, host) in self._recent_visitors:
            raise CheckpointError("this visitor was registered a moment ago", "wait a few seconds to register again")

    def _register(self, guard_id: str, person: str, details: tuple[str, str, str, str], temperature_c: float | None,
                  temps: list[float]) -> Outcome:
        name, phone, host_household, reason = (d.strip() for d in details)
        status = judge_temperature(temperature_c, self._policy["fever_c"], self._had_high(person))
        now = self._now()
        decision = decide(True, "ok", "visitor", status, self.rules(), minute_of_day(now.t))
        if decision.code == "temp_ok":
            decision = Decision("pass", "visitor_ok")
        ref = self._high.get(person) if decision.fever else None
        fields = dict(event="visitor", household=host_household, pass_kind="visitor",
                      visitor_ref=uuidlib.uuid4().hex[:12], temp_c=temperature_c, temps=temps,
                      ref_uuid=ref[1] if ref else None, direction=self._visitor_direction(),
                      extra={"name": name, "phone": phone, "host_household": host_household, "reason": reason})
        outcome = self._commit_and_act(fields, decision, now, guard_id=guard_id)
        self._remember_temperature(person, status, outcome, temperature_c)
        return outcome

    def _visitor_direction(self) -> str:
        """Visitors register on arrival: "in", unless the gate or the guard says "out"."""
        gate = self.settings.gate.direction
        return gate if gate != "both" else (self._direction_choice or "in")

    def start_shift(self, guard_id: str, pin: str) -> bool:
        """Sign a guard in with their PIN; False if the PIN is wrong."""
        with self._db_lock:
            ok = self.shifts.start(guard_id, pin, self.locallog.last_seq())  # type: ignore[union-attr]
        if ok:  # any open shift was ended by this sign-in
            self._drop_direction_choice(f"guard {guard_id} signed in")
        return ok

    def end_shift(self) -> ShiftSummary | None:
        """Sign the current guard out and return the hand-over summary."""
        with self._db_lock:
            summary = self.shifts.end(self.locallog.last_seq())  # type: ignore[union-attr]
        self._drop_direction_choice("the shift ended")
        return summary

    def shift_summary(self) -> ShiftSummary | None:
        """The running summary of the current shift."""
        with self._db_lock:
            return self.shifts.summary()  # type: ignore[union-attr]


def _json_list(text: str | None) -> list[float]:
    try:
        value = json.loads(text) if text else []
        return [float(v) for v in value] if isinstance(value, list) else []
    except (ValueError, TypeError):
        return []
