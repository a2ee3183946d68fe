"""The resident's self-report page (public, no account): ``/r/<token>`` from the QR code on the 居家隔离告知书.

A small phone page in zh-CN (English on request) with one big input: the temperature of the slot now (morning
until the morning's end, then afternoon). The token (:mod:`central.selfreport`) opens the page of one person for
one quarantine period; a tampered, ended or released one is refused with a Chinese reason. Requests are limited per
address and per token (:class:`central.selfreport.Limits`), hostile values refused with the reason
(:func:`central.care.parse_temp`). Nothing here shows a name or a phone: the page says whose household and which
day only.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from central import care, selfreport
from central.console.deps import CleanInput, ConsoleCtx, client_of
from central.console.web import Console

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

Token = Annotated[str, PathParam(max_length=selfreport.MAX_TOKEN)]


def limits_of(request: Request) -> selfreport.Limits:
    """The self-report limits of this server process (made on first use, kept in ``app.state``)."""
    found = getattr(request.app.state, "selfreport_limits", None)
    if found is None:
        found = request.app.state.selfreport_limits = selfreport.Limits()
    return found


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" or request.cookies.get("lang") == "en" else "zh"


def _refused(ctx: Console, request: Request, message: str, status_code: int, wait: float | None = None) -> Response:
    page = ctx.render(request, "selfreport.html", None, status_code=status_code, lang=_lang(request),
                      refused=message, rec=None)
    if wait is not None:
        page.headers["Retry-After"] = str(int(wait) + 1)
    return page


def _open(ctx: Console, request: Request, token: str) -> tuple[care.CareRecord, int] | Response:
    """The quarantine and person of the token, or the refusal page (rate limits first)."""
    limits, address = limits_of(request), client_of(request)
    wait = limits.admit(address, token)
    if wait is not None:
        return _refused(ctx, request, selfreport.BUSY.format(n=int(wait) + 1), 429, wait)
    try:
        return selfreport.verify(ctx.db, token, time.time())
    except selfreport.TokenError as exc:
        limits.failed(address)
        log.info("self-report link refused from %s: %s", address, exc)
        return _refused(ctx, request, str(exc), 403 if "结束" not in str(exc) else 410)


def _page(ctx: Console, request: Request, rec: care.CareRecord, person: int, status_code: int = 200,
          error: str | None = None, saved: str = "") -> Response:
    now = datetime.now(ctx.tz)
    pol = care.policy(ctx.db)
    slot = pol.slot_at(now.hour * 60 + now.minute)
    today = {r.slot: r for r in care.readings(ctx.db, rec.id) if r.person == person and r.day == now.date().isoformat()}
    return ctx.render(request, "selfreport.html", None, status_code=status_code, lang=_lang(request), rec=rec,
                      person=person, slot=slot, today=today, day=now.date().isoformat(), error=error, saved=saved,
                      refused=None, fever_c=pol.fever_c)


@router.get("/r/{token}")
def selfreport_page(request: Request, ctx: ConsoleCtx, token: Token) -> Response:
    """The self-report page of the token's person."""
    opened = _open(ctx, request, token)
    if isinstance(opened, Response):
        return opened
    return _page(ctx, request, *opened, saved=request.query_params.get("saved", "")[:2])


@router.post("/r/{token}")
def selfreport_post(request: Request, ctx: ConsoleCtx, token: Token,
                    temp: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Record the temperature of the slot now (a second one in the same slot corrects it)."""
    opened = _open(ctx, request, token)
    if isinstance(opened, Response):
        return opened
    rec, person = opened
    now = datetime.now(ctx.tz)
    slot = care.policy(ctx.db).slot_at(now.hour * 60 + now.minute)
    try:
        value = care.parse_temp(temp)
        care.record_reading(ctx.db, rec.id, person, now.date(), slot, value, via="self", by="self-report",
                            now=time.time(), tz=ctx.tz_name)
    except care.CareError as exc:
        return _page(ctx, request, rec, person, 400, str(exc))
    log.info("self-report: quarantine %s person %s %s %s", rec.id, person, now.date(), slot)
    return RedirectResponse(f"/r/{token}?saved={slot}", 303)


@router.get("/static/care.css")
def care_css() -> Response:
    """The care pages' and the self-report page's phone-first style sheet."""
    text = resources.files("central.console").joinpath("static/care.css").read_text(encoding="utf-8")
    return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})
