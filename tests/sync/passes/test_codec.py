"""The GP1 codec: round trips, size budget, accepted variants."""

from __future__ import annotations

import zlib

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.passes.issuance import make_qr
from sync.passes import KINDS, PassFormatError, decode_envelope, parse_claims, sign_pass
from sync.passes.codec import PREFIX, encode_claims
from tests.sync.passes.conftest import KID, NOW, make_info


def test_round_trip_gives_back_the_claims(make_pass):
    text, info = make_pass()
    envelope = decode_envelope(text)
    assert envelope.kid == KID
    assert parse_claims(envelope.payload, envelope.kid) == info


def test_typical_pass_fits_qr_version_7_at_m(make_pass):
    text, _ = make_pass(pass_id=120_000, household="12-3-1201")
    qr = make_qr(text)
    assert text.startswith(PREFIX)
    assert qr.version <= 7
    assert qr.error == "M"
    assert qr.mode == "alphanumeric"


def test_single_gate_visitor_pass_fits_version_7(make_pass):
    text, _ = make_pass(kind="visitor", gates=("north",), valid_to=NOW - 3600 + 86400)
    assert make_qr(text).version <= 7


def test_pass_text_is_qr_alphanumeric():
    alphabet = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    text = sign_pass(make_info(), Ed25519PrivateKey.generate())
    assert set(text) <= alphabet


def test_decoder_accepts_zlib_and_cose_tag(key, make_pass):
    text, info = make_pass()
    raw = base45.b45decode(text[len(PREFIX):])
    tagged = cbor2.dumps(cbor2.CBORTag(18, cbor2.loads(raw)))
    for body in (zlib.compress(raw), tagged, zlib.compress(tagged)):
        envelope = decode_envelope(PREFIX + base45.b45encode(body).decode())
        assert parse_claims(envelope.payload, envelope.kid) == info


def test_scanner_line_endings_are_tolerated(make_pass):
    text, info = make_pass()
    assert decode_envelope(text + "\r\n").kid == info.kid


def test_encoder_refuses_what_decoder_would_refuse():
    with pytest.raises(ValueError):
        encode_claims(make_info(valid_to=make_info().valid_from + 30))  # not whole minutes
    with pytest.raises(PassFormatError):
        encode_claims(make_info(household=""))


claims_strategy = st.builds(
    make_info,
    pass_id=st.integers(0, 2**63 - 1),
    household=st.text(min_size=1, max_size=64),
    person=st.integers(0, 999),
    kind=st.sampled_from(KINDS),
    valid_from=st.integers(0, 2**40 - 10**9),
    issued_at=st.integers(0, 2**40 - 10**9),
    gates=st.none() | st.lists(st.text(min_size=1, max_size=32), min_size=1, max_size=16).map(tuple),
).filter(lambda i: abs(i.valid_from - i.issued_at) <= 10 * 366 * 86400).map(
    lambda i: i.__class__(**{**{f: getattr(i, f) for f in i.__slots__}, "valid_to": i.valid_from + 60 * 1440}))


@settings(max_examples=150, deadline=None)
@given(info=claims_strategy)
def test_any_valid_claims_round_trip(key, info):
    envelope = decode_envelope(sign_pass(info, key))
    assert parse_claims(envelope.payload, envelope.kid) == info


def test_zlib_is_used_only_when_it_shortens_the_pass(key):
    typical = sign_pass(make_info(), key)
    assert base45.b45decode(typical[len(PREFIX):])[:1] != b"\x78"  # a signature does not compress
    roomy = sign_pass(make_info(gates=("gate-" + "a" * 20,) * 8), key)  # repetitive claims do
    assert base45.b45decode(roomy[len(PREFIX):])[:1] == b"\x78"
    envelope = decode_envelope(roomy)
    assert parse_claims(envelope.payload, envelope.kid).gates == ("gate-" + "a" * 20,) * 8
