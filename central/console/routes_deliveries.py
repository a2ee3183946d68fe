"""The deliveries ledger (:mod:`central.deliveries`): parcels left at the gates for households and their pickups,
searchable by household, company, courier phone and day; what waits per household; the list of deliveries to
quarantined households for staff to carry up; CSV / XLSX exports.

Courier phones are shown to staff and admins; a viewer sees them masked (138****5678) and cannot export. Every view
and every export is in the audit log.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from central import deliveries
from central.console import exports
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffMember, Viewer
from central.console.errors import ConsoleError
from central.console.i18n import translator
from central.console.params import Text, ledger_days
from central.console.web import Console, blank
from central.visitors import mask_name, mask_phone

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

FORMATS = ("csv", "xlsx")
MAX_DAYS = 92  # a ledger query spans at most this many days
STATUSES = ("", "waiting", "picked")
#: The export's columns: (i18n key, kind); the header is in the member's language, Chinese by default.
EXPORT_COLUMNS = (("dl.time", exports.TIME), ("gate", exports.TEXT), ("community", exports.TEXT),
                  ("household", exports.TEXT), ("dl.company", exports.TEXT), ("dl.count", exports.COUNT),
                  ("dl.phone", exports.TEXT), ("dl.note", exports.TEXT), ("dl.quarantined", exports.TEXT),
                  ("dl.pickup_time", exports.TIME), ("dl.pickup_by", exports.TEXT), ("guard", exports.TEXT))
_COLUMNS = [exports.Column(translator("zh")(key), translator("en")(key), kind) for key, kind in EXPORT_COLUMNS]


class LedgerParams(BaseModel):
    """The ledger's filters (days ``YYYY-MM-DD`` local, today when empty; texts optional)."""

    day_from: Text = ""
    day_to: Text = ""
    household: Text = ""
    company: Text = ""
    phone: Text = ""
    status: Text = ""


def _query(ctx: Console, p: LedgerParams, lang: str) -> deliveries.DeliveryQuery:
    """The ledger query of the filters; a :class:`ConsoleError` in the member's language when they are wrong.
    Searching a household without days looks back :data:`MAX_DAYS` days (its deliveries, waiting and picked up)."""
    since, until = ledger_days(p.day_from, p.day_to, ctx.tz, lang, MAX_DAYS)
    if p.status not in STATUSES:
        raise ConsoleError(translator(lang)("dl.bad_status"))
    if p.household.strip() and not p.day_from and not p.day_to:
        since = until - MAX_DAYS * 86400
    return deliveries.DeliveryQuery(since=since, until=until, household=blank(p.household),
                                    company=blank(p.company), phone=blank(p.phone), status=p.status)


def _shown(rows: list[dict[str, Any]], full: bool) -> list[dict[str, Any]]:
    """The rows as this member may see them: courier phones masked unless ``full``."""
    if full:
        return rows
    return [{**r, "courier_phone": mask_phone(r["courier_phone"]) if r["courier_phone"] else "",
             "pickup_by": mask_name(r["pickup_by"]) if r["pickup_kind"] == "name" else r["pickup_by"]} for r in rows]


def _filters(q: deliveries.DeliveryQuery) -> dict[str, Any]:
    """What the audit log keeps of a query (the searched phone too: who looked for whom)."""
    return {"since": q.since, "until": q.until, "household": q.household, "company": q.company, "phone": q.phone,
            "status": q.status}


def _per_household(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows grouped by household: waiting and picked-up counts (parcels), the oldest waiting."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r["household"] or "", {"household": r["household"] or "", "waiting": 0, "picked": 0,
                                                     "oldest": None, "quarantined": False})
        if r["pickup_ts"] is None:
            g["waiting"] += r["count"]
            g["oldest"] = r["wall_ts"] if g["oldest"] is None else min(g["oldest"], r["wall_ts"])
            g["quarantined"] = g["quarantined"] or r["quarantined"]
        else:
            g["picked"] += r["count"]
    return sorted(groups.values(), key=lambda g: (not g["quarantined"], -g["waiting"], g["household"]))


@router.get("/deliveries")
def deliveries_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit,
                    params: Annotated[LedgerParams, Query()]) -> Response:
    """The deliveries ledger, per household, and the to-carry list of quarantined households."""
    q = dict(request.query_params)
    full = staff.can("staff")
    carry = _shown(deliveries.to_carry(ctx.db, time.time()), full)
    try:
        query = _query(ctx, params, staff.lang)
    except ConsoleError as exc:
        return ctx.render(request, "deliveries.html", staff, status_code=400, error=str(exc), rows=[], carry=carry,
                          households=[], q=q, export_qs="", full=full)
    rows = _shown(deliveries.ledger(ctx.db, query), full)
    record("view_deliveries", filters=_filters(query), rows=len(rows), phones_shown=full)
    export_qs = urlencode({k: v for k, v in q.items() if k != "lang" and v})
    return ctx.render(request, "deliveries.html", staff, rows=rows, carry=carry, households=_per_household(rows),
                      q=q, export_qs=export_qs, full=full, limit=deliveries.LEDGER_LIMIT)


def export_table(rows: list[dict[str, Any]], lang: str, title: str) -> exports.Table:
    """The ledger as an export table (:mod:`central.console.exports`: Chinese headers, date cells)."""
    t = translator(lang)
    return exports.Table(sheet="快递" if lang != "en" else "deliveries", title=title, columns=_COLUMNS, totals=False,
                         rows=[(r["wall_ts"], r["gate_name"], r["community"], r["household"], r["company"], r["count"],
                                r["courier_phone"], r["note"], t("yes") if r["quarantined"] else t("no"),
                                r["pickup_ts"], _pickup_text(r, lang), r["guard_id"]) for r in rows])


def _pickup_text(r: dict[str, Any], lang: str) -> str:
    """Who picked it up, in words ("" while waiting)."""
    if r["pickup_ts"] is None:
        return ""
    if r["pickup_kind"] == "name":
        return str(r["pickup_by"])
    kind = translator(lang)(f"dl.by_{r['pickup_kind'] or 'unknown'}")
    return f"{kind} {r['pickup_by']}".strip()


@router.get("/deliveries/export.{fmt_}")
def deliveries_export(ctx: ConsoleCtx, fmt_: str, staff: StaffMember, record: Audit,
                      params: Annotated[LedgerParams, Query()]) -> Response:
    """The ledger as CSV (UTF-8 with BOM) or XLSX, headers in the member's language (Chinese by default)."""
    if fmt_ not in FORMATS:
        raise HTTPException(404)
    try:
        query = _query(ctx, params, staff.lang)
    except ConsoleError as exc:
        raise HTTPException(400, str(exc)) from None
    rows = deliveries.ledger(ctx.db, query)
    record("export_deliveries", format=fmt_, filters=_filters(query), rows=len(rows))
    table = export_table(rows, staff.lang, translator(staff.lang)("nav.deliveries"))
    return exports.download([table], fmt_, "deliveries", staff.lang, ctx.tz)
