"""The two device-API endpoints of enrolment (no device token): a gate asks for a code, then polls with its secret.

``POST /api/v1/enrolments`` and ``POST /api/v1/enrolments/poll``; the exchange is :mod:`sync.enrolment`, the
rules :mod:`central.enrolment`. Bounded like the rest of the device API: a body over :data:`MAX_BODY_BYTES` is
refused (413) before it is parsed, a malformed one 422; requests per client address are limited (429 with
``Retry-After``), and so are unknown secrets per address (404s count), so nobody can guess secrets or fill the
table. Every refusal is ``{"detail": {"code", "zh", "en"}}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from central import enrolment
from central.deps import State
from central.settings import CentralSettings
from central.state import CentralState
from gatepass.clock import SYSTEM, Clock
from gatepass.throttle import FailureCounter, Locked
from sync import enrolment as wire

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4096  # the largest valid body is a few hundred bytes
WINDOW_S = 600.0
CREATE_LIMIT = 30  # new requests per address per window
POLL_LIMIT = 2400  # polls per address per window (many gates behind one address, each every 5 s)
UNKNOWN_LIMIT = 20  # polls with an unknown secret per address per window

_DETAIL = {"type": "object", "properties": {"code": {"type": "string"}, "zh": {"type": "string"},
                                            "en": {"type": "string"}}, "required": ["code", "zh", "en"]}
_REFUSED = {"description": "refused, with the reason in `detail`", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"detail": _DETAIL}, "required": ["detail"]}}}}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": model.model_json_schema()}}


router = APIRouter(prefix="/api/v1", responses={413: _REFUSED, 422: _REFUSED, 429: _REFUSED})


class Limits:
    """Requests per client address of this server process (made on first use, kept in ``app.state``)."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        self.create = FailureCounter(CREATE_LIMIT, WINDOW_S, WINDOW_S, clock=clock)
        self.poll = FailureCounter(POLL_LIMIT, WINDOW_S, WINDOW_S, clock=clock)
        self.unknown = FailureCounter(UNKNOWN_LIMIT, WINDOW_S, WINDOW_S, clock=clock)


def clock_of(request: Request) -> Clock:
    """The server's clock (``app.state.clock`` when a test set one)."""
    return getattr(request.app.state, "clock", SYSTEM)


def limits_of(request: Request) -> Limits:
    """This process's enrolment limits."""
    found = getattr(request.app.state, "enrolment_limits", None)
    if found is None:
        found = request.app.state.enrolment_limits = Limits(clock_of(request))
    return found


def _refuse(status: int, code: str, retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": str(int(retry_after) + 1)} if retry_after is not None else None
    return JSONResponse({"detail": enrolment.EnrolmentRefused(code).detail()}, status, headers=headers)


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


async def _read(request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
    """The body as ``model``, or the refusal (413 over :data:`MAX_BODY_BYTES`, 422 when malformed)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _refuse(413, "too_large")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return _refuse(413, "too_large")
            chunks.append(chunk)
    except ClientDisconnect:
        return _refuse(422, "bad_body")
    try:
        return model.model_validate(json.loads(b"".join(chunks)))
    except (ValueError, ValidationError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _refuse(422, "bad_body")


def _counted(counter: FailureCounter, address: str) -> float | None:
    """Count one request of ``address``; the seconds to wait when it is over the limit."""
    try:
        counter.begin(address)
    except Locked as exc:
        return max(1.0, exc.retry_after_s)
    return None


def _create(state: CentralState, settings: CentralSettings, req: wire.EnrolmentRequest, address: str,
            now: float) -> dict[str, Any]:
    with state.connection() as db:
        made = enrolment.create(db, req, address, now, settings.enrolment_minutes)
    code = wire.format_code(made.code)
    url = f"{settings.public_url.rstrip('/')}{wire.APPROVE_PATH}?code={code}" if settings.public_url else None
    return wire.EnrolmentCreated(code=code, expires_at=made.expires_at, poll_after_s=wire.POLL_AFTER_S,
                                 approve_url=url).model_dump()


@router.post("/enrolments", status_code=201, openapi_extra=_body(wire.EnrolmentRequest),
             responses={201: {"description": "the code to show", "content": _schema(wire.EnrolmentCreated)}})
async def create_enrolment(request: Request, state: State) -> JSONResponse:
    """A new gate asks to be enrolled: central answers with the code it shows (see :mod:`sync.enrolment`)."""
    address = _address(request)
    wait = _counted(limits_of(request).create, address)
    if wait is not None:
        return _refuse(429, "busy", wait)
    req = await _read(request, wire.EnrolmentRequest)
    if isinstance(req, JSONResponse):
        return req
    assert isinstance(req, wire.EnrolmentRequest)
    settings: CentralSettings = request.app.state.settings
    try:
        body = await asyncio.to_thread(_create, state, settings, req, address, clock_of(request).time())
    except enrolment.EnrolmentRefused as exc:
        return _refuse(429 if exc.code.startswith("too_many") else 409, exc.code)
    return JSONResponse(body, 201)


def public_pem(key: Ed25519PrivateKey) -> str:
    """Central's list-signing public key as PEM (what ``central_public_key`` in a gate's sync.toml holds)."""
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _poll(state: CentralState, secret: str, now: float) -> tuple[int, dict[str, Any]]:
    with state.connection() as db:
        return enrolment.poll(db, secret, now, public_pem(state.signing_key))


@router.post("/enrolments/poll", openapi_extra=_body(wire.PollRequest), responses={
    200: {"description": "pending, or (once) the gate's credentials",
          "content": {"application/json": {"schema": {"anyOf": [wire.PollPending.model_json_schema(),
                                                                wire.PollApproved.model_json_schema()]}}}},
    404: _REFUSED, 410: {"description": "used, expired or refused", "content": _schema(wire.PollClosed)}})
async def poll_enrolment(request: Request, state: State) -> JSONResponse:
    """The gate asks, with its secret, whether staff approved it; the one time they have, it gets its token."""
    address, limits = _address(request), limits_of(request)
    if limits.unknown.locked_for(address) > 0 or limits.unknown.failures(address) >= UNKNOWN_LIMIT:
        return _refuse(429, "busy", max(limits.unknown.locked_for(address), 1.0))
    wait = _counted(limits.poll, address)
    if wait is not None:
        return _refuse(429, "busy", wait)
    req = await _read(request, wire.PollRequest)
    if isinstance(req, JSONResponse):
        return req
    assert isinstance(req, wire.PollRequest)
    status, body = await asyncio.to_thread(_poll, state, req.secret, clock_of(request).time())
    if status == 404:
        _counted(limits.unknown, address)
    return JSONResponse(body, status)
