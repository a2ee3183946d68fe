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
from central.console import auth, exports
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
                      kinds=[k for k in duty.POST_KINDS if k != "gate"], now=now, error=error,
                      changes=duty.changes(ctx.db, since, since + 7 * 86400))


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


@router.post("/duty/slots/{slot_id}/stand-in")
def duty_stand_in(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                  slot_id: Annotated[int, PathParam(ge=1, le=2**62)], guard_id: Text, reason: Text,
                  day: Text = "") -> Response:
    """Put another person on a slot ("顶岗、补岗"), approved by the signed-in member, with the reason."""
    try:
        change = duty.stand_in(ctx.db, slot_id, guard_id, reason, approved_by=staff.username)
    except duty.DutyError as exc:
        return _page(ctx, request, staff, day, 400, str(exc))
    record("duty_stand_in", slot=slot_id, change=change, guard_id=guard_id, reason=" ".join(reason.split()))
    return RedirectResponse(f"/duty?day={day}", 303)


def _week(ctx: Console, day_text: str) -> tuple[list[datetime], list[float]]:
    """The 7 days from ``day_text`` (default today) and their local midnights, plus the end of the last."""
    first = parse_day(day_text, ctx.tz)
    days = [datetime.combine(first + timedelta(days=i), datetime.min.time(), tzinfo=ctx.tz) for i in range(8)]
    return days[:7], [d.timestamp() for d in days]


def _community(ctx: Console) -> str:
    """The communities whose gates are registered, for a title ("" when none)."""
    rows = ctx.db.execute("SELECT DISTINCT community FROM devices WHERE community <> '' ORDER BY community "
                          "LIMIT 5").fetchall()
    return "、".join(r[0] for r in rows)


@router.get("/duty/roster/print")
def duty_roster_print(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, day: str = "") -> Response:
    """The week's roster from ``day`` as a print-ready A4 landscape page (posts x days, signature line)."""
    try:
        days, bounds = _week(ctx, day[:10])
    except ConsoleError as exc:
        return error_page(ctx, request, staff, str(exc))
    grid = duty.week_grid(duty.posts(ctx.db), duty.slots(ctx.db, bounds[0], bounds[-1]), bounds)
    record("print_duty_roster", day=days[0].date().isoformat())

    def clock(ts: float) -> str:
        return datetime.fromtimestamp(ts, ctx.tz).strftime("%H:%M")

    page = ctx.render(request, "duty_print.html", staff, grid=grid, days=days, community=_community(ctx),
                      printed=datetime.now(ctx.tz), clock=clock)
    page.headers["Content-Security-Policy"] = PRINT_CSP  # its print CSS is inline (as the pass cards' sheet)
    return page


PRINT_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'none'; "
             "frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
ROSTER_COLUMNS = (exports.Column("岗位", "Post", width=16), exports.Column("日期", "Day", exports.DATE),
                  exports.Column("开始", "Starts", exports.TIME), exports.Column("结束", "Ends", exports.TIME),
                  exports.Column("工号", "Guard id"), exports.Column("姓名", "Name"),
                  exports.Column("原排班人员（顶岗时）", "Rostered first (stand-in)", width=18))


def roster_table(grid: list[duty.RosterRow], days: list[datetime], title: str, lang: str) -> exports.Table:
    """The week's roster as an export table: one row per slot, by post and day."""
    rows = [(r.post.name, days[i].date(), s.start_ts, s.end_ts, s.guard_id, s.name,
             f"{s.original_name}（{s.original}）" if s.original else "")
            for r in grid for i, cell in enumerate(r.days) for s in cell]
    return exports.Table("Roster" if lang == "en" else "排班表", title, ROSTER_COLUMNS, rows, totals=False)


@router.get("/duty/roster.xlsx")
def duty_roster_xlsx(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, day: str = "") -> Response:
    """The week's roster from ``day`` as an XLSX file (the console's export conventions)."""
    try:
        days, bounds = _week(ctx, day[:10])
    except ConsoleError as exc:
        return error_page(ctx, request, staff, str(exc))
    grid = duty.week_grid(duty.posts(ctx.db), duty.slots(ctx.db, bounds[0], bounds[-1]), bounds)
    first, last = days[0].date().isoformat(), days[-1].date().isoformat()
    title = f"{_community(ctx)} 值班排班表 {first} 至 {last}".strip()
    record("export_duty_roster", day=first)
    return Response(exports.to_xlsx([roster_table(grid, days, title, staff.lang)], staff.lang, ctx.tz),
                    media_type=exports.XLSX_TYPE, headers=exports.download_headers(f"roster-{first}.xlsx"))
