"""The guard page's event stream (``/events``): outcomes and notices as Server-Sent Events.

Besides ``outcome`` events (new decisions) the stream carries ``notice`` events (:class:`edge.events.Notice`:
a pass shown again within the cooldown, the direction chosen at a "both" gate); the page never takes a
notice for a decision.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import AsyncIterator
from typing import Protocol

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from edge.events import CheckpointAPI, Notice, Outcome
from edge.web.deps import Page, Paired

KEEPALIVE_S = 15.0
STREAM_MAX_S = 600.0  # an event stream ends after this long and the browser reconnects (bounded shutdown)

router = APIRouter()


class Client(Protocol):
    """What the stream asks of the request: whether the browser went away."""

    async def is_disconnected(self) -> bool:
        """True once the client has gone."""
        ...


def outcome_event(outcome: Outcome) -> str:
    """One SSE message for ``outcome`` (``age_s``: seconds since the decision, on this host's clock)."""
    data = outcome.to_json()
    data["age_s"] = max(0.0, time.monotonic() - outcome.t_decided)
    return f"id: {outcome.seq}\nevent: outcome\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def notice_event(notice: Notice) -> str:
    """One SSE message for ``notice`` (event ``notice``, no id: it is not a decision to resume from)."""
    data = notice.to_json()
    data["age_s"] = max(0.0, time.monotonic() - notice.t_noticed)
    if data["entry"] is not None and notice.entry is not None:
        data["entry"]["age_s"] = max(0.0, time.monotonic() - notice.entry.t_decided)
    return f"event: notice\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/events")
async def events(request: Request, page: Page, _paired: Paired) -> StreamingResponse:
    """The SSE stream of :func:`event_stream` (a paired kiosk only), never cached nor buffered by a proxy."""
    stream = event_stream(page.checkpoint, request, page.stops())
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _next_message(sub: queue.Queue[Outcome], notes: queue.Queue[Notice]) -> str | None:
    """The next outcome (first) or notice as an SSE message; None after a quarter second of nothing."""
    for _ in range(5):
        try:
            return outcome_event(sub.get(timeout=0.05))
        except queue.Empty:
            pass
        try:
            return notice_event(notes.get_nowait())
        except queue.Empty:
            pass
    return None


async def event_stream(checkpoint: CheckpointAPI, request: Client,
                       stops: tuple[threading.Event | None, ...]) -> AsyncIterator[str]:
    """SSE messages: the newest outcome first, then every new outcome and notice; keep-alive comments in between.

    Ends when the client goes, when one of ``stops`` is set, or after :data:`STREAM_MAX_S` (the browser
    reconnects and gets the newest outcome again). The subscriptions are taken when the stream starts, so a
    response that is never sent (the client went first) leaves no subscriber behind.
    """
    sub: queue.Queue[Outcome] = checkpoint.subscribe()
    notes: queue.Queue[Notice] = checkpoint.subscribe_notices()
    try:
        yield "retry: 1000\n\n"
        last = checkpoint.last_outcome()
        if last is not None:
            yield outcome_event(last)
        quiet_since = opened = time.monotonic()
        while not any(s is not None and s.is_set() for s in stops) and time.monotonic() - opened < STREAM_MAX_S:
            message = await anyio.to_thread.run_sync(_next_message, sub, notes)
            if message is not None:
                quiet_since = time.monotonic()
                yield message
                continue
            if await request.is_disconnected():
                break
            if time.monotonic() - quiet_since >= KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
    finally:
        checkpoint.unsubscribe(sub)
        checkpoint.unsubscribe_notices(notes)
