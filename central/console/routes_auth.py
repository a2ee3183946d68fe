"""Sign-in, sign-out, language, the home page and the style sheet."""

from __future__ import annotations

import math
import secrets
import time
from datetime import datetime
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from central.console import alerts, audit, auth, signin
from central.console.deps import Audit, AuditTrail, ConsoleCtx, PageLang, Viewer, ViewerForm, client_of
from central.console.i18n import LANGS
from central.console.reports import daily_report
from central.console.web import COOKIE, LANG_COOKIE, Console

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "gp_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only same-site paths (no scheme, no //host) are followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(ctx: Console, request: Request) -> bool:
    """Secure cookies when configured or when the request came over HTTPS (e.g. via the reverse proxy)."""
    return ctx.secure_cookies or request.url.scheme == "https"


def _static(name: str, media_type: str) -> Response:
    text = resources.files("central.console").joinpath(f"static/{name}").read_text(encoding="utf-8")
    return Response(text, media_type=media_type, headers={"Cache-Control": "max-age=300"})


@router.get("/static/console.css")
def css() -> Response:
    """The console's style sheet."""
    return _static("console.css", "text/css")


@router.get("/static/patrol.css")
def patrol_css() -> Response:
    """The patrol page's phone-first style sheet."""
    return _static("patrol.css", "text/css")


@router.get("/static/menu.js")
def menu_js() -> Response:
    """The console menu's script (one group open at a time)."""
    return _static("menu.js", "text/javascript")


@router.get("/static/alerts.js")
def alerts_js() -> Response:
    """The script that reloads the live alert list."""
    return _static("alerts.js", "text/javascript")


SignIn = Annotated[signin.SignInGuard, Depends(signin.guard_of)]


def _login_form(request: Request, ctx: Console, lang: str, next: str, error: str = "", status_code: int = 200,
                wait_s: int = 0) -> Response:
    """The sign-in form, with a fresh sign-in CSRF token in its own cookie."""
    token = secrets.token_urlsafe(24)
    resp = ctx.render(request, "login.html", None, status_code=status_code, lang=lang, next=_safe_next(next),
                      login_error=error, login_csrf=token, wait_s=wait_s)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(ctx, request),
                    path="/login")
    resp.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
    if wait_s:
        resp.headers["Retry-After"] = str(wait_s)
    return resp


@router.get("/login")
def login_page(request: Request, ctx: ConsoleCtx, lang: PageLang, next: str = "/", error: str = "") -> Response:
    """The sign-in form."""
    return _login_form(request, ctx, lang, next, error)


@router.post("/login")
def login(request: Request, ctx: ConsoleCtx, lang: PageLang, guard: SignIn, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    """Sign in: check the sign-in CSRF token, then the password within the limits of
    :mod:`central.console.signin` (refused attempts get a 429 page saying how long to wait); start a session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (expected and auth.check_csrf(expected, csrf)):
        return RedirectResponse("/login?error=csrf&next=" + _safe_next(next), 303)
    name, client = username.strip()[:64], client_of(request)
    known = signin.is_known_browser(ctx.secret, name, request.cookies.get(signin.KNOWN_COOKIE))
    outcome = guard.attempt(ctx.db, name, client, known, lambda: auth.authenticate(ctx.db, name, password))
    if outcome.refused == "bad":
        audit.record(ctx.db, name, "-", "login_failed", client)
        return RedirectResponse("/login?error=bad", 303)
    if outcome.user_id is None:
        wait_s = max(1, math.ceil(outcome.wait_s))
        audit.record(ctx.db, name, "-", "login_locked", client, by=outcome.refused, wait_s=wait_s)
        return _login_form(request, ctx, lang, next, "wait", 429, wait_s)
    token = auth.start_session(ctx.db, ctx.secret, outcome.user_id, lang)
    staff = auth.load_session(ctx.db, ctx.secret, token)
    if staff:
        AuditTrail(ctx, staff, client)("login")
    resp = RedirectResponse(_safe_next(next), 303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=_secure(ctx, request),
                    max_age=auth.ABSOLUTE_TIMEOUT_S)
    resp.set_cookie(signin.KNOWN_COOKIE, signin.known_browser_token(ctx.secret, name), httponly=True,
                    samesite="strict", secure=_secure(ctx, request), path="/login",
                    max_age=signin.KNOWN_COOKIE_MAX_AGE_S)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(ctx: ConsoleCtx, staff: ViewerForm, record: Audit) -> Response:
    """Sign out: end the session and drop its cookie."""
    auth.end_session(ctx.db, staff)
    record("logout")
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(COOKIE)
    return resp


@router.get("/lang/{code}")
def set_lang(request: Request, ctx: ConsoleCtx, code: str, next: str = "/") -> Response:
    """Switch the language (of the session too, when signed in)."""
    staff = ctx.current(request)
    code = code if code in LANGS else "zh"
    if staff:
        auth.set_session_lang(ctx.db, staff, code)
    resp = RedirectResponse(_safe_next(next), 303)
    resp.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
    return resp


@router.get("/")
def home(request: Request, ctx: ConsoleCtx, staff: Viewer) -> Response:
    """Today's totals and the number of open alerts."""
    today = daily_report(ctx.db, datetime.now(ctx.tz).date(), ctx.tz)
    now = time.time()
    open_alerts = [a for a in alerts.alerts(ctx.db, now - 86400, now + 60) if a.acked_by is None]
    return ctx.render(request, "home.html", staff, totals=today.totals, open_alerts=len(open_alerts))


@router.get("/console/api/whoami")
def whoami(staff: Viewer) -> dict:
    """The signed-in member."""
    return {"username": staff.username, "role": staff.role, "lang": staff.lang}
