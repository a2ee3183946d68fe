"""Devices, staff accounts, the audit log, and households / passes / quarantine.

Changes to passes and quarantine go through :mod:`central.passes` (which appends to the change log the
gates follow); device credentials through :mod:`central.ingest`. The console never writes those tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from central import faults, ingest
from central.console import audit, auth, params, signin
from central.console.deps import (
    Admin,
    AdminForm,
    Audit,
    AuditTrail,
    CleanInput,
    ConsoleCtx,
    StaffForm,
    Viewer,
)
from central.console.devices import device_rows
from central.console.errors import ConsoleError
from central.console.i18n import translator
from central.console.timeutil import parse_day, parse_local
from central.console.web import Console, blank, error_page
from central.passes import issuance
from central.passes import quarantine as quarantines
from central.signing import central_list_version, root_public_pem
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PASS_KINDS = ("resident", "temporary", "visitor", "staff", "delivery")
MAX_DAYS = 3660  # a pass or quarantine of at most ten years


def _devices(ctx: Console, now: float) -> list[dict]:
    """The device registry with its alarms (lists behind or older than the configured age, skew, gaps)."""
    return device_rows(ctx.db, central_list_version(ctx.db), now, ctx.lists_max_age_s)


# -- devices -------------------------------------------------------------------------------

@router.get("/devices")
def devices_page(request: Request, ctx: ConsoleCtx, staff: Viewer) -> Response:
    """The gates: who they are, when they were last heard of, how far behind their lists are."""
    now = time.time()
    rows = _devices(ctx, now)
    return ctx.render(request, "devices.html", staff, rows=rows, now=now, new_token=None,
                      central_version=central_list_version(ctx.db), fault_columns=faults.COLUMNS)


@router.post("/devices/add")
def devices_add(request: Request, ctx: ConsoleCtx, staff: AdminForm, record: Audit,
                device_id: Annotated[str, Form()], name: Annotated[str, Form()] = "",
                community: Annotated[str, Form()] = "", gate_id: Annotated[str, Form()] = "") -> Response:
    """Register a gate; the page shows its token (once) and central's public key."""
    device_id = device_id.strip()
    if not device_id or len(device_id) > 64:
        return error_page(ctx, request, staff, "device id: 1-64 characters")
    try:
        token = ingest.add_device(ctx.db, device_id, name=name.strip(), community=community.strip(),
                                  gate_id=gate_id.strip() or device_id)
    except GatepassError as exc:
        return error_page(ctx, request, staff, str(exc))
    record("add_device", device_id=device_id, community=community, gate_id=gate_id)
    now = time.time()
    rows = _devices(ctx, now)
    try:
        pem = root_public_pem(ctx.data_dir)
    except Exception:  # noqa: BLE001 - the key is optional on this page
        pem = ""
    return ctx.render(request, "devices.html", staff, rows=rows, now=now, new_token=token, new_device=device_id,
                      public_pem=pem, central_version=central_list_version(ctx.db), fault_columns=faults.COLUMNS)


@router.post("/devices/{device_id:path}/revoke")
def devices_revoke(request: Request, ctx: ConsoleCtx, device_id: str, staff: AdminForm, record: Audit) -> Response:
    """Revoke a gate's token."""
    try:
        ingest.revoke_device(ctx.db, device_id)
    except GatepassError as exc:
        return error_page(ctx, request, staff, str(exc))
    record("revoke_device", device_id=device_id)
    return RedirectResponse("/devices", 303)


# -- staff accounts and audit ------------------------------------------------------------------

def _users(ctx: Console, request: Request, staff: auth.Staff, status_code: int = 200, **extra: Any) -> Response:
    """The staff accounts page, with the sign-in waits of names that failed lately."""
    return ctx.render(request, "users.html", staff, status_code=status_code, users=auth.list_users(ctx.db),
                      roles=auth.ROLES, delays=signin.delays(ctx.db, time.time()), **extra)


@router.get("/users")
def users_page(request: Request, ctx: ConsoleCtx, staff: Admin) -> Response:
    """The staff accounts."""
    return _users(ctx, request, staff)


@router.post("/users/add")
def users_add(request: Request, ctx: ConsoleCtx, staff: AdminForm, record: Audit, username: Annotated[str, Form()],
              password: Annotated[str, Form()], role: Annotated[str, Form()],
              display_name: Annotated[str, Form()] = "") -> Response:
    """Add a staff account."""
    try:
        auth.add_user(ctx.db, username, password, role, display_name.strip())
    except ConsoleError as exc:
        return _users(ctx, request, staff, 400, error=str(exc))
    record("add_user", target=username, role=role)
    return RedirectResponse("/users", 303)


@router.post("/users/{username:path}/unlock")
def users_unlock(ctx: ConsoleCtx, username: str, staff: AdminForm, record: Audit,
                 guard: Annotated[signin.SignInGuard, Depends(signin.guard_of)]) -> Response:
    """End a member's sign-in wait (and that of the addresses that failed for them in this server process)."""
    had_wait = signin.unlock(ctx.db, username)
    clients = signin.failed_clients(ctx.db, username, time.time())
    guard.unlock_addresses(clients)
    record("unlock_user", target=username, had_wait=had_wait, addresses=len(clients))
    return RedirectResponse("/users", 303)


@router.post("/users/{username:path}/role")
def users_role(request: Request, ctx: ConsoleCtx, username: str, staff: AdminForm, record: Audit,
               role: Annotated[str, Form()], disabled: Annotated[str, Form()] = "0") -> Response:
    """Change a member's role or disable them (not one's own)."""
    if username == staff.username and (role != staff.role or disabled == "1"):
        return error_page(ctx, request, staff, translator(staff.lang)("self_change"), 409)
    try:
        auth.set_role(ctx.db, username, role, disabled == "1")
    except ConsoleError as exc:
        return error_page(ctx, request, staff, str(exc))
    record("set_role", target=username, role=role, disabled=disabled == "1")
    return RedirectResponse("/users", 303)


@router.get("/audit")
def audit_page(request: Request, ctx: ConsoleCtx, staff: Admin, before: params.RowId = 0,
               user: params.QueryText = "", action: params.QueryText = "") -> Response:
    """The audit log, newest first (by member and action)."""
    rows = audit.recent(ctx.db, 200, before or None, blank(user), blank(action))
    return ctx.render(request, "audit.html", staff, rows=rows, q=dict(request.query_params),
                      next_before=rows[-1]["id"] if len(rows) == 200 else None)


# -- households, passes, quarantine ----------------------------------------------------------------

# The households list, the household file page, its cards and the register/roster imports live in
# central.console.routes_homes; the changes of passes and quarantine stay here.

def _change(ctx: Console, request: Request, staff: auth.Staff, record: AuditTrail, household: str, action: str,
            fn: Callable[[], dict[str, Any]], **detail: Any) -> Response:
    """Run a change of passes or quarantine, audit it and go back to the household (an error page if refused)."""
    try:
        result = fn()
    except (GatepassError, ValueError) as exc:
        return error_page(ctx, request, staff, str(exc))
    record(action, household=household, **result, **detail)
    return RedirectResponse(f"/households/{quote(household, safe='')}?msg=list_synced", 303)


@router.post("/households/{household:path}/issue")
def pass_issue(request: Request, ctx: ConsoleCtx, household: str, staff: StaffForm, record: Audit,
               person: Annotated[int, Form(ge=0, le=999)], kind: Annotated[str, Form()] = "resident",
               days: Annotated[float, Form(gt=0, le=MAX_DAYS, allow_inf_nan=False)] = 30,
               name: Annotated[str, Form()] = "",
               valid_to: Annotated[str, Form()] = "") -> Response:
    """Issue a pass to a person of the household (for ``days``, or up to ``valid_to``)."""

    def run() -> dict[str, Any]:
        end = parse_local(valid_to, ctx.tz) if valid_to.strip() else None
        issued = issuance.issue(ctx.db, ctx.data_dir, household=household, person=person, kind=kind,
                                name=name.strip(), days=None if end else days, valid_to=end)
        return {"pass_id": issued.info.pass_id, "qr_version": issued.qr_version}

    return _change(ctx, request, staff, record, household, "issue_pass", run, person=person, kind=kind)


@router.post("/passes/{pass_id}/revoke")
def pass_revoke(request: Request, ctx: ConsoleCtx, pass_id: Annotated[int, PathParam(ge=0, le=params.INT64_MAX)],
                staff: StaffForm, record: Audit,
                reason: Annotated[str, Form()] = "", household: Annotated[str, Form()] = "") -> Response:
    """Revoke a pass."""
    row = ctx.db.execute("SELECT household FROM passes WHERE pass_id = ?", [pass_id]).fetchone()
    household = row[0] if row else household
    return _change(ctx, request, staff, record, household, "revoke_pass",
                   lambda: {"change_version": issuance.revoke(ctx.db, pass_id, reason.strip())},
                   pass_id=pass_id, reason=reason.strip())


def _person(value: str) -> int | None:
    """The form's person: empty for the whole household, else a person number."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"person {value!r}: a number, or empty for the whole household")
    return int(value)


@router.post("/households/{household:path}/quarantine")
def hh_quarantine(request: Request, ctx: ConsoleCtx, household: str, staff: StaffForm, record: Audit,
                  first_day: Annotated[str, Form()], last_day: Annotated[str, Form()] = "",
                  days: Annotated[int, Form(ge=1, le=MAX_DAYS)] = quarantines.DEFAULT_DAYS,
                  person: Annotated[str, Form()] = "",
                  note: Annotated[str, Form()] = "") -> Response:
    """Quarantine the household, or one person of it, from ``first_day`` to ``last_day`` (both included, local
    days; ``days`` long when no last day is given)."""

    def run() -> dict[str, Any]:
        first = parse_day(first_day, ctx.tz)
        last = parse_day(last_day, ctx.tz) if last_day.strip() else quarantines.last_day_of(first, days)
        version = issuance.quarantine(ctx.db, household, first, last, note.strip(), tz=ctx.tz_name,
                                      person=_person(person), by=staff.username)
        return {"change_version": version, "first_day": first.isoformat(), "last_day": last.isoformat()}

    return _change(ctx, request, staff, record, household, "quarantine", run, person=person.strip() or None)


@router.post("/households/{household:path}/release")
def hh_release(request: Request, ctx: ConsoleCtx, household: str, staff: StaffForm, record: Audit,
               person: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    """End the household's (or a person's) quarantine; the record is kept, marked released."""

    def run() -> dict[str, Any]:
        return {"change_version": issuance.release(ctx.db, household, _person(person), by=staff.username,
                                                   note=note.strip()[:500])}

    return _change(ctx, request, staff, record, household, "release", run, person=person.strip() or None)
