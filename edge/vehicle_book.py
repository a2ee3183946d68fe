"""Vehicles at the gate: the record of a vehicle let in, its exit, and those still inside.

The local log is the record, as for visitors (:mod:`edge.visitor_book`): a vehicle is a ``vehicle`` entry (its
plate, purpose and driver in the entry's ``extra``; a resident driver's pass, household and person, or a visitor
driver's reference and host household, in the entry's own columns), committed before the guard page answers and
before the barrier opens; its exit a ``vehicle_exit`` information entry whose ``ref_uuid`` is the vehicle's entry.
A purpose the lane does not allow (:func:`edge.vehicle_fields.lane_purposes`) is logged as a refused ``vehicle``
entry with the reason ``vehicle_purpose`` and nothing is let in.

The log erases the details once central holds them, so the "now inside" list reads this book (migration set
``edge-vehicles``): a row per vehicle let in, kept :data:`KEEP_DAYS` (the visitors' retention) after it came in.
A refused vehicle is noted too, not admitted, so that a guard's override of it puts it inside (as for visitors).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

import sqlite_utils
from sqlite_utils.migrations import Migrations

from edge.decision import Decision
from edge.entry_recorder import EntryFields
from edge.events import Outcome
from edge.guard_desk import CheckpointError, GuardDesk
from edge.vehicle_fields import PURPOSES, VehicleForm, lane_purposes, purpose_refusal
from edge.visitor_book import INSIDE_HOURS, KEEP_DAYS
from gatepass.sqlitedb import transaction

log = logging.getLogger(__name__)

migrations = Migrations("edge-vehicles")
EVENT = "vehicle"
EXIT_EVENT = "vehicle_exit"
REFUSED = "vehicle_purpose"
RESIDENT_SCAN_S = 30 * 60  # a resident driver's scan is at most this old
_COLUMNS = "uuid, plate, purpose, driver_kind, driver_name, driver_phone, household, in_ts, out_ts, admitted"


@migrations()
def m001_vehicle_book(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE vehicle_book (
        uuid TEXT PRIMARY KEY,          -- the vehicle's entry in the local log
        plate TEXT NOT NULL,
        purpose TEXT NOT NULL,
        driver_kind TEXT NOT NULL,      -- resident | visitor | person
        driver_name TEXT NOT NULL,
        driver_phone TEXT NOT NULL,
        household TEXT,                 -- the resident's, or the visitor's host
        in_ts REAL NOT NULL,
        out_ts REAL
        )""")
    db.execute("CREATE INDEX vehicle_book_inside ON vehicle_book (in_ts) WHERE out_ts IS NULL")


@migrations()
def m002_refused_vehicles(db: sqlite_utils.Database) -> None:
    """Refused vehicles are noted too (not admitted), so that a guard's override can admit them."""
    db.execute("ALTER TABLE vehicle_book ADD COLUMN admitted INTEGER NOT NULL DEFAULT 1")


@dataclass(frozen=True)
class VehicleVisit:
    """A vehicle in the book."""

    uuid: str
    plate: str
    purpose: str
    driver_kind: str
    driver_name: str
    driver_phone: str
    household: str | None
    in_ts: float
    out_ts: float | None
    admitted: bool = True  # False: refused (until a guard's override admits the vehicle)

    def as_json(self, now: float) -> dict[str, object]:
        """For the guard page: the vehicle and how long it has been in (minutes)."""
        return {"uuid": self.uuid, "plate": self.plate, "purpose": self.purpose,
                "purpose_zh": PURPOSES[self.purpose]["zh-CN"], "purpose_en": PURPOSES[self.purpose]["en"],
                "driver_kind": self.driver_kind, "driver_name": self.driver_name, "driver_phone": self.driver_phone,
                "household": self.household, "in_ts": self.in_ts,
                "minutes_in": max(0, int((now - self.in_ts) // 60))}


def _visit(row: tuple | None) -> VehicleVisit | None:
    if row is None:
        return None
    uuid, plate, purpose, kind, name, phone, household, in_ts, out_ts, admitted = row
    return VehicleVisit(uuid, plate, purpose, kind, name, phone, household, in_ts, out_ts, bool(admitted))


class VehicleBook:
    """The vehicle book of an open edge database (the caller holds the store's lock)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        migrations.apply(db)

    def add(self, v: VehicleVisit) -> None:
        """Note a vehicle (one let in, or a refused one: ``admitted`` False)."""
        with transaction(self.db):
            self.db.execute(f"INSERT OR IGNORE INTO vehicle_book ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [v.uuid, v.plate, v.purpose, v.driver_kind, v.driver_name, v.driver_phone, v.household,
                             v.in_ts, v.out_ts, int(v.admitted)])

    def admit(self, uuid: str, in_ts: float) -> bool:
        """A guard's override let the refused vehicle ``uuid`` in at ``in_ts``: it is inside now. False when the book
        does not hold that vehicle as refused."""
        with transaction(self.db):
            return self.db.execute("UPDATE vehicle_book SET admitted = 1, in_ts = ? WHERE uuid = ? AND admitted = 0",
                                   [in_ts, uuid]).rowcount > 0

    def get(self, uuid: str) -> VehicleVisit | None:
        """The vehicle of entry ``uuid`` (admitted or not); None when it is not in the book."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM vehicle_book WHERE uuid = ?", [uuid]).fetchone()
        return _visit(row)

    def left(self, uuid: str, out_ts: float) -> None:
        """Note that the vehicle of ``uuid`` left at ``out_ts``."""
        with transaction(self.db):
            self.db.execute("UPDATE vehicle_book SET out_ts = ? WHERE uuid = ? AND out_ts IS NULL", [out_ts, uuid])

    def has_left(self, uuid: str) -> bool:
        """Whether the log holds an exit of the vehicle ``uuid``."""
        return self.db.execute("SELECT 1 FROM entries WHERE event = ? AND ref_uuid = ? LIMIT 1",
                               [EXIT_EVENT, uuid]).fetchone() is not None

    def inside(self, now: float, hours: float = INSIDE_HOURS) -> list[VehicleVisit]:
        """Vehicles in since ``hours`` before ``now`` with no exit, longest inside first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM vehicle_book b WHERE admitted = 1 AND out_ts IS NULL AND in_ts >= ? AND NOT "
            "EXISTS (SELECT 1 FROM entries e WHERE e.event = ? AND e.ref_uuid = b.uuid) ORDER BY in_ts",
            [now - hours * 3600, EXIT_EVENT]).fetchall()
        return [v for v in map(_visit, rows) if v is not None]

    def purge(self, now: float, days: float = KEEP_DAYS) -> int:
        """Delete vehicles in before ``days`` ago; how many."""
        with transaction(self.db):
            return self.db.execute("DELETE FROM vehicle_book WHERE in_ts < ?", [now - days * 86400]).rowcount


@dataclass(frozen=True)
class Driver:
    """Who drives: the entry's columns (pass, household, person, visitor ref.) and the name and phone, if known."""

    kind: str
    name: str = ""
    phone: str = ""
    pass_id: str | None = None
    household: str | None = None
    person: int | None = None
    pass_kind: str | None = None
    visitor_ref: str | None = None


class VehicleDesk:
    """The guard's vehicle actions at a vehicle lane, through the guard desk (its guard check, store and log)."""

    def __init__(self, desk: GuardDesk) -> None:
        self.desk = desk
        self._book: VehicleBook | None = None

    def allowed_purposes(self) -> frozenset[str]:
        """The purposes vehicles may enter for here now (empty: this gate is no vehicle lane)."""
        gate = self.desk.profile.settings.gate
        policy = self.desk.lists.current().policy
        return lane_purposes(gate.vehicle_lane, list(gate.vehicle_purposes), policy, gate.id)

    def book(self) -> VehicleBook:
        """The gate's vehicle book (the store must be open)."""
        db = self.desk.store.db
        if db is None:
            raise CheckpointError("the checkpoint is not started")
        if self._book is None or self._book.db is not db:
            self._book = VehicleBook(db)
        return self._book

    def register(self, guard_id: str, form: VehicleForm) -> Outcome:
        """Log a vehicle (signed-in guard, vehicle lane): let in when the lane allows its purpose, else refused
        (logged too). Committed to the local log before this returns."""
        self.desk.require_guard(guard_id)
        allowed = self.allowed_purposes()
        if not allowed:
            raise CheckpointError("this gate is not a vehicle lane")
        with self.desk.store.lock:
            driver = self._driver(form)
            refusal = purpose_refusal(form.purpose, allowed)
            now = self.desk.lists.now()
            fields = EntryFields(event=EVENT, direction=self.desk.visitor_direction(), pass_id=driver.pass_id,
                                 household=driver.household, person=driver.person, pass_kind=driver.pass_kind,
                                 visitor_ref=driver.visitor_ref, extra=_extra(form, driver))
            decision = _decision(refusal is None)
            outcome = self.desk.recorder.record(fields, decision, now, guard_id=guard_id,
                                                detail=refusal[0] if refusal else "")
            if outcome.seq > 0:  # a refused vehicle is noted too: a guard's override admits it
                self._note_inside(VehicleVisit(outcome.uuid, form.plate, form.purpose, driver.kind, driver.name,
                                               driver.phone, driver.household, now.t, None,
                                               admitted=outcome.decision == "pass"), now.trusted)
        return outcome

    def _driver(self, form: VehicleForm) -> Driver:
        """The driver the form names: the resident of a recent scan let through, a visitor inside, or as typed."""
        if form.driver == "resident":
            row = self.book().db.execute(
                "SELECT pass_id, household, person, pass_kind FROM entries WHERE uuid = ? AND decision = 'pass' "
                "AND event IN ('scan', 'override') AND pass_id IS NOT NULL AND wall_ts >= ?",
                [form.driver_ref, self.desk.lists.now().t - RESIDENT_SCAN_S]).fetchone()
            if row is None:
                raise CheckpointError("no recent resident scan for the driver")
            return Driver("resident", form.name, form.phone, str(row[0]), row[1], row[2], row[3])
        if form.driver == "visitor":
            visit = self.desk.visitor_book().get(form.driver_ref)
            if visit is None:
                raise CheckpointError("no such visitor on the now-inside list")
            return Driver("visitor", visit.name, visit.phone, household=visit.household, pass_kind="visitor",
                          visitor_ref=visit.visitor_ref)
        return Driver("person", form.name, form.phone)

    def admit_override(self, uuid: str, t: float) -> None:
        """A guard's override let the refused vehicle of entry ``uuid`` in at ``t`` (the override is logged): it
        is on the "now inside" list from now on (:attr:`edge.guard_desk.GuardDesk.admit_hooks`)."""
        try:
            if not self.book().admit(uuid, t):
                log.warning("vehicle %s was let in by an override but is not in the vehicle book", uuid)
        except (sqlite3.Error, CheckpointError) as exc:
            log.error("vehicle %s is let in but not on the now-inside list: %s", uuid, exc)

    def _note_inside(self, v: VehicleVisit, clock_trusted: bool) -> None:
        """Note a vehicle in the book: let in (the "now inside" list) or refused (already logged: a failure here is
        only logged)."""
        try:
            book = self.book()
            book.add(v)
            if clock_trusted:
                book.purge(v.in_ts)
        except (sqlite3.Error, CheckpointError) as exc:
            log.error("vehicle %s is logged but not on the now-inside list: %s", v.uuid, exc)

    def inside(self) -> list[dict[str, object]]:
        """Vehicles let in (within a day) with no exit yet, longest in first."""
        now = self.desk.lists.now()
        with self.desk.store.lock:
            book = self.book()
            if now.trusted:
                book.purge(now.t)
            return [v.as_json(now.t) for v in book.inside(now.t)]

    def record_exit(self, guard_id: str, uuid: str) -> dict[str, object]:
        """Record that the vehicle of entry ``uuid`` left: a ``vehicle_exit`` information entry linked to it,
        committed before this returns; a second exit is refused."""
        self.desk.require_guard(guard_id)
        with self.desk.store.lock:
            book = self.book()
            v = book.get(uuid)
            if v is None or not v.admitted:
                raise CheckpointError("no such vehicle on the now-inside list")
            if v.out_ts is not None or book.has_left(uuid):
                raise CheckpointError("this vehicle has already left")
            now = self.desk.lists.now()
            fields = EntryFields(event=EXIT_EVENT, direction="out", household=v.household, ref_uuid=uuid)
            seq = self.desk.recorder.record_info(fields, EXIT_EVENT, now, guard_id)
            if seq is None:
                raise CheckpointError("the exit could not be saved", "the local log cannot be written: see the fault")
            book.left(uuid, now.t)
        log.info("vehicle %s left (entry %d)", v.plate, seq)
        return {"seq": seq, "uuid": uuid, "plate": v.plate, "out_ts": now.t,
                "minutes_in": int((now.t - v.in_ts) // 60)}


def _decision(allowed: bool) -> Decision:
    return Decision("pass", "vehicle_ok") if allowed else Decision("refuse", REFUSED)


def _extra(form: VehicleForm, driver: Driver) -> dict[str, object]:
    """What the ``vehicle`` entry's ``extra`` holds (erased at the gate once central has it)."""
    extra: dict[str, object] = {"plate": form.plate, "purpose": form.purpose, "driver_kind": driver.kind}
    for key, value in (("note", form.note), ("driver_name", driver.name), ("driver_phone", driver.phone)):
        if value:
            extra[key] = value
    return extra
