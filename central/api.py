"""The device API under ``/api/v1``: upload entries, fetch signed list pages.

Every request carries ``Authorization: Bearer <device token>``; the device
identity comes from that credential only. Status codes the device acts on:
200 done; 401 unknown or revoked token; 409 batch id reused with other content;
413/422 unreadable upload (the device stops and raises an alarm, keeping its rows);
5xx and timeouts are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central import ingest, signing
from sync.protocol import MAX_BODY_BYTES, ProtocolError, decode_upload

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False)


class CentralState:
    """What the device API needs from the server: its database connections and the signing key.

    On SQLite the API uses one connection under a lock (SQLite has one writer at a time anyway). On PostgreSQL,
    given ``connect``, it opens up to ``pool_size`` connections as the load asks, so uploads of different gates
    commit side by side; the advisory locks in :mod:`central.ingest` keep each device's uploads in turn.
    """

    def __init__(self, db: Any, signing_key: Any, connect: Callable[[], Any] | None = None,
                 pool_size: int = 1) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.signing_key = signing_key
        self._connect = connect if db.dialect == "postgresql" else None
        self._pool_size = pool_size if self._connect is not None else 1
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._idle.put(db)
        self._opened = 1

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection for one request's work, to this thread alone until the block ends."""
        if self._connect is None:
            with self.lock:
                yield self.db
            return
        conn = self._take()
        try:
            yield conn
        finally:
            self._idle.put(conn)

    def _take(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            grow = self._opened < self._pool_size
            if grow:
                self._opened += 1
        if not grow:
            return self._idle.get()
        try:
            conn = self._connect()
        except BaseException:
            with self.lock:
                self._opened -= 1
            raise
        log.debug("device API: opened database connection %d of %d", self._opened, self._pool_size)
        return conn


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
        with state.connection() as db:
            found = ingest.authenticate(db, creds.credentials)
        if found is None:
            raise HTTPException(401, "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"})
        return found

    def _ingest(dev: dict[str, Any], raw: bytes, encoding: str | None, received_at: float) -> dict[str, Any]:
        try:
            body = decode_upload(raw, encoding)
        except ProtocolError as exc:
            log.warning("device %s: refused upload: %s", dev["device_id"], exc)
            raise HTTPException(422, str(exc)) from None
        with state.connection() as db:
            try:
                result = ingest.ingest(db, dev, body, received_at)
            except ingest.BatchConflictError as exc:
                log.error("device %s: %s", dev["device_id"], exc)
                raise HTTPException(409, str(exc)) from None
            central_version = signing.central_list_version(db)
        reply = result.as_json()
        reply["list_version"] = central_version
        reply["server_time"] = time.time()
        return reply

    @api.post("/upload")
    async def upload(request: Request, dev: dict[str, Any] = Depends(device)) -> dict[str, Any]:
        """Store a batch of entries; reply with what central now holds (see :mod:`central.ingest`)."""
        received_at = time.time()
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise HTTPException(413, f"upload larger than {MAX_BODY_BYTES} bytes")
        raw = await _read_limited(request, MAX_BODY_BYTES)
        return await asyncio.to_thread(_ingest, dev, raw, request.headers.get("content-encoding"), received_at)

    def _changes(since: int, limit: int) -> dict[str, Any]:
        with state.connection() as db:
            page = signing.page_for(db, since, limit)
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
