"""The pure core on plain data: de-duplication, temperature pairing, the decision, opening hours, messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.decision import GateRules, decide, is_open, needs_temperature, parse_hours
from edge.dedupe import Deduper, Seen
from edge.pairing import Measurement, PairingRules, Sample, TempStatus, judge_temperature, pair
from sync.passes.messages import MESSAGES as PASS_MESSAGES
from sync.reasons import MESSAGES, message

# -- dedupe ---------------------------------------------------------------------------------------


def test_consecutive_frames_are_one_scan_and_a_rescan_in_cooldown_is_reported_once():
    d = Deduper(same_scan_gap_s=1.0, cooldown_s=10.0)
    assert d.seen("A", 0.0) is Seen.NEW
    assert [d.seen("A", t) for t in (0.1, 0.5, 1.4, 2.3)] == [Seen.SAME] * 4  # still in view
    assert d.seen("A", 5.0) is Seen.COOLDOWN          # shown again within the cooldown: report once
    assert d.seen("A", 5.1) is Seen.SAME
    assert d.seen("A", 8.0) is Seen.IGNORED           # another re-scan: already reported
    assert d.seen("B", 8.0) is Seen.NEW               # someone else
    assert d.seen("A", 12.0) is Seen.NEW              # after the cooldown


def test_pass_held_in_view_past_the_cooldown_stays_one_scan():
    d = Deduper(same_scan_gap_s=0.5, cooldown_s=2.0)
    assert d.seen("A", 0.0) is Seen.NEW
    assert all(d.seen("A", i * 0.1) is Seen.SAME for i in range(1, 60))


def test_allow_rescan_needs_the_pass_to_leave_the_view_first():
    d = Deduper(same_scan_gap_s=0.5, cooldown_s=30.0)
    d.seen("A", 0.0)
    d.allow_rescan("A")
    assert d.seen("A", 0.3) is Seen.SAME
    assert d.seen("A", 1.5) is Seen.NEW


@given(st.lists(st.tuples(st.sampled_from("ABC"), st.floats(0, 100, allow_nan=False)), max_size=80))
def test_dedupe_never_reports_two_new_scans_of_a_pass_within_the_cooldown(events):
    d = Deduper(same_scan_gap_s=1.0, cooldown_s=10.0)
    last_new: dict[str, float] = {}
    for key, t in sorted(events, key=lambda e: e[1]):
        if d.seen(key, t) is Seen.NEW:
            assert key not in last_new or t - last_new[key] >= 10.0
            last_new[key] = t


def test_prune_keeps_the_table_bounded():
    d = Deduper(1.0, 5.0, max_keys=10)
    for i in range(100):
        d.seen(f"k{i}", float(i))
    assert len(d) <= 10


# -- pairing ----------------------------------------------------------------------------------------

RULES = PairingRules(window_s=5.0, lookback_s=1.0, samples=3, fever_c=37.3)


def test_pairing_takes_the_median_of_the_first_body_readings_in_the_window():
    samples = [Sample(8.0, 36.0), Sample(9.5, None), Sample(10.2, 36.5), Sample(10.3, 39.0), Sample(10.4, 36.6),
               Sample(10.5, 36.7)]
    m = pair(samples, t_scan=10.0, now=10.6, rules=RULES)
    assert m == Measurement(36.6, (36.5, 39.0, 36.6), True, 10.4)


def test_pairing_waits_until_enough_readings_or_the_window_ends():
    samples = [Sample(10.2, 36.5)]
    assert not pair(samples, 10.0, 11.0, RULES).complete
    end = pair(samples, 10.0, 15.0, RULES)
    assert end.complete and end.temp_c == 36.5


def test_pairing_skips_readings_used_for_the_previous_person_and_future_ones():
    samples = [Sample(9.5, 38.0), Sample(10.1, 36.4), Sample(12.0, 36.6)]
    m = pair(samples, 10.0, 11.0, RULES, not_before=9.5)
    assert m.temps == (36.4,)


def test_no_body_reading_is_missing():
    m = pair([Sample(10.5, None)], 10.0, 20.0, RULES)
    assert m.temp_c is None and m.complete
    assert judge_temperature(m.temp_c, 37.3, False) is TempStatus.MISSING


@pytest.mark.parametrize(("temp", "before", "status"), [
    (36.5, False, TempStatus.NORMAL), (37.29, False, TempStatus.NORMAL), (37.3, False, TempStatus.HIGH),
    (38.0, True, TempStatus.FEVER), (36.5, True, TempStatus.NORMAL), (None, True, TempStatus.MISSING)])
def test_judge_temperature(temp, before, status):
    assert judge_temperature(temp, 37.3, before) is status


@given(st.lists(st.tuples(st.floats(0, 30, allow_nan=False), st.one_of(st.none(), st.floats(30, 45))),
                max_size=40), st.floats(0, 30, allow_nan=False), st.floats(0, 40, allow_nan=False))
def test_pairing_uses_only_readings_inside_the_window_known_at_now(raw, t_scan, now):
    samples = [Sample(t, b) for t, b in raw]
    m = pair(samples, t_scan, now, RULES)
    window = [s.body_c for s in samples if s.body_c is not None and t_scan - 1.0 <= s.t <= min(t_scan + 5.0, now)]
    assert set(m.temps) <= set(window)
    assert len(m.temps) == min(len(window), 3)
    if m.temp_c is not None:
        assert min(m.temps) - 0.005 <= m.temp_c <= max(m.temps) + 0.005  # median, rounded to 0.01 C


# -- decision ----------------------------------------------------------------------------------------

GUARDED = GateRules(direction="in", mode="guarded")
UNATTENDED = GateRules(direction="in", mode="unattended", no_reading="guard")


@pytest.mark.parametrize(("ok", "code", "kind", "temp", "rules", "minute", "expect"), [
    (True, "ok", "resident", TempStatus.NORMAL, GUARDED, 600, ("pass", "temp_ok")),
    (True, "ok", "resident", TempStatus.HIGH, GUARDED, 600, ("refuse", "temp_high")),
    (True, "ok", "resident", TempStatus.FEVER, GUARDED, 600, ("refuse", "fever")),
    (False, "expired", "resident", TempStatus.FEVER, GUARDED, 600, ("refuse", "fever")),
    (False, "revoked", "resident", None, GUARDED, 600, ("refuse", "revoked")),
    (True, "ok", "resident", TempStatus.MISSING, GUARDED, 600, ("refuse", "temp_missing")),
    (True, "ok", "resident", TempStatus.MISSING, GateRules("in", "guarded", no_reading="guard"), 600,
     ("guard", "temp_missing_guard")),
    (True, "ok", "resident", TempStatus.MISSING, UNATTENDED, 600, ("refuse", "temp_missing")),  # no guard there
    (True, "ok", "resident", TempStatus.NORMAL, GateRules("in", open_hours=((360, 1380),)), 100, ("refuse", "closed")),
    (True, "ok", "staff", TempStatus.NORMAL, GateRules("in", open_hours=((360, 1380),)), 100, ("pass", "temp_ok")),
    (True, "ok", "resident", None, GateRules("out"), 600, ("pass", "pass_ok")),
    (True, "ok", "resident", None, GateRules("in"), 600, ("refuse", "temp_missing")),  # never pass unmeasured
])
def test_decision_table(ok, code, kind, temp, rules, minute, expect):
    d = decide(ok, code, kind, temp, rules, minute)
    assert (d.decision, d.code) == expect
    assert d.fever == (d.code == "fever") and d.priority == d.fever
    assert d.remeasure == (d.code in ("temp_high", "temp_missing"))


@given(st.booleans(), st.sampled_from(sorted(PASS_MESSAGES)), st.sampled_from(["resident", "staff", None]),
       st.sampled_from([None, *TempStatus]), st.sampled_from(["in", "out", "both"]),
       st.sampled_from(["guarded", "unattended"]), st.sampled_from(["refuse", "guard"]), st.integers(0, 1439))
def test_decision_properties(ok, code, kind, temp, direction, mode, no_reading, minute):
    rules = GateRules(direction, mode, ((420, 1200),), no_reading)
    d = decide(ok, code, kind, temp, rules, minute)
    assert d.code in MESSAGES or d.code in PASS_MESSAGES
    if d.decision == "pass":  # pass only with a valid pass, open (or staff), and a normal or unneeded temperature
        assert ok and (kind == "staff" or is_open(rules.open_hours, minute))
        assert temp is TempStatus.NORMAL or (temp is None and not needs_temperature(rules))
    if d.decision == "guard":
        assert mode == "guarded"
    if temp is TempStatus.FEVER:
        assert d.decision == "refuse" and d.priority


# -- opening hours -------------------------------------------------------------------------------------

def test_parse_hours_and_overnight_ranges():
    assert parse_hours("") == ()
    assert parse_hours("06:00-23:00") == ((360, 1380),)
    hours = parse_hours("22:00-06:00, 12:00-13:00")
    assert is_open(hours, 23 * 60) and is_open(hours, 5 * 60) and is_open(hours, 12 * 60 + 30)
    assert not is_open(hours, 7 * 60)
    assert parse_hours("00:00-24:00") == ((0, 1440),)


@pytest.mark.parametrize("bad", ["6-23", "06:00", "25:00-26:00", "06:00-06:00", "06:60-07:00", "a,b"])
def test_parse_hours_rejects_bad_text_with_the_part(bad):
    with pytest.raises(ValueError, match="opening hours"):
        parse_hours(bad)


@given(st.text(max_size=40))
def test_parse_hours_never_crashes_on_any_text(text):
    try:
        hours = parse_hours(text)
    except ValueError:
        return
    for start, end in hours:
        assert 0 <= start <= 1440 and 0 <= end <= 1440 and start != end


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 24), st.integers(0, 59))
def test_parse_hours_round_trips_formatted_ranges(h0, m0, h1, m1):
    text = f"{h0:02d}:{m0:02d}-{h1:02d}:{m1:02d}"
    start, end = h0 * 60 + m0, h1 * 60 + m1
    if start == end or end > 1440:
        with pytest.raises(ValueError):
            parse_hours(text)
    else:
        assert parse_hours(text) == ((start, end),)


# -- messages ------------------------------------------------------------------------------------------

def test_every_code_has_zh_and_en_and_unknown_codes_fall_back():
    for code, texts in MESSAGES.items():
        assert texts["zh"] and texts["en"], code
    assert message("temp_high") == "体温异常，请复测"
    assert message("expired", "en") == "Pass expired"
    assert message("no-such-code") == "no-such-code"
