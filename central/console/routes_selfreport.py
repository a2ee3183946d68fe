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
        ended = str(exc) == selfreport.ENDED  # a genuine link after the release: no guess, not counted
        if not ended:
            limits.failed(address)
        log.info("self-report link refused from %s: %s", address, exc)
        return _refused(ctx, request, str(exc), 410 if ended else 403)


def _slots(ctx: Console, rec: care.CareRecord, person: int) -> tuple[datetime, str, list[str], dict]:
    """Now, the slot now, the slots of today the resident may still report (the slot now, and the morning
    when it is afternoon and the morning has no reading), and today's readings by slot."""
    now = datetime.now(ctx.tz)
    slot = care.policy(ctx.db).slot_at(now.hour * 60 + now.minute)
    today = {r.slot: r for r in care.readings(ctx.db, rec.id) if r.person == person and r.day == now.date().isoformat()}
    late = ["am"] if slot == "pm" and "am" not in today else []
    return now, slot, [*late, slot], today


def _page(ctx: Console, request: Request, rec: care.CareRecord, person: int, status_code: int = 200,
          error: str | None = None, saved: str = "") -> Response:
    now, slot, open_slots, today = _slots(ctx, rec, person)
    return ctx.render(request, "selfreport.html", None, status_code=status_code, lang=_lang(request), rec=rec,
                      person=person, slot=slot, open_slots=open_slots, today=today, day=now.date().isoformat(),
                      error=error, saved=saved if saved in care.SLOTS else "", refused=None,
                      fever_c=care.fever_threshold(ctx.db))


@router.get("/r/{token}")
def selfreport_page(request: Request, ctx: ConsoleCtx, token: Token) -> Response:
    """The self-report page of the token's person."""
    opened = _open(ctx, request, token)
    if isinstance(opened, Response):
        return opened
    return _page(ctx, request, *opened, saved=request.query_params.get("saved", ""))


@router.post("/r/{token}")
def selfreport_post(request: Request, ctx: ConsoleCtx, token: Token, temp: Annotated[str, Form(max_length=20)] = "",
                    slot: Annotated[str, Form(max_length=4)] = "") -> Response:
    """Record the temperature of the slot now, or of this morning when it was not reported (a second one in the
    same slot corrects it)."""
    opened = _open(ctx, request, token)
    if isinstance(opened, Response):
        return opened
    rec, person = opened
    now, current, _, _ = _slots(ctx, rec, person)
    chosen = slot or current
    try:
        if chosen not in (("am", "pm") if current == "pm" else ("am",)):  # a slot of today so far
            raise care.CareError("只能上报今天已到的时段 / only today's slots so far can be reported")
        value = care.parse_temp(temp)
        care.record_reading(ctx.db, rec.id, person, now.date(), chosen, value, via="self", by="self-report",
                            now=time.time(), tz=ctx.tz_name)
    except care.CareError as exc:
        return _page(ctx, request, rec, person, 400, str(exc))
    log.info("self-report: quarantine %s person %s %s %s", rec.id, person, now.date(), chosen)
    return RedirectResponse(f"/r/{token}?saved={chosen}", 303)


@router.get("/static/care.css")
def care_css() -> Response:
    """The care pages' and the self-report page's phone-first style sheet."""
    text = resources.files("central.console").joinpath("static/care.css").read_text(encoding="utf-8")
    return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})
