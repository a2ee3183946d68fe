"""The people on duty (:mod:`central.people`): list, add, edit, set or reset a gate PIN, disable.

Everyone signed in sees the list; phones are shown to staff and administrators only (viewers see them masked),
and every page that shows phones leaves an audit record. Changes (staff and above) go through
:mod:`central.people`, which tells the gates through the signed lists; the PIN itself is never stored, logged
or audited.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from central import people
from central.console import auth
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember, Viewer
from central.console.i18n import translator
from central.console.web import Console, error_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

PersonId = Annotated[int, PathParam(ge=1, le=2**62)]
Text = Annotated[str, Form(max_length=200)]


def masked(phone: str) -> str:
    """A phone for a viewer: the first three and last two digits only."""
    digits = [c for c in phone if c.isdigit()]
    return (("".join(digits[:3]) + "****" + "".join(digits[-2:])) if len(digits) > 5 else "****") if phone else ""


def _list(ctx: Console, request: Request, staff: auth.Staff, record: Audit, status_code: int = 200,
          **extra: Any) -> Response:
    rows = people.everyone(ctx.db)
    phones = staff.can("staff")
    record("view_people", rows=len(rows), phones=phones)
    return ctx.render(request, "people.html", staff, status_code=status_code, rows=rows, phones=phones,
                      masked=masked, groups=list(people.GROUPS), next_id=people.next_guard_id(ctx.db), **extra)


@router.get("/people")
def people_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit) -> Response:
    """Everyone on the duty list (phones for staff and administrators)."""
    return _list(ctx, request, staff, record)


@router.post("/people/add")
def people_add(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, guard_id: Text,
               name: Text, group: Text, phone: Text = "", unit: Text = "") -> Response:
    """Add a person (a PIN is set on their page)."""
    try:
        pid = people.add(ctx.db, guard_id, name, phone, group, unit, by=staff.username)
    except people.PeopleError as exc:
        return _list(ctx, request, staff, record, 400, error=str(exc))
    record("add_person", person=pid, guard_id=guard_id.strip())
    return RedirectResponse(f"/people/{pid}", 303)


def _person(ctx: Console, request: Request, staff: auth.Staff, record: Audit, pid: int, status_code: int = 200,
            **extra: Any) -> Response:
    try:
        person = people.get(ctx.db, pid)
    except people.PeopleError as exc:
        return error_page(ctx, request, staff, str(exc), 404)
    record("view_person", person=pid, guard_id=person.guard_id, phones=True)
    return ctx.render(request, "person.html", staff, status_code=status_code, p=person,
                      groups=list(people.GROUPS), statuses=people.STATUSES, **extra)


@router.get("/people/{pid}")
def person_page(request: Request, ctx: ConsoleCtx, pid: PersonId, staff: StaffMember, record: Audit) -> Response:
    """One person: details, status, PIN and whether they may sign in."""
    return _person(ctx, request, staff, record, pid)


@router.post("/people/{pid}/edit")
def person_edit(request: Request, ctx: ConsoleCtx, pid: PersonId, staff: StaffForm, record: Audit, name: Text,
                group: Text, status: Text, phone: Text = "", unit: Text = "") -> Response:
    """Change a person's details or status (called back: refused at the gates after their sync)."""
    try:
        people.update(ctx.db, pid, name, phone, group, unit, status, by=staff.username)
    except people.PeopleError as exc:
        return _person(ctx, request, staff, record, pid, 400, error=str(exc))
    record("edit_person", person=pid, status=status)
    return RedirectResponse(f"/people/{pid}", 303)


@router.post("/people/{pid}/pin")
def person_pin(request: Request, ctx: ConsoleCtx, pid: PersonId, staff: StaffForm, record: Audit,
               pin: Annotated[str, Form(max_length=40)], pin_again: Annotated[str, Form(max_length=40)]) -> Response:
    """Set or reset a person's gate PIN (never stored or audited in clear)."""
    if pin != pin_again:
        return _person(ctx, request, staff, record, pid, 400, error=translator(staff.lang)("ppl.pin_mismatch"))
    try:
        version = people.set_pin(ctx.db, pid, pin, by=staff.username)
    except people.PeopleError as exc:
        return _person(ctx, request, staff, record, pid, 400, error=str(exc))
    record("set_guard_pin", person=pid, list_version=version)
    return _person(ctx, request, staff, record, pid, done=translator(staff.lang)("ppl.pin_done"))


@router.post("/people/{pid}/enabled")
def person_enabled(request: Request, ctx: ConsoleCtx, pid: PersonId, staff: StaffForm, record: Audit,
                   enabled: Annotated[str, Form(pattern="^[01]$")]) -> Response:
    """Disable a person (refused at every gate after its next sync) or enable them again."""
    try:
        version = people.set_enabled(ctx.db, pid, enabled == "1", by=staff.username)
    except people.PeopleError as exc:
        return error_page(ctx, request, staff, str(exc), 404)
    record("enable_person" if enabled == "1" else "disable_person", person=pid, list_version=version)
    return RedirectResponse(f"/people/{pid}", 303)
