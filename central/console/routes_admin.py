"""Devices, staff accounts, the audit log, and households / passes / quarantine.

Changes to passes and quarantine go through :mod:`central.passes` (which appends to the change log the
gates follow); device credentials through :mod:`central.ingest`. The console never writes those tables.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.console import audit, auth
from central.console.errors import ConsoleError
from central.console.i18n import translator
from central.console.timeutil import parse_day, parse_local
from central.console.web import SECURITY_HEADERS, Console, blank, error_page
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PASS_KINDS = ("resident", "temporary", "visitor", "staff", "delivery")


def _central_version(ctx: Console) -> int | None:
    """The list version central serves (what an up-to-date gate holds)."""
    from central.signing import central_list_version

    return central_list_version(ctx.db)


def _devices(ctx: Console, now: float) -> list[dict]:
    """The device registry with its alarms (lists behind or older than the configured age, skew, gaps)."""
    from central import ingest

    return ingest.list_devices(ctx.db, _central_version(ctx), now, ctx.lists_max_age_s)


def add_routes(r: APIRouter, ctx: Console) -> None:
    """Register the routes of this module."""

    # -- devices -------------------------------------------------------------------------------

    @r.get("/devices")
    def devices_page(request: Request, staff: auth.Staff = Depends(ctx.need("viewer"))) -> Response:

        now = time.time()
        rows = _devices(ctx, now)
        return ctx.render(request, "devices.html", staff, rows=rows, now=now, new_token=None,
                          central_version=_central_version(ctx))

    @r.post("/devices/add")
    def devices_add(request: Request, device_id: str = Form(...), name: str = Form(""), community: str = Form(""),
                    gate_id: str = Form(""), csrf: str = Form(""),
                    staff: auth.Staff = Depends(ctx.need("admin"))) -> Response:
        ctx.check_form(staff, csrf)
        from central import ingest

        device_id = device_id.strip()
        if not device_id or len(device_id) > 64:
            return error_page(ctx, request, staff, "device id: 1-64 characters")
        try:
            token = ingest.add_device(ctx.db, device_id, name=name.strip(), community=community.strip(),
                                      gate_id=gate_id.strip() or device_id)
        except GatepassError as exc:
            return error_page(ctx, request, staff, str(exc))
        ctx.audit(request, staff, "add_device", device_id=device_id, community=community, gate_id=gate_id)
        now = time.time()
        rows = _devices(ctx, now)
        try:
            from central.signing import root_public_pem

            pem = root_public_pem(ctx.data_dir)
        except Exception:  # noqa: BLE001 - the key is optional on this page
            pem = ""
        return ctx.render(request, "devices.html", staff, rows=rows, now=now, new_token=token, new_device=device_id,
                          public_pem=pem, central_version=_central_version(ctx))

    @r.post("/devices/{device_id:path}/revoke")
    def devices_revoke(request: Request, device_id: str, csrf: str = Form(""),
                       staff: auth.Staff = Depends(ctx.need("admin"))) -> Response:
        ctx.check_form(staff, csrf)
        from central import ingest

        try:
            ingest.revoke_device(ctx.db, device_id)
        except GatepassError as exc:
            return error_page(ctx, request, staff, str(exc))
        ctx.audit(request, staff, "revoke_device", device_id=device_id)
        return RedirectResponse("/devices", 303)

    # -- staff accounts and audit ------------------------------------------------------------------

    @r.get("/users")
    def users_page(request: Request, staff: auth.Staff = Depends(ctx.need("admin"))) -> Response:
        return ctx.render(request, "users.html", staff, users=auth.list_users(ctx.db), roles=auth.ROLES)

    @r.post("/users/add")
    def users_add(request: Request, username: str = Form(...), password: str = Form(...), role: str = Form(...),
                  display_name: str = Form(""), csrf: str = Form(""),
                  staff: auth.Staff = Depends(ctx.need("admin"))) -> Response:
        ctx.check_form(staff, csrf)
        try:
            auth.add_user(ctx.db, username, password, role, display_name.strip())
        except ConsoleError as exc:
            return ctx.render(request, "users.html", staff, status_code=400, error=str(exc),
                              users=auth.list_users(ctx.db), roles=auth.ROLES)
        ctx.audit(request, staff, "add_user", target=username, role=role)
        return RedirectResponse("/users", 303)

    @r.post("/users/{username:path}/role")
    def users_role(request: Request, username: str, role: str = Form(...), disabled: str = Form("0"),
                   csrf: str = Form(""), staff: auth.Staff = Depends(ctx.need("admin"))) -> Response:
        ctx.check_form(staff, csrf)
        if username == staff.username and (role != staff.role or disabled == "1"):
            return error_page(ctx, request, staff, translator(staff.lang)("self_change"), 409)
        try:
            auth.set_role(ctx.db, username, role, disabled == "1")
        except ConsoleError as exc:
            return error_page(ctx, request, staff, str(exc))
        ctx.audit(request, staff, "set_role", target=username, role=role, disabled=disabled == "1")
        return RedirectResponse("/users", 303)

    @r.get("/audit")
    def audit_page(request: Request, before: int = 0, user: str = "", action: str = "",
                   staff: auth.Staff = Depends(ctx.need("admin"))) -> Response:
        rows = audit.recent(ctx.db, 200, before or None, blank(user), blank(action))
        return ctx.render(request, "audit.html", staff, rows=rows, q=dict(request.query_params),
                          next_before=rows[-1]["id"] if len(rows) == 200 else None)

    # -- households, passes, quarantine ----------------------------------------------------------------

    @r.get("/households")
    def households_page(request: Request, q: str = "", staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        pattern = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = list(ctx.db.query(
            "SELECT h.household, (SELECT COUNT(*) FROM passes p WHERE p.household = h.household AND "
            "p.revoked_at IS NULL AND p.valid_to > :now) AS valid_passes, q.start AS q_start, q.\"end\" AS q_end "
            "FROM households h LEFT JOIN quarantine q ON q.household = h.household "
            "WHERE LOWER(h.household) LIKE LOWER(:pat) ESCAPE '\\' ORDER BY h.household LIMIT 500",  # any case
            {"now": time.time(), "pat": pattern}))
        ctx.audit(request, staff, "view_households", q=q, rows=len(rows))
        return ctx.render(request, "households.html", staff, rows=rows, q=q, report=None)

    @r.post("/households/import")
    async def households_import(request: Request, file: UploadFile = File(...), days: int = Form(30),
                                csrf: str = Form(""), staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        ctx.check_form(staff, csrf)
        suffix = Path(file.filename or "register.csv").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            return error_page(ctx, request, staff, "upload a .csv or .xlsx file / 请上传 .csv 或 .xlsx 文件")
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, "file too large (20 MB at most)")
        from starlette.concurrency import run_in_threadpool

        try:
            report = await run_in_threadpool(_import_register, ctx, data, suffix, days)
        except (GatepassError, ValueError, OSError) as exc:
            return error_page(ctx, request, staff, f"register not imported: {exc}")
        ctx.audit(request, staff, "import_register", file=file.filename, issued=len(report.issued),
                  skipped=len(report.skipped), errors=len(report.errors))
        return ctx.render(request, "households.html", staff, rows=[], q="", report=report)

    # Household ids may hold '/' (e.g. 3/2/401): the routes take the rest of the path, and the more
    # specific routes (.../cards) come before the household page that would match them too.
    @r.get("/households/{household:path}/cards")
    def hh_cards(request: Request, household: str, staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        from central.passes.cards import render_cards
        from central.passes.issuance import find_passes

        passes = find_passes(ctx.db, household=household, valid_at=time.time())
        ctx.audit(request, staff, "print_cards", household=household, passes=len(passes))
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                   "style-src 'self' 'unsafe-inline'; script-src 'none'; frame-ancestors 'none'"}
        return HTMLResponse(render_cards(passes, tz=ctx.tz_name), headers=headers)


    @r.get("/households/{household:path}")
    def household_page(request: Request, household: str, msg: str = "",
                       staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        from central.passes.issuance import find_passes

        if not household.strip("/"):
            return RedirectResponse("/households", 303)
        passes = find_passes(ctx.db, household=household, include_revoked=True)
        revoked = {r[0]: r[1] for r in ctx.db.execute(
            "SELECT pass_id, revoked_at FROM passes WHERE household = ? AND revoked_at IS NOT NULL", [household])}
        qrow = ctx.db.execute("SELECT start, \"end\", note FROM quarantine WHERE household = ?", [household]).fetchone()
        ctx.audit(request, staff, "view_household", household=household, passes=len(passes))
        return ctx.render(request, "household.html", staff, household=household, passes=passes, revoked=revoked,
                          quarantine=qrow, kinds=PASS_KINDS, msg=msg, now=time.time(),
                          today=datetime.now(ctx.tz).date().isoformat())

    def _change(request: Request, staff: auth.Staff, household: str, csrf: str, action: str, fn, **detail) -> Response:
        ctx.check_form(staff, csrf)
        try:
            result = fn()
        except (GatepassError, ValueError) as exc:
            return error_page(ctx, request, staff, str(exc))
        ctx.audit(request, staff, action, household=household, **result, **detail)
        from urllib.parse import quote

        return RedirectResponse(f"/households/{quote(household, safe='')}?msg=list_synced", 303)

    @r.post("/households/{household:path}/issue")
    def pass_issue(request: Request, household: str, person: int = Form(...), kind: str = Form("resident"),
                   days: float = Form(30), name: str = Form(""), valid_to: str = Form(""), csrf: str = Form(""),
                   staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        from central.passes.issuance import issue

        def run() -> dict:
            end = parse_local(valid_to, ctx.tz) if valid_to.strip() else None
            issued = issue(ctx.db, ctx.data_dir, household=household, person=person, kind=kind, name=name.strip(),
                           days=None if end else days, valid_to=end)
            return {"pass_id": issued.info.pass_id, "qr_version": issued.qr_version}

        return _change(request, staff, household, csrf, "issue_pass", run, person=person, kind=kind)

    @r.post("/passes/{pass_id}/revoke")
    def pass_revoke(request: Request, pass_id: int, reason: str = Form(""), household: str = Form(""),
                    csrf: str = Form(""), staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        from central.passes.issuance import revoke

        row = ctx.db.execute("SELECT household FROM passes WHERE pass_id = ?", [pass_id]).fetchone()
        household = row[0] if row else household
        return _change(request, staff, household, csrf, "revoke_pass",
                       lambda: {"change_version": revoke(ctx.db, pass_id, reason.strip())},
                       pass_id=pass_id, reason=reason.strip())

    @r.post("/households/{household:path}/quarantine")
    def hh_quarantine(request: Request, household: str, start: str = Form(...), end: str = Form(...),
                      note: str = Form(""), csrf: str = Form(""),
                      staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        from central.passes.issuance import quarantine

        def run() -> dict:
            return {"change_version": quarantine(ctx.db, household, parse_day(start, ctx.tz), parse_day(end, ctx.tz),
                                                 note.strip(), tz=ctx.tz_name)}

        return _change(request, staff, household, csrf, "quarantine", run, start=start, end=end)

    @r.post("/households/{household:path}/release")
    def hh_release(request: Request, household: str, csrf: str = Form(""),
                   staff: auth.Staff = Depends(ctx.need("staff"))) -> Response:
        from central.passes.issuance import release

        return _change(request, staff, household, csrf, "release",
                       lambda: {"change_version": release(ctx.db, household)})


def _import_register(ctx: Console, data: bytes, suffix: str, days: int):
    from central.passes.bulk import issue_register

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"register{suffix}"
        path.write_bytes(data)
        return issue_register(ctx.db, ctx.data_dir, path, default_days=days, tz=ctx.tz_name)
