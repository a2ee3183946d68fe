"""The direction at "both" gates: the pure rule, and the real Checkpoint on a real SQLite file logging it
(default, then the holder's history, then the guard's choice) and refusing home-quarantine exits."""

from __future__ import annotations

import json
import queue
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.gate import FakeGate
from edge.checkpoint import Checkpoint, CheckpointError
from edge.direction import resolve
from edge.pairing import Sample
from edge.shifts import ShiftBook
from sync import lists
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings, key_page, make_pass

WAYS = st.sampled_from([None, "in", "out", "sideways"])


@pytest.mark.parametrize(("gate", "choice", "last", "default", "expected"), [
    ("in", "out", "in", "out", ("in", "in", "gate")),
    ("out", None, None, "in", ("out", "out", "gate")),
    ("both", "out", "out", "in", ("out", "both", "guard")),
    ("both", "in", None, "out", ("in", "both", "guard")),
    ("both", None, "in", "in", ("out", "both", "history")),
    ("both", None, "out", "in", ("in", "both", "history")),
    ("both", None, None, "out", ("out", "both", "default")),
])
def test_resolve_table(gate, choice, last, default, expected):
    d = resolve(gate, choice, last, default)
    assert (d.logged, d.rules, d.source) == expected


@given(st.sampled_from(["in", "out", "both"]), WAYS, WAYS, st.sampled_from(["in", "out"]),
       st.sampled_from(["ok", "quarantined", "expired"]))
def test_resolve_properties(gate, choice, last, default, code):
    d = resolve(gate, choice, last, default)
    assert d.logged in ("in", "out")
    # the rules get a single direction only at a one-way gate; a guard's choice never narrows them
    assert (d.rules == d.logged) == (d.source == "gate")
    assert d.rules == "both" or d.source == "gate"
    if gate != "both":
        assert d.logged == gate
    logged = d.for_verdict(code)
    assert logged == ("out" if code == "quarantined" else d.logged)


def _quarantine(household: str) -> dict:
    now = time.time()
    return {"op": "quarantine", "household": household, "start": "2026-01-01", "end": "2099-01-01",
            "start_ts": now - 86400, "end_ts": now + 86400 * 7}


class CountingGate(FakeGate):
    """A FakeGate that also counts every pulse (its history only records level changes)."""

    def __init__(self) -> None:
        super().__init__()
        self.pulses = 0

    def pulse(self, seconds: float) -> None:
        self.pulses += 1
        super().pulse(seconds)


@pytest.fixture
def both_gate(tmp_path, key):
    made = []

    def build(**gate) -> Checkpoint:
        settings = edge_settings(tmp_path, camera={"source": "none"}, gate={"direction": "both", **gate},
                                 scan={"cooldown_s": 0, "same_scan_gap_s": 0})
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_db(settings.db_path)
        lists.apply_page(db, key_page(key, extra=[_quarantine("9-9-909")]))
        ShiftBook(db).set_pin("guard7", "246810")
        db.conn.close()
        cp = Checkpoint(settings, gate=CountingGate())
        cp.start()
        made.append(cp)
        return cp

    yield build
    for cp in made:
        cp.stop()


def scan(cp: Checkpoint, q: queue.Queue, text: str, temp: float = 36.5):
    t = time.monotonic()
    cp.add_reading(Sample(t, temp))  # two readings, both already taken: the pairing completes at once
    cp.add_reading(Sample(t, temp))
    cp.submit_text(text, t)
    out = q.get(timeout=10)
    row = cp.db.execute("SELECT direction, reason FROM entries WHERE seq = ?", [out.seq]).fetchone()
    return out, tuple(row) if row else None


def test_both_gate_alternates_by_the_holders_history_and_follows_the_guard(both_gate, key):
    cp = both_gate()
    q = cp.subscribe()
    text = make_pass(key, pass_id=501)
    assert scan(cp, q, text)[1] == ("in", "temp_ok")     # no history: the default
    assert scan(cp, q, text)[1] == ("out", "temp_ok")    # went in: now comes out
    assert scan(cp, q, text)[1] == ("in", "temp_ok")
    other = make_pass(key, pass_id=502)
    assert scan(cp, q, other)[1] == ("in", "temp_ok")    # another holder has their own history
    assert cp.start_shift("guard7", "246810")
    cp.set_direction("in", "guard7")
    assert scan(cp, q, text)[1] == ("in", "temp_ok")     # the guard's choice wins over the history
    assert cp.status()["gate"]["chosen_direction"] == "in"
    cp.set_direction(None, "guard7")
    assert scan(cp, q, text)[1] == ("out", "temp_ok")


def test_both_gate_refused_entries_do_not_count_as_history(both_gate, key):
    cp = both_gate()
    q = cp.subscribe()
    text = make_pass(key, pass_id=503)
    assert scan(cp, q, text, 38.5)[1] == ("in", "temp_high")
    assert scan(cp, q, text)[1] == ("in", "temp_ok")     # the refusal was not a passage


def test_both_gate_default_is_configurable(both_gate, key):
    cp = both_gate(both_default="out")
    q = cp.subscribe()
    assert scan(cp, q, make_pass(key, pass_id=504))[1] == ("out", "temp_ok")


def test_quarantined_household_is_refused_at_a_both_gate_whichever_way_the_guard_sets(both_gate, key):
    cp = both_gate()
    gate = cp.gate
    q = cp.subscribe()
    text = make_pass(key, pass_id=505, household="9-9-909")
    out, row = scan(cp, q, text)
    assert (out.decision, out.code) == ("refuse", "quarantined")
    assert row == ("out", "quarantined")  # inferred direction: an exit cannot be ruled out, logged as one
    assert cp.start_shift("guard7", "246810")
    cp.set_direction("out", "guard7")
    assert scan(cp, q, text)[0].code == "quarantined"
    cp.set_direction("in", "guard7")  # a choice never turns the quarantine check off (issue 13, hole 3)
    out, row = scan(cp, q, text)
    assert (out.decision, out.code) == ("refuse", "quarantined")
    assert gate.pulses == 0
    extra = cp.db.execute("SELECT extra FROM entries WHERE seq = ?", [out.seq]).fetchone()[0]
    assert json.loads(extra)["direction_chosen_by"] == "guard7"  # the guard's choice is in the entry log


def test_set_direction_needs_a_guarded_both_gate_and_a_signed_in_guard(both_gate, tmp_path, key):
    cp = both_gate()
    with pytest.raises(CheckpointError, match="not signed in"):
        cp.set_direction("in", "guard7")
    assert cp.start_shift("guard7", "246810")
    with pytest.raises(CheckpointError, match="direction"):
        cp.set_direction("up", "guard7")
    assert cp.status()["gate"]["chosen_direction"] is None


def test_at_a_both_gate_the_temperature_is_measured_whichever_way_the_guard_sets(both_gate, key):
    cp = both_gate()
    q = cp.subscribe()
    text = make_pass(key, pass_id=507)
    assert scan(cp, q, text)[1] == ("in", "temp_ok")
    out, row = scan(cp, q, text, 38.4)  # inferred "out": an entry cannot be ruled out, so it is measured
    assert row == ("out", "temp_high")
    assert cp.start_shift("guard7", "246810")
    cp.set_direction("out", "guard7")  # a choice never turns the temperature rule off either
    assert scan(cp, q, text, 38.4)[1] == ("out", "fever")  # measured: the second high reading is a fever event


def test_override_keeps_the_refused_entrys_direction_and_happens_once(both_gate, key):
    cp = both_gate()
    q = cp.subscribe()
    assert cp.start_shift("guard7", "246810")
    text = make_pass(key, pass_id=506)
    assert scan(cp, q, text)[1] == ("in", "temp_ok")
    refused, row = scan(cp, q, text, 38.6)  # history says out; a certain "out" would need no temperature
    assert row == ("out", "temp_high")
    over = cp.override(refused.uuid, "guard7", "medical", confirmed=True)
    assert cp.db.execute("SELECT direction FROM entries WHERE uuid = ?", [over.uuid]).fetchone()[0] == "out"
    with pytest.raises(CheckpointError, match="already overridden"):
        cp.override(refused.uuid, "guard7", "medical", confirmed=True)
    assert cp.db.execute("SELECT count(*) FROM entries WHERE event = 'override'").fetchone()[0] == 1
    assert cp.gate.pulses == 2  # the first passage and the override


def test_the_guards_choice_ends_with_their_shift_and_every_change_is_published(both_gate, key):
    cp = both_gate()
    q = cp.subscribe()
    notes = cp.subscribe_notices()
    text = make_pass(key, pass_id=508)
    assert scan(cp, q, text)[1] == ("in", "temp_ok")
    assert cp.start_shift("guard7", "246810")
    cp.set_direction("in", "guard7")
    note = notes.get(timeout=1)
    assert (note.kind, note.chosen_direction, note.guard_id) == ("direction", "in", "guard7")
    assert scan(cp, q, text)[1] == ("in", "temp_ok")
    summary = cp.end_shift()
    assert summary is not None and summary.guard_id == "guard7"
    note = notes.get(timeout=1)
    assert (note.kind, note.chosen_direction, note.guard_id) == ("direction", None, None)
    assert cp.status()["gate"]["chosen_direction"] is None
    assert scan(cp, q, text)[1] == ("out", "temp_ok")  # inferred again from the history

    # a new sign-in (the next guard taking over without a hand-over) ends the old shift and its choice too
    cp.store.shifts.set_pin("guard8", "135790")
    assert cp.start_shift("guard7", "246810")
    cp.set_direction("out", "guard7")
    assert notes.get(timeout=1).chosen_direction == "out"
    assert not cp.start_shift("guard8", "0000")  # a wrong PIN changes nothing
    assert cp.status()["gate"]["chosen_direction"] == "out"
    assert cp.start_shift("guard8", "135790")
    assert notes.get(timeout=1).chosen_direction is None
    assert cp.status()["gate"]["chosen_direction"] is None
    assert cp.end_shift() is not None
    assert notes.empty()  # nothing chosen: nothing to announce
    with pytest.raises(CheckpointError, match="not signed in"):
        cp.set_direction("in", "guard7")


def test_set_direction_is_refused_at_a_one_way_gate(tmp_path, key):
    settings = edge_settings(tmp_path, camera={"source": "none"}, gate={"direction": "in", "mode": "guarded"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    ShiftBook(db).set_pin("guard7", "246810")
    db.conn.close()
    cp = Checkpoint(settings)
    cp.start()
    try:
        notes = cp.subscribe_notices()
        assert cp.start_shift("guard7", "246810")
        with pytest.raises(CheckpointError, match="'in' only"):
            cp.set_direction("out", "guard7")
        assert notes.empty() and cp.status()["gate"]["chosen_direction"] is None
    finally:
        cp.stop()
