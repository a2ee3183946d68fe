"""The pure verifier: one test per reason code, the clock rules and key rotation/retirement."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.passes import (
    DEFAULT_CLOCK_FLOOR,
    MESSAGES,
    GateContext,
    Lists,
    Now,
    TrustKey,
    TrustList,
    effective_now,
    sign_pass,
    verify,
)
from tests.sync.passes.conftest import KID, NOW, make_info

DAY = 86400


def test_valid_pass_is_accepted_with_its_details(make_pass, trust, no_lists, gate, now):
    text, info = make_pass()
    verdict = verify(text, trust, no_lists, gate, now)
    assert (verdict.ok, verdict.code, verdict.pass_info) == (True, "ok", info)
    assert verdict.message_zh == "通行证有效" and verdict.message_en == "Pass valid"


def test_not_our_format(trust, no_lists, gate, now):
    for text in ("HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B", "https://example.com/", ""):
        assert verify(text, trust, no_lists, gate, now).code == "not_our_format"


def test_unknown_key(no_lists, gate, now):
    other = Ed25519PrivateKey.generate()
    text = sign_pass(make_info(kid=b"\x00\x01\x02\x03"), other)
    trust = TrustList.of([TrustKey(KID, other.public_key())])
    verdict = verify(text, trust, no_lists, gate, now)
    assert verdict.code == "unknown_key" and not verdict.ok and verdict.pass_info is None


def test_forged_pass_signed_by_another_key_under_our_kid(trust, no_lists, gate, now):
    forged = sign_pass(make_info(household="9-9-999"), Ed25519PrivateKey.generate())
    verdict = verify(forged, trust, no_lists, gate, now)
    assert verdict.code == "bad_signature" and verdict.pass_info is None


@pytest.mark.parametrize(("t", "code"), [(NOW - 3600 - 1, "not_yet_valid"), (NOW - 3600, "ok"),
                                         (NOW - 3600 + 30 * DAY - 1, "ok"), (NOW - 3600 + 30 * DAY, "expired")])
def test_validity_period_bounds(make_pass, trust, no_lists, gate, t, code):
    text, _ = make_pass()
    assert verify(text, trust, no_lists, gate, Now(t, True)).code == code


def test_revoked_beats_everything_and_needs_no_clock(make_pass, trust, gate):
    text, info = make_pass()
    lists = Lists.of(revoked={info.pass_id}, quarantine={info.household: (0, 2**40)})
    for now in (Now(NOW, True), Now(100.0, False)):
        verdict = verify(text, trust, lists, gate, now)
        assert verdict.code == "revoked" and verdict.pass_info == info


@pytest.mark.parametrize(("direction", "code"), [("in", "ok"), ("out", "quarantined"), ("both", "quarantined")])
def test_quarantine_refuses_exit_only(make_pass, trust, direction, code):
    text, info = make_pass()
    lists = Lists.of(quarantine={info.household: (NOW - DAY, NOW + 13 * DAY)})
    assert verify(text, trust, lists, GateContext("north", direction), Now(NOW, True)).code == code


def test_quarantine_ends_on_its_end_date(make_pass, trust):
    text, info = make_pass()
    lists = Lists.of(quarantine={info.household: (NOW - 600, NOW + DAY)})
    out = GateContext("north", "out")
    assert verify(text, trust, lists, out, Now(NOW + DAY - 1, True)).code == "quarantined"
    assert verify(text, trust, lists, out, Now(NOW + DAY, True)).ok
    assert verify(text, trust, lists, out, Now(NOW - 601, True)).ok  # not started yet


def test_other_households_are_not_affected(make_pass, trust):
    text, _ = make_pass(household="3-2-402")
    lists = Lists.of(quarantine={"3-2-401": (NOW - DAY, NOW + DAY)})
    assert verify(text, trust, lists, GateContext("north", "out"), Now(NOW, True)).ok


def test_wrong_gate(make_pass, trust, no_lists, now):
    text, _ = make_pass(gates=("north", "east"))
    assert verify(text, trust, no_lists, GateContext("north"), now).ok
    assert verify(text, trust, no_lists, GateContext("east"), now).ok
    assert verify(text, trust, no_lists, GateContext("south"), now).code == "wrong_gate"


def test_clock_not_set_refuses_instead_of_accepting(make_pass, trust, no_lists, gate):
    text, info = make_pass()
    verdict = verify(text, trust, no_lists, gate, effective_now(86400.0 * 3, None))
    assert verdict.code == "clock_not_set" and verdict.pass_info == info


def test_a_non_finite_clock_is_not_a_clock(make_pass, trust, no_lists, gate):
    # Regression: Now(nan, trusted=True) passed both validity comparisons, so any pass was accepted.
    text, info = make_pass()
    for t in (float("nan"), float("inf")):
        verdict = verify(text, trust, no_lists, gate, Now(t, True))
        assert not verdict.ok and verdict.code == "clock_not_set" and verdict.pass_info == info


def test_effective_now_uses_the_later_of_system_and_server_time():
    floor = DEFAULT_CLOCK_FLOOR
    assert effective_now(floor + 10, None) == Now(floor + 10, True)
    assert effective_now(100.0, None) == Now(100.0, False)          # booted without RTC or network
    assert effective_now(100.0, floor + 50) == Now(floor + 50, True)  # central confirmed a time earlier
    assert effective_now(floor + 99, floor + 50) == Now(floor + 99, True)
    assert effective_now(floor - 1, None, clock_floor=floor) == Now(floor - 1, False)


def test_rotation_keeps_both_keys_valid_and_retirement_works_offline(key, no_lists, gate):
    new_key, new_kid = Ed25519PrivateKey.generate(), b"\x0b\x0b\x0b\x0b"
    old_pass = sign_pass(make_info(), key)
    new_pass = sign_pass(make_info(kid=new_kid, pass_id=99), new_key)
    trust = TrustList.of([TrustKey(KID, key.public_key(), 0, NOW + 5 * DAY),
                          TrustKey(new_kid, new_key.public_key(), NOW - DAY)])
    assert verify(old_pass, trust, no_lists, gate, Now(NOW, True)).ok
    assert verify(new_pass, trust, no_lists, gate, Now(NOW, True)).ok
    # After the old key's end the gate drops it by itself, with no sync in between.
    assert verify(old_pass, trust, no_lists, gate, Now(NOW + 6 * DAY, True)).code == "unknown_key"
    assert verify(new_pass, trust, no_lists, gate, Now(NOW + 6 * DAY, True)).ok
    # Retired outright (e.g. the key file leaked).
    retired = TrustList.of([TrustKey(KID, key.public_key(), retired=True)])
    assert verify(old_pass, retired, no_lists, gate, Now(NOW, True)).code == "unknown_key"
    assert verify(old_pass, retired, no_lists, gate, Now(5.0, False)).code == "unknown_key"


def test_every_code_has_both_messages():
    codes = {"ok", "not_our_format", "corrupt", "unknown_key", "bad_signature", "not_yet_valid", "expired",
             "revoked", "quarantined", "wrong_gate", "clock_not_set"}
    assert codes <= set(MESSAGES)
    for entry in MESSAGES.values():
        assert entry["zh"] and entry["en"] and entry["zh"] != entry["en"]


@pytest.mark.parametrize(("direction", "code"), [("in", "ok"), ("out", "quarantined"), ("both", "quarantined")])
def test_a_person_under_quarantine_is_refused_exit_and_the_rest_of_the_household_is_not(make_pass, trust,
                                                                                           direction, code):
    text, info = make_pass()  # household 3-2-401, person 1
    other, _ = make_pass(person=2, pass_id=1235)
    lists = Lists.of(persons={(info.household, info.person): (NOW - DAY, NOW + DAY)})
    gate = GateContext("north", direction)
    assert verify(text, trust, lists, gate, Now(NOW, True)).code == code
    assert verify(other, trust, lists, gate, Now(NOW, True)).ok
    assert verify(text, trust, lists, gate, Now(NOW + DAY, True)).ok  # midnight after the last day: free
    assert lists.quarantined(info.household, 1, NOW) and not lists.household_quarantined(info.household, NOW)


@settings(max_examples=80, deadline=None)
@given(start=st.floats(NOW - 30 * DAY, NOW + 30 * DAY), length=st.floats(0, 30 * DAY),
       t=st.floats(NOW - 60 * DAY, NOW + 60 * DAY), person=st.integers(0, 5), whole=st.booleans())
def test_quarantine_holds_exactly_from_its_start_until_its_end(make_pass, trust, start, length, t, person, whole):
    text, info = make_pass()
    period = (start, start + length)
    lists = (Lists.of(quarantine={info.household: period}) if whole
             else Lists.of(persons={(info.household, person): period}))
    inside = start <= t < start + length and (whole or person == info.person)
    verdict = verify(text, trust, lists, GateContext("north", "out"), Now(t, True))
    if info.valid_from <= t < info.valid_to:
        assert (verdict.code == "quarantined") == inside
