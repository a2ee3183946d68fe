"""Visitors let in by a guard's override are inside like any other (the gate's "now inside" list and its exit)."""

from __future__ import annotations

import pytest

from edge.guard_desk import VISITOR_REPEAT_S, CheckpointError
from tests.edge.test_guard_desk import make


def test_a_visitor_refused_then_let_in_by_an_override_is_inside_and_can_leave(opened_store):
    desk, store, gate, _, clock, _ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    refused = desk.register_visitor("g7", "李四", "13900139000", "5-1-302", "送货", 38.1)
    assert refused.decision != "pass" and desk.visitors_inside() == []  # refused: not inside
    clock.advance(VISITOR_REPEAT_S + 1)
    over = desk.override(refused.uuid, "g7", "medical", confirmed=True)
    assert over.decision == "pass"
    inside = desk.visitors_inside()
    assert [(v["uuid"], v["name"], v["phone"], v["household"]) for v in inside] == [
        (refused.uuid, "李四", "13900139000", "5-1-302")]
    done = desk.record_visitor_exit("g7", refused.uuid)  # the exit refers to the visit, as central links it
    assert done["uuid"] == refused.uuid and desk.visitors_inside() == []
    row = store.db.execute("SELECT ref_uuid FROM entries WHERE event = 'visitor_exit'").fetchone()
    assert row == (refused.uuid,)
    with pytest.raises(CheckpointError, match="already left"):
        desk.record_visitor_exit("g7", refused.uuid)


def test_an_override_of_a_resident_puts_nobody_on_the_visitor_list(opened_store):
    from edge.decision import Decision
    from edge.entry_recorder import EntryFields

    desk, *_ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    refused = desk.recorder.record(EntryFields(event="scan", direction="in", pass_id="5", pass_kind="resident"),
                                   Decision("refuse", "revoked"), desk.lists.now())
    desk.override(refused.uuid, "g7", "staff")
    assert desk.visitors_inside() == []
