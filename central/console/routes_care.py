"""Home-quarantine care pages (:mod:`central.care`): who is under quarantine and why, today's temperature round
(phone-first: one typed value and one tap per reading), a quarantine's temperatures, needs and care notes, the
release, and the printable notices (居家隔离告知书 with the self-report QR, 解除隔离通知书).

Names, phones and temperatures are for staff and administrators; viewers see masked names and no health data.
Every view and print is audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from central import care, homes, selfreport
from central.console import auth
from central.console.deps import AdminForm, Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember, Viewer
from central.console.routes_duty import PRINT_CSP
from central.console.web import Console, error_page
from central.passes import quarantine
from central.visitors import mask_name, mask_phone

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

Text = Annotated[str, Form(max_length=500)]
Short = Annotated[str, Form(max_length=60)]
QuarantineId = Annotated[int, PathParam(ge=1, le=2**62)]
NeedId = Annotated[int, PathParam(ge=1, le=2**62)]
Person = Annotated[int, PathParam(ge=0, le=quarantine.MAX_PERSON)]
Day = Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")]
HHMM = Annotated[str, Form(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


@dataclass(frozen=True)
class Who:
    """A person of a quarantine as this member may see them."""

    person: int
    name: str
    phone: str


def _who(db, household: str, person: int, staff: auth.Staff) -> Who:
    m = homes.member(db, household, person)
    name, phone = (m.name, m.phone) if m else ("", "")
    if not staff.can("staff"):
        name, phone = mask_name(name), mask_phone(phone)
    return Who(person, name, phone)


def _today(ctx: Console) -> date:
    return datetime.now(ctx.tz).date()


def _back(target: str, fallback: str) -> str:
    return target if target.startswith("/care") and "//" not in target else fallback


def _page(ctx: Console, request: Request, staff: auth.Staff, status_code: int = 200,
          error: str | None = None) -> Response:
    now = time.time()
    active = care.care_records(ctx.db)
    due = care.worklist(ctx.db, now, ctx.tz_name)
    missing = {(d.quarantine_id, d.person, d.slot): d for d in due}
    rows = [(r, [_who(ctx.db, r.q.household, p, staff) for p in care.persons(ctx.db, r.q)]) for r in active]
    open_needs: dict[int, int] = {}
    for n in care.needs(ctx.db, open_only=True):
        open_needs[n.quarantine_id] = open_needs.get(n.quarantine_id, 0) + 1
    return ctx.render(request, "care.html", staff, status_code=status_code, error=error, rows=rows,
                      missing=missing, open_needs=open_needs, due=len(due), now=now,
                      past=care.care_records(ctx.db, active=False, limit=50), policy=care.policy(ctx.db),
                      sources=care.SOURCES, today=_today(ctx).isoformat(), hhmm=care.hhmm,
                      households=[r[0] for r in ctx.db.execute(
                          "SELECT household FROM households ORDER BY household LIMIT 5000")])


@router.get("/care")
def care_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit) -> Response:
    """Everyone under home quarantine, today's readings, open needs; the form to start a quarantine."""
    record("view_care")
    return _page(ctx, request, staff)


@router.post("/care/start")
def care_start(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, household: Short,
               first_day: Day, source: Short, person: Short = "", days: Annotated[int, Form(ge=1, le=60)] = 14,
               last_day: Short = "", origin_city: Short = "", note: Text = "") -> Response:
    """Start a quarantine of a household or one member (14 days by default, or up to ``last_day``)."""
    try:
        first = date.fromisoformat(first_day)
        last = date.fromisoformat(last_day) if last_day else quarantine.last_day_of(first, days)
        who = int(person) if person.strip() else None
        care.check_start(household.strip(), who, first, last, source, origin_city, note, _today(ctx))
        qid = care.start_quarantine(ctx.db, household=household.strip(), person=who, first_day=first,
                                    last_day=last, source=source, origin_city=origin_city, note=note,
                                    by=staff.username)
    except (care.CareError, ValueError) as exc:
        message = str(exc) if isinstance(exc, care.CareError) else "日期或人员编号格式不对 / a malformed day or person"
        return _page(ctx, request, staff, 400, message)
    record("care_start", quarantine=qid, household=household.strip(), person=person, source=source,
           first_day=first_day, last_day=last.isoformat())
    return RedirectResponse(f"/care/{qid}", 303)


@router.post("/care/settings")
def care_settings(request: Request, ctx: ConsoleCtx, staff: AdminForm, record: Audit, am_end: HHMM,
                  pm_end: HHMM) -> Response:
    """Set when the morning and afternoon reading slots end (administrators)."""
    try:
        care.set_slot_ends(ctx.db, am_end, pm_end)
    except care.CareError as exc:
        return _page(ctx, request, staff, 400, str(exc))
    record("care_settings", am_end=am_end, pm_end=pm_end)
    return RedirectResponse("/care", 303)


@router.get("/care/round")
def care_round(request: Request, ctx: ConsoleCtx, staff: StaffMember, record: Audit) -> Response:
    """Today's readings still missing, for the staff's phone round (a phone or the desk)."""
    due = care.worklist(ctx.db, time.time(), ctx.tz_name)
    rows = [(d, _who(ctx.db, d.household, d.person, staff)) for d in due]
    record("view_care_round", rows=len(rows))
    return ctx.render(request, "care_round.html", staff, rows=rows, today=_today(ctx).isoformat())


def _record_page(ctx: Console, request: Request, staff: auth.Staff, rec: care.CareRecord, status_code: int = 200,
                 error: str | None = None) -> Response:
    people = [_who(ctx.db, rec.q.household, p, staff) for p in care.persons(ctx.db, rec.q)]
    health = staff.can("staff")
    days = _days(rec, _today(ctx), ctx)
    grid = {(r.person, r.day, r.slot): r for r in care.readings(ctx.db, rec.id)} if health else {}
    links = {p.person: _link(request, ctx, rec, p.person) for p in people} if health and rec.active else {}
    counts = ctx.db.execute("SELECT readings_count, fever_count, needs_count FROM care_quarantines "
                            "WHERE quarantine_id = ?", [rec.id]).fetchone()
    return ctx.render(request, "care_record.html", staff, status_code=status_code, error=error, rec=rec,
                      people=people, days=days, grid=grid, health=health, links=links, counts=counts,
                      needs=care.needs(ctx.db, rec.id) if health else [],
                      notes=care.notes(ctx.db, rec.id) if health else [], need_kinds=care.NEED_KINDS,
                      fever_c=care.fever_threshold(ctx.db), today=_today(ctx).isoformat(),
                      over=rec.q.end_ts <= time.time())


def _days(rec: care.CareRecord, today: date, ctx: Console) -> list[str]:
    first, last = date.fromisoformat(rec.q.first_day), date.fromisoformat(rec.q.last_day)
    if rec.q.released_at is not None:
        last = min(last, datetime.fromtimestamp(rec.q.released_at, ctx.tz).date())
    last = min(last, today)
    return [(first + timedelta(days=i)).isoformat() for i in range(max(0, (last - first).days + 1))]


def _link(request: Request, ctx: Console, rec: care.CareRecord, person: int) -> str:
    token = selfreport.make_token(care.secret(ctx.db), rec.id, person, rec.q.first_day, rec.q.last_day)
    base = ctx.public_url or str(request.base_url).rstrip("/")
    return f"{base}/r/{token}"


def _found(ctx: Console, quarantine_id: int) -> care.CareRecord:
    rec = care.record(ctx.db, quarantine_id)
    if rec is None:
        raise care.CareError("没有这条隔离记录 / no such quarantine")
    return rec


@router.get("/care/{quarantine_id}")
def care_record_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                     quarantine_id: QuarantineId) -> Response:
    """One quarantine: its people, temperatures by day and slot, needs, care notes, release and notices."""
    try:
        rec = _found(ctx, quarantine_id)
    except care.CareError as exc:
        return error_page(ctx, request, staff, str(exc), 404, back="/care")
    record("view_care_record", quarantine=quarantine_id, household=rec.q.household)
    return _record_page(ctx, request, staff, rec)


def _after(ctx: Console, request: Request, staff: auth.Staff, quarantine_id: int, step, target: str) -> Response:
    """Run ``step`` (a care change) and go to ``target``, or show the record with the reason."""
    try:
        step()
    except care.CareError as exc:
        rec = care.record(ctx.db, quarantine_id)
        if rec is None:
            return error_page(ctx, request, staff, str(exc), 404, back="/care")
        return _record_page(ctx, request, staff, rec, 400, str(exc))
    return RedirectResponse(target, 303)


@router.post("/care/{quarantine_id}/reading")
def care_reading(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, quarantine_id: QuarantineId,
                 person: Annotated[int, Form(ge=0, le=quarantine.MAX_PERSON)], day: Day, slot: Short,
                 temp: Short, next: Short = "") -> Response:
    """Record a temperature taken on the phone round (or correct one)."""
    def step() -> None:
        value = care.parse_temp(temp)
        care.record_reading(ctx.db, quarantine_id, person, date.fromisoformat(day), slot, value, via="staff",
                            by=staff.username, now=time.time(), tz=ctx.tz_name)
        record("care_reading", quarantine=quarantine_id, person=person, day=day, slot=slot)
    return _after(ctx, request, staff, quarantine_id, step, _back(next, f"/care/{quarantine_id}"))


@router.post("/care/{quarantine_id}/needs")
def care_add_need(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, quarantine_id: QuarantineId,
                  kind: Short, detail: Text = "", handled_by: Short = "") -> Response:
    """Log a need (买菜, 买药, 倒垃圾, 就医 …) of the quarantined household."""
    def step() -> None:
        nid = care.add_need(ctx.db, quarantine_id, kind, detail, by=staff.username, now=time.time(),
                            handled_by=handled_by)
        record("care_need", quarantine=quarantine_id, need=nid, kind=kind)
    return _after(ctx, request, staff, quarantine_id, step, f"/care/{quarantine_id}#needs")


@router.post("/care/needs/{need_id}/done")
def care_need_done(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, need_id: NeedId,
                   handled_by: Short = "") -> Response:
    """Mark a need done, with who handled it."""
    n = care.need(ctx.db, need_id)
    if n is None:
        return error_page(ctx, request, staff, "没有这条需求 / no such need", 404, back="/care")

    def step() -> None:
        care.finish_need(ctx.db, need_id, handled_by=handled_by, by=staff.username, now=time.time())
        record("care_need_done", quarantine=n.quarantine_id, need=need_id)
    return _after(ctx, request, staff, n.quarantine_id, step, f"/care/{n.quarantine_id}#needs")


@router.post("/care/{quarantine_id}/notes")
def care_add_note(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, quarantine_id: QuarantineId,
                  note: Text) -> Response:
    """Add a care note (a call, a visit, how they are)."""
    def step() -> None:
        nid = care.add_note(ctx.db, quarantine_id, note, by=staff.username, now=time.time())
        record("care_note", quarantine=quarantine_id, note_id=nid)
    return _after(ctx, request, staff, quarantine_id, step, f"/care/{quarantine_id}#notes")


@router.post("/care/{quarantine_id}/release")
def care_release(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, quarantine_id: QuarantineId,
                 note: Text = "") -> Response:
    """Release the quarantine now (gates get it); the record, temperatures and needs stay."""
    def step() -> None:
        care.release(ctx.db, quarantine_id, by=staff.username, note=note)
        record("care_release", quarantine=quarantine_id)
    return _after(ctx, request, staff, quarantine_id, step, f"/care/{quarantine_id}")


NOTICES = ("quarantine", "release")


@router.get("/care/{quarantine_id}/notice/{person}/{notice}")
def care_notice(request: Request, ctx: ConsoleCtx, staff: StaffMember, record: Audit, quarantine_id: QuarantineId,
                person: Person, notice: str) -> Response:
    """A printable A4 notice for one person: ``quarantine`` (居家隔离告知书, with the self-report QR) or
    ``release`` (解除隔离通知书)."""
    rec = care.record(ctx.db, quarantine_id)
    if rec is None or notice not in NOTICES or person not in care.persons(ctx.db, rec.q):
        return error_page(ctx, request, staff, "没有这份通知书 / no such notice", 404, back="/care")
    who = _who(ctx.db, rec.q.household, person, staff)
    qr = None
    if notice == "quarantine" and rec.active:
        link = _link(request, ctx, rec, person)
        qr = (link, segno.make(link, error="m").svg_data_uri(scale=4, border=2))
    record("print_care_notice", quarantine=quarantine_id, person=person, notice=notice)
    released = datetime.fromtimestamp(rec.q.released_at or time.time(), ctx.tz)  # printed on the day of release
    page = ctx.render(request, f"notice_{notice}.html", staff, rec=rec, who=who, qr=qr, released=released,
                      printed=datetime.now(ctx.tz), source=care.SOURCES.get(rec.source, ("", ""))[0],
                      source_en=care.SOURCES.get(rec.source, ("", ""))[1])
    page.headers["Content-Security-Policy"] = PRINT_CSP  # its print CSS is inline (as the roster's sheet)
    return page
