"""The GP1 pass format: CBOR claims in a COSE_Sign1 (Ed25519), zlib when it helps, Base45, ``GP1:`` prefix.

Layout, outermost first (modelled on the EU Digital COVID Certificate)::

    "GP1:" + Base45( zlib?( COSE_Sign1 ) )
    COSE_Sign1 = [ protected: bstr(.cbor {4: kid}), unprotected: {}, payload: bstr(.cbor claims), signature: bstr ]

* The ``GP1`` prefix fixes the algorithm: EdDSA with Ed25519 (so ``alg`` is not
  repeated in the header, saving 3 bytes). The signature is over the standard
  COSE ``Sig_structure`` ``["Signature1", protected, b"", payload]``.
* The COSE structure is written untagged; a decoder also accepts CBOR tag 18.
* zlib: the encoder compresses and keeps the compressed form only when it is
  shorter; a 64-byte signature does not compress, so for a typical pass zlib
  *adds* about 10 bytes and would push the QR from version 7 to 8. A decoder
  inflates when the first byte is a zlib header (0x78; a COSE array starts with
  0x84, tag 18 with 0xD2), capped at :data:`MAX_COSE_BYTES` (zip bombs).
* Claims are a CBOR map with small integer keys (see :data:`CLAIM_KEYS`); times
  are unix seconds; the end of validity is carried as a length in minutes and
  the issue time as an offset, which keeps a 30-day pass 4 bytes shorter.

Claims (all integers are non-negative unless said otherwise)::

    1  pass id        uint (central's serial number)
    2  household      tstr, 1-64 chars (unit id such as "3-2-401")
    3  person         uint 0-999 (index within the household)
    4  kind           uint index into KINDS (resident, temporary, visitor, staff, delivery)
    5  valid from     uint unix seconds
    6  valid minutes  uint 1..MAX_MINUTES; valid to = valid from + 60 * minutes
    7  issued before  int seconds; issued at = valid from - this (absent: 0)
    8  gates          array of 1-16 tstr gate ids (absent: every gate)
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import base45
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.errors import SyncError
from sync.passes.model import KINDS, PassInfo

PREFIX = "GP1:"
#: Longest pass text accepted (characters); a version-7 QR holds 178.
MAX_TEXT_CHARS = 1200
#: Largest COSE structure accepted, after inflating (bytes).
MAX_COSE_BYTES = 1024
MAX_MINUTES = 10 * 366 * 24 * 60
MAX_HOUSEHOLD_CHARS = 64
MAX_GATES = 16
MAX_GATE_CHARS = 32
SIGNATURE_BYTES = 64
CLAIM_KEYS = {"pass_id": 1, "household": 2, "person": 3, "kind": 4, "valid_from": 5, "minutes": 6,
              "issued_before": 7, "gates": 8}
_ALLOWED_KEYS = frozenset(CLAIM_KEYS.values())
_HDR_KID = 4
_HDR_ALG = 1
_ALG_EDDSA = -8
_COSE_TAG = 18


class PassFormatError(SyncError):
    """A pass text cannot be decoded; ``code`` is a verifier reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parts of a decoded COSE_Sign1, before the signature is checked."""

    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The COSE ``Sig_structure`` the signature covers."""
        return sig_structure(self.protected, self.payload)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Encode the COSE_Sign1 ``Sig_structure`` with empty external data."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode_claims(info: PassInfo) -> bytes:
    """The CBOR claims of ``info`` (its ``kid`` goes in the COSE header, not here)."""
    span = info.valid_to - info.valid_from
    if span <= 0 or span % 60:
        raise ValueError("valid_to - valid_from must be a positive whole number of minutes")
    if info.kind not in KINDS:
        raise ValueError(f"unknown kind {info.kind!r}")
    claims: dict[int, object] = {1: info.pass_id, 2: info.household, 3: info.person, 4: KINDS.index(info.kind),
                                 5: info.valid_from, 6: span // 60}
    if info.issued_at != info.valid_from:
        claims[7] = info.valid_from - info.issued_at
    if info.gates is not None:
        claims[8] = list(info.gates)
    payload = cbor2.dumps(claims)
    parse_claims(payload, info.kid)  # the encoder never emits what the decoder refuses
    return payload


def sign_pass(info: PassInfo, private_key: Ed25519PrivateKey) -> str:
    """Sign ``info`` with ``private_key`` (whose key id is ``info.kid``) and return the pass text."""
    protected = cbor2.dumps({_HDR_KID: info.kid})
    payload = encode_claims(info)
    signature = private_key.sign(sig_structure(protected, payload))
    raw = cbor2.dumps([protected, {}, payload, signature])
    packed = zlib.compress(raw, 9)
    body = packed if len(packed) < len(raw) else raw
    return PREFIX + base45.b45encode(body).decode("ascii")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_COSE_BYTES + 1)
    except zlib.error as exc:
        raise PassFormatError("corrupt", f"zlib: {exc}") from None
    if len(out) > MAX_COSE_BYTES or inflater.unconsumed_tail:
        raise PassFormatError("corrupt", f"inflates beyond {MAX_COSE_BYTES} bytes")
    if not inflater.eof:
        raise PassFormatError("corrupt", "truncated zlib stream")
    if inflater.unused_data:
        raise PassFormatError("corrupt", "data after the zlib stream")
    return out


def _loads_exact(data: bytes, what: str) -> object:
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several types on hostile input
        raise PassFormatError("corrupt", f"{what}: bad CBOR ({type(exc).__name__})") from None
    if stream.tell() != len(data):
        raise PassFormatError("corrupt", f"{what}: trailing bytes after CBOR")
    return value


def decode_envelope(text: str) -> Envelope:
    """Decode pass text down to its COSE parts; raises :class:`PassFormatError`."""
    if not isinstance(text, str):
        raise PassFormatError("not_our_format", "not text")
    text = text.strip()
    if not text.startswith(PREFIX):
        raise PassFormatError("not_our_format", "missing GP1: prefix")
    if len(text) > MAX_TEXT_CHARS:
        raise PassFormatError("corrupt", f"longer than {MAX_TEXT_CHARS} characters")
    try:
        data = base45.b45decode(text[len(PREFIX):])
    except Exception as exc:
        raise PassFormatError("corrupt", f"bad Base45 ({type(exc).__name__})") from None
    if data[:1] == b"\x78":
        data = _inflate(data)
    if len(data) > MAX_COSE_BYTES:
        raise PassFormatError("corrupt", f"COSE larger than {MAX_COSE_BYTES} bytes")
    cose = _loads_exact(data, "COSE")
    if isinstance(cose, cbor2.CBORTag) and cose.tag == _COSE_TAG:
        cose = cose.value
    if not (isinstance(cose, (list, tuple)) and len(cose) == 4):  # a tagged array decodes as a tuple
        raise PassFormatError("corrupt", "not a COSE_Sign1 array")
    protected, unprotected, payload, signature = cose
    if not (isinstance(protected, bytes) and isinstance(unprotected, Mapping)
            and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise PassFormatError("corrupt", "COSE_Sign1 members of wrong types")
    header = _loads_exact(protected, "protected header")
    if not isinstance(header, dict):
        raise PassFormatError("corrupt", "protected header is not a map")
    if header.get(_HDR_ALG, _ALG_EDDSA) != _ALG_EDDSA:
        raise PassFormatError("corrupt", "algorithm is not EdDSA")
    kid = header.get(_HDR_KID)
    if not (isinstance(kid, bytes) and 1 <= len(kid) <= 16):
        raise PassFormatError("corrupt", "missing or bad key id")
    if len(signature) != SIGNATURE_BYTES:
        raise PassFormatError("corrupt", "signature is not 64 bytes")
    return Envelope(kid, protected, payload, signature)


def _int(value: object, lo: int, hi: int, name: str) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise PassFormatError("corrupt", f"claim {name}: not an integer in {lo}..{hi}")
    return value


def _text(value: object, max_chars: int, name: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars:
        raise PassFormatError("corrupt", f"claim {name}: not text of 1..{max_chars} characters")
    return value


def parse_claims(payload: bytes, kid: bytes) -> PassInfo:
    """Decode and check the claims; raises :class:`PassFormatError` (code "corrupt")."""
    claims = _loads_exact(payload, "claims")
    if not isinstance(claims, dict):
        raise PassFormatError("corrupt", "claims are not a map")
    if not set(claims) <= _ALLOWED_KEYS:
        raise PassFormatError("corrupt", "unknown claim keys")
    missing = {1, 2, 3, 4, 5, 6} - set(claims)
    if missing:
        raise PassFormatError("corrupt", f"missing claims {sorted(missing)}")
    valid_from = _int(claims[5], 0, 2**40, "valid_from")
    minutes = _int(claims[6], 1, MAX_MINUTES, "minutes")
    issued_before = _int(claims.get(7, 0), -MAX_MINUTES * 60, MAX_MINUTES * 60, "issued_before")
    gates = claims.get(8)
    if gates is not None:
        if not isinstance(gates, list) or not 1 <= len(gates) <= MAX_GATES:
            raise PassFormatError("corrupt", "claim gates: not a list of 1..16 gate ids")
        gates = tuple(_text(g, MAX_GATE_CHARS, "gates") for g in gates)
    return PassInfo(
        pass_id=_int(claims[1], 0, 2**63 - 1, "pass_id"),
        household=_text(claims[2], MAX_HOUSEHOLD_CHARS, "household"),
        person=_int(claims[3], 0, 999, "person"),
        kind=KINDS[_int(claims[4], 0, len(KINDS) - 1, "kind")],
        valid_from=valid_from,
        valid_to=valid_from + 60 * minutes,
        issued_at=valid_from - issued_before,
        gates=gates,
        kid=kid,
    )
