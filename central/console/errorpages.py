"""Errors (403 wrong role or CSRF token, 404, bad form fields ...) as HTML pages on the console's pages;
JSON stays for ``/console/api/*`` and the device API ``/api/*``. Redirects (3xx) are unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.console.i18n import translator
from central.console.web import Console, error_page, lang_of

API_PREFIXES = ("/console/api/", "/api/")
MAX_PROBLEMS = 5
STATUS_TEXTS = {403: "forbidden", 404: "not_found", 405: "not_allowed", 413: "too_large", 422: "bad_form"}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def _page(request: Request, status_code: int, detail: Any, headers: Mapping[str, str] | None) -> HTMLResponse:
    ctx: Console = request.app.state.console
    staff = ctx.current(request)
    t = translator(lang_of(request, staff))
    message = detail if isinstance(detail, str) and status_code in (400, 403) else \
        t(STATUS_TEXTS.get(status_code, "error"))
    if status_code == 422 and isinstance(detail, list) and detail:
        message += "（" + "；".join(detail[:MAX_PROBLEMS]) + "）"
    resp = error_page(ctx, request, staff, message, status_code)
    for name, value in (headers or {}).items():
        resp.headers.setdefault(name, value)
    return resp


async def on_http_error(request: Request, exc: Exception) -> Response:
    """An HTML page for an HTTP error on a page; the JSON answer on an API path or for a redirect."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code < 400 or _is_api(request):
        return await http_exception_handler(request, exc)
    return await run_in_threadpool(_page, request, exc.status_code, exc.detail, exc.headers)


async def on_bad_request(request: Request, exc: Exception) -> Response:
    """An HTML page for bad form or query fields on a page; the JSON list of problems on an API path."""
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    return await run_in_threadpool(_page, request, 422, _problems(exc), None)


def _problems(exc: RequestValidationError) -> list[str]:
    """The fields of a bad request and what is wrong with each (``minutes: Input should be ...``)."""
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("query", "body", "path")]
        out.append(f"{'.'.join(loc) or '?'}: {err.get('msg', '')}"[:160])
    return out


def install_error_pages(app: FastAPI) -> None:
    """Answer errors as described above (the console's context is ``app.state.console``)."""
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_bad_request)
