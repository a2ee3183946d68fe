"""The guard screen of a gate that is not enrolled yet: the code, its QR and the time left, nothing else.

``gatepass-enrol.service`` (``gatepass edge enroll --screen``, :mod:`edge.enrol_cli`) writes what to show into
``<data_dir>/enrolment.json`` (:class:`edge.enrol.ScreenState`: never the secret). While that file says the gate
is waiting, :class:`EnrolmentGate` sends the page to ``/enrol`` and refuses everything else but the static files
with a 503 in zh-CN and English, so no guard action works before enrolment. The page polls ``/enrol/state``
and shows each new code by itself; once the gate is enrolled (the services are restarted with their token) the
state says ``done`` and the page goes back to ``/``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.enrol import SCREEN_FILE, ScreenState, read_screen
from edge.web.deps import Page, Templates
from gatepass.clock import SYSTEM

router = APIRouter()

#: Screen states during which the gate is not enrolled (the guard page is replaced by the enrolment screen).
ENROLLING = ("starting", "waiting", "unreachable", "refused")
OPEN_PREFIXES = ("/enrol", "/static/")
NO_STORE = {"Cache-Control": "no-store"}
NOT_ENROLLED = {"error": "not_enrolled", "message_zh": "本设备尚未接入中心服务器，接入前不能操作",
                "message_en": "This gate is not enrolled with central yet; nothing can be done before enrolment"}


class ScreenFile:
    """The enrolment screen state at ``path``, read again only when the file changes.

    ``started_at``: when this guard page started; an approval written after it means the services still run
    without their token (the enrolment service restarts them in a moment), so the page stays closed.
    """

    def __init__(self, path: Path, started_at: float) -> None:
        self.path = path
        self.started_at = started_at
        self._stamp: tuple[int, int] | None = None
        self._state: ScreenState | None = None

    def current(self) -> ScreenState | None:
        """The state now (None: no enrolment going on)."""
        try:
            st = os.stat(self.path)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._state = read_screen(self.path) if stamp else None
        return self._state

    def enrolling(self) -> bool:
        """Whether the gate waits for enrolment."""
        state = self.current()
        if state is None:
            return False
        return state.status in ENROLLING or (state.status == "approved" and state.updated_at >= self.started_at)


def screen_file(data_dir: Path) -> ScreenFile:
    """The screen state file of the edge whose data lives in ``data_dir``."""
    return ScreenFile(data_dir / SCREEN_FILE, SYSTEM.time())


class EnrolmentGate:
    """ASGI middleware: before enrolment, ``/`` goes to ``/enrol`` and every other route answers 503."""

    def __init__(self, app: ASGIApp, screen: ScreenFile) -> None:
        self.app = app
        self.screen = screen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or path.startswith(OPEN_PREFIXES) \
                or not self.screen.enrolling():
            await self.app(scope, receive, send)
            return
        response: Response
        if path == "/" and scope.get("method") in ("GET", "HEAD"):
            response = RedirectResponse("/enrol", status_code=303, headers=NO_STORE)
        else:
            response = JSONResponse(NOT_ENROLLED, status_code=503, headers=NO_STORE | {"Retry-After": "10"})
        await response(scope, receive, send)


def _screen(request: Request) -> ScreenFile:
    return request.app.state.enrolment_screen


def _now(request: Request) -> float:
    """Wall time by the app's clock (``app.state.enrolment_clock`` when a test set one)."""
    return getattr(request.app.state, "enrolment_clock", SYSTEM).time()


def public_state(state: ScreenState | None, enrolling: bool, now: float) -> dict:
    """What the page gets: the code, approve URL, seconds left, fingerprint and words; ``done`` when enrolled."""
    if state is None or not enrolling:
        return {"status": "done"}
    left = None if state.expires_at is None else max(0, int(state.expires_at - now))
    return {"status": state.status, "code": state.code, "approve_url": state.approve_url, "seconds_left": left,
            "fingerprint": state.fingerprint, "message_zh": state.message_zh, "message_en": state.message_en}


@router.get("/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, templates: Templates, page: Page) -> Response:
    """The enrolment screen (or back to the guard page when the gate is enrolled)."""
    screen = _screen(request)
    state = screen.current()
    if state is None or not screen.enrolling():
        return RedirectResponse("/", status_code=303, headers=NO_STORE)
    data = public_state(state, screen.enrolling(), _now(request))
    return templates.TemplateResponse(request, "enrol.html", {"state": data, "state_json": json.dumps(data),
                                                              "gate_name": page.settings.gate.name},
                                      headers=NO_STORE)


@router.get("/enrol/state")
def enrol_state(request: Request) -> JSONResponse:
    """The state as JSON, polled by the page every couple of seconds."""
    screen = _screen(request)
    return JSONResponse(public_state(screen.current(), screen.enrolling(), _now(request)), headers=NO_STORE)


@router.get("/enrol/qr.svg")
def enrol_qr(request: Request) -> Response:
    """The QR of central's approve URL (or of the bare code when central has no public URL), as SVG."""
    state = _screen(request).current()
    text = (state.approve_url or state.code) if state else None
    if not text:
        return Response(status_code=404, headers=NO_STORE)
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=8, border=2, dark="#000", light="#fff", xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml", headers=NO_STORE)
