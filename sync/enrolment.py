"""The enrolment exchange shared by a new gate and central: wire models, the code alphabet, secrets.

A gate without credentials enrols without anything copied by hand:

1. It draws a 32-byte random *secret* (:func:`new_secret`), keeps it to itself and sends its SHA-256, the *claim*
   (:func:`claim_of`), to ``POST /api/v1/enrolments`` (:class:`EnrolmentRequest`, no device token). Central
   answers 201 with a short *code* such as ``ABCD-2345`` (:class:`EnrolmentCreated`); the gate shows it with a QR
   code of ``approve_url``.
2. Staff enter the code in the console ("接入新设备") and approve it with the gate's community, gate id, name,
   direction and mode (or refuse it).
3. The gate polls ``POST /api/v1/enrolments/poll`` with its secret (:class:`PollRequest`) every
   ``poll_after_s``. Until approval: 200 :class:`PollPending`. Once only: 200 :class:`PollApproved` with the new
   device id, its token (created at that poll; central keeps only its hash) and central's list-signing public key.
   After that the same secret gets 410 ``{"status": "used"}``; an expired request 410 ``"expired"``; a refused
   one 410 ``"refused"`` (:class:`PollClosed`); an unknown secret 404.

Who only read the code off the screen cannot get the token: the poll needs the secret behind the claim. Codes
are drawn from :data:`CODE_ALPHABET` (no 0/O/1/I/L, which people misread), :data:`CODE_LENGTH` characters shown
with a dash in the middle (:func:`format_code`); :func:`parse_code` reads what a person typed.
Refusals are 4xx with ``{"detail": {"code": ..., "zh": ..., "en": ...}}``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from sync.errors import SyncError

CREATE_PATH = "/api/v1/enrolments"
POLL_PATH = "/api/v1/enrolments/poll"
#: Where staff approve a code in the console (``approve_url`` is ``<public_url>`` + this + ``?code=...``).
APPROVE_PATH = "/devices/enrol"
POLL_AFTER_S = 5
#: How long a code stays open by default (central setting ``enrolment_minutes``).
DEFAULT_MINUTES = 30
#: Characters of a code: digits and capitals without 0, O, 1, I and L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
SECRET_BYTES = 32
DIRECTIONS = ("in", "out", "both")
MODES = ("guarded", "unattended")

_HEX64 = r"^[0-9a-f]{64}$"
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
_DASHES = re.compile(r"[\s\-_.·‐-―－]")  # what a person may type between the halves


class EnrolmentError(SyncError):
    """An enrolment code, secret or reply cannot be read."""


def new_secret() -> str:
    """A new gate secret: 32 random bytes as 64 lower-case hex characters (the gate keeps it to itself)."""
    return secrets.token_hex(SECRET_BYTES)


def claim_of(secret: str) -> str:
    """The claim a gate sends for ``secret``: SHA-256 hex of the secret's 32 bytes."""
    try:
        raw = bytes.fromhex(secret)
    except ValueError:
        raise EnrolmentError("an enrolment secret is 64 hex characters") from None
    if len(raw) != SECRET_BYTES:
        raise EnrolmentError("an enrolment secret is 64 hex characters")
    return hashlib.sha256(raw).hexdigest()


def new_code() -> str:
    """A new random code, bare (:data:`CODE_LENGTH` characters of :data:`CODE_ALPHABET`, no dash)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """A bare code as people see it: ``ABCD2345`` -> ``ABCD-2345``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def parse_code(text: str) -> str:
    """The bare code in what a person typed or a URL carried (case, spaces and dashes do not matter);
    :class:`EnrolmentError` with a zh-CN/English reason when it cannot be one."""
    if len(text) > 64:
        raise EnrolmentError("接入码太长 / the code is too long")
    bare = _DASHES.sub("", text).upper()
    if len(bare) != CODE_LENGTH:
        raise EnrolmentError(f"接入码应为 {CODE_LENGTH} 位 / a code has {CODE_LENGTH} characters")
    wrong = sorted({c for c in bare if c not in CODE_ALPHABET})
    if wrong:
        raise EnrolmentError(f"接入码中没有这些字符：{''.join(wrong)}（不用 0、O、1、I、L）/ "
                             f"codes never contain {''.join(wrong)!r} (no 0, O, 1, I or L)")
    return bare


def key_fingerprint(public_key_pem: str) -> str:
    """The short fingerprint of central's public key both screens show: the first 8 bytes of SHA-256 of the PEM
    text with surrounding white space removed and line ends as ``\\n``, hex in groups of four."""
    text = "\n".join(line.strip() for line in public_key_pem.strip().splitlines())
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)
Code = Annotated[str, Field(pattern=f"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")]
Hex64 = Annotated[str, Field(pattern=_HEX64, min_length=64, max_length=64)]
EpochS = Annotated[float, Field(ge=0, le=1e11)]
DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=_NO_CONTROL)]


class EnrolmentRequest(BaseModel):
    """``POST /api/v1/enrolments``: a gate asks to be enrolled."""

    model_config = _STRICT

    claim: Hex64 = Field(description="SHA-256 hex of the gate's 32-byte secret (claim_of)")
    hostname: str = Field(min_length=1, max_length=64, pattern=_NO_CONTROL)
    software_version: str = Field(min_length=1, max_length=32, pattern=_NO_CONTROL)
    previous_device_id: DeviceId | None = Field(None, description="the device id the gate had before (new SD "
                                                "card), if it knows it")


class EnrolmentCreated(BaseModel):
    """201 to :class:`EnrolmentRequest`: the code to show, until when, how often to poll, the console link."""

    model_config = _STRICT

    code: Code
    expires_at: EpochS
    poll_after_s: int = Field(POLL_AFTER_S, ge=1, le=600)
    approve_url: str | None = Field(None, max_length=300)


class PollRequest(BaseModel):
    """``POST /api/v1/enrolments/poll``: the gate shows it holds the secret behind its claim."""

    model_config = _STRICT

    secret: Hex64


class GateAssignment(BaseModel):
    """Where staff put the gate when they approved it."""

    model_config = _STRICT

    community: str = Field(min_length=1, max_length=100, pattern=_NO_CONTROL)
    gate_id: DeviceId
    gate_name: str = Field(min_length=1, max_length=100, pattern=_NO_CONTROL)
    direction: Literal["in", "out", "both"]
    mode: Literal["guarded", "unattended"]


class PollPending(BaseModel):
    """200: not approved yet; ask again after ``poll_after_s``."""

    model_config = _STRICT

    status: Literal["pending"]
    expires_at: EpochS


class PollApproved(BaseModel):
    """200, once only: the gate's new identity and credentials."""

    model_config = _STRICT

    status: Literal["approved"]
    device_id: DeviceId
    token: str = Field(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")
    central_public_key: str = Field(min_length=1, max_length=4000)
    central_key_fingerprint: str = Field(min_length=1, max_length=64)
    gate: GateAssignment


class PollClosed(BaseModel):
    """410: the request is over (its credentials were fetched, it expired, or staff refused it)."""

    model_config = _STRICT

    status: Literal["used", "expired", "refused"]


PollReply = Annotated[PollPending | PollApproved | PollClosed, Field(discriminator="status")]
_POLL_REPLY: TypeAdapter[PollPending | PollApproved | PollClosed] = TypeAdapter(PollReply)


def read_poll_reply(body: Any) -> PollPending | PollApproved | PollClosed:
    """A poll reply's JSON (200 or 410 body) as its model; :class:`EnrolmentError` when it is none of them."""
    try:
        return _POLL_REPLY.validate_python(body)
    except ValidationError as exc:
        raise EnrolmentError(f"unreadable enrolment poll reply: {exc.errors()[0]['msg']}") from None


def read_created(body: Any) -> EnrolmentCreated:
    """A 201 reply's JSON as :class:`EnrolmentCreated`; :class:`EnrolmentError` when it is not one."""
    try:
        return EnrolmentCreated.model_validate(body)
    except ValidationError as exc:
        raise EnrolmentError(f"unreadable enrolment reply: {exc.errors()[0]['msg']}") from None
