"""An in-memory :class:`edge.events.CheckpointAPI` for the guard page tests."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import Any

import cv2
import numpy as np

from edge.events import Fanout, Notice, Outcome, ShiftSummary
from edge.guard_desk import CONFIRM_CODES
from edge.handover import HandOverNote


def make_outcome(seq: int, decision: str = "pass", code: str = "ok", **kw: Any) -> Outcome:
    """An outcome decided now (``t_decided`` = ``time.monotonic()``)."""
    fields: dict[str, Any] = dict(seq=seq, uuid=str(uuid.uuid4()), event="scan", decision=decision, code=code,
                                  message_zh="通行证有效", message_en="Pass valid", wall_ts=time.time(),
                                  clock_trusted=True, t_decided=time.monotonic(), temperature_c=36.5,
                                  pass_kind="resident", household="3-2-101", valid_to=time.time() + 86400 * 30)
    fields.update(kw)
    return Outcome(**fields)


class FakeCheckpoint:
    """Records every call; outcomes are published with :meth:`publish`."""

    def __init__(self, pins: dict[str, str] | None = None, mode: str = "guarded", direction: str = "both") -> None:
        self.pins = pins or {"1001": "2468"}
        self.mode = mode
        self.direction = direction
        self.chosen_direction: str | None = None
        self.notices: Fanout[Notice] = Fanout()
        self.calls: list[tuple] = []
        self.subscribers: list[queue.Queue[Outcome]] = []
        self.lock = threading.Lock()
        self.last: Outcome | None = None
        self.published: dict[str, Outcome] = {}
        self.shift: dict[str, Any] | None = None
        self.devices: dict[str, dict[str, str]] = {
            "thermometer": {"status": "ok", "text": "测温仪正常"}, "camera": {"status": "ok", "text": "摄像头正常"}}
        self.faults: list[str] = []
        self.sync = {"last_ok_ts": time.time() - 90, "backlog": 3, "text": "已同步"}
        self.lists = {"version": 12, "age_s": 300.0, "stale": False}
        self.clock_trusted = True
        self.jpeg: bytes | None = self._frame()
        self.seq = 100
        self.counts = {"entries": 0, "passed": 0, "refused": 0, "fevers": 0, "overrides": 0, "visitors": 0}
        self.summary_extra: dict[str, Any] = {}  # more ShiftSummary fields (high_readings, override_notes ...)
        self.quarantined: set[str] = set()  # households under home quarantine (visitors to them are refused)
        self.health_policy = "off"
        self.health_waiting = False

    @staticmethod
    def _frame() -> bytes:
        img = np.full((480, 640, 3), 90, np.uint8)
        cv2.rectangle(img, (170, 90), (470, 390), (0, 220, 255), 4)
        ok, buf = cv2.imencode(".jpg", img)
        assert ok
        return buf.tobytes()

    # -- test helpers -----------------------------------------------------------------------
    def publish(self, outcome: Outcome) -> Outcome:
        """Deliver ``outcome`` to every subscriber (as the core does after committing it)."""
        with self.lock:
            self.last = outcome
            self.published[outcome.uuid] = outcome
            subs = list(self.subscribers)
        for q in subs:
            q.put_nowait(outcome)
        return outcome

    def notice_rescan(self, entry: Outcome) -> Notice:
        """Deliver a re-scan notice for ``entry`` (as the core does when a pass is shown again)."""
        notice = Notice("rescan", time.monotonic(), entry=entry)
        self.notices.publish(notice)
        return notice

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- CheckpointAPI ----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {"devices": self.devices, "sync": self.sync, "lists": self.lists, "clock_trusted": self.clock_trusted,
                "gate": {"id": "gate-1", "name": "东门", "mode": self.mode, "direction": self.direction,
                         "chosen_direction": self.chosen_direction},
                "shift": self.shift, "faults": list(self.faults),
                "health_code": {"policy": self.health_policy, "waiting": self.health_waiting}}

    def subscribe(self) -> queue.Queue[Outcome]:
        q: queue.Queue[Outcome] = queue.Queue(maxsize=64)
        with self.lock:
            self.subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[Outcome]) -> None:
        with self.lock:
            if q in self.subscribers:
                self.subscribers.remove(q)

    def last_outcome(self) -> Outcome | None:
        return self.last

    def subscribe_notices(self) -> queue.Queue[Notice]:
        return self.notices.subscribe()

    def unsubscribe_notices(self, q: queue.Queue[Notice]) -> None:
        self.notices.unsubscribe(q)

    def set_direction(self, direction: str | None, guard_id: str) -> None:
        self.calls.append(("set_direction", direction, guard_id))
        if self.shift is None or self.shift["guard_id"] != guard_id:  # as the core
            raise LookupError(f"guard {guard_id} is not signed in")
        self.chosen_direction = direction
        self.notices.publish(Notice("direction", time.monotonic(), chosen_direction=direction, guard_id=guard_id))

    def preview_jpeg(self) -> bytes | None:
        return self.jpeg

    def hold_for_health_code(self, **fields: Any) -> Outcome:
        """Publish a scan held for the guard's colour tap (as the core at a gate with a health-code policy)."""
        self.health_waiting = True
        return self.publish(make_outcome(0, "guard", "health_code_check", uuid="",
                                         message_zh="请出示城市健康码，保安核验颜色",
                                         message_en="Show the city health code: the guard checks its colour",
                                         valid_to=None, **fields))

    def report_fault(self, code: str, on: bool, detail: str = "") -> None:
        self.calls.append(("report_fault", code, on, detail))

    def health_code_colour(self, colour: str, guard_id: str) -> None:
        self.calls.append(("health_code", colour, guard_id))
        if self.shift is None or self.shift["guard_id"] != guard_id:
            raise LookupError(f"guard {guard_id} is not signed in")
        if not self.health_waiting:  # as the core (edge.guard_desk.CheckpointError)
            raise LookupError("no scan is waiting for a health code colour")
        self.health_waiting = False
        if colour == "green":
            self.publish(make_outcome(self.next_seq(), "pass", "pass_ok", temperature_c=None))
        else:
            self.publish(make_outcome(self.next_seq(), "refuse", f"health_code_{colour}", temperature_c=None,
                                      message_zh=f"健康码{'黄' if colour == 'yellow' else '红'}码，禁止通行",
                                      message_en=f"Health code {colour}: no entry"))

    def override(self, ref_uuid: str, guard_id: str, reason: str, note: str = "",
                 confirmed: bool = False) -> Outcome:
        self.calls.append(("override", ref_uuid, guard_id, reason, note, confirmed))
        ref = self.published.get(ref_uuid)
        if ref is None or ref.decision == "pass":  # as the core: only an existing refusal can be overridden
            raise LookupError(f"no refused entry {ref_uuid}")
        if (ref.code in CONFIRM_CODES or ref.fever) and not confirmed:  # as the core (edge.guard_desk)
            raise LookupError("this refusal needs a second confirmation to override")
        self.counts["overrides"] += 1
        return self.publish(make_outcome(self.next_seq(), "pass", "override", event="override", guard_id=guard_id,
                                         message_zh="保安放行（紧急情况）", message_en="Let through (emergency)",
                                         temperature_c=ref.temperature_c, household=ref.household))

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None, details: dict | None = None) -> Outcome:
        self.calls.append(("visitor", guard_id, name, phone, host_household, reason, temperature_c)
                          + ((details,) if details else ()))
        self.counts["visitors"] += 1
        if host_household in self.quarantined:  # as the core: refused, the household named
            return self.publish(make_outcome(self.next_seq(), "refuse", "host_quarantined", event="visitor",
                                             guard_id=guard_id, message_zh="被访住户正在居家隔离，访客不得进入",
                                             message_en="The household visited is under home quarantine: no visitors",
                                             temperature_c=temperature_c, pass_kind="visitor",
                                             household=host_household, valid_to=None))
        return self.publish(make_outcome(self.next_seq(), "pass", "visitor", event="visitor", guard_id=guard_id,
                                         message_zh=f"访客 {name} 拜访 {host_household}",
                                         message_en=f"Visitor {name} for {host_household}",
                                         temperature_c=temperature_c, pass_kind="visitor", valid_to=None))

    def visitors_inside(self) -> list[dict]:
        return []

    def record_visitor_exit(self, guard_id: str, visit_uuid: str) -> dict:
        raise LookupError("no such visitor on the now-inside list")

    def recent_visitor(self, guard_id: str, phone: str) -> dict | None:
        return None

    def vehicle_lane(self) -> list[str]:
        return []  # no vehicle lane: the page hides its vehicle button

    def register_vehicle(self, guard_id: str, form) -> Outcome:
        raise LookupError("this gate is not a vehicle lane")

    def vehicles_inside(self) -> list[dict]:
        return []

    def record_vehicle_exit(self, guard_id: str, vehicle_uuid: str) -> dict:
        raise LookupError("no such vehicle on the now-inside list")

    def start_shift(self, guard_id: str, pin: str) -> bool:
        self.calls.append(("start_shift", guard_id))
        if self.pins.get(guard_id) != pin:
            return False
        self.shift = {"guard_id": guard_id, "since": time.time()}
        return True

    def end_shift(self, note: str = "") -> ShiftSummary | None:
        self.calls.append(("end_shift",))
        self.handover = None if self.shift is None else HandOverNote(self.shift["guard_id"], time.time(), note, 1)
        summary = self.shift_summary()
        self.shift = None
        if self.chosen_direction is not None:  # as the core: the choice ends with the shift
            self.chosen_direction = None
            self.notices.publish(Notice("direction", time.monotonic()))
        if summary is not None:
            summary = ShiftSummary(**{**summary.__dict__, "ended_ts": time.time()})
        return summary

    def last_hand_over(self) -> HandOverNote | None:
        return getattr(self, "handover", None)

    def shift_summary(self) -> ShiftSummary | None:
        if self.shift is None:
            return None
        return ShiftSummary(guard_id=self.shift["guard_id"], started_ts=self.shift["since"], ended_ts=None,
                            **self.counts, **self.summary_extra)
