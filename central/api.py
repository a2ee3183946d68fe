"""The device API under ``/api/v1``: upload entries, fetch signed list pages.

Every request carries ``Authorization: Bearer <device token>``; the device
identity comes from that credential only (:func:`central.deps.device`). Status codes the device acts on:
200 done; 401 unknown or revoked token; 409 batch id reused with other content;
413 an upload too big to be a batch (over ``MAX_BODY_BYTES`` compressed or inflated, or more JSON items than a
batch holds: refused before it is parsed); 422 an unreadable or invalid upload or query, with the reason
(the device stops and raises an alarm, keeping its rows); 5xx and timeouts are retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.requests import ClientDisconnect

from central import ingest
from central.deps import Device, Pages, State
from central.signing import SignedPages
from central.state import CentralState
from sync.protocol import MAX_BODY_BYTES, MAX_INT, ProtocolError, UploadTooLargeError, decode_upload

log = logging.getLogger(__name__)

_REFUSED = {"description": "refused, with the reason in `detail`", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"detail": {}}, "required": ["detail"]}}}}
router = APIRouter(prefix="/api/v1", responses={401: _REFUSED, 422: _REFUSED})


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (also without a Content-Length)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"upload larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _ingest(state: CentralState, dev: dict[str, Any], raw: bytes, encoding: str | None,
            received_at: float) -> dict[str, Any]:
    try:
        body = decode_upload(raw, encoding)
    except ProtocolError as exc:
        log.warning("device %s: refused upload: %s", dev["device_id"], exc)
        raise HTTPException(413 if isinstance(exc, UploadTooLargeError) else 422, str(exc)) from None
    with state.connection() as db:
        try:
            result = ingest.ingest(db, dev, body, received_at, lists=True)  # the list version in the same trip
        except ingest.BatchConflictError as exc:
            log.error("device %s: %s", dev["device_id"], exc)
            raise HTTPException(409, str(exc)) from None
    reply = result.as_json()
    reply["list_version"] = result.central_list_version
    reply["server_time"] = time.time()
    return reply


@router.post("/upload", responses={400: _REFUSED, 409: _REFUSED, 413: _REFUSED})
async def upload(request: Request, dev: Device, state: State) -> dict[str, Any]:
    """Store a batch of entries; reply with what central now holds (see :mod:`central.ingest`)."""
    received_at = time.time()
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"upload larger than {MAX_BODY_BYTES} bytes")
    try:
        raw = await _read_limited(request, MAX_BODY_BYTES)
    except ClientDisconnect:
        # the gate keeps its rows and sends the batch again: one line, not an ASGI traceback at ERROR
        log.warning("device %s: upload cut off mid-body (client disconnected); it will be re-sent",
                    dev["device_id"])
        raise HTTPException(400, "client disconnected mid-body") from None
    return await asyncio.to_thread(_ingest, state, dev, raw, request.headers.get("content-encoding"), received_at)


def _changes(state: CentralState, pages: SignedPages, since: int, limit: int, fmt: int) -> dict[str, Any]:
    with state.connection() as db:
        return pages.page(db, since, limit, fmt)


@router.get("/changes")
async def changes(dev: Device, state: State, pages: Pages,
                  since: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
                  limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                  fmt: Annotated[int, Query(alias="format", ge=1, le=4)] = 1) -> dict[str, Any]:
    """The signed list page after version ``since`` (a snapshot when the device is too far behind), in list format
    ``format``: 1 (the default, for gates that do not ask), 2 (quarantine of persons too), 3 (guards too) or 4
    (the households central knows too). 401 without a valid device token (the ``Device`` dependency)."""
    return await asyncio.to_thread(_changes, state, pages, since, limit, fmt)


@router.get("/whoami")
def whoami(dev: Device) -> dict[str, Any]:
    """The device this token belongs to (a connectivity and credential check); 401 without a valid one."""
    return {"device_id": dev["device_id"], "community": dev["community"], "gate_id": dev["gate_id"],
            "server_time": time.time()}
