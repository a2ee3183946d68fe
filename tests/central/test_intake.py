"""The rules central applies to an uploaded row before storing it (:mod:`central.intake`), on plain data."""

from __future__ import annotations

import json
import math
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from central import intake

NOW = 1_795_000_000.0
CTX = intake.Context(gate_id="north", now=NOW, report_boot_id="boot-1", report_mono_now=5000.0)


def _row(**over):
    base = {"gate_id": "north", "wall_ts": NOW - 60, "mono_ts": 4940.0, "boot_id": "boot-1", "temp_c": 36.5,
            "household": "3-2-401", "reason": "temp_ok", "pass_id": "101"}
    return {**base, **over}


def _displayable(t: float) -> bool:
    try:
        datetime.fromtimestamp(t)
    except (OverflowError, OSError, ValueError):
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(wall_ts=st.floats(allow_nan=False, allow_infinity=False), mono_ts=st.floats(allow_nan=False,
       allow_infinity=False), boot=st.sampled_from(["boot-1", "boot-0"]),
       temp=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
       text=st.text(max_size=30), gate=st.text(max_size=10))
def test_any_row_is_stored_with_a_plausible_time_safe_texts_and_its_originals_kept(wall_ts, mono_ts, boot, temp,
                                                                                  text, gate):
    row = _row(wall_ts=wall_ts, mono_ts=mono_ts, boot_id=boot, temp_c=temp, reason=text, gate_id=gate)
    out = intake.screen(row, CTX)
    assert out["gate_id"] == "north"
    assert intake.plausible_time(out["wall_ts"], NOW) and _displayable(out["wall_ts"])
    assert out["time_suspect"] == (not intake.plausible_time(wall_ts, NOW))
    assert out["temp_c"] is None or intake.TEMP_RANGE_C[0] <= out["temp_c"] <= intake.TEMP_RANGE_C[1]
    assert all(not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in v) for v in out.values() if isinstance(v, str))
    if out["corrections"] is None:
        assert {k: out[k] for k in row} == row
    else:
        assert out["corrections"].isascii()
        kept = json.loads(out["corrections"])
        restored = {**out, **{k: v for k, v in kept.items() if k != "text"}, **kept.get("text", {})}
        assert {k: restored[k] for k in row} == row  # nothing is lost: every original is in corrections


def test_an_entry_from_an_offline_gates_backlog_is_not_flagged():
    out = intake.screen(_row(wall_ts=NOW - 20 * 86400), CTX)
    assert out["time_suspect"] == 0 and out["corrections"] is None


def test_a_flagged_time_is_estimated_from_the_gates_monotonic_clock_when_the_boot_matches():
    assert intake.screen(_row(wall_ts=3600.0, mono_ts=4400.0), CTX)["wall_ts"] == NOW - 600
    assert intake.screen(_row(wall_ts=3600.0, mono_ts=4400.0, boot_id="boot-0"), CTX)["wall_ts"] == NOW
    assert intake.screen(_row(wall_ts=3600.0, mono_ts=6000.0), CTX)["wall_ts"] == NOW  # "after" the report: no


def test_clean_text_keeps_ordinary_text_and_replaces_every_control_character():
    assert intake.clean_text("幸福里 3-2-401 ✓") == "幸福里 3-2-401 ✓"
    assert intake.clean_text("a\tb\nc\x00\x7f\x9f\ud800\ufffe") == "a\ufffdb\ufffdc" + "\ufffd" * 5
    report = intake.clean_report({"boot_id": "b\x01", "wall_now": 1.0, "faults": [{"code": "t\x02", "since": 1.0}]})
    assert report == {"boot_id": "b\ufffd", "wall_now": 1.0, "faults": [{"code": "t\ufffd", "since": 1.0}]}


def test_the_future_slack_is_one_day():
    assert intake.plausible_time(NOW + 86400, NOW) and not intake.plausible_time(NOW + 86401, NOW)
    assert not intake.plausible_time(-math.inf, NOW) and not intake.plausible_time(intake.EARLIEST_WALL_TS - 1, NOW)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), min_size=1, max_size=6))
def test_a_batch_screened_with_one_search_is_stored_as_row_by_row(texts):
    """:func:`intake.any_unsafe_text` over the batch, then ``screen(texts=...)``: the same rows as screening each
    row's texts on its own (a clean batch skips the per-row search; a dirty one searches every row)."""
    rows = [_row(reason=a, household=b) for a, b in texts]
    found = intake.any_unsafe_text(rows)
    assert [intake.screen(r, CTX, texts=found) for r in rows] == [intake.screen(r, CTX) for r in rows]
    assert found == any(intake.clean_text(v) != v for r in rows for v in r.values() if isinstance(v, str))


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40) | st.text(st.characters(codec=None, categories=["Cc", "Cs", "Cn", "Cf", "Zs", "Lo"]),
                                           max_size=10))
def test_has_unsafe_finds_exactly_what_clean_text_replaces(text):
    """The printable shortcut never hides a character to clean (every one is non-printable)."""
    assert intake.has_unsafe(text) == (intake.clean_text(text) != text)
    assert intake.has_unsafe(text + "\ufffe") and intake.has_unsafe("\ud800" + text)
    assert intake.has_unsafe(text + "\x85")


def test_screening_in_place_gives_the_row_a_copy_gives():
    row = _row(gate_id="other", wall_ts=-1.0, temp_c=300.0, reason="a\x07")
    assert intake.screen(dict(row), CTX, in_place=True) == intake.screen(row, CTX)
    mine = dict(row)
    assert intake.screen(mine, CTX, in_place=True) is mine
