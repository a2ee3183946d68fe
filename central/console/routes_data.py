"""Entries search, contact tracing, the daily report and alerts (pages, exports and JSON API)."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from central.console import alerts, audit, auth, entries, exports, params, reports, shifts, tracing, values
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember, Viewer
from central.console.errors import ConsoleError
from central.console.i18n import reason_text, reason_texts, translator
from central.console.timeutil import fmt, parse_day, parse_local
from central.console.web import Console, blank, error_page

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

FORMATS = ("csv", "xlsx")
ALERTS_AUDIT_EVERY_S = 600.0


def _filter(ctx: Console, q: params.EntryQuery) -> entries.EntryFilter:
    return entries.EntryFilter(
        since=parse_local(q.since, ctx.tz), until=parse_local(q.until, ctx.tz),
        community=blank(q.community), gate_id=blank(q.gate_id), direction=blank(q.direction),
        decision=blank(q.decision), reason=blank(q.reason),
        fever=None if q.fever not in ("1", "0") else q.fever == "1",
        pass_id=blank(q.pass_id), household=blank(q.household),
        visitor_ref=blank(q.visitor_ref), guard_id=blank(q.guard_id))


def _bad_request(exc: ConsoleError) -> HTTPException:
    return HTTPException(400, str(exc))


def _send(table: exports.Table, fmt_: str, name: str, ctx: Console, lang: str) -> Response:
    """One table as a CSV, or as a one-sheet XLSX."""
    return exports.download([table], fmt_, name, lang, ctx.tz)


def _send_xlsx(tables: list[exports.Table], name: str, ctx: Console, lang: str) -> Response:
    return exports.download(tables, "xlsx", name, lang, ctx.tz)


def _words(ctx: Console, lang: str) -> exports.Words:
    return exports.Words(lang, exports.gate_names(ctx.db))


def _entries_title(ctx: Console, flt: entries.EntryFilter, lang: str) -> str:
    """"出入记录 2026-11-20 00:00 – 2026-11-21 00:00" (the filter's window, or the export's own time)."""
    head = "Entries" if lang == "en" else "出入记录"
    if flt.since is None and flt.until is None:
        when = fmt(time.time(), ctx.tz, with_seconds=False)
        return f"{head} ({'exported' if lang == 'en' else '导出于'} {when})"
    since = fmt(flt.since, ctx.tz, with_seconds=False) if flt.since is not None else ""
    until = fmt(flt.until, ctx.tz, with_seconds=False) if flt.until is not None else ""
    return f"{head} {since} – {until}"


@router.get("/entries")
def entries_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                 filters: Annotated[params.EntryQuery, Query()], cursor: params.Cursor = "") -> Response:
    """Entries matching the query string's filters, a page at a time."""
    q = dict(request.query_params)
    try:
        flt = _filter(ctx, filters)
        page = entries.search(ctx.db, flt, cursor or None)
        entries.with_visitor_names(ctx.db, page.rows, staff.can("staff"))  # masked for viewers
    except ConsoleError as exc:
        return ctx.render(request, "entries.html", staff, status_code=400, error=str(exc), rows=[], q=q,
                          next_url=None, reasons=reason_texts(staff.lang), **_choices(ctx))
    record("view_entries", filters=flt.as_dict(), rows=len(page.rows), page=bool(cursor))
    base = {k: v for k, v in q.items() if k not in ("cursor", "lang") and v}
    next_url = None
    if page.next_cursor:
        next_url = "/entries?" + urlencode({**base, "cursor": page.next_cursor})
    return ctx.render(request, "entries.html", staff, rows=page.rows, q=q, next_url=next_url,
                      export_qs=urlencode(base), reasons=reason_texts(staff.lang),
                      reason_text=lambda c: reason_text(c, staff.lang), **_choices(ctx))


@router.get("/entries/export.{fmt_}")
def entries_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                   filters: Annotated[params.EntryQuery, Query()]) -> Response:
    """Every entry matching the filters as CSV or XLSX."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    try:
        flt = _filter(ctx, filters)
    except ConsoleError as exc:
        raise _bad_request(exc) from None
    rows = entries.with_visitor_names(ctx.db, entries.iter_all(ctx.db, flt), True)
    record("export_entries", format=fmt_, filters=flt.as_dict(), rows=len(rows))
    words = _words(ctx, staff.lang)
    table = exports.Table("出入记录" if staff.lang != "en" else "Entries", _entries_title(ctx, flt, staff.lang),
                          exports.spec_columns(exports.ENTRY_COLUMNS),
                          [exports.spec_row(exports.ENTRY_COLUMNS, r, words) for r in rows])
    return _send(table, fmt_, "entries", ctx, staff.lang)


@router.get("/console/api/entries")
def entries_api(ctx: ConsoleCtx, staff: Viewer, record: Audit, filters: Annotated[params.EntryQuery, Query()],
                cursor: params.Cursor = "", limit: Annotated[int, Query(ge=1, le=500)] = entries.PAGE_SIZE) -> dict:
    """Entries matching the filters as JSON, ``limit`` at a time."""
    try:
        flt = _filter(ctx, filters)
        page = entries.search(ctx.db, flt, cursor or None, limit)
        entries.with_visitor_names(ctx.db, page.rows, staff.can("staff"))
    except ConsoleError as exc:
        raise _bad_request(exc) from None
    record("view_entries", filters=flt.as_dict(), rows=len(page.rows), api=True)
    return {"rows": values.json_safe(page.rows), "next_cursor": page.next_cursor}


# -- tracing -----------------------------------------------------------------------------

def _run_trace(ctx: Console, q: params.TraceQuery) -> tracing.Trace | None:
    if not q.value:
        return None
    since = parse_local(q.since, ctx.tz) or time.time() - 14 * 86400
    until = parse_local(q.until, ctx.tz) or time.time() + 60
    minutes = params.whole_number(q.minutes, "minutes", 0, tracing.MAX_MINUTES, 15)
    return tracing.trace(ctx.db, q.kind, q.value, since, until, minutes)


@router.get("/trace")
def trace_page(request: Request, ctx: ConsoleCtx, staff: StaffMember, record: Audit,
               query: Annotated[params.TraceQuery, Query()]) -> Response:
    """Contact tracing: a pass's (or visitor's) passages and who passed the same gates around them."""
    q = dict(request.query_params)
    try:
        result = _run_trace(ctx, query)
    except ConsoleError as exc:
        return ctx.render(request, "trace.html", staff, status_code=400, error=str(exc), q=q, result=None)
    if result:
        record("trace", kind=result.kind, value=result.value, since=result.since, until=result.until,
               minutes=result.minutes, passages=len(result.passages), contacts=len(result.contacts))
    qs = urlencode({k: v for k, v in q.items() if k != "lang"})
    return ctx.render(request, "trace.html", staff, q=q, result=result, export_qs=qs,
                      gates=exports.gate_names(ctx.db))


@router.get("/trace/export.{fmt_}")
def trace_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                 query: Annotated[params.TraceQuery, Query()]) -> Response:
    """A trace as CSV (passages and contacts in one table) or XLSX (a sheet each)."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    try:
        result = _run_trace(ctx, query)
    except ConsoleError as exc:
        raise _bad_request(exc) from None
    if result is None:
        raise HTTPException(400, "nothing to trace")
    record("export_trace", format=fmt_, kind=result.kind, value=result.value, passages=len(result.passages),
           contacts=len(result.contacts))
    name = f"trace-{result.kind}"
    words = _words(ctx, staff.lang)
    heading = tracing.title(result, staff.lang, lambda ts: fmt(ts, ctx.tz, with_seconds=False))
    if fmt_ == "csv":
        return _send(tracing.csv_table(result, words, heading), "csv", name, ctx, staff.lang)
    return _send_xlsx(tracing.tables(result, words, heading), name, ctx, staff.lang)


# -- daily report --------------------------------------------------------------------------

def _report(ctx: Console, q: params.ReportQuery) -> reports.Report:
    return reports.daily_report(ctx.db, parse_day(q.day, ctx.tz), ctx.tz, blank(q.community))


@router.get("/report")
def report_page(request: Request, ctx: ConsoleCtx, staff: Viewer,
                query: Annotated[params.ReportQuery, Query()]) -> Response:
    """The daily report of one day (and community): totals, hourly counts, refusal reasons, a chart."""
    try:
        rep = _report(ctx, query)
        span = reports.trend_days(query.trend)
    except ConsoleError as exc:
        return ctx.render(request, "report.html", staff, status_code=400, error=str(exc), rep=None,
                          q=dict(request.query_params), **_choices(ctx))
    trend = reports.trend(ctx.db, rep.day, span, ctx.tz, rep.community)
    chart = reports.entries_chart(rep, translator(staff.lang)("report.chart") + f" {rep.day.isoformat()}",
                                  gate_names=exports.gate_names(ctx.db))
    qs = urlencode({"day": rep.day.isoformat(), **({"community": rep.community} if rep.community else {})})
    return ctx.render(request, "report.html", staff, rep=rep, chart=chart, q=dict(request.query_params),
                      trend=trend, panels=reports.trend_panels(trend, staff.lang), span=span,
                      spans=reports.TREND_DAYS, export_qs=qs, counts=reports.COUNTS,
                      hourly_cols=[c.header(staff.lang) for c in reports.HOURLY_COLUMNS],
                      reason_cols=[c.header(staff.lang) for c in reports.REASON_COLUMNS], sheets=reports.SHEETS,
                      today=datetime.now(ctx.tz).date().isoformat(),
                      reason_text=lambda c: reason_text(c, staff.lang), gate_name=_words(ctx, staff.lang).gate,
                      **_choices(ctx))


@router.get("/report/export.{fmt_}")
def report_export(ctx: ConsoleCtx, fmt_: str, staff: Viewer, record: Audit,
                  query: Annotated[params.ReportQuery, Query()], part: params.QueryText = "hourly") -> Response:
    """The daily report's hourly counts or refusal reasons as CSV, or both as XLSX."""
    if fmt_ not in FORMATS or part not in ("hourly", "reasons"):
        raise HTTPException(404)
    try:
        rep = _report(ctx, query)
    except ConsoleError as exc:
        raise _bad_request(exc) from None
    record("export_report", format=fmt_, day=rep.day.isoformat(), community=rep.community)
    name = f"daily-report-{rep.day.isoformat()}"
    tables = rep.tables(_words(ctx, staff.lang))
    if fmt_ == "csv":
        return _send(tables[part], "csv", name if part == "hourly" else name + "-reasons", ctx, staff.lang)
    return _send_xlsx([tables["hourly"], tables["reasons"]], name, ctx, staff.lang)


# -- alerts --------------------------------------------------------------------------------

def _alerts(ctx: Console, hours: float, open_only: str, staff: auth.Staff) -> list[alerts.Alert]:
    now = time.time()
    items = alerts.alerts(ctx.db, now - hours * 3600, now + 300, include_acked=open_only != "1")
    items = items if staff.can("staff") else alerts.for_viewers(items)
    return alerts.name_visitors(ctx.db, items, staff.can("staff"))  # masked for viewers


@router.get("/alerts")
def alerts_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, hours: params.Hours = 24,
                open: params.QueryText = "") -> Response:
    """Fever, refusal and device alerts of the last hours (``?hours=``, ``?open=1`` for unacknowledged)."""
    items = _alerts(ctx, hours, open, staff)
    record("view_alerts", rows=len(items))
    return ctx.render(request, "alerts.html", staff, items=items, q=dict(request.query_params))


@router.get("/alerts/table")
def alerts_table(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, hours: params.Hours = 24,
                 open: params.QueryText = "") -> Response:
    """The alert list alone, re-read every few seconds by the alerts page."""
    items = _alerts(ctx, hours, open, staff)
    # the live list re-reads every few seconds: one audit record per member per ALERTS_AUDIT_EVERY_S
    if not audit.seen_recently(ctx.db, staff.username, "view_alerts", ALERTS_AUDIT_EVERY_S):
        record("view_alerts", rows=len(items), live=True)
    return ctx.render(request, "alerts_table.html", staff, items=items)


@router.get("/console/api/alerts")
def alerts_api(ctx: ConsoleCtx, staff: Viewer, record: Audit, hours: params.Hours = 24,
               open: params.QueryText = "") -> dict:
    """The alerts as JSON."""
    items = _alerts(ctx, hours, open, staff)
    record("view_alerts", rows=len(items), api=True)
    return {"alerts": values.json_safe([asdict(a) for a in items])}


@router.post("/alerts/ack")
def alerts_ack(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, key: Annotated[str, Form()],
               note: Annotated[str, Form()] = "") -> Response:
    """Acknowledge an alert (with a note)."""
    try:
        alerts.acknowledge(ctx.db, key, staff.username, note)
    except ConsoleError as exc:
        return error_page(ctx, request, staff, str(exc))
    record("ack_alert", key=key, note=note[:200])
    return RedirectResponse("/alerts", 303)


# -- shift hand-overs --------------------------------------------------------------------------

@router.get("/shifts")
def shifts_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, days: params.Days = 7,
                gate_id: params.QueryText = "") -> Response:
    """The gates' shift hand-over summaries of the last days (``?days=``, at most 92; ``?gate_id=``)."""
    q = request.query_params
    days_f = min(days, float(params.MAX_SHIFT_DAYS))
    now = time.time()
    gate = blank(gate_id)
    items = shifts.hand_overs(ctx.db, now - days_f * 86400, now + 300, gate)
    record("view_shifts", gate_id=gate, days=days_f, rows=len(items))
    return ctx.render(request, "shifts.html", staff, items=items, q=dict(q), **_choices(ctx))


def _choices(ctx: Console) -> dict:
    return {"communities": entries.distinct_values(ctx.db, "community"),
            "gates": entries.distinct_values(ctx.db, "gate_id")}
