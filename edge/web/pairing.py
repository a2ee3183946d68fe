"""Pairing a kiosk browser: ``GET /pair`` (the plain page saying how), ``POST /pair`` (the one-time code).

The code comes from ``gatepass edge kiosk pair`` on the device (:mod:`edge.kiosk`). A right code sets the pairing
cookie (HttpOnly, SameSite=Strict, Secure over TLS) and sends the browser to ``/``; a wrong or expired one shows
the page again with the reason; wrong codes are throttled (:class:`edge.web.access.KioskAccess`).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from edge.kiosk import COOKIE
from edge.web.access import same_origin
from edge.web.deps import Page, Templates
from edge.web.errors import ScreenError

router = APIRouter()

MAX_FORM_BYTES = 1024
COOKIE_MAX_AGE_S = 10 * 365 * 86400  # until unpaired (gatepass edge kiosk unpair)
NO_STORE = {"Cache-Control": "no-store"}


def pair_page(request: Request, templates: Jinja2Templates, status_code: int = 200,
              error: ScreenError | None = None) -> Response:
    """The pairing page (zh-CN, English below), with ``error``'s words when a code was refused."""
    return templates.TemplateResponse(request, "pair.html", {"error": error}, status_code=status_code,
                                      headers=NO_STORE)


@router.get("/pair", response_class=HTMLResponse)
def pair_form(request: Request, templates: Templates) -> Response:
    """The page where the one-time code is entered."""
    return pair_page(request, templates)


async def _form_code(request: Request) -> str:
    """The ``code`` field of a small urlencoded form (413 beyond :data:`MAX_FORM_BYTES`)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ScreenError(413, "too_large", "请求太大", "Request too large")
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    return (values.get("code") or [""])[0]


@router.post("/pair", response_class=HTMLResponse)
async def pair_submit(request: Request, page: Page, templates: Templates) -> Response:
    """Redeem the code: the pairing cookie and a redirect to the page, or the form again with the reason."""
    if not same_origin(request):
        error = ScreenError(403, "cross_site", "拒绝来自其他网页的操作", "Cross-site request refused")
        return pair_page(request, templates, 403, error)
    try:
        code = await _form_code(request)
        token = await anyio.to_thread.run_sync(page.kiosks.redeem, code, request)
    except ScreenError as exc:
        return pair_page(request, templates, exc.status, exc)
    if token is None:
        error = ScreenError(403, "bad_code", "配对码无效或已过期，请在设备上重新运行 gatepass edge kiosk pair",
                            "Wrong or expired code: run 'gatepass edge kiosk pair' on the device again")
        return pair_page(request, templates, 403, error)
    response = RedirectResponse("/", status_code=303, headers=NO_STORE)
    response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE_S, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
