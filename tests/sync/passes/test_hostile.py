"""Hostile pass payloads: every one is refused with a reason code, nothing escapes ``verify``."""

from __future__ import annotations

import zlib

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.passes import MESSAGES, verify
from sync.passes.codec import PREFIX, sig_structure
from tests.sync.passes.conftest import KID, NOW, SEED

B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
GOOD_CLAIMS = {1: 5, 2: "3-2-401", 3: 1, 4: 0, 5: NOW - 3600, 6: 43200}


def _text(body: bytes) -> str:
    return PREFIX + base45.b45encode(body).decode()


def _cose(protected: bytes, payload: bytes, signature: bytes, unprotected=None) -> bytes:
    return cbor2.dumps([protected, {} if unprotected is None else unprotected, payload, signature])


def _signed(claims_bytes: bytes, header: dict | None = None) -> str:
    """A correctly signed COSE_Sign1 around arbitrary claim bytes: only the claim checks can refuse it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    protected = cbor2.dumps(header if header is not None else {4: KID})
    signature = Ed25519PrivateKey.from_private_bytes(SEED).sign(sig_structure(protected, claims_bytes))
    return _text(_cose(protected, claims_bytes, signature))


def _claims(**override) -> bytes:
    claims = dict(GOOD_CLAIMS)
    for key, value in override.items():
        index = int(key[1:])
        if value is ...:
            claims.pop(index, None)
        else:
            claims[index] = value
    return cbor2.dumps(claims)


def _corpus(good: str) -> list[tuple[str, object, str]]:
    good_raw = base45.b45decode(good[len(PREFIX):])
    protected, _, payload, signature = cbor2.loads(good_raw)
    mid = len(good) // 2
    flipped = good[:mid] + ("0" if good[mid] != "0" else "1") + good[mid + 1:]
    return [
        ("empty", "", "not_our_format"),
        ("prefix only", PREFIX, "corrupt"),
        ("lower-case prefix", "gp1:" + good[4:], "not_our_format"),
        ("other scheme (EU DCC)", "HC1:" + good[4:], "not_our_format"),
        ("random bytes as text", bytes(range(256)).decode("latin-1"), "not_our_format"),
        ("bytes instead of str", good.encode(), "not_our_format"),
        ("None instead of str", None, "not_our_format"),
        ("characters outside Base45", PREFIX + "abc{}", "corrupt"),
        ("NUL bytes", PREFIX + "\x00\x00\x00", "corrupt"),
        ("truncated by one character", good[:-1], "corrupt"),
        ("truncated to half", good[: len(good) // 2], "corrupt"),
        ("Base45 triplet over 65535", PREFIX + "ZZZ", "corrupt"),
        ("valid Base45 of garbage", _text(b"\xff\xfe garbage \x00" * 5), "corrupt"),
        ("one megabyte of text", PREFIX + "A" * 1_000_000, "corrupt"),
        ("zip bomb under the text cap", _text(zlib.compress(b"\x00" * 200_000, 9)), "corrupt"),
        ("zip bomb over the text cap", _text(zlib.compress(b"\x00" * 10_000_000, 9)), "corrupt"),
        ("truncated zlib stream", _text(zlib.compress(good_raw)[:-6]), "corrupt"),
        ("zlib then trailing junk", _text(zlib.compress(good_raw) + b"junk"), "corrupt"),
        ("oversized CBOR", _text(_cose(protected, payload, signature, {99: b"x" * 2000})), "corrupt"),
        ("CBOR claiming a 2^64-byte string", _text(b"\x5b" + b"\xff" * 8 + b"abc"), "corrupt"),
        ("500 nested arrays", _text(b"\x81" * 500 + b"\x00"), "corrupt"),
        ("COSE with three members", _text(cbor2.dumps([protected, {}, payload])), "corrupt"),
        ("COSE payload is an integer", _text(cbor2.dumps([protected, {}, 7, signature])), "corrupt"),
        ("COSE then trailing bytes", _text(good_raw + b"\x00"), "corrupt"),
        ("protected header not a map", _text(_cose(cbor2.dumps(5), payload, signature)), "corrupt"),
        ("no key id", _text(_cose(cbor2.dumps({1: -8}), payload, signature)), "corrupt"),
        ("ES256 instead of EdDSA", _text(_cose(cbor2.dumps({1: -7, 4: KID}), payload, signature)), "corrupt"),
        ("63-byte signature", _text(_cose(protected, payload, signature[:63])), "corrupt"),
        ("unknown key id", _text(_cose(cbor2.dumps({4: b"\xde\xad\xbe\xef"}), payload, signature)), "unknown_key"),
        ("one character flipped", flipped, ("bad_signature", "corrupt")),
        ("claims swapped, old signature", _text(_cose(protected, _claims(c2="1-1-101"), signature)), "bad_signature"),
        ("signed: household is an integer", _signed(_claims(c2=401)), "corrupt"),
        ("signed: pass id is true", _signed(_claims(c1=True)), "corrupt"),
        ("signed: negative pass id", _signed(_claims(c1=-5)), "corrupt"),
        ("signed: bignum pass id", _signed(_claims(c1=2**70)), "corrupt"),
        ("signed: float valid_from", _signed(_claims(c5=1.5e9)), "corrupt"),
        ("signed: kind 9", _signed(_claims(c4=9)), "corrupt"),
        ("signed: gates not a list", _signed(_claims(c8="north")), "corrupt"),
        ("signed: 17 gates", _signed(_claims(c8=["g"] * 17)), "corrupt"),
        ("signed: no valid_from", _signed(_claims(c5=...)), "corrupt"),
        ("signed: unknown claim 99", _signed(_claims(c99="x")), "corrupt"),
        ("signed: zero minutes", _signed(_claims(c6=0)), "corrupt"),
        ("signed: claims are an array", _signed(cbor2.dumps([5, "3-2-401"])), "corrupt"),
        ("signed: claims then junk", _signed(_claims() + b"\x00"), "corrupt"),
        ("signed: 100-char household", _signed(_claims(c2="x" * 100)), "corrupt"),
        ("signed: regex tag in claims", _signed(_claims(c2=cbor2.CBORTag(35, "(a+)+$"))), "corrupt"),
    ]


def test_corpus_has_at_least_20_payloads(make_pass):
    assert len(_corpus(make_pass()[0])) >= 20


def test_every_hostile_payload_is_refused_with_its_code(make_pass, trust, no_lists, gate, now):
    good, _ = make_pass()
    failures = []
    for name, text, expected in _corpus(good):
        verdict = verify(text, trust, no_lists, gate, now)
        wanted = expected if isinstance(expected, tuple) else (expected,)
        if verdict.ok or verdict.code not in wanted:
            failures.append((name, verdict.code, verdict.detail))
    assert failures == []


def test_a_well_formed_signed_pass_of_our_own_making_is_accepted(trust, no_lists, gate, now):
    assert verify(_signed(_claims()), trust, no_lists, gate, now).ok  # the corpus' baseline is sound


def _never_ok_never_raises(text, trust, lists, gate, now) -> None:
    verdict = verify(text, trust, lists, gate, now)
    assert not verdict.ok
    assert verdict.code in MESSAGES


common = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@common
@given(text=st.text(max_size=400))
def test_any_text(trust, no_lists, gate, now, text):
    _never_ok_never_raises(text, trust, no_lists, gate, now)


@common
@given(body=st.text(alphabet=B45_ALPHABET, max_size=400))
def test_any_base45_looking_text(trust, no_lists, gate, now, body):
    _never_ok_never_raises(PREFIX + body, trust, no_lists, gate, now)


@common
@given(data=st.binary(max_size=600), compress=st.booleans())
def test_valid_base45_of_any_bytes(trust, no_lists, gate, now, data, compress):
    _never_ok_never_raises(_text(zlib.compress(data) if compress else data), trust, no_lists, gate, now)


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
    | st.binary(max_size=70),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.integers(-5, 10) | st.text(max_size=3), inner,
                                                                  max_size=5),
    max_leaves=20,
)


@common
@given(value=cbor_values)
def test_any_cbor_structure_as_cose(trust, no_lists, gate, now, value):
    _never_ok_never_raises(_text(cbor2.dumps(value)), trust, no_lists, gate, now)


@common
@given(value=cbor_values, key=st.integers(1, 8))
def test_any_value_in_any_signed_claim(trust, no_lists, gate, now, value, key):
    claims = dict(GOOD_CLAIMS)
    claims[key] = value
    verdict = verify(_signed(cbor2.dumps(claims)), trust, no_lists, gate, now)
    assert verdict.code in MESSAGES  # may be ok when the value happens to be valid; must never raise


@common
@given(position=st.integers(min_value=len(PREFIX)), char=st.sampled_from(B45_ALPHABET))
def test_a_changed_character_never_yields_another_valid_pass(make_pass, trust, no_lists, gate, now, position, char):
    good, info = make_pass()
    position %= len(good)
    mutated = good[:position] + char + good[position + 1:]
    verdict = verify(mutated, trust, no_lists, gate, now)
    assert not verdict.ok or verdict.pass_info == info


def _cose_of_size(size: int) -> bytes:
    for n in range(size):
        blob = _cose(cbor2.dumps({4: KID}), b"\x00" * n, b"\x00" * 64)
        if len(blob) == size:
            return blob
    raise AssertionError(size)


@pytest.mark.parametrize(("size", "code"), [(1024, "bad_signature"), (1025, "corrupt")])
def test_inflate_cap_is_exact(trust, no_lists, gate, now, size, code):
    # Inflating to exactly the cap is decoded (and fails later, on the zero signature); one byte more is refused.
    verdict = verify(_text(zlib.compress(_cose_of_size(size))), trust, no_lists, gate, now)
    assert verdict.code == code
