"""Sign-in, sign-out, language, the home page and the style sheet."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from importlib import resources

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from central.console import alerts, audit, auth
from central.console.i18n import LANGS
from central.console.reports import daily_report
from central.console.web import COOKIE, LANG_COOKIE, Console, lang_of

LOGIN_CSRF_COOKIE = "gp_login_csrf"
LOCKOUT_FAILURES = 10      # failed sign-ins of one user name ...
LOCKOUT_WINDOW_S = 15 * 60  # ... within this many seconds lock that name until they age out


def _safe_next(target: str | None) -> str:
    """Only same-site paths (no scheme, no //host) are followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(ctx: Console, request: Request) -> bool:
    """Secure cookies when configured or when the request came over HTTPS (e.g. via the reverse proxy)."""
    return ctx.secure_cookies or request.url.scheme == "https"


def add_routes(r: APIRouter, ctx: Console) -> None:
    """Register the routes of this module."""

    @r.get("/static/console.css")
    def css() -> Response:
        text = resources.files("central.console").joinpath("static/console.css").read_text(encoding="utf-8")
        return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    @r.get("/static/alerts.js")
    def alerts_js() -> Response:
        text = resources.files("central.console").joinpath("static/alerts.js").read_text(encoding="utf-8")
        return Response(text, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})

    @r.get("/login")
    def login_page(request: Request, next: str = "/", error: str = "") -> Response:
        lang = lang_of(request, None)
        token = secrets.token_urlsafe(24)
        resp = ctx.render(request, "login.html", None, lang=lang, next=_safe_next(next), login_error=error,
                          login_csrf=token)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(ctx, request),
                        path="/login")
        resp.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
        return resp

    @r.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
              next: str = Form("/")) -> Response:
        lang = lang_of(request, None)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not (expected and auth.check_csrf(expected, csrf)):
            return RedirectResponse("/login?error=csrf&next=" + _safe_next(next), 303)
        if audit.recent_failures(ctx.db, username.strip()[:64], LOCKOUT_WINDOW_S) >= LOCKOUT_FAILURES:
            audit.record(ctx.db, username.strip()[:64], "-", "login_locked",
                         request.client.host if request.client else "")
            return RedirectResponse("/login?error=locked", 303)
        user_id = auth.authenticate(ctx.db, username, password)
        if user_id is None:
            audit.record(ctx.db, username.strip()[:64], "-", "login_failed",
                         request.client.host if request.client else "")
            return RedirectResponse("/login?error=bad", 303)
        token = auth.start_session(ctx.db, ctx.secret, user_id, lang)
        staff = auth.load_session(ctx.db, ctx.secret, token)
        if staff:
            ctx.audit(request, staff, "login")
        resp = RedirectResponse(_safe_next(next), 303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=_secure(ctx, request),
                        max_age=auth.ABSOLUTE_TIMEOUT_S)
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return resp

    @r.post("/logout")
    def logout(request: Request, csrf: str = Form(""), staff: auth.Staff = Depends(ctx.need("viewer"))) -> Response:
        ctx.check_form(staff, csrf)
        auth.end_session(ctx.db, staff)
        ctx.audit(request, staff, "logout")
        resp = RedirectResponse("/login", 303)
        resp.delete_cookie(COOKIE)
        return resp

    @r.get("/lang/{code}")
    def set_lang(request: Request, code: str, next: str = "/") -> Response:
        staff = ctx.current(request)
        code = code if code in LANGS else "zh"
        if staff:
            auth.set_session_lang(ctx.db, staff, code)
        resp = RedirectResponse(_safe_next(next), 303)
        resp.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
        return resp

    @r.get("/")
    def home(request: Request, staff: auth.Staff = Depends(ctx.need("viewer"))) -> Response:
        today = daily_report(ctx.db, datetime.now(ctx.tz).date(), ctx.tz)
        now = time.time()
        open_alerts = [a for a in alerts.alerts(ctx.db, now - 86400, now + 60) if a.acked_by is None]
        return ctx.render(request, "home.html", staff, totals=today.totals, open_alerts=len(open_alerts))

    @r.get("/console/api/whoami")
    def whoami(staff: auth.Staff = Depends(ctx.need("viewer"))) -> dict:
        return {"username": staff.username, "role": staff.role, "lang": staff.lang}

