"""Drop-off mode: parcels left at the gate for a household, what is waiting, and their pickup.

At a gate where couriers may not enter (central's policy ``courier_drop_off``: ``true`` for every gate, ``false``
for none, or a list of gate ids; absent: every gate, as under epidemic control couriers stay outside), the guard
records a delivery left for a household: company, count, the courier's phone (optional) and a note (optional). It
is a ``delivery`` information entry in the local log (committed before the page answers; it reaches central like
every entry) and a row of this book (migration set ``edge-deliveries``), which the log cannot be: the log erases
``extra`` once central holds it. A delivery to a household under home quarantine (the gate's lists) is flagged: the
page shows "需工作人员送上门" and central lists it for staff to carry up.

The pickup is a ``delivery_pickup`` information entry whose ``ref_uuid`` is the delivery's uuid: by the resident
whose pass was scanned at this gate within :data:`PICKUP_SCAN_S` (its pass and person), by a name typed, or
carried up by staff. A second pickup of the same delivery is refused.

The household must be one the gate knows: one of the households its lists carry when central sends them (list
format 4), else named in its lists or seen on a resident's pass at this gate (:meth:`DeliveryBook.household_known`).
Rows go :data:`KEEP_DAYS` after the drop-off.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlite_utils
from sqlite_utils.migrations import Migrations

from edge.entry_recorder import EntryFields, EntryRecorder
from edge.errors import EdgeError
from edge.lists_policy import ListsAndPolicy
from edge.store import LocalStore
from edge.visitor_fields import FieldError
from gatepass.sqlitedb import transaction

log = logging.getLogger(__name__)

migrations = Migrations("edge-deliveries")
EVENT = "delivery"
PICKUP_EVENT = "delivery_pickup"
POLICY_KEY = "courier_drop_off"
KEEP_DAYS = 28.0  # the courier phones' retention at central (central.retention visitor_days), on the gate too
WAITING_DAYS = 7.0  # a delivery older than this without a pickup is no longer listed as waiting (still logged)
PICKUP_SCAN_S = 300.0  # a resident's pass scanned this long before the pickup tap counts as who picked it up
PICKUP_KINDS = ("pass", "name", "staff")
#: The same parcel (household, company, count, phone, note) recorded again within this many seconds is a repeated
#: tap, refused (two parcels alike come minutes apart).
REPEAT_S = 3.0


@migrations()
def m001_delivery_book(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE delivery_book (
        uuid TEXT PRIMARY KEY,         -- the delivery's entry in the local log
        household TEXT NOT NULL,
        company TEXT NOT NULL,
        count INTEGER NOT NULL,
        courier_phone TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        quarantined INTEGER NOT NULL DEFAULT 0,  -- the household was under home quarantine: staff carry it up
        in_ts REAL NOT NULL,           -- unix seconds (the entry's wall_ts)
        pickup_ts REAL,
        pickup_kind TEXT,              -- pass | name | staff
        pickup_by TEXT                 -- the name typed, or the pass holder's household/person
        )""")
    db.execute("CREATE INDEX delivery_book_waiting ON delivery_book (in_ts) WHERE pickup_ts IS NULL")


class DeliveryError(EdgeError):
    """A delivery or pickup is not allowed (not drop-off mode here, unknown delivery, already picked up...)."""


@dataclass(frozen=True)
class Delivery:
    """A delivery in the book."""

    uuid: str
    household: str
    company: str
    count: int
    courier_phone: str
    note: str
    quarantined: bool
    in_ts: float
    pickup_ts: float | None = None
    pickup_kind: str | None = None
    pickup_by: str | None = None

    def as_json(self, now: float) -> dict[str, object]:
        """For the guard page: the delivery and how long it has waited (minutes)."""
        return {"uuid": self.uuid, "household": self.household, "company": self.company, "count": self.count,
                "courier_phone": self.courier_phone, "note": self.note, "quarantined": self.quarantined,
                "in_ts": self.in_ts, "minutes_waiting": max(0, int((now - self.in_ts) // 60)),
                "pickup_ts": self.pickup_ts, "pickup_kind": self.pickup_kind, "pickup_by": self.pickup_by}


@dataclass(frozen=True)
class Parcel:
    """What the guard typed for a drop-off (already parsed by :mod:`edge.delivery_fields`)."""

    household: str
    company: str
    count: int
    courier_phone: str = ""
    note: str = ""


def drop_off_here(policy: Mapping[str, object], gate_id: str) -> bool:
    """Whether couriers leave deliveries at gate ``gate_id`` under central's ``policy`` (a pure rule; see the
    module docstring)."""
    value = policy.get(POLICY_KEY, True)
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return gate_id in value
    log.warning("policy %s is neither true/false nor a list of gate ids (%r): drop-off mode on", POLICY_KEY, value)
    return True


_COLUMNS = ("uuid, household, company, count, courier_phone, note, quarantined, in_ts, pickup_ts, pickup_kind, "
            "pickup_by")


def _delivery(row: tuple) -> Delivery:
    return Delivery(row[0], row[1], row[2], int(row[3]), row[4], row[5], bool(row[6]), *row[7:])


class DeliveryBook:
    """The delivery book of an open edge database (the caller holds the store's lock)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        migrations.apply(db)

    def add(self, d: Delivery) -> None:
        """Note a delivery left at the gate."""
        with transaction(self.db):
            self.db.execute(f"INSERT OR IGNORE INTO delivery_book ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            [d.uuid, d.household, d.company, d.count, d.courier_phone, d.note, int(d.quarantined),
                             d.in_ts, d.pickup_ts, d.pickup_kind, d.pickup_by])

    def get(self, uuid: str) -> Delivery | None:
        """The delivery ``uuid``; None when it is not in the book."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM delivery_book WHERE uuid = ?", [uuid]).fetchone()
        return _delivery(row) if row else None

    def picked_up(self, uuid: str, ts: float, kind: str, by: str) -> None:
        """Note the pickup of ``uuid``."""
        with transaction(self.db):
            self.db.execute("UPDATE delivery_book SET pickup_ts = ?, pickup_kind = ?, pickup_by = ? "
                            "WHERE uuid = ? AND pickup_ts IS NULL", [ts, kind, by, uuid])

    def has_pickup(self, uuid: str) -> bool:
        """Whether the log holds a pickup of the delivery ``uuid``."""
        return self.db.execute("SELECT 1 FROM entries WHERE event = ? AND ref_uuid = ? LIMIT 1",
                               [PICKUP_EVENT, uuid]).fetchone() is not None

    def waiting(self, now: float, days: float = WAITING_DAYS) -> list[Delivery]:
        """Deliveries left since ``days`` before ``now`` with no pickup: quarantined households first, then the
        longest waiting."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM delivery_book b WHERE pickup_ts IS NULL AND in_ts >= ? AND NOT EXISTS "
            "(SELECT 1 FROM entries e WHERE e.event = ? AND e.ref_uuid = b.uuid) ORDER BY quarantined DESC, in_ts",
            [now - days * 86400, PICKUP_EVENT]).fetchall()
        return [_delivery(r) for r in rows]

    def household_known(self, household: str, lists_households: frozenset[str] = frozenset()) -> bool:
        """Whether the gate knows ``household``: named in its lists (``lists_households``) or on a resident's pass
        scanned at this gate (its local log)."""
        if household in lists_households:
            return True
        return self.db.execute("SELECT 1 FROM entries WHERE household = ? AND event IN ('scan', 'override') "
                               "AND pass_id IS NOT NULL LIMIT 1", [household]).fetchone() is not None

    def recent_pass(self, household: str, since: float) -> tuple[str, int | None] | None:
        """The pass id and person of the newest scan of a pass of ``household`` at this gate since ``since``."""
        row = self.db.execute("SELECT pass_id, person FROM entries WHERE household = ? AND event = 'scan' "
                              "AND pass_id IS NOT NULL AND wall_ts >= ? ORDER BY seq DESC LIMIT 1",
                              [household, since]).fetchone()
        return (str(row[0]), row[1]) if row else None

    def purge(self, now: float, days: float = KEEP_DAYS) -> int:
        """Delete deliveries left more than ``days`` ago; how many."""
        with transaction(self.db):
            return self.db.execute("DELETE FROM delivery_book WHERE in_ts < ?", [now - days * 86400]).rowcount


class DeliveryDesk:
    """The guard's drop-offs and pickups (``require_guard(guard_id)`` raises unless they are signed in here)."""

    def __init__(self, store: LocalStore, recorder: EntryRecorder, lists: ListsAndPolicy, gate_id: str,
                 require_guard: Callable[[str], None]) -> None:
        self.store, self.recorder, self.lists, self.gate_id = store, recorder, lists, gate_id
        self.require_guard = require_guard
        self._book: DeliveryBook | None = None
        self._last: tuple[Parcel, float] | None = None  # the parcel recorded last, when (monotonic)

    def book(self) -> DeliveryBook:
        """The gate's delivery book (the store must be open)."""
        db = self.store.db
        if db is None:
            raise DeliveryError("the checkpoint is not started")
        if self._book is None or self._book.db is not db:
            self._book = DeliveryBook(db)
        return self._book

    def drop_off(self) -> bool:
        """Whether this gate is in drop-off mode now (central's policy)."""
        return drop_off_here(self.lists.current().policy, self.gate_id)

    def _known(self, book: DeliveryBook, household: str) -> bool:
        """Whether the gate knows ``household``: from the households its lists carry (list format 4, when central
        sends them), else from its lists' quarantines and the passes scanned here."""
        lists = self.lists.current().lists
        if hasattr(lists, "household_known"):  # lists that carry central's households (issue 14's visitor part)
            known = lists.household_known(household)
            if known is not None:
                return bool(known)
        listed = frozenset(lists.quarantine) | frozenset(h for h, _ in lists.persons)
        return book.household_known(household, listed)

    def record(self, guard_id: str, parcel: Parcel) -> dict[str, object]:
        """Record a delivery left for a household (signed-in guard, drop-off mode): a ``delivery`` entry committed
        to the local log before this returns. An unknown household raises :class:`FieldError` (``household``)."""
        self.require_guard(guard_id)
        if not self.drop_off():
            raise DeliveryError("couriers may enter at this gate: no drop-off here")
        now = self.lists.now()
        quarantined = self.lists.current().lists.household_quarantined(parcel.household, now.t)
        with self.store.lock:  # held across the checks and the commit: a double tap records one parcel
            book = self.book()
            mono = self.recorder.clock.monotonic()
            if self._last is not None and self._last[0] == parcel and mono - self._last[1] < REPEAT_S:
                raise DeliveryError("this delivery was recorded a moment ago")
            if not self._known(book, parcel.household):
                raise FieldError("household", "本闸口的名单中没有这个住户，请核对楼栋-单元-房号",
                                 "This household is not in the gate's lists: check the building-unit-room number")
            extra = {"company": parcel.company, "count": parcel.count, "quarantined": quarantined,
                     **({"courier_phone": parcel.courier_phone} if parcel.courier_phone else {}),
                     **({"note": parcel.note} if parcel.note else {})}
            fields = EntryFields(event=EVENT, direction="in", household=parcel.household, pass_kind="delivery",
                                 extra=extra)
            outcome = self._commit(fields, EVENT, guard_id)
            book.add(Delivery(outcome[1], parcel.household, parcel.company, parcel.count, parcel.courier_phone,
                              parcel.note, quarantined, now.t))
            self._last = (parcel, mono)
            if now.trusted:
                book.purge(now.t)
        log.info("delivery for %s recorded (entry %d%s)", parcel.household, outcome[0],
                 ", quarantined: staff carry it up" if quarantined else "")
        return {"seq": outcome[0], "uuid": outcome[1], "quarantined": quarantined}

    def _commit(self, fields: EntryFields, code: str, guard_id: str) -> tuple[int, str]:
        """Commit an information entry; its (seq, uuid). Raises when the log cannot be written."""
        seq = self.recorder.record_info(fields, code, self.lists.now(), guard_id)
        if seq is None or self.store.locallog is None:
            raise DeliveryError("the delivery could not be saved", "the local log cannot be written: see the fault")
        row = self.store.locallog.db.execute("SELECT uuid FROM entries WHERE seq = ?", [seq]).fetchone()
        return seq, str(row[0])

    def waiting(self) -> list[dict[str, object]]:
        """What waits at this gate for its household, quarantined households first, with minutes waiting. A
        household put under quarantine after its parcel was left is flagged too (staff carry it up)."""
        now = self.lists.now()
        lists = self.lists.current().lists
        with self.store.lock:
            book = self.book()
            if now.trusted:  # by a trusted clock only (never by 1970 or 2038)
                book.purge(now.t)
            waiting = [dataclasses.replace(d, quarantined=d.quarantined or lists.household_quarantined(
                d.household, now.t)) for d in book.waiting(now.t)]
        waiting.sort(key=lambda d: (not d.quarantined, d.in_ts))
        return [d.as_json(now.t) for d in waiting]

    def pickup(self, guard_id: str, uuid: str, kind: str, name: str = "") -> dict[str, object]:
        """Record the pickup of delivery ``uuid``: ``kind`` "pass" (the household's pass scanned here within
        :data:`PICKUP_SCAN_S`), "name" (``name`` typed) or "staff" (carried up); committed before this returns."""
        self.require_guard(guard_id)
        if kind not in PICKUP_KINDS:
            raise DeliveryError(f"pickup must be one of {', '.join(PICKUP_KINDS)}")
        with self.store.lock:  # held across check and commit: a double tap records one pickup
            book = self.book()
            d = book.get(uuid)
            if d is None:
                raise DeliveryError("no such delivery waiting at this gate")
            if d.pickup_ts is not None or book.has_pickup(uuid):
                raise DeliveryError("this delivery was already picked up")
            now = self.lists.now()
            extra, by = self._who(book, d, kind, name, now.t)
            fields = EntryFields(event=PICKUP_EVENT, direction="out", household=d.household, pass_kind="delivery",
                                 ref_uuid=uuid, extra=extra)
            if kind == "pass":
                fields["pass_id"] = str(extra["pass_id"])
                fields["person"] = _person(extra.get("person"))
            seq, _ = self._commit(fields, PICKUP_EVENT, guard_id)
            book.picked_up(uuid, now.t, kind, by)
        log.info("delivery %s picked up (%s, entry %d)", uuid, kind, seq)
        return {"seq": seq, "uuid": uuid, "kind": kind, "by": by, "pickup_ts": now.t}

    def _who(self, book: DeliveryBook, d: Delivery, kind: str, name: str,
             t: float) -> tuple[dict[str, object], str]:
        """The pickup entry's extra and the book's "by" for ``kind``."""
        if kind == "staff":
            return {"by": "staff"}, ""
        if kind == "name":
            if not name:
                raise FieldError("name", "请填写取件人姓名", "Write who picked it up")
            return {"by": "name", "name": name}, name
        found = book.recent_pass(d.household, t - PICKUP_SCAN_S)
        if found is None:
            raise DeliveryError("no pass of this household was scanned just now")
        return {"by": "pass", "pass_id": found[0], "person": found[1]}, f"{d.household}#{found[1] or ''}"


def _person(value: object) -> int | None:
    return value if isinstance(value, int) else None
