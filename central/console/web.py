"""The console's context (:class:`Console`: database per thread, templates, the session's member) and the
helpers of its pages. The routes get the context, the member, roles and CSRF checks through
:mod:`central.console.deps`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from central.console import auth, values
from central.console.i18n import LANGS, reason_text, translator
from central.console.timeutil import DEFAULT_TZ, fmt, fmt_input, zone
from central.faults import fault_name
from central.settings import CentralSettings
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
                 secure_cookies: bool = False, lists_max_age_s: float = 24 * 3600.0, public_url: str = "") -> None:
        self.db_target = str(db_target)
        self.secret = session_secret.encode()
        self.data_dir = Path(data_dir)
        self.tz = zone(tz)
        self.tz_name = tz
        self.secure_cookies = secure_cookies
        self.lists_max_age_s = lists_max_age_s  # a gate's lists older than this are flagged on /devices
        self.public_url = public_url.rstrip("/")  # links printed for residents (self-report QR); '' the request's
        self._local = threading.local()
        self.env = Environment(loader=PackageLoader("central.console", "templates"),
                               autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(t=self._time_filter(short=False), tshort=self._time_filter(short=True),
                                tinput=lambda ts: fmt_input(ts, self.tz), dec=_dec, whole=_whole)

    def _time_filter(self, short: bool) -> Callable[..., str]:
        """A template filter for unix seconds: local time, or "时间异常" / "invalid time" for a stored value that
        is no time (``tshort``: MM-DD HH:MM)."""

        @pass_context
        def show(context: Context, ts: object) -> str:
            text = fmt(ts, self.tz, with_seconds=not short, invalid="")
            if text or ts is None:
                return text[5:] if short else text
            invalid = translator(context.get("lang", "zh"))("time.invalid")
            return Markup('<span class="invalid-time" title="{}">{}</span>').format(str(ts)[:40], invalid)

        return show

    @classmethod
    def from_settings(cls, settings: CentralSettings) -> Console:
        """The console of a central server with ``settings``."""
        return cls(settings.db_target, settings.session_secret.get_secret_value(), settings.data_dir,
                   tz=settings.timezone, lists_max_age_s=settings.lists_max_age_h * 3600,
                   public_url=settings.public_url)

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
            "reason_text": lambda code: reason_text(code, lang), "age": lambda s: age_text(s, lang),
            "fault_name": lambda code: fault_name(code, lang)}
        values.update(context)
        html = self.env.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


@pass_context
def _dec(context: Context, value: object, digits: int = 1, signed: bool = False) -> str:
    """Template filter: a number with ``digits`` decimals, or "数值异常" / "invalid value"."""
    return values.decimal(value, digits, signed, translator(context.get("lang", "zh"))("value.invalid"))


@pass_context
def _whole(context: Context, value: object) -> str:
    """Template filter: a number rounded to a whole one, or "数值异常" / "invalid value"."""
    return values.whole(value, translator(context.get("lang", "zh"))("value.invalid"))


def error_page(ctx: Console, request: Request, staff: auth.Staff | None, message: str, status_code: int = 400,
               back: str | None = None) -> HTMLResponse:
    """A plain error page (the form's own page linked as 'back') for bad input in a form post."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    if back is None:
        back = referer[len(origin):] if referer.startswith(origin + "/") else "/"
    return ctx.render(request, "error.html", staff, status_code=status_code, message=message, back=back)


def age_text(seconds: object, lang: str = "zh") -> str:
    """A duration in the largest sensible unit: minutes below an hour, hours below two days, else days."""
    t = translator(lang)
    seconds = values.finite(seconds)
    if seconds is None:
        return t("value.invalid")
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
