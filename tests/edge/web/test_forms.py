"""Property tests of the guard page's parsers: form bodies and the SSE encoding of outcomes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.screen_forms import HealthCodeForm, OverrideForm, SignInForm, VisitorForm, describe_errors
from edge.web.stream import outcome_event
from tests.edge.web.fakes import make_outcome

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)
visitor_like = st.fixed_dictionaries({}, optional={
    "name": st.text(max_size=80) | json_values, "phone": st.text(max_size=40) | json_values,
    "host_household": st.text(max_size=80), "reason": st.text(max_size=80),
    "temperature_c": st.none() | st.floats() | st.text(max_size=6), "extra": json_values})


@given(body=visitor_like | json_values)
def test_any_visitor_body_parses_or_is_refused_with_words(body):
    try:
        form = VisitorForm.model_validate(body)
    except ValidationError as exc:
        words = describe_errors(exc)
        assert words["message_zh"] and words["message_en"]
        return
    assert form.name == form.name.strip() and form.name
    assert form.phone.lstrip("+").isdigit() and 5 <= len(form.phone.lstrip("+")) <= 15
    assert form.temperature_c is None or 30 <= form.temperature_c <= 45


@given(digits=st.text("0123456789", min_size=5, max_size=15), seps=st.lists(st.sampled_from([" ", "-", "(", ")"])))
def test_phone_separators_are_dropped(digits, seps):
    spaced = "".join(d + (seps[i] if i < len(seps) else "") for i, d in enumerate(digits))
    form = VisitorForm(name="王", phone=spaced, host_household="1-1-101", reason="探亲")
    assert form.phone == digits


@given(guard=st.text(max_size=40), pin=st.text(max_size=16))
def test_sign_in_accepts_only_plain_ids_and_digit_pins(guard, pin):
    try:
        form = SignInForm(guard_id=guard, pin=pin)
    except ValidationError:
        return
    assert form.pin.isascii() and form.pin.isdigit() and 4 <= len(form.pin) <= 12
    assert form.guard_id and len(form.guard_id) <= 32


@pytest.mark.parametrize("reason", ["emergency", "medical", "staff", "other"])
def test_override_reasons(reason):
    assert OverrideForm(ref_uuid="0f8e-12", reason=reason, note="送医").reason == reason
    with pytest.raises(ValidationError):
        OverrideForm(ref_uuid="0f8e-12", reason=reason.upper(), note="送医")


def test_other_needs_a_note_said_in_words():
    with pytest.raises(ValidationError) as err:
        OverrideForm(ref_uuid="0f8e-12", reason="other", note=" \t ")
    words = describe_errors(err.value)
    assert "其他" in words["message_zh"] and "Other" in words["message_en"]
    form = OverrideForm(ref_uuid="0f8e-12", reason="medical")
    assert (form.note, form.confirmed) == ("", False)


@given(note=st.text(max_size=80))
def test_any_note_is_folded_or_refused_with_words(note):
    try:
        form = OverrideForm(ref_uuid="0f8e-12", reason="other", note=note, confirmed=True)
    except ValidationError as exc:
        words = describe_errors(exc)
        assert words["message_zh"] and words["message_en"]
        return
    assert form.note and form.note == " ".join(form.note.split()) and len(form.note) <= 60
    assert not any(ch in form.note for ch in "\n\r\t\x00")


@pytest.mark.parametrize("colour", ["green", "yellow", "red"])
def test_health_code_colours(colour):
    assert HealthCodeForm(colour=colour).colour == colour
    with pytest.raises(ValidationError):
        HealthCodeForm(colour=colour.upper())


@given(zh=st.text(), en=st.text(), seq=st.integers(1, 2**62), temp=st.none() | st.floats(20, 45))
def test_outcome_events_survive_sse_framing(zh, en, seq, temp):
    outcome = make_outcome(seq, message_zh=zh, message_en=en, temperature_c=temp)
    frame = outcome_event(outcome)
    assert frame.endswith("\n\n") and frame.count("\n\n") == 1
    lines = frame[:-2].split("\n")
    assert lines[0] == f"id: {seq}" and lines[1] == "event: outcome" and lines[2].startswith("data: ")
    data = json.loads(lines[2][6:])
    assert (data["message_zh"], data["message_en"], data["seq"], data["temperature_c"]) == (zh, en, seq, temp)
