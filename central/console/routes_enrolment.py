"""接入新设备: staff approve or refuse the enrolment of a new gate (administrators only, audited).

A new gate shows a code and a QR code of ``/devices/enrol?code=...`` (:mod:`sync.enrolment`); here an
administrator enters the code (or opens the QR's link on a phone), sees what the gate said about itself (host name,
software version, address, time left) and approves it with the community, gate id, gate name, direction and mode,
and the device it replaces (pre-filled when the gate names its previous device id, or when the gate id already has
a device), or refuses it. The rules are :mod:`central.enrolment`.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from central import enrolment
from central.api_enrol import clock_of
from central.console import auth
from central.console.deps import Admin, AdminForm, Audit, CleanInput, ConsoleCtx
from central.console.web import Console
from central.signing import root_public_pem
from sync import enrolment as wire

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

Text = Annotated[str, Form(max_length=100)]
CodeText = Annotated[str, Form(max_length=64)]


def _reason(exc: enrolment.EnrolmentRefused | wire.EnrolmentError, lang: str) -> str:
    if isinstance(exc, wire.EnrolmentError):
        zh, _, en = str(exc).partition(" / ")
        return en if lang == "en" and en else zh
    zh, en = enrolment.REASONS[exc.code]
    return en if lang == "en" else zh


def _devices(ctx: Console) -> list[dict[str, Any]]:
    return list(ctx.db.query("SELECT device_id, name, community, gate_id, revoked_at FROM devices "
                             "ORDER BY gate_id, device_id"))


def _prefill(req: dict[str, Any], devices: list[dict[str, Any]]) -> dict[str, str]:
    """The approval form's values for a request: from the device it says it was, when central knows it."""
    known = {d["device_id"]: d for d in devices}
    prev = known.get(req.get("previous_device_id") or "")
    if prev is None:
        return {"community": "", "gate_id": "", "gate_name": "", "direction": "both", "mode": "guarded",
                "replaces": ""}
    return {"community": prev["community"], "gate_id": prev["gate_id"], "gate_name": prev["name"],
            "direction": "both", "mode": "guarded",
            "replaces": enrolment.suggested_replacement(prev["device_id"], prev["gate_id"], devices)}


def _page(ctx: Console, request: Request, staff: auth.Staff, status_code: int = 200, *, code: str = "",
          form: dict[str, str] | None = None, **extra: Any) -> Response:
    """The page: the pending requests, the code box, and the request of ``code`` with its approval form."""
    now = clock_of(request).time()
    devices = _devices(ctx)
    found, error = None, extra.pop("error", None)
    if code:
        try:
            row = enrolment.by_code(ctx.db, wire.parse_code(code))
            problem = enrolment.approval_problem(row, now)
            if problem:
                error = error or _reason(enrolment.EnrolmentRefused(problem), staff.lang)
            else:
                found = row
        except wire.EnrolmentError as exc:
            error = error or _reason(exc, staff.lang)
    if found is not None:
        found = {**found, "code_shown": wire.format_code(found["code"]), "left_s": found["expires_at"] - now}
        form = form or _prefill(found, devices)
    return ctx.render(request, "enrol.html", staff, status_code=status_code, pending=enrolment.list_pending(
        ctx.db, now), code=code, found=found, form=form or {}, error=error,
        devices=[d for d in devices if not d["revoked_at"]], **extra)


@router.get("/static/enrol.css")
def enrol_css() -> Response:
    """The enrolment page's style sheet (its phone layout)."""
    text = resources.files("central.console").joinpath("static/enrol.css").read_text(encoding="utf-8")
    return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})


@router.get("/devices/enrol")
def enrol_page(request: Request, ctx: ConsoleCtx, staff: Admin, code: Annotated[str, Query(max_length=64)] = "",
               approved: Annotated[str, Query(max_length=64)] = "") -> Response:
    """接入新设备: enter a code (or open the gate's QR link); see and approve or refuse its request. After an
    approval (``approved``: the new device) the key fingerprint to compare with the gate's screen."""
    if approved and enrolment.links(ctx.db).get(approved, {}).get("code"):
        return _page(ctx, request, staff, approved=approved, fingerprint=_fingerprint(ctx))
    return _page(ctx, request, staff, code=code.strip())


@router.post("/devices/enrol/approve")
def enrol_approve(request: Request, ctx: ConsoleCtx, staff: AdminForm, record: Audit, code: CodeText,
                  community: Text = "", gate_id: Annotated[str, Form(max_length=64)] = "", gate_name: Text = "",
                  direction: Annotated[str, Form(max_length=10)] = "both",
                  mode: Annotated[str, Form(max_length=12)] = "guarded",
                  replaces: Annotated[str, Form(max_length=64)] = "",
                  alongside: Annotated[str, Form(max_length=1)] = "") -> Response:
    """Approve a request: the gate fetches its token and central's key at its next poll."""
    form = {"community": community, "gate_id": gate_id, "gate_name": gate_name, "direction": direction,
            "mode": mode, "replaces": replaces.strip()}
    try:
        bare = wire.parse_code(code)
        gate = enrolment.assignment(community, gate_id, gate_name, direction, mode)
        device_id = enrolment.approve(ctx.db, bare, gate, replaces=replaces.strip(), alongside=alongside == "1",
                                      by=staff.username, now=clock_of(request).time())
    except (enrolment.EnrolmentRefused, wire.EnrolmentError) as exc:
        if isinstance(exc, enrolment.EnrolmentRefused) and exc.code == "gate_has_device":
            form["replaces"] = enrolment.suggested_replacement(None, gate_id.strip(), _devices(ctx))
        return _page(ctx, request, staff, 409, code=code, form=form, error=_reason(exc, staff.lang))
    record("approve_enrolment", code=wire.format_code(bare), device_id=device_id, gate_id=gate.gate_id,
           community=gate.community, replaces=replaces.strip() or None)
    return RedirectResponse(f"/devices/enrol?approved={quote(device_id, safe='')}", 303)  # a reload posts nothing


def _fingerprint(ctx: Console) -> str:
    """Central's key fingerprint the gate shows once it is enrolled (staff compare the two)."""
    try:
        return wire.key_fingerprint(root_public_pem(ctx.data_dir))
    except Exception:  # noqa: BLE001 - only shown for comparison
        return ""


@router.post("/devices/enrol/refuse")
def enrol_refuse(request: Request, ctx: ConsoleCtx, staff: AdminForm, record: Audit, code: CodeText) -> Response:
    """Refuse a request: its gate is told so at its next poll."""
    try:
        bare = wire.parse_code(code)
        enrolment.refuse(ctx.db, bare, by=staff.username, now=clock_of(request).time())
    except (enrolment.EnrolmentRefused, wire.EnrolmentError) as exc:
        return _page(ctx, request, staff, 409, code=code, error=_reason(exc, staff.lang))
    record("refuse_enrolment", code=wire.format_code(bare))
    return RedirectResponse("/devices/enrol", 303)
