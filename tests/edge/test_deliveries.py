"""Drop-off mode at the guard desk, on a real SQLite file with a manual clock: deliveries left for households,
what is waiting, pickups, quarantined households flagged, refusals that record nothing."""

from __future__ import annotations

import json
import time

import pytest

from drivers.gate import FakeGate
from edge.decision import Decision
from edge.delivery_book import KEEP_DAYS, PICKUP_SCAN_S, REPEAT_S, DeliveryError, Parcel, drop_off_here
from edge.direction import DirectionChoice
from edge.entry_recorder import EntryFields, EntryRecorder
from edge.events import Fanout, Notice
from edge.faults import FaultBoard
from edge.gate_profile import GateProfile
from edge.guard_desk import CheckpointError, GuardDesk
from edge.indicators import NoIndicators
from edge.lists_policy import ListsAndPolicy
from edge.pairing import Measurement
from edge.temperatures import FeverMemory
from edge.visitor_fields import FieldError
from gatepass.clock import ManualClock


def quarantine(household: str) -> dict:
    now = time.time()
    return {"op": "quarantine", "household": household, "start": "2026-01-01", "end": "2099-01-01",
            "start_ts": now - 86400, "end_ts": now + 86400 * 7}


def make(opened_store, extra_page=None):
    store, settings = opened_store(extra_page=extra_page or [quarantine("9-9-909")])
    clock, faults = ManualClock(wall=time.time()), FaultBoard()
    recorder = EntryRecorder(settings, store, faults, clock, gate=FakeGate(), indicators=NoIndicators(), boot_id="b")
    lists = ListsAndPolicy(settings, store, faults, clock)
    lists.reload(force=True)
    desk = GuardDesk(GateProfile.of(settings), store, recorder, lists, FeverMemory(clock, 180),
                     DirectionChoice(Fanout[Notice](), clock), clock, lambda t: Measurement(36.6, (36.6,), True))
    store.shifts.set_pin("g7", "246810")
    assert desk.start_shift("g7", "246810")
    return desk, store, clock


def scan(desk, household: str, pass_id: str = "5", person: int = 1):
    """A resident's pass of ``household`` scanned at the gate (the gate now knows the household)."""
    return desk.recorder.record(EntryFields(event="scan", direction="in", pass_id=pass_id, household=household,
                                            person=person), Decision("pass", "temp_ok"), desk.lists.now())


def logged(store, event: str) -> list[dict]:
    cur = store.db.execute("SELECT * FROM entries WHERE event = ? ORDER BY seq", [event])
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]


def test_a_delivery_is_logged_waits_and_is_picked_up_once(opened_store):
    desk, store, clock = make(opened_store)
    scan(desk, "3-2-401", pass_id="11", person=2)
    d = desk.deliveries.record("g7", Parcel("3-2-401", "顺丰", 2, "13800138000", "生鲜"))
    assert d["quarantined"] is False and d["seq"] > 0
    [entry] = logged(store, "delivery")
    assert (entry["uuid"], entry["household"], entry["decision"], entry["guard_id"]) == (d["uuid"], "3-2-401",
                                                                                        "info", "g7")
    assert json.loads(entry["extra"]) == {"company": "顺丰", "count": 2, "quarantined": False,
                                          "courier_phone": "13800138000", "note": "生鲜"}
    clock.advance(600)
    [waiting] = desk.deliveries.waiting()
    assert (waiting["household"], waiting["company"], waiting["count"], waiting["minutes_waiting"]) == (
        "3-2-401", "顺丰", 2, 10)
    with pytest.raises(DeliveryError, match="no pass of this household was scanned"):  # 10 min ago: too long
        desk.deliveries.pickup("g7", d["uuid"], "pass")
    scan(desk, "3-2-401", pass_id="12", person=3)  # the resident scans at the gate, the guard taps once
    clock.advance(PICKUP_SCAN_S - 1)
    done = desk.deliveries.pickup("g7", d["uuid"], "pass")
    assert (done["kind"], done["by"]) == ("pass", "3-2-401#3")
    [pickup] = logged(store, "delivery_pickup")
    assert (pickup["ref_uuid"], pickup["pass_id"], pickup["person"], pickup["guard_id"]) == (d["uuid"], "12", 3, "g7")
    assert desk.deliveries.waiting() == []
    with pytest.raises(DeliveryError, match="already picked up"):
        desk.deliveries.pickup("g7", d["uuid"], "staff")
    assert len(logged(store, "delivery_pickup")) == 1


def test_a_delivery_to_a_quarantined_household_is_flagged_and_carried_up_by_staff(opened_store):
    desk, store, clock = make(opened_store)
    scan(desk, "3-2-401")
    plain = desk.deliveries.record("g7", Parcel("3-2-401", "京东", 1))
    flagged = desk.deliveries.record("g7", Parcel("9-9-909", "美团", 1, note="药品"))  # known from the lists
    assert flagged["quarantined"] is True and json.loads(logged(store, "delivery")[1]["extra"])["quarantined"]
    assert [w["uuid"] for w in desk.deliveries.waiting()] == [flagged["uuid"], plain["uuid"]]  # flagged first
    done = desk.deliveries.pickup("g7", flagged["uuid"], "staff")
    assert done["kind"] == "staff"
    assert json.loads(logged(store, "delivery_pickup")[0]["extra"]) == {"by": "staff"}
    named = desk.deliveries.pickup("g7", plain["uuid"], "name", "王芳")
    assert named["by"] == "王芳" and json.loads(logged(store, "delivery_pickup")[1]["extra"])["name"] == "王芳"


def test_refusals_record_nothing(opened_store):
    desk, store, clock = make(opened_store)
    with pytest.raises(FieldError) as unknown:
        desk.deliveries.record("g7", Parcel("1-1-101", "顺丰", 1))
    assert unknown.value.field == "household" and "名单" in unknown.value.zh
    with pytest.raises(CheckpointError, match="not signed in"):
        desk.deliveries.record("g8", Parcel("9-9-909", "顺丰", 1))
    scan(desk, "3-2-401")
    d = desk.deliveries.record("g7", Parcel("3-2-401", "顺丰", 1))
    with pytest.raises(FieldError):
        desk.deliveries.pickup("g7", d["uuid"], "name", "")
    with pytest.raises(DeliveryError, match="no such delivery"):
        desk.deliveries.pickup("g7", "nope", "staff")
    with pytest.raises(DeliveryError, match="pickup must be"):
        desk.deliveries.pickup("g7", d["uuid"], "drone")
    assert len(logged(store, "delivery")) == 1 and logged(store, "delivery_pickup") == []


def test_a_gate_where_couriers_may_enter_records_no_drop_off(opened_store):
    desk, store, clock = make(opened_store, [quarantine("9-9-909"),
                                             {"op": "policy", "key": "courier_drop_off", "value": ["gate-9"]}])
    assert not desk.deliveries.drop_off()
    with pytest.raises(DeliveryError, match="couriers may enter"):
        desk.deliveries.record("g7", Parcel("9-9-909", "顺丰", 1))
    assert logged(store, "delivery") == []


@pytest.mark.parametrize(("policy", "gate", "expected"), [
    ({}, "g1", True), ({"courier_drop_off": False}, "g1", False), ({"courier_drop_off": True}, "g1", True),
    ({"courier_drop_off": ["g1", "g2"]}, "g1", True), ({"courier_drop_off": ["g2"]}, "g1", False),
    ({"courier_drop_off": "yes"}, "g1", True)])
def test_drop_off_mode_follows_centrals_policy(policy, gate, expected):
    assert drop_off_here(policy, gate) is expected


def test_the_gate_keeps_deliveries_28_days_and_its_log_drops_the_phone_once_central_holds_it(opened_store):
    desk, store, clock = make(opened_store)
    scan(desk, "3-2-401")
    d = desk.deliveries.record("g7", Parcel("3-2-401", "顺丰", 1, "13800138000"))
    book = desk.deliveries.book()
    assert book.purge(clock.time() + (KEEP_DAYS - 1) * 86400) == 0 and book.get(d["uuid"]) is not None
    assert book.purge(clock.time() + (KEEP_DAYS + 1) * 86400) == 1 and book.get(d["uuid"]) is None
    store.db.execute("UPDATE entries SET synced = 1")
    store.locallog.erase_synced_personal_data()  # as after an upload central accepted
    assert logged(store, "delivery")[0]["extra"] is None


def test_a_double_tap_records_one_parcel_and_a_like_one_later_is_a_new_parcel(opened_store):
    desk, store, clock = make(opened_store)
    parcel = Parcel("9-9-909", "美团", 1, note="药品")
    desk.deliveries.record("g7", parcel)
    with pytest.raises(DeliveryError, match="a moment ago"):
        desk.deliveries.record("g7", parcel)
    desk.deliveries.record("g7", Parcel("9-9-909", "美团", 2, note="药品"))  # another parcel: recorded
    clock.advance(REPEAT_S)
    desk.deliveries.record("g7", parcel)  # the same again later: a new one
    assert len(logged(store, "delivery")) == 3


def test_a_household_put_under_quarantine_after_its_parcel_was_left_is_flagged_while_it_waits(opened_store, key):
    from sync import lists as edgelists
    from tests.edge.conftest import key_page

    desk, store, clock = make(opened_store)
    scan(desk, "3-2-401")
    scan(desk, "4-1-101")
    first = desk.deliveries.record("g7", Parcel("3-2-401", "顺丰", 1))
    later = desk.deliveries.record("g7", Parcel("4-1-101", "京东", 1))
    assert [w["quarantined"] for w in desk.deliveries.waiting()] == [False, False]
    edgelists.apply_page(store.db, key_page(key, version=5, extra=[quarantine("9-9-909"), quarantine("4-1-101")]))
    desk.lists.reload(force=True)
    assert [(w["uuid"], w["quarantined"]) for w in desk.deliveries.waiting()] == [(later["uuid"], True),
                                                                                (first["uuid"], False)]
