"""Hand-over notes (issue 17): bounded text, saved with the ``shift_end`` entry in the local log, shown to the
guard who signs in next."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.guard_desk import CheckpointError
from edge.handover import NOTE_MAX, PHRASES, NoteError, clean_note
from edge.web.errors import refusal_error
from tests.edge.test_guard_desk import make


def test_a_note_keeps_its_lines_and_squeezes_spaces():
    assert clean_note("  3-2-401 隔离户需送菜 \n\n  体温计   电量低 ") == "3-2-401 隔离户需送菜\n体温计 电量低"
    assert clean_note("") == "" and clean_note(" \n ") == ""
    assert all(clean_note(p) == p for p in PHRASES)


@pytest.mark.parametrize("bad", ["a\x00b", "铃\x07", "\x1b[31m红", "x\u202ey", "tab\there", "a\rb"])
def test_control_characters_are_refused_in_chinese(bad):
    with pytest.raises(NoteError) as err:
        clean_note(bad)
    assert "控制字符" in err.value.zh and "control" in err.value.en


def test_an_over_long_note_is_refused_in_chinese():
    assert len(clean_note("长" * NOTE_MAX)) == NOTE_MAX
    with pytest.raises(NoteError) as err:
        clean_note("长" * (NOTE_MAX + 1))
    assert f"最多{NOTE_MAX}字" in err.value.zh


@given(st.text(max_size=2 * NOTE_MAX))
def test_any_text_is_refused_with_a_reason_or_stored_bounded_and_printable(text):
    try:
        note = clean_note(text)
    except NoteError as exc:
        assert exc.zh and exc.en
        return
    assert len(note) <= NOTE_MAX and all(c == "\n" or c.isprintable() for c in note)
    assert "\r" not in note and not note.startswith(" ") and "\n\n" not in note


def _shift_end(store):
    row = store.db.execute("SELECT guard_id, extra FROM entries WHERE event = 'shift_end' "
                           "ORDER BY seq DESC LIMIT 1").fetchone()
    return row[0], json.loads(row[1])


def test_the_note_is_logged_with_the_hand_over_and_shown_to_the_next_guard(opened_store):
    desk, store, *_ = make(opened_store)
    store.shifts.set_pin("g8", "135790")
    assert desk.last_hand_over() is None
    assert desk.start_shift("g7", "246810")
    summary = desk.end_shift(" 3-2-401 隔离户需送菜\n东侧围挡松动已报修 ")
    assert summary is not None and summary.guard_id == "g7"
    guard, extra = _shift_end(store)
    assert guard == "g7" and extra["handover_note"] == "3-2-401 隔离户需送菜\n东侧围挡松动已报修"
    assert extra["entries"] == summary.entries  # the summary is still there
    assert desk.start_shift("g8", "135790")
    last = desk.last_hand_over()
    assert last is not None and (last.guard_id, last.note) == ("g7", "3-2-401 隔离户需送菜\n东侧围挡松动已报修")


def test_a_refused_note_leaves_the_shift_open(opened_store):
    desk, store, *_ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    with pytest.raises(NoteError):
        desk.end_shift("坏\x00字符")
    assert store.shifts.current() is not None and store.db.execute(
        "SELECT count(*) FROM entries WHERE event = 'shift_end'").fetchone()[0] == 0
    desk.end_shift()
    assert "handover_note" not in _shift_end(store)[1]  # no note: no key


def test_a_hand_over_the_log_could_not_save_is_refused_not_lost_silently(opened_store):
    desk, store, *_ = make(opened_store)
    assert desk.start_shift("g7", "246810")
    store.db.execute("CREATE TRIGGER full BEFORE INSERT ON entries BEGIN SELECT RAISE(ABORT, 'disk is full'); END")
    with pytest.raises(CheckpointError, match="the hand-over could not be saved"):
        desk.end_shift("体温计电量低")
    words = refusal_error(CheckpointError("the hand-over could not be saved"))
    assert "未能保存" in words.zh and "could not be saved" in words.en
