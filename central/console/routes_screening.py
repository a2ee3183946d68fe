"""The screening and returnee register's pages (:mod:`central.screening`): the register, a person with what each
list said and their calls, the phone round's worklist (a phone page: tap to call, one tap per outcome), the import
(upload → mapping → preview → import) and one click from a person to a home quarantine; CSV / XLSX exports.

Names, phones, health status and contact history are shown to staff and admins; a viewer sees names and phones
masked and no health data, and can neither call, import, quarantine nor export. Every view and export is audited.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from central import screening, visitors
from central.console import exports
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember, Viewer
from central.console.i18n import translator
from central.console.params import INT64_MAX, Text
from central.console.web import Console
from central.screening_parse import CATEGORIES
from gatepass.errors import GatepassError

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

FORMATS = ("csv", "xlsx")
PersonId = Annotated[int, PathParam(ge=1, le=INT64_MAX)]
STATUSES = ("", "todo", "closed", "quarantined")
#: The exports' columns: (i18n key, kind); headers in the member's language, Chinese by default.
EXPORT_COLUMNS = (("scr.name", exports.TEXT), ("scr.phone", exports.TEXT), ("scr.category", exports.TEXT),
                  ("scr.household", exports.TEXT), ("scr.address", exports.TEXT), ("scr.grid", exports.TEXT),
                  ("scr.origin", exports.TEXT), ("scr.returned", exports.DATE), ("scr.travel", exports.TEXT),
                  ("scr.health", exports.TEXT), ("scr.contact", exports.TEXT), ("scr.sources", exports.COUNT),
                  ("scr.calls", exports.COUNT), ("scr.last_outcome", exports.TEXT), ("scr.last_call", exports.TIME),
                  ("scr.quarantine", exports.TEXT))


@router.get("/static/screening.css")
def screening_css() -> Response:
    """The register's style sheet (its phone worklist)."""
    text = resources.files("central.console").joinpath("static/screening.css").read_text(encoding="utf-8")
    return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})


class RegisterParams(BaseModel):
    """The register's and the worklist's filters (all optional; days ``YYYY-MM-DD``)."""

    source: Text = ""
    grid: Text = ""
    category: Text = ""
    day_from: Text = ""
    day_to: Text = ""
    q: Text = ""
    status: Text = ""


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat() if text.strip() else ""
    except ValueError:
        return ""


def filters_of(p: RegisterParams) -> screening.Filters:
    """The register query of the filters (values that are no choice are ignored)."""
    source = p.source.strip()
    return screening.Filters(source_id=int(source) if source.isdigit() and len(source) < 18 else None,
                             grid=p.grid.strip(), category=p.category if p.category in CATEGORIES else "",
                             returned_from=_day(p.day_from), returned_to=_day(p.day_to), text=p.q.strip(),
                             status=p.status if p.status in STATUSES else "")


def shown(rows: list[dict[str, Any]], full: bool) -> list[dict[str, Any]]:
    """The people as this member may see them: a viewer gets names and phones masked, no health or contact."""
    if full:
        return rows
    return [{**r, "name": visitors.mask_name(r["name"]), "phone": visitors.mask_phone(r.get("phone")),
             "health": "", "contact": ""} for r in rows]


def _audit_filters(f: screening.Filters) -> dict[str, Any]:
    return {"source": f.source_id, "grid": f.grid, "category": f.category, "from": f.returned_from,
            "to": f.returned_to, "text": f.text, "status": f.status}


def _context(ctx: Console, request: Request, full: bool) -> dict[str, Any]:
    q = dict(request.query_params)
    return {"q": q, "full": full, "sources": screening.sources(ctx.db), "grids": screening.grids(ctx.db),
            "categories": CATEGORIES, "outcomes": screening.OUTCOMES, "kinds": screening.SOURCE_KINDS,
            "export_qs": urlencode({k: v for k, v in q.items() if k in RegisterParams.model_fields and v}),
            "limit": screening.LIST_LIMIT, "msg": q.get("msg", "")[:40]}


@router.get("/screening")
def register_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                  params: Annotated[RegisterParams, Query()]) -> Response:
    """The register: everyone named by the lists, one row per person (merged by phone)."""
    f = filters_of(params)
    full = staff.can("staff")
    rows, total = screening.people(ctx.db, f, now=time.time())
    record("view_screening", filters=_audit_filters(f), rows=len(rows), names_shown=full)
    today = datetime.now(ctx.tz).date()
    for r in rows:
        first, last = screening.preset_period(r["return_date"], today)
        r["preset_first"], r["preset_last"] = first.isoformat(), last.isoformat()
    return ctx.render(request, "screening.html", staff, rows=shown(rows, full), total=total,
                      **_context(ctx, request, full))


@router.get("/screening/worklist")
def worklist_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                  params: Annotated[RegisterParams, Query()]) -> Response:
    """The phone round: who still has to be reached, most urgent first; tap to call, one tap per outcome."""
    f = filters_of(params)
    full = staff.can("staff")
    rows, total = screening.worklist(ctx.db, f, now=time.time())
    record("view_screening_worklist", filters=_audit_filters(f), rows=len(rows), names_shown=full)
    return ctx.render(request, "screening_worklist.html", staff, rows=shown(rows, full), total=total,
                      **_context(ctx, request, full))


@router.get("/screening/people/{person_id}")
def person_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, person_id: PersonId,
                msg: Text = "", error: Text = "") -> Response:
    """A person: their merged values, what each list said, their calls, the call and quarantine forms."""
    p = screening.person(ctx.db, person_id)
    if p is None:
        raise HTTPException(404, translator(staff.lang)("scr.no_person"))
    full = staff.can("staff")
    rows = screening.person_rows(ctx.db, person_id)
    calls = screening.calls(ctx.db, person_id)
    record("view_screening_person", person=person_id, household=p["household"], names_shown=full)
    first, last = screening.preset_period(p["return_date"], datetime.now(ctx.tz).date())
    return ctx.render(request, "screening_person.html", staff, p=shown([p], full)[0], rows=shown(rows, full),
                      calls=calls, first=first.isoformat(), last=last.isoformat(),
                      **{**_context(ctx, request, full), "q": {}, "msg": msg[:40], "error": error[:200] or None})


def _outcome_text(code: str, lang: str) -> str:
    names = screening.OUTCOMES.get(code)
    return (names[1] if lang == "en" else names[0]) if names else ""


def export_table(rows: list[dict[str, Any]], lang: str, title: str, tz: Any) -> exports.Table:
    """People as an export table (Chinese headers by default, dates as date cells)."""
    t = translator(lang)
    columns = [exports.Column(translator("zh")(k), translator("en")(k), kind) for k, kind in EXPORT_COLUMNS]
    cat = {code: names[1] if lang == "en" else names[0] for code, names in CATEGORIES.items()}
    out = []
    for r in rows:
        returned = date.fromisoformat(r["return_date"]) if r["return_date"] else None
        quarantined = f"{r['quarantine_first']} – {r['quarantine_last']}" if r["quarantine_id"] else ""
        out.append((r["name"], r["phone"], cat.get(r["category"], r["category"]), r["household"] or "",
                    r["address"], r["grid"] or "", r["origin_city"], returned, r["travel"], r["health"],
                    r["contact"], r["sources"], r["calls"], _outcome_text(r["last_outcome"], lang),
                    r["last_call_at"], quarantined))
    return exports.Table(sheet=t("scr.sheet"), title=title, columns=columns, totals=False, rows=out)


def _export(ctx: Console, rows: list[dict[str, Any]], staff: Any, fmt_: str, name: str, title: str) -> Response:
    table = export_table(rows, staff.lang, title, ctx.tz)
    return exports.download([table], fmt_, name, staff.lang, ctx.tz)


@router.get("/screening/export.{fmt_}")
def register_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                    params: Annotated[RegisterParams, Query()]) -> Response:
    """The register (filtered as on its page, every matching person) as CSV or XLSX."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    f = filters_of(params)
    rows, _ = screening.people(ctx.db, f, now=time.time(), limit=screening.EXPORT_LIMIT)
    record("export_screening", format=fmt_, filters=_audit_filters(f), rows=len(rows))
    return _export(ctx, rows, staff, fmt_, "screening", translator(staff.lang)("nav.screening"))


@router.get("/screening/worklist/export.{fmt_}")
def worklist_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                    params: Annotated[RegisterParams, Query()]) -> Response:
    """The worklist as CSV or XLSX (to share the round among callers)."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    f = filters_of(params)
    rows, _ = screening.worklist(ctx.db, f, now=time.time(), limit=screening.EXPORT_LIMIT)
    record("export_screening_worklist", format=fmt_, filters=_audit_filters(f), rows=len(rows))
    return _export(ctx, rows, staff, fmt_, "screening-worklist", translator(staff.lang)("scr.worklist"))


def back_to(target: str, fallback: str) -> str:
    """Where a form goes back to: one of the register's own pages, never another site."""
    if target.startswith("/screening") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def redirect(target: str, **query: str) -> RedirectResponse:
    """A 303 to ``target`` with ``query`` added."""
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(target + (joiner + urlencode(query) if query else ""), 303)


Form100 = Annotated[str, Form(max_length=100)]
Form200 = Annotated[str, Form(max_length=200)]


@router.post("/screening/people/{person_id}/calls")
def record_call(ctx: ConsoleCtx, staff: StaffForm, record: Audit, person_id: PersonId, outcome: Form100,
                note: Form200 = "", back: Form200 = "") -> Response:
    """Record a call of the phone round (outcome, note; who and when are the member and now)."""
    target = back_to(back, f"/screening/people/{person_id}")
    try:
        call_id = screening.record_call(ctx.db, person_id, outcome, note, by=staff.username, now=time.time())
    except screening.ScreeningError as exc:
        return redirect(f"/screening/people/{person_id}", error=str(exc))
    record("screening_call", person=person_id, call=call_id, outcome=outcome)
    return redirect(target, msg="call_saved")


@router.post("/screening/people/{person_id}/quarantine")
def start_quarantine(ctx: ConsoleCtx, staff: StaffForm, record: Audit, person_id: PersonId, household: Form100,
                     first_day: Form100, last_day: Form100, scope: Form100 = "person",
                     back: Form200 = "") -> Response:
    """One click: the person becomes a home quarantine (14 days preset, from their return date or today)."""
    target = back_to(back, f"/screening/people/{person_id}")
    try:
        order = screening.QuarantineOrder(household.strip(), scope, date.fromisoformat(first_day.strip()),
                                          date.fromisoformat(last_day.strip()))
    except ValueError:
        return redirect(f"/screening/people/{person_id}", error=translator(staff.lang)("scr.bad_day"))
    try:
        qid = screening.to_quarantine(ctx.db, person_id, order, by=staff.username, now=time.time())
    except GatepassError as exc:
        return redirect(f"/screening/people/{person_id}", error=str(exc)[:200])
    record("screening_quarantine", person=person_id, quarantine=qid, household=order.household, scope=scope,
           first_day=order.first_day.isoformat(), last_day=order.last_day.isoformat())
    return redirect(target, msg="quarantined")
