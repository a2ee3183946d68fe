"""The device API under ``/api/v1``: upload entries, fetch signed list pages.

Every request carries ``Authorization: Bearer <device token>``; the device
identity comes from that credential only. Status codes the device acts on:
200 done; 401 unknown or revoked token; 409 batch id reused with other content;
413/422 unreadable upload (the device stops and raises an alarm, keeping its rows);
5xx and timeouts are retried.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sync import ingest, signing
from sync.protocol import MAX_BODY_BYTES, ProtocolError, decode_upload

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False)


class CentralState:
    """What the device API needs from the server: the database, its write lock and the signing key."""

    def __init__(self, db: Any, signing_key: Any) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.signing_key = signing_key


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (also without a Content-Length)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"upload larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def router(state: CentralState) -> APIRouter:
    """The ``/api/v1`` routes bound to ``state``."""
    api = APIRouter(prefix="/api/v1")

    def device(creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> dict[str, Any]:
        if creds is None or creds.scheme.lower() != "bearer":
            raise HTTPException(401, "missing device token", headers={"WWW-Authenticate": "Bearer"})
        with state.lock:
            found = ingest.authenticate(state.db, creds.credentials)
        if found is None:
            raise HTTPException(401, "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"})
        return found

    def _ingest(dev: dict[str, Any], raw: bytes, encoding: str | None, received_at: float) -> dict[str, Any]:
        try:
            body = decode_upload(raw, encoding)
        except ProtocolError as exc:
            log.warning("device %s: refused upload: %s", dev["device_id"], exc)
            raise HTTPException(422, str(exc)) from None
        with state.lock:
            try:
                result = ingest.ingest(state.db, dev, body, received_at)
            except ingest.BatchConflictError as exc:
                log.error("device %s: %s", dev["device_id"], exc)
                raise HTTPException(409, str(exc)) from None
            central_version = signing.central_list_version(state.db)
        reply = result.as_json()
        reply["list_version"] = central_version
        reply["server_time"] = time.time()
        return reply

    @api.post("/upload")
    async def upload(request: Request, dev: dict[str, Any] = Depends(device)) -> dict[str, Any]:
        """Store a batch of entries; reply with what central now holds (see :mod:`sync.ingest`)."""
        received_at = time.time()
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise HTTPException(413, f"upload larger than {MAX_BODY_BYTES} bytes")
        raw = await _read_limited(request, MAX_BODY_BYTES)
        return await asyncio.to_thread(_ingest, dev, raw, request.headers.get("content-encoding"), received_at)

    def _changes(since: int, limit: int) -> dict[str, Any]:
        with state.lock:
            page = signing.page_for(state.db, since, limit)
        return signing.sign_page(state.signing_key, page)

    @api.get("/changes")
    async def changes(since: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=5000),
                      dev: dict[str, Any] = Depends(device)) -> dict[str, Any]:
        """The signed list page after version ``since`` (a snapshot when the device is too far behind)."""
        return await asyncio.to_thread(_changes, since, limit)

    @api.get("/whoami")
    def whoami(dev: dict[str, Any] = Depends(device)) -> dict[str, Any]:
        """The device this token belongs to (a connectivity and credential check)."""
        return {"device_id": dev["device_id"], "community": dev["community"], "gate_id": dev["gate_id"],
                "server_time": time.time()}

    return api
