"""Sign-ins reach central (issue 17): a ``shift_start`` entry per sign-in, after the previous guard's hand-over;
a guard central disabled is refused for actions even while still signed in."""

from __future__ import annotations

import json

import pytest

from edge.guard_desk import CheckpointError
from sync import lists as edge_lists
from tests.edge.test_guard_desk import make


def _shift_entries(store):
    rows = store.db.execute("SELECT event, guard_id, decision, reason, extra FROM entries "
                            "WHERE event IN ('shift_start', 'shift_end') ORDER BY seq").fetchall()
    return [(e, g, d, r, json.loads(x)) for e, g, d, r, x in rows]


def test_each_sign_in_is_logged_after_the_previous_hand_over(opened_store):
    desk, store, *_ = make(opened_store)
    store.shifts.set_pin("g8", "135790")
    assert desk.start_shift("g7", "246810")
    started = store.shifts.current()[2]
    assert desk.start_shift("g8", "135790")  # takes over: g7's shift ends
    assert not desk.start_shift("g8", "000000")
    rows = _shift_entries(store)
    assert [(e, g, d, r) for e, g, d, r, _ in rows] == [
        ("shift_start", "g7", "info", "shift_start"), ("shift_end", "g7", "info", "shift_end"),
        ("shift_start", "g8", "info", "shift_start")]
    assert rows[0][4] == {"started_at": started} and rows[1][4]["started_at"] == started
    assert rows[2][4]["started_at"] == store.shifts.current()[2]


def test_a_guard_disabled_at_central_cannot_act_while_signed_in(opened_store):
    desk, store, *_ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    desk.set_direction("in", "g7")
    held = edge_lists.meta(store.db).version
    page = {"format": edge_lists.PAGE_FORMAT_3, "version": held + 1, "since": held, "snapshot": False,
            "changes": [{"v": held + 1, "op": "guard_off", "guard_id": "g7"}]}
    edge_lists.apply_page(store.db, page)
    with pytest.raises(CheckpointError, match="disabled"):
        desk.set_direction("out", "g7")

