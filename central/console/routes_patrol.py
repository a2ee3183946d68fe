"""The patrol log page (:mod:`central.patrol`), phone-first: a staff member on a patrol post starts a round,
adds the defects found (common ones are one tap), and finishes it; below, the recent rounds with their defects
for everyone signed in (viewers read only). Every step is audited as ``patrol_round``."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from central import patrol
from central.console import auth
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, Viewer
from central.console.web import Console

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

Text = Annotated[str, Form(max_length=200)]
RoundId = Annotated[int, PathParam(ge=1, le=2**62)]


def _page(ctx: Console, request: Request, staff: auth.Staff, status_code: int = 200,
          error: str | None = None) -> Response:
    mine = patrol.open_round(ctx.db, staff.username) if staff.can("staff") else None
    return ctx.render(request, "patrol.html", staff, status_code=status_code, error=error, mine=mine,
                      posts=patrol.patrol_posts(ctx.db), recent=patrol.rounds(ctx.db, 50),
                      common=patrol.COMMON_DEFECTS)


@router.get("/patrol")
def patrol_page(request: Request, ctx: ConsoleCtx, staff: Viewer) -> Response:
    """The member's round under way (staff) and the recent rounds with their defects."""
    return _page(ctx, request, staff)


@router.post("/patrol/start")
def patrol_start(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                 post_id: Annotated[int, Form(ge=1, le=2**62)], area: Text = "") -> Response:
    """Start a round of a patrol post ("开始巡查")."""
    try:
        rid = patrol.start(ctx.db, post_id, staff.username, staff.display_name, area, time.time())
    except patrol.PatrolError as exc:
        return _page(ctx, request, staff, 400, str(exc))
    record("patrol_round", step="start", round=rid, post=post_id, area=" ".join(area.split()))
    return RedirectResponse("/patrol", 303)


@router.post("/patrol/{round_id}/defects")
def patrol_defect(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, round_id: RoundId,
                  what: Text = "", detail: Text = "", place: Text = "", fixed: Text = "") -> Response:
    """Add a defect to the member's round under way: a common one (``what``) and/or words (``detail``)."""
    what, detail = " ".join(what.split()), " ".join(detail.split())
    text = f"{what}：{detail}" if what and detail else (what or detail)
    try:
        did = patrol.add_defect(ctx.db, round_id, staff.username, text, place, fixed in ("1", "on", "yes"),
                                time.time())
    except patrol.PatrolError as exc:
        return _page(ctx, request, staff, 400, str(exc))
    record("patrol_round", step="defect", round=round_id, defect=did, what=text[:60], fixed=fixed in ("1", "on"))
    return RedirectResponse("/patrol", 303)


@router.post("/patrol/{round_id}/finish")
def patrol_finish(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, round_id: RoundId) -> Response:
    """Finish the member's round under way ("结束巡查")."""
    try:
        patrol.finish(ctx.db, round_id, staff.username, time.time())
    except patrol.PatrolError as exc:
        return _page(ctx, request, staff, 400, str(exc))
    record("patrol_round", step="finish", round=round_id)
    return RedirectResponse("/patrol", 303)
