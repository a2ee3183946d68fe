"""The visitor ledger (:mod:`central.visitors`): each visit with its time in and out, gate, host household, reason and
temperature, searchable by name, phone, household and day; who is still inside; CSV / XLSX exports.

Names and phones are shown to staff and admins; a viewer sees them masked (138****5678, 张**) and cannot export.
Every view and every export is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from central import visitors
from central.console import exports
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffMember, Viewer
from central.console.errors import ConsoleError
from central.console.i18n import reason_text, translator
from central.console.params import Text, ledger_days
from central.console.web import Console, blank

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

FORMATS = ("csv", "xlsx")
MAX_DAYS = 92  # a ledger query spans at most this many days
#: The export's columns: (i18n key, kind); the header is in the member's language, Chinese by default.
EXPORT_COLUMNS = (("visitor.name", exports.TEXT), ("visitor.phone", exports.TEXT), ("visitor.in", exports.TIME),
                  ("visitor.out", exports.TIME), ("gate", exports.TEXT), ("community", exports.TEXT),
                  ("visitor.host", exports.TEXT), ("visitor.reason", exports.TEXT), ("temp", exports.DECIMAL),
                  ("decision", exports.TEXT), ("visitor.id4", exports.TEXT), ("visitor.city", exports.TEXT),
                  ("visitor.outside", exports.TEXT))
_COLUMNS = [exports.Column(translator("zh")(key), translator("en")(key), kind) for key, kind in EXPORT_COLUMNS]


class LedgerParams(BaseModel):
    """The ledger's filters (days ``YYYY-MM-DD`` local, today when empty; texts optional)."""

    day_from: Text = ""
    day_to: Text = ""
    name: Text = ""
    phone: Text = ""
    household: Text = ""
    inside: Text = ""


def _query(ctx: Console, p: LedgerParams, lang: str) -> visitors.LedgerQuery:
    """The ledger query of the filters; a :class:`ConsoleError` in the member's language when they are wrong."""
    since, until = ledger_days(p.day_from, p.day_to, ctx.tz, lang, MAX_DAYS)
    return visitors.LedgerQuery(since=since, until=until,
                                name=blank(p.name), phone=blank(p.phone), household=blank(p.household),
                                inside_only=p.inside == "1")


def _shown(rows: list[dict[str, Any]], full: bool) -> list[dict[str, Any]]:
    """The rows as this member may see them: names and phones masked unless ``full``."""
    if full:
        return rows
    return [{**r, "name": visitors.mask_name(r["name"]), "phone": visitors.mask_phone(r["phone"]),
             "id_last4": "****" if r["id_last4"] else ""} for r in rows]


def _filters(q: visitors.LedgerQuery) -> dict[str, Any]:
    """What the audit log keeps of a query (the searched name or phone too: who looked for whom)."""
    return {"since": q.since, "until": q.until, "name": q.name, "phone": q.phone, "household": q.household,
            "inside_only": q.inside_only}


@router.get("/visitors")
def visitors_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                  params: Annotated[LedgerParams, Query()]) -> Response:
    """The visitor ledger; who of them is still inside."""
    q = dict(request.query_params)
    try:
        query = _query(ctx, params, staff.lang)
    except ConsoleError as exc:
        return ctx.render(request, "visitors.html", staff, status_code=400, error=str(exc), rows=[], inside=[], q=q,
                          export_qs="")
    full = staff.can("staff")
    rows = _shown(visitors.ledger(ctx.db, query), full)
    record("view_visitors", filters=_filters(query), rows=len(rows), names_shown=full)
    inside = [r for r in rows if r["decision"] == "pass" and r["out_ts"] is None]
    export_qs = urlencode({k: v for k, v in q.items() if k != "lang" and v})
    return ctx.render(request, "visitors.html", staff, rows=rows, inside=inside, q=q, export_qs=export_qs,
                      full=full, limit=visitors.LEDGER_LIMIT, reason_text=lambda c: reason_text(c, staff.lang))


def export_table(rows: list[dict[str, Any]], lang: str, title: str) -> exports.Table:
    """The ledger as an export table (:mod:`central.console.exports`: Chinese headers, date cells, totals)."""
    t = translator(lang)
    return exports.Table(sheet="访客" if lang != "en" else "visitors", title=title, columns=_COLUMNS, totals=False,
                         rows=[(r["name"], r["phone"], r["wall_ts"], r["out_ts"], r["gate_name"], r["community"],
                                r["household"], r["reason_text"], r["temp_c"],
                                reason_text(r["reason"], lang) if r["decision"] != "pass" else t("pass"),
                                r["id_last4"], r["from_city"],
                                "" if r["outside_14d"] is None else t("yes" if r["outside_14d"] else "no"))
                               for r in rows])


@router.get("/visitors/export.{fmt_}")
def visitors_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                    params: Annotated[LedgerParams, Query()]) -> Response:
    """The ledger as CSV (UTF-8 with BOM) or XLSX, headers in the member's language (Chinese by default)."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    try:
        query = _query(ctx, params, staff.lang)
    except ConsoleError as exc:
        raise HTTPException(400, str(exc)) from None
    rows = visitors.ledger(ctx.db, query)
    record("export_visitors", format=fmt_, filters=_filters(query), rows=len(rows))
    table = export_table(rows, staff.lang, translator(staff.lang)("nav.visitors"))
    return exports.download([table], fmt_, "visitors", staff.lang, ctx.tz)
