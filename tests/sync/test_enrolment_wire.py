"""The shared enrolment wire definitions (sync.enrolment): codes, secrets, models."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync import enrolment as en

codes = st.text(alphabet=en.CODE_ALPHABET, min_size=en.CODE_LENGTH, max_size=en.CODE_LENGTH)


def test_alphabet_has_no_misread_characters():
    assert not set("0O1IL") & set(en.CODE_ALPHABET)
    assert len(set(en.CODE_ALPHABET)) == len(en.CODE_ALPHABET) == 31


def test_new_codes_are_from_the_alphabet_and_vary():
    drawn = {en.new_code() for _ in range(50)}
    assert len(drawn) == 50
    assert all(len(c) == en.CODE_LENGTH and set(c) <= set(en.CODE_ALPHABET) for c in drawn)


@given(codes)
def test_format_and_parse_round_trip(code):
    shown = en.format_code(code)
    assert shown[4] == "-" and len(shown) == 9
    assert en.parse_code(shown) == code
    assert en.parse_code(shown.lower()) == code
    assert en.parse_code(f" {code[:4]} {code[4:]} ") == code
    assert en.parse_code(f"{code[:4]}－{code[4:]}") == code  # full-width dash from a Chinese keyboard


@given(st.text(max_size=80))
def test_parse_code_refuses_with_a_reason_or_returns_a_code(text):
    try:
        bare = en.parse_code(text)
    except en.EnrolmentError as exc:
        assert "/" in str(exc)  # zh-CN / English
    else:
        assert len(bare) == en.CODE_LENGTH and set(bare) <= set(en.CODE_ALPHABET)


@pytest.mark.parametrize("typed", ["ABCD-0123", "abcd-l234", "ABCD-234", "ABCD-23456", "ABCO-2345"])
def test_parse_code_refuses_misreadable_or_wrong_lengths(typed):
    with pytest.raises(en.EnrolmentError):
        en.parse_code(typed)


def test_secret_and_claim():
    secret = en.new_secret()
    assert len(secret) == 64 and secret == secret.lower()
    assert en.claim_of(secret) == hashlib.sha256(bytes.fromhex(secret)).hexdigest()
    assert en.new_secret() != secret
    for bad in ("", "zz" * 32, "ab" * 31, "ab" * 33):
        with pytest.raises(en.EnrolmentError):
            en.claim_of(bad)


def test_fingerprint_ignores_line_ends_and_white_space():
    pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
    fp = en.key_fingerprint(pem)
    assert fp == en.key_fingerprint(pem.replace("\n", "\r\n") + "  ")
    assert len(fp.replace(" ", "")) == 16 and fp != en.key_fingerprint(pem.replace("A", "B"))


_GOOD = {"claim": "a" * 64, "hostname": "gate-pi", "software_version": "0.4.0", "previous_device_id": None}


def test_request_model_accepts_the_documented_body():
    req = en.EnrolmentRequest.model_validate(_GOOD)
    assert req.previous_device_id is None
    assert en.EnrolmentRequest.model_validate({**_GOOD, "previous_device_id": "east-1"}).previous_device_id == "east-1"


@pytest.mark.parametrize("change", [
    {"claim": "A" * 64}, {"claim": "a" * 63}, {"hostname": ""}, {"hostname": "x" * 65}, {"hostname": "a\nb"},
    {"software_version": "v" * 33}, {"previous_device_id": ""}, {"extra": 1}, {"claim": 5},
])
def test_request_model_refuses(change):
    with pytest.raises(ValidationError):
        en.EnrolmentRequest.model_validate({**_GOOD, **change})


@given(st.dictionaries(st.sampled_from(["claim", "hostname", "software_version", "previous_device_id", "x"]),
                       st.one_of(st.none(), st.text(max_size=70), st.integers(), st.floats())))
def test_request_model_never_crashes(body):
    try:
        req = en.EnrolmentRequest.model_validate(body)
    except ValidationError:
        return
    assert len(req.claim) == 64 and len(req.hostname) <= 64


def test_poll_replies():
    assert isinstance(en.read_poll_reply({"status": "pending", "expires_at": 5.0}), en.PollPending)
    assert en.read_poll_reply({"status": "used"}).status == "used"
    approved = en.read_poll_reply({
        "status": "approved", "device_id": "east-1", "token": "gp1_" + "x" * 43,
        "central_public_key": "-----BEGIN PUBLIC KEY-----\n...", "central_key_fingerprint": "abcd ef01 2345 6789",
        "gate": {"community": "幸福里社区", "gate_id": "east", "gate_name": "东门", "direction": "both",
                 "mode": "guarded"}})
    assert isinstance(approved, en.PollApproved) and approved.gate.gate_name == "东门"
    for bad in ({"status": "approved"}, {"status": "gone"}, [], None, {"status": "pending", "expires_at": "nan"}):
        with pytest.raises(en.EnrolmentError):
            en.read_poll_reply(bad)


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=20) | st.integers(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=4), max_leaves=12))
def test_reading_any_reply_raises_only_enrolment_error(body):
    for read in (en.read_poll_reply, en.read_created):
        try:
            read(body)
        except en.EnrolmentError:
            pass


def test_created_reply():
    created = en.read_created({"code": "ABCD-2345", "expires_at": 1.0e9, "poll_after_s": 5, "approve_url": None})
    assert created.code == "ABCD-2345"
    with pytest.raises(en.EnrolmentError):
        en.read_created({"code": "ABCD2345", "expires_at": 1.0e9})
