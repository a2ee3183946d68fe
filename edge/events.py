"""What the checkpoint core tells the guard screen, and what the screen may ask of it.

The core (:mod:`edge.checkpoint`) implements :class:`CheckpointAPI`; the guard
page (:mod:`edge.webapp`) only talks to it through this interface, so either
side can be tested alone.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from edge.delivery_book import Parcel
    from edge.handover import HandOverNote
    from edge.vehicle_fields import VehicleForm

Decision = Literal["pass", "refuse", "guard"]  # green, red, amber (the guard decides)
NoticeKind = Literal["rescan", "direction"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Messages:
    """The reason in words for the person at the gate: zh-CN and English, and the precise reason when there is
    one (``detail``: e.g. the revocation's reason as staff entered it, "挂失")."""

    zh: str
    en: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Holder:
    """What the pass says of its holder: kind, household, valid until (unix seconds); None: unknown."""

    pass_kind: str | None = None
    household: str | None = None
    valid_to: float | None = None


@dataclass(frozen=True, init=False)
class Outcome:
    """One decision as shown to the person at the gate (already committed to the log).

    Built from flat fields (as the guard page receives them, see :meth:`as_json`); the messages and the
    holder are kept as :class:`Messages` and :class:`Holder` and read through properties.
    """

    seq: int                     # local log sequence number
    uuid: str                    # local log entry uuid (overrides refer to it)
    event: str                   # scan | visitor | override | manual
    decision: Decision
    code: str                    # machine-readable reason code
    messages: Messages
    wall_ts: float               # unix seconds (see clock_trusted)
    clock_trusted: bool
    t_decided: float             # monotonic seconds when the decision was made
    temperature_c: float | None
    fever: bool
    remeasure: bool              # ask the person to measure again
    holder: Holder
    guard_id: str | None

    def __init__(self, seq: int, uuid: str, event: str, decision: Decision, code: str, message_zh: str,
                 message_en: str, wall_ts: float, clock_trusted: bool, t_decided: float,
                 temperature_c: float | None = None, fever: bool = False, remeasure: bool = False,
                 pass_kind: str | None = None, household: str | None = None, valid_to: float | None = None,
                 guard_id: str | None = None, detail: str = "") -> None:
        values = dict(seq=seq, uuid=uuid, event=event, decision=decision, code=code,
                      messages=Messages(message_zh, message_en, detail), wall_ts=wall_ts, clock_trusted=clock_trusted,
                      t_decided=t_decided, temperature_c=temperature_c, fever=fever, remeasure=remeasure,
                      holder=Holder(pass_kind, household, valid_to), guard_id=guard_id)
        for name, value in values.items():  # frozen: set once, here
            object.__setattr__(self, name, value)

    @property
    def message_zh(self) -> str:
        """The reason in zh-CN."""
        return self.messages.zh

    @property
    def message_en(self) -> str:
        """The reason in English."""
        return self.messages.en

    @property
    def pass_kind(self) -> str | None:
        """resident, staff, visitor, ... (None: unknown)."""
        return self.holder.pass_kind

    @property
    def household(self) -> str | None:
        """The holder's household (None: unknown)."""
        return self.holder.household

    @property
    def valid_to(self) -> float | None:
        """When the pass expires (unix seconds; None: unknown)."""
        return self.holder.valid_to

    def as_json(self) -> dict[str, object]:
        """The flat JSON-able dict the guard page receives (these keys, in this order)."""
        return {"seq": self.seq, "uuid": self.uuid, "event": self.event, "decision": self.decision,
                "code": self.code, "message_zh": self.message_zh, "message_en": self.message_en,
                "wall_ts": self.wall_ts, "clock_trusted": self.clock_trusted, "t_decided": self.t_decided,
                "temperature_c": self.temperature_c, "fever": self.fever, "remeasure": self.remeasure,
                "pass_kind": self.pass_kind, "household": self.household, "valid_to": self.valid_to,
                "guard_id": self.guard_id, "detail": self.messages.detail}

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict for the guard page (:meth:`as_json`)."""
        return self.as_json()


@dataclass(frozen=True)
class Notice:
    """Something the guard page shows that is *not* a new decision: nothing was logged, the gate did not move.

    ``kind``: ``"rescan"``: the same pass was shown again within the cooldown; ``entry`` is the outcome
    already recorded for it. ``"direction"``: the direction chosen at a "both" gate changed
    (``chosen_direction``: "in", "out" or None for automatic; ``guard_id``: who, None when a shift ended).
    """

    kind: NoticeKind
    t_noticed: float                # time.monotonic() when it happened
    entry: Outcome | None = None
    chosen_direction: str | None = None
    guard_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict for the guard page."""
        return {"kind": self.kind, "entry": self.entry.to_json() if self.entry is not None else None,
                "chosen_direction": self.chosen_direction, "guard_id": self.guard_id}


class Fanout(Generic[T]):
    """Delivers each published item to every subscriber's bounded queue (the oldest item dropped when full)."""

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._queues: list[queue.Queue[T]] = []
        self._lock = threading.Lock()

    def subscribe(self) -> queue.Queue[T]:
        """A new bounded queue receiving every item published from now on."""
        q: queue.Queue[T] = queue.Queue(maxsize=self.maxsize)
        with self._lock:
            self._queues.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[T]) -> None:
        """Stop delivering to ``q`` (unknown queues are ignored)."""
        with self._lock:
            if q in self._queues:
                self._queues.remove(q)

    def publish(self, item: T) -> None:
        """Put ``item`` on every subscriber's queue, dropping that queue's oldest item when it is full."""
        with self._lock:
            queues = list(self._queues)
        for q in queues:
            while True:
                try:
                    q.put_nowait(item)
                    break
                except queue.Full:
                    try:
                        q.get_nowait()
                    except queue.Empty:
                        pass

    def __len__(self) -> int:
        with self._lock:
            return len(self._queues)


@dataclass(frozen=True)
class ShiftNote:
    """One override of the shift, for the hand-over: the reason code, the guard's note, when (unix s)."""

    reason: str
    note: str
    at: float


@dataclass(frozen=True)
class ShiftFault:
    """A device or log fault during the shift: its code, words for the guard, since/until (unix s; until None:
    still on)."""

    code: str
    text_zh: str
    text_en: str
    since: float
    until: float | None


@dataclass(frozen=True)
class ShiftSummary:
    """What the hand-over between guards tells: counts, refusals by reason, high readings, fever events, the
    overrides with their reasons, visitors, and the faults of the shift."""

    guard_id: str
    started_ts: float
    ended_ts: float | None
    entries: int
    passed: int
    refused: int
    fevers: int                  # fever events (a second high reading)
    overrides: int
    visitors: int
    high_readings: int = 0       # first high readings (请复测), fever events not included
    refusals_by_reason: tuple[tuple[str, int], ...] = ()   # (reason code, count), most first
    override_notes: tuple[ShiftNote, ...] = ()
    faults: tuple[ShiftFault, ...] = ()


class CheckpointAPI(Protocol):
    """The operations the guard page uses."""

    def status(self) -> dict[str, Any]:
        """JSON-able state: ``devices`` {name: {"status", "text"}}, ``sync`` {"last_ok_ts", "backlog", "text"},
        ``lists`` {"version", "age_s", "stale"}, ``clock_trusted``,
        ``gate`` {id, name, mode, direction, chosen_direction} (chosen_direction: the guard's choice at a
        "both" gate, "in"/"out", None: automatic),
        ``shift`` {guard_id, since} or None, ``faults`` [plain-words zh-CN strings],
        ``health_code`` {"policy": "off" | "record" | "require", "waiting": bool (a scan waits for the colour)}."""

    def subscribe(self) -> queue.Queue[Outcome]:
        """A bounded queue receiving every new :class:`Outcome` (oldest dropped when full)."""

    def unsubscribe(self, q: queue.Queue[Outcome]) -> None:
        """Stop delivering to ``q``."""

    def last_outcome(self) -> Outcome | None:
        """The newest outcome, if any."""

    def subscribe_notices(self) -> queue.Queue[Notice]:
        """A bounded queue receiving every new :class:`Notice` (re-scans, direction changes); not decisions."""

    def unsubscribe_notices(self, q: queue.Queue[Notice]) -> None:
        """Stop delivering notices to ``q``."""

    def preview_jpeg(self) -> bytes | None:
        """The newest camera frame as JPEG with the scan window drawn, or None without a camera."""

    def override(self, ref_uuid: str, guard_id: str, reason: str, note: str = "", confirmed: bool = False) -> Outcome:
        """Let a refused person through (guarded mode only); logged as a new entry, sent to central first.

        ``reason``: one of ``sync.reasons.OVERRIDE_REASONS`` (emergency, medical, staff, other); ``other`` needs a
        short ``note`` (any reason may have one). Refusals for quarantine, fever or the health code
        (``edge.guard_desk.CONFIRM_CODES``) need ``confirmed=True``: the page asks a second time first."""

    def report_fault(self, code: str, on: bool, detail: str = "") -> None:
        """A fault of a part outside the checkpoint (``voice``: the page's voice prompts fail): raised or cleared on
        its fault board, so the hand-over and central see it (the page shows it in its own words)."""

    def health_code_colour(self, colour: str, guard_id: str) -> None:
        """The city health code colour the guard saw ("green", "yellow", "red") for the scan being held (an
        :class:`Outcome` with ``decision="guard"``, ``code="health_code_check"``, ``seq=0``); yellow and red refuse.
        The decision follows as a new outcome."""

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None, details: dict[str, Any] | None = None) -> Outcome:
        """Log a visitor without a pass; the decision still follows the temperature policy. ``details``: the form's
        optional answers (ID card's last 4, city, outside the city in the last 14 days)."""

    def recent_visitor(self, guard_id: str, phone: str) -> dict[str, Any] | None:
        """The latest visit at this gate of the visitor with ``phone`` (to register them again), or None."""

    def visitors_inside(self) -> list[dict[str, Any]]:
        """Visitors let in who have not left (:class:`edge.visitor_book.Visit` as JSON), longest inside first."""

    def record_visitor_exit(self, guard_id: str, visit_uuid: str) -> dict[str, Any]:
        """Record that the visitor of ``visit_uuid`` left (committed to the log before it returns)."""

    def vehicle_lane(self) -> list[str]:
        """The purposes vehicles may enter for at this gate (``edge.vehicle_fields.PURPOSES`` keys; empty: this
        gate is no vehicle lane)."""

    def register_vehicle(self, guard_id: str, form: VehicleForm) -> Outcome:
        """Log a vehicle (plate, driver, purpose) at a vehicle lane; a purpose the lane does not allow is refused
        (and logged), with the reason in ``detail``. Committed to the local log before it returns."""

    def vehicles_inside(self) -> list[dict[str, Any]]:
        """Vehicles let in that have not left (:class:`edge.vehicle_book.VehicleVisit` as JSON), longest in first."""

    def record_vehicle_exit(self, guard_id: str, vehicle_uuid: str) -> dict[str, Any]:
        """Record that the vehicle of entry ``vehicle_uuid`` left (committed to the log before it returns)."""
    def record_delivery(self, guard_id: str, parcel: Parcel) -> dict[str, Any]:
        """Record a delivery left for a household (drop-off mode): ``{seq, uuid, quarantined}``, committed to the log
        before it returns; an unknown household raises :class:`edge.visitor_fields.FieldError`."""

    def deliveries_waiting(self) -> dict[str, Any]:
        """``{"drop_off": bool, "waiting": [...]}``: :class:`edge.delivery_book.Delivery` as JSON, quarantined
        households first, then the longest waiting."""

    def record_pickup(self, guard_id: str, delivery_uuid: str, kind: str, name: str = "") -> dict[str, Any]:
        """Record the pickup of a delivery: ``kind`` "pass", "name" (with ``name``) or "staff" (carried up)."""

    def start_shift(self, guard_id: str, pin: str) -> bool:
        """Sign a guard in with their PIN; False if the PIN is wrong."""

    def end_shift(self, note: str = "") -> ShiftSummary | None:
        """Sign the current guard out with a hand-over note; the hand-over summary."""

    def last_hand_over(self) -> HandOverNote | None:
        """The latest hand-over at this gate, with its note (for the guard who signs in next)."""

    def shift_summary(self) -> ShiftSummary | None:
        """The running summary of the current shift."""

    def set_direction(self, direction: str | None, guard_id: str) -> None:
        """At a "both" gate, the direction people pass now ("in", "out"; None: automatic), by the signed-in
        guard; it lasts until changed or until the shift ends."""
