"""The guard desk alone on a real SQLite file with a recording gate and a manual clock."""

from __future__ import annotations

import pytest

from drivers.gate import FakeGate
from edge.decision import Decision
from edge.direction import DirectionChoice
from edge.entry_recorder import EntryFields, EntryRecorder
from edge.events import Fanout, Notice
from edge.faults import FaultBoard
from edge.gate_profile import GateProfile
from edge.guard_desk import VISITOR_REPEAT_S, CheckpointError, GuardDesk
from edge.indicators import NoIndicators
from edge.lists_policy import ListsAndPolicy
from edge.pairing import Measurement
from edge.temperatures import FeverMemory
from gatepass.clock import ManualClock


def make(opened_store, **gate):
    store, settings = opened_store(gate={"direction": "both", **gate})
    clock, faults, gate_out = ManualClock(), FaultBoard(), FakeGate()
    notices: Fanout[Notice] = Fanout()
    recorder = EntryRecorder(settings, store, faults, clock, gate=gate_out, indicators=NoIndicators(), boot_id="b")
    lists = ListsAndPolicy(settings, store, faults, clock)
    measured: list[float] = []

    def measure(t: float) -> Measurement:
        measured.append(t)
        return Measurement(36.6, (36.6,), True)

    desk = GuardDesk(GateProfile.of(settings), store, recorder, lists, FeverMemory(clock, 180),
                     DirectionChoice(notices, clock), clock, measure)
    store.shifts.set_pin("g7", "246810")
    return desk, store, gate_out, notices.subscribe(), clock, measured


def test_actions_need_the_signed_in_guard_and_the_direction_ends_with_the_shift(opened_store):
    desk, store, gate, notes, clock, _ = make(opened_store)
    with pytest.raises(CheckpointError, match="not signed in"):
        desk.set_direction("in", "g7")
    assert desk.start_shift("g7", "246810") and not desk.start_shift("g7", "0000")
    desk.set_direction("out", "g7")
    assert (notes.get_nowait().chosen_direction, desk.choice.current) == ("out", "out")
    with pytest.raises(CheckpointError, match="direction"):
        desk.set_direction("up", "g7")
    summary = desk.end_shift()
    assert summary is not None and summary.guard_id == "g7" and desk.choice.current is None
    assert notes.get_nowait().chosen_direction is None


def test_an_override_is_recorded_once_and_opens_the_gate_once(opened_store):
    desk, store, gate, _, clock, _ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    refused = desk.recorder.record(EntryFields(event="scan", direction="out", pass_id="5", temps=[38.2]),
                                   Decision("refuse", "fever", fever=True), desk.lists.now())
    with pytest.raises(CheckpointError, match="reason"):
        desk.override(refused.uuid, "g7", "because")
    with pytest.raises(CheckpointError, match="second confirmation"):  # a fever refusal: the page asks twice
        desk.override(refused.uuid, "g7", "medical")
    with pytest.raises(CheckpointError, match="note"):
        desk.override(refused.uuid, "g7", "other", confirmed=True)
    over = desk.override(refused.uuid, "g7", "medical", confirmed=True)
    assert (over.decision, over.event, over.fever, over.guard_id) == ("pass", "override", True, "g7")
    with pytest.raises(CheckpointError, match="already overridden"):
        desk.override(refused.uuid, "g7", "medical", confirmed=True)
    with pytest.raises(CheckpointError, match="not refused"):
        desk.override(over.uuid, "g7", "medical")
    with pytest.raises(CheckpointError, match="does not exist"):
        desk.override("nope", "g7", "medical")
    row = store.db.execute("SELECT direction, temps, ref_uuid FROM entries WHERE uuid = ?", [over.uuid]).fetchone()
    assert row == ("out", "[38.2]", refused.uuid) and [on for _, on in gate.history].count(True) == 1


def test_a_repeated_visitor_click_is_refused_until_the_repeat_window_passes(opened_store):
    desk, store, gate, _, clock, measured = make(opened_store)
    assert desk.start_shift("g7", "246810")
    first = desk.register_visitor("g7", " 赵六 ", "137", "2-2-202", "探亲", None)  # measured by the thermometer
    assert (first.decision, first.code, first.temperature_c, measured) == ("pass", "visitor_ok", 36.6,
                                                                          [clock.monotonic()])
    with pytest.raises(CheckpointError, match="a moment ago"):
        desk.register_visitor("g7", "赵六", "137", "2-2-202", "探亲", 36.6)
    clock.advance(VISITOR_REPEAT_S + 0.1)
    assert desk.register_visitor("g7", "赵六", "137", "2-2-202", "探亲", 36.6).decision == "pass"
    extra = store.db.execute("SELECT extra, direction FROM entries WHERE uuid = ?", [first.uuid]).fetchone()
    assert "赵六" in extra[0] and '" 赵六 "' not in extra[0] and extra[1] == "in"


def test_a_visitor_high_twice_is_a_fever_event_referring_to_the_first(opened_store):
    desk, store, gate, _, clock, _ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    high = desk.register_visitor("g7", "李四", "139", "5-1-302", "送货", 38.1)
    assert (high.code, high.remeasure) == ("temp_high", True)
    clock.advance(VISITOR_REPEAT_S + 1)
    fever = desk.register_visitor("g7", "李四", "139", "5-1-302", "送货", 38.2)
    assert (fever.code, fever.fever) == ("fever", True)
    ref = store.db.execute("SELECT ref_uuid FROM entries WHERE uuid = ?", [fever.uuid]).fetchone()[0]
    assert ref == high.uuid and not [on for _, on in gate.history if on]


def test_an_unattended_gate_refuses_guard_actions(opened_store):
    desk, *_ = make(opened_store, mode="unattended")
    with pytest.raises(CheckpointError, match="unattended"):
        desk.register_visitor("g7", "a", "1", "1-1-1", "x", 36.5)
