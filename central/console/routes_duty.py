"""The on-duty board and the roster (:mod:`central.duty`): who should be on each post now, who is signed in at
the gates since when, the posts nobody holds and the people not in place ("值班人员是否到位")."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from central import duty, people
from central.console import auth
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, Viewer
from central.console.errors import ConsoleError
from central.console.timeutil import day_bounds, parse_day
from central.console.web import Console, error_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

Text = Annotated[str, Form(max_length=100)]
HHMM = Annotated[str, Form(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


def _page(ctx: Console, request: Request, staff: auth.Staff, day_text: str = "", status_code: int = 200,
          error: str | None = None) -> Response:
    now = time.time()
    rows = duty.board(ctx.db, now)
    try:
        day = parse_day(day_text, ctx.tz)
    except ConsoleError as exc:
        return error_page(ctx, request, staff, str(exc))
    since, _ = day_bounds(day, ctx.tz)
    roster = duty.slots(ctx.db, since, since + 7 * 86400)
    candidates = [p for p in people.everyone(ctx.db) if p.enabled and p.status == "active"]
    return ctx.render(request, "duty.html", staff, status_code=status_code, rows=rows, counts=duty.summary(rows),
                      posts=duty.posts(ctx.db), roster=roster, day=day.isoformat(), candidates=candidates,
                      kinds=[k for k in duty.POST_KINDS if k != "gate"], now=now, error=error)


@router.get("/duty")
def duty_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, day: str = "") -> Response:
    """The board now, and the roster of the week from ``day`` (default today)."""
    record("view_duty", day=day[:10])
    return _page(ctx, request, staff, day[:10])


@router.post("/duty/posts")
def duty_add_post(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, name: Text,
                  kind: Text) -> Response:
    """Add a post that is not a gate."""
    try:
        pid = duty.add_post(ctx.db, name, kind)
    except duty.DutyError as exc:
        return _page(ctx, request, staff, status_code=400, error=str(exc))
    record("add_post", post=pid, name=name.strip(), kind=kind)
    return RedirectResponse("/duty", 303)


def _span(day_text: str, start: str, end: str, ctx: Console) -> tuple[float, float]:
    """The slot from ``start`` to ``end`` (HH:MM local) on ``day_text``; an end not after the start is the next
    day's (a night shift)."""
    day = parse_day(day_text, ctx.tz)
    first = datetime.combine(day, datetime.strptime(start, "%H:%M").time(), tzinfo=ctx.tz)
    last = datetime.combine(day, datetime.strptime(end, "%H:%M").time(), tzinfo=ctx.tz)
    if last <= first:
        last += timedelta(days=1)
    return first.timestamp(), last.timestamp()


@router.post("/duty/slots")
def duty_add_slot(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                  post_id: Annotated[int, Form(ge=1, le=2**62)], guard_id: Text, start: HHMM, end: HHMM,
                  day: Text = "", days: Annotated[int, Form(ge=1, le=7)] = 1) -> Response:
    """Roster a person on a post, for one day or the same times on ``days`` days in a row."""
    try:
        first, last = _span(day, start, end, ctx)
        made = [duty.add_slot(ctx.db, post_id, guard_id, first + i * 86400, last + i * 86400, by=staff.username)
                for i in range(days)]
    except (duty.DutyError, ConsoleError) as exc:
        return _page(ctx, request, staff, day, 400, str(exc))
    record("add_duty_slot", post=post_id, guard_id=guard_id, day=day, start=start, end=end, days=days,
           slots=len(made))
    return RedirectResponse(f"/duty?day={day}", 303)


@router.post("/duty/copy-week")
def duty_copy_week(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, day: Text = "") -> Response:
    """Copy the previous week's roster to the week from ``day`` (default today)."""
    try:
        first, _ = day_bounds(parse_day(day, ctx.tz), ctx.tz)
    except ConsoleError as exc:
        return _page(ctx, request, staff, "", 400, str(exc))
    added = duty.copy_week(ctx.db, first, by=staff.username)
    record("copy_duty_week", day=day, slots=added)
    return RedirectResponse(f"/duty?day={day}", 303)


@router.post("/duty/slots/{slot_id}/delete")
def duty_remove_slot(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                     slot_id: Annotated[int, PathParam(ge=1, le=2**62)]) -> Response:
    """Take a slot off the roster."""
    if not duty.remove_slot(ctx.db, slot_id):
        return error_page(ctx, request, staff, "没有这个班次 / no such slot", 404)
    record("remove_duty_slot", slot=slot_id)
    return RedirectResponse("/duty", 303)
