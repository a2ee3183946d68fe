"""The guard page itself and what it polls: ``/``, ``/status``, ``/preview.jpg`` (a paired kiosk only: they show
households and the camera, and ``/`` carries the action token), plus ``/healthz``.

An unpaired browser asking for ``/`` gets the plain pairing page (:mod:`edge.web.pairing`), never data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from edge.guard_desk import CONFIRM_CODES
from edge.handover import NOTE_MAX, PHRASES
from edge.health_code import HOLD_S
from edge.web.context import GuardPage
from edge.web.deps import Checkpoint, Page, Paired, Settings, Templates, Voice
from edge.web.pairing import pair_page
from edge.web.status import status_json

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


def page_config(page: GuardPage) -> dict[str, Any]:
    """What the page's script is told: mode, language, token, timings, preview, gate, voice, and which refusals
    need a second confirmation to override."""
    screen, gate = page.settings.screen, page.settings.gate
    return {"mode": gate.mode, "language": screen.language, "token": page.token,
            "hold_s": screen.result_hold_s, "override_window_s": screen.override_window_s,
            "poll_s": screen.status_poll_s, "preview": screen.preview,
            "preview_interval_s": screen.preview_interval_s, "gate_name": gate.name,
            "direction": gate.direction, "voice": page.voice is not None,
            "confirm_codes": sorted(CONFIRM_CODES), "health_hold_s": HOLD_S,
            "handover_phrases": list(PHRASES), "handover_note_max": NOTE_MAX}


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (a kiosk page): answered so the browser stops asking."""
    return Response(status_code=204)


@router.get("/healthz")
def healthz(settings: Settings) -> dict:
    """Liveness for the service check."""
    return {"ok": True, "gate": settings.gate.id}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, page: Page, templates: Templates) -> Response:
    """The page, with its configuration (and the action token) inlined; the pairing page when not paired."""
    if not page.kiosks.paired(request):
        return pair_page(request, templates, status_code=403)
    cfg = page_config(page)
    return templates.TemplateResponse(request, "index.html", {"cfg": cfg, "guarded": page.guarded,
                                                              "lang": cfg["language"]}, headers=NO_STORE)


@router.get("/status")
def status(_paired: Paired, page: Page, checkpoint: Checkpoint, voice: Voice) -> JSONResponse:
    """Devices, sync, lists, faults, the shift and voice (see :func:`status_json`) and the app's instance."""
    page.window.drain()  # keeps the subscription from overflowing between overrides
    data = status_json(checkpoint, voice)
    data["instance"] = page.instance
    return JSONResponse(data, headers=NO_STORE)


@router.get("/preview.jpg")
def preview(_paired: Paired, checkpoint: Checkpoint, settings: Settings) -> Response:
    """The newest camera frame (204 when there is none or the preview is off)."""
    jpeg = checkpoint.preview_jpeg() if settings.screen.preview != "off" else None
    if jpeg is None:
        return Response(status_code=204, headers=NO_STORE)
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)
