"""Shared plumbing of the console pages: database per thread, templates, sign-in and role checks, CSRF.

Pages that need a signed-in member take ``staff: Staff = Depends(ctx.need("viewer"|"staff"|"admin"))``.
Without a valid session a page answers ``303`` to ``/login`` and an API path (``/console/api/...``)
answers ``401``; a member whose role is too low gets ``403``. Every form carries the session's CSRF
token (``csrf`` field), checked by :meth:`Console.check_form`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.console import audit, auth
from central.console.i18n import LANGS, reason_text, translator
from central.console.timeutil import DEFAULT_TZ, fmt, fmt_input, zone
from central.store import CentralDB, connect

log = logging.getLogger(__name__)

COOKIE = "gp_console"
LANG_COOKIE = "gp_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Console:
    """The console's state: where the database is, the session secret, templates and the time zone."""

    alert_refresh_s = 10  # how often the alerts page reloads its list (seconds)

    def __init__(self, db_target: str | Path, session_secret: str, data_dir: Path, tz: str = DEFAULT_TZ,
                 secure_cookies: bool = False, lists_max_age_s: float = 24 * 3600.0) -> None:
        self.db_target = str(db_target)
        self.secret = session_secret.encode()
        self.data_dir = Path(data_dir)
        self.tz = zone(tz)
        self.tz_name = tz
        self.secure_cookies = secure_cookies
        self.lists_max_age_s = lists_max_age_s  # a gate's lists older than this are flagged on /devices
        self._local = threading.local()
        self.env = Environment(loader=PackageLoader("central.console", "templates"),
                               autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.env.filters["t"] = lambda ts: fmt(ts, self.tz)
        self.env.filters["tinput"] = lambda ts: fmt_input(ts, self.tz)

    @property
    def db(self) -> CentralDB:
        """This thread's connection to the central database (opened once per thread)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.db_target)
        return db

    # -- sign-in ---------------------------------------------------------------------------------

    def current(self, request: Request) -> auth.Staff | None:
        """The signed-in member of this request, or None."""
        return auth.load_session(self.db, self.secret, request.cookies.get(COOKIE))

    def need(self, role: str):
        """A dependency giving the signed-in member with at least ``role``."""
        auth.check_role(role)

        def dependency(request: Request) -> auth.Staff:
            staff = self.current(request)
            if staff is None:
                if request.url.path.startswith("/console/api/"):
                    raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Cookie"})
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise HTTPException(303, headers={"Location": "/login?next=" + quote(target, safe="")})
            lang = request.query_params.get("lang")
            if lang in LANGS and lang != staff.lang:
                auth.set_session_lang(self.db, staff, lang)
                staff = auth.Staff(**{**staff.__dict__, "lang": lang})
            if not staff.can(role):
                raise HTTPException(403, translator(staff.lang)("forbidden"))
            return staff

        return dependency

    def check_form(self, staff: auth.Staff, csrf: str | None) -> None:
        """Refuse a form post whose CSRF token is not this session's."""
        if not auth.check_csrf(staff.csrf, csrf):
            raise HTTPException(403, translator(staff.lang)("csrf"))

    def audit(self, request: Request, staff: auth.Staff, action: str, /, **detail: Any) -> None:
        """Write an audit record for this member and request."""
        client = request.client.host if request.client else ""
        audit.record(self.db, staff.username, staff.role, action, client, **detail)

    # -- rendering -------------------------------------------------------------------------------

    def render(self, request: Request, name: str, staff: auth.Staff | None, status_code: int = 200,
               lang: str | None = None, **context: Any) -> HTMLResponse:
        """Render a template with the common context (texts, member, CSRF token, navigation)."""
        lang = lang or (staff.lang if staff else request.cookies.get(LANG_COOKIE, "zh"))
        lang = lang if lang in LANGS else "zh"
        values: dict[str, Any] = {
            "t": translator(lang), "lang": lang, "staff": staff, "csrf": staff.csrf if staff else "",
            "path": request.url.path, "query": request.url.query, "Markup": Markup,
            "alert_refresh_s": self.alert_refresh_s,
            "reason_text": lambda code: reason_text(code, lang), "age": lambda s: age_text(s, lang)}
        values.update(context)
        html = self.env.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(ctx: Console, request: Request, staff: auth.Staff | None, message: str, status_code: int = 400,
               back: str | None = None) -> HTMLResponse:
    """A plain error page (the form's own page linked as 'back') for bad input in a form post."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    if back is None:
        back = referer[len(origin):] if referer.startswith(origin + "/") else "/"
    return ctx.render(request, "error.html", staff, status_code=status_code, message=message, back=back)


def age_text(seconds: float, lang: str = "zh") -> str:
    """A duration in the largest sensible unit: minutes below an hour, hours below two days, else days."""
    t = translator(lang)
    if seconds < 3600:
        return f"{int(seconds // 60)} {t('min')}"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} {t('unit.h')}"
    return f"{int(seconds // 86400)} {t('unit.d')}"


def lang_of(request: Request, staff: auth.Staff | None) -> str:
    """The language of this request."""
    lang = request.query_params.get("lang") or (staff.lang if staff else request.cookies.get(LANG_COOKIE))
    return lang if lang in LANGS else "zh"


def blank(value: str | None) -> str | None:
    """A form value with surrounding spaces removed; None when empty."""
    if value is None:
        return None
    value = value.strip()
    return value or None


API_PREFIXES = ("/console/api/", "/api/")
STATUS_TEXTS = {403: "forbidden", 404: "not_found", 405: "not_allowed", 413: "too_large", 422: "bad_form"}


def install_error_pages(app: FastAPI, ctx: Console) -> None:
    """Errors (403 wrong role or CSRF token, 404, bad form fields ...) as HTML pages on the console's pages;
    JSON stays for ``/console/api/*`` and the device API ``/api/*``. Redirects (3xx) are unchanged."""

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith(API_PREFIXES)

    def _page(request: Request, status_code: int, detail: Any, headers: dict[str, str] | None) -> HTMLResponse:
        staff = ctx.current(request)
        t = translator(lang_of(request, staff))
        message = detail if isinstance(detail, str) and status_code in (400, 403) else \
            t(STATUS_TEXTS.get(status_code, "error"))
        resp = error_page(ctx, request, staff, message, status_code)
        for name, value in (headers or {}).items():
            resp.headers.setdefault(name, value)
        return resp

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code < 400 or _is_api(request):
            return await http_exception_handler(request, exc)
        return await run_in_threadpool(_page, request, exc.status_code, exc.detail, exc.headers)

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        return await run_in_threadpool(_page, request, 422, None, None)

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_bad_request)
