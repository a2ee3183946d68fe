"""What the console's routes depend on (FastAPI ``Depends``): the console context, the signed-in member and
their role, the CSRF token of a form post, the audit trail and the page language.

The context is ``request.app.state.console`` (a :class:`central.console.web.Console`, set by
:func:`central.server.create_app`). A page takes its member as ``staff: Viewer`` (or ``StaffMember``,
``Admin``); a form post as ``staff: ViewerForm`` (or ``StaffForm``, ``AdminForm``), which checks the role
first and then the form's ``csrf`` field. Without a valid session a page answers ``303`` to ``/login`` and an
API path (``/console/api/...``) answers ``401``; a member whose role is too low gets ``403``, and so does a
form whose CSRF token is not the session's.

The database connection is no dependency of its own: FastAPI runs sync dependencies and the endpoint on
different threadpool threads, and every thread has its own connection, so handlers take ``ctx.db`` themselves.

No ``from __future__ import annotations`` here: FastAPI must see the closures' ``Depends(need)`` as objects.
"""

import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request

from central.console import audit, auth
from central.console.i18n import LANGS, translator
from central.console.web import Console, lang_of


async def console(request: Request) -> Console:
    """The console's context: settings, templates, this thread's database connection."""
    return request.app.state.console


ConsoleCtx = Annotated[Console, Depends(console)]


def signed_in(request: Request, ctx: ConsoleCtx) -> auth.Staff:
    """The member of this request's session (a ``?lang=`` switches their language); else 303 to /login or 401."""
    staff = ctx.current(request)
    if staff is None:
        if request.url.path.startswith("/console/api/"):
            raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Cookie"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, headers={"Location": "/login?next=" + quote(target, safe="")})
    lang = request.query_params.get("lang")
    if lang in LANGS and lang != staff.lang:
        auth.set_session_lang(ctx.db, staff, lang)
        staff = dataclasses.replace(staff, lang=lang)
    return staff


SignedIn = Annotated[auth.Staff, Depends(signed_in)]
StaffCheck = Callable[..., Awaitable[auth.Staff]]


def _role(role: str) -> StaffCheck:
    """A dependency giving the signed-in member if their role is ``role`` or above (else 403)."""
    auth.check_role(role)

    async def need_role(staff: SignedIn) -> auth.Staff:
        if not staff.can(role):
            raise HTTPException(403, translator(staff.lang)("forbidden"))
        return staff

    need_role.__name__ = f"need_{role}"
    return need_role


def _form(need: StaffCheck) -> StaffCheck:
    """A dependency giving the member ``need`` gives, if the posted form's ``csrf`` field is their session's."""

    async def checked_form(staff: Annotated[auth.Staff, Depends(need)],
                           csrf: Annotated[str, Form()] = "") -> auth.Staff:
        if not auth.check_csrf(staff.csrf, csrf):
            raise HTTPException(403, translator(staff.lang)("csrf"))
        return staff

    checked_form.__name__ = f"{need.__name__}_form"
    return checked_form


need_viewer, need_staff, need_admin = _role("viewer"), _role("staff"), _role("admin")
viewer_form, staff_form, admin_form = _form(need_viewer), _form(need_staff), _form(need_admin)
FORM_CHECKS = (viewer_form, staff_form, admin_form)  # what every form post but the sign-in depends on
Viewer = Annotated[auth.Staff, Depends(need_viewer)]
StaffMember = Annotated[auth.Staff, Depends(need_staff)]
Admin = Annotated[auth.Staff, Depends(need_admin)]
ViewerForm = Annotated[auth.Staff, Depends(viewer_form)]
StaffForm = Annotated[auth.Staff, Depends(staff_form)]
AdminForm = Annotated[auth.Staff, Depends(admin_form)]


@dataclass(frozen=True)
class AuditTrail:
    """Writes audit records for one member and request (see :func:`central.console.audit.record`)."""

    ctx: Console
    staff: auth.Staff
    client: str

    def __call__(self, action: str, /, **detail: Any) -> None:
        """Append the record of ``action`` (committed at once); ``detail`` keys are free."""
        audit.record(self.ctx.db, self.staff.username, self.staff.role, action, self.client, **detail)


def client_of(request: Request) -> str:
    """The client address of a request ('' when unknown)."""
    return request.client.host if request.client else ""


async def audit_trail(request: Request, ctx: ConsoleCtx, staff: SignedIn) -> AuditTrail:
    """The audit trail of this request's member."""
    return AuditTrail(ctx, staff, client_of(request))


Audit = Annotated[AuditTrail, Depends(audit_trail)]


async def page_lang(request: Request) -> str:
    """The language of a page without a member (``?lang=``, else the language cookie, else zh)."""
    return lang_of(request, None)


PageLang = Annotated[str, Depends(page_lang)]

#: Control characters no person types into a field (tab, line feed and carriage return are allowed); NUL would
#: also fail any PostgreSQL query it reaches.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


async def clean_input(request: Request) -> None:
    """Refuse (400, with the reason) a request whose path, query or form fields hold a control character."""
    texts = [request.url.path, *(t for item in request.query_params.multi_items() for t in item)]
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                             "multipart/form-data")):
        form = await request.form()
        texts += [t for item in form.multi_items() for t in item if isinstance(t, str)]
    if any(_CONTROL.search(text) for text in texts):
        raise HTTPException(400, translator(lang_of(request, None))("bad_chars"))


CleanInput = Depends(clean_input)
