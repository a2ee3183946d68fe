"""The vehicle ledger (:mod:`central.vehicles`): each vehicle with its time in and out, gate, plate, purpose and
driver, searchable by plate, driver name, phone, household and day; those still inside at the end of the day;
CSV / XLSX exports with Chinese headers and plain values.

Drivers' names and phones are shown to staff and admins; a viewer sees them masked (138****5678, 张**) and cannot
export. Every view and every export is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from central import vehicles, visitors
from central.console import exports
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffMember, Viewer
from central.console.errors import ConsoleError
from central.console.i18n import reason_text, translator
from central.console.params import Text, ledger_days
from central.console.web import Console, blank

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

FORMATS = ("csv", "xlsx")
MAX_DAYS = 92  # a ledger query spans at most this many days
#: The export's columns: (i18n key, kind); headers in the member's language, Chinese by default.
EXPORT_COLUMNS = (("vehicle.plate", exports.TEXT), ("vehicle.purpose", exports.TEXT), ("vehicle.in", exports.TIME),
                  ("vehicle.out", exports.TIME), ("gate", exports.TEXT), ("community", exports.TEXT),
                  ("vehicle.driver_kind", exports.TEXT), ("vehicle.driver", exports.TEXT),
                  ("vehicle.phone", exports.TEXT), ("household", exports.TEXT), ("vehicle.note", exports.TEXT),
                  ("decision", exports.TEXT), ("vehicle.guard", exports.TEXT))
_COLUMNS = [exports.Column(translator("zh")(key), translator("en")(key), kind) for key, kind in EXPORT_COLUMNS]


class LedgerParams(BaseModel):
    """The ledger's filters (days ``YYYY-MM-DD`` local, today when empty; texts optional)."""

    day_from: Text = ""
    day_to: Text = ""
    plate: Text = ""
    name: Text = ""
    phone: Text = ""
    household: Text = ""
    inside: Text = ""


def _query(ctx: Console, p: LedgerParams, lang: str) -> vehicles.LedgerQuery:
    """The ledger query of the filters; a :class:`ConsoleError` in the member's language when they are wrong."""
    since, until = ledger_days(p.day_from, p.day_to, ctx.tz, lang, MAX_DAYS)
    return vehicles.LedgerQuery(since=since, until=until,
                                plate=blank(p.plate), name=blank(p.name), phone=blank(p.phone),
                                household=blank(p.household), inside_only=p.inside == "1")


def _shown(rows: list[dict[str, Any]], full: bool) -> list[dict[str, Any]]:
    """The rows as this member may see them: drivers' names and phones masked unless ``full``."""
    if full:
        return rows
    return [{**r, "driver_name": visitors.mask_name(r["driver_name"]),
             "driver_phone": visitors.mask_phone(r["driver_phone"])} for r in rows]


def _filters(q: vehicles.LedgerQuery) -> dict[str, Any]:
    """What the audit log keeps of a query (the searched plate, name or phone too: who looked for whom)."""
    return {"since": q.since, "until": q.until, "plate": q.plate, "name": q.name, "phone": q.phone,
            "household": q.household, "inside_only": q.inside_only}


def _decision(r: dict[str, Any], lang: str) -> str:
    return translator(lang)("pass") if r["decision"] == "pass" else reason_text(r["reason"], lang)


@router.get("/vehicles")
def vehicles_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                  params: Annotated[LedgerParams, Query()]) -> Response:
    """The vehicle ledger; which of them are still inside."""
    q = dict(request.query_params)
    try:
        query = _query(ctx, params, staff.lang)
    except ConsoleError as exc:
        return ctx.render(request, "vehicles.html", staff, status_code=400, error=str(exc), rows=[], inside=[], q=q,
                          export_qs="")
    full = staff.can("staff")
    rows = _shown(vehicles.ledger(ctx.db, query), full)
    record("view_vehicles", filters=_filters(query), rows=len(rows), names_shown=full)
    inside = [r for r in rows if r["decision"] == "pass" and r["out_ts"] is None]
    export_qs = urlencode({k: v for k, v in q.items() if k != "lang" and v})
    return ctx.render(request, "vehicles.html", staff, rows=rows, inside=inside, q=q, export_qs=export_qs,
                      full=full, limit=vehicles.LEDGER_LIMIT, decision=lambda r: _decision(r, staff.lang),
                      purpose=lambda k: vehicles.purpose_name(k, staff.lang),
                      driver_kind=lambda k: vehicles.driver_kind_name(k, staff.lang))


def export_table(rows: list[dict[str, Any]], lang: str, title: str) -> exports.Table:
    """The ledger as an export table (:mod:`central.console.exports`: Chinese headers, date cells)."""
    return exports.Table(sheet="车辆" if lang != "en" else "vehicles", title=title, columns=_COLUMNS, totals=False,
                         rows=[(r["plate"], vehicles.purpose_name(r["purpose"], lang), r["wall_ts"], r["out_ts"],
                                r["gate_name"], r["community"], vehicles.driver_kind_name(r["driver_kind"], lang),
                                r["driver_name"], r["driver_phone"], r["household"] or "", r["note"],
                                _decision(r, lang), r["guard_id"] or "")
                               for r in rows])


@router.get("/vehicles/export.{fmt_}")
def vehicles_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                    params: Annotated[LedgerParams, Query()]) -> Response:
    """The ledger as CSV (UTF-8 with BOM) or XLSX, headers in the member's language (Chinese by default)."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    try:
        query = _query(ctx, params, staff.lang)
    except ConsoleError as exc:
        raise HTTPException(400, str(exc)) from None
    rows = vehicles.ledger(ctx.db, query)
    record("export_vehicles", format=fmt_, filters=_filters(query), rows=len(rows))
    table = export_table(rows, staff.lang, translator(staff.lang)("nav.vehicles"))
    return exports.download([table], fmt_, "vehicles", staff.lang, ctx.tz)
