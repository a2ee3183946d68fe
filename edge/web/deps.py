"""The guard page's dependencies: its context (from ``app.state.page``), the paired kiosk every read of personal
data needs, and the checks guard actions pass.

Routes take what they need as ``Annotated`` parameters (``page: Page``, ``checkpoint: Checkpoint``,
``guard_id: GuardId`` ...); FastAPI runs each dependency once per request, in the order declared. Those that
cannot block are ``async`` (no worker-thread hop per request).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from edge.events import CheckpointAPI
from edge.screen_forms import describe_errors
from edge.settings import EdgeSettings
from edge.voice import VoiceAnnouncer
from edge.web.access import not_paired, same_origin
from edge.web.context import GuardPage
from edge.web.errors import ScreenError

TOKEN_HEADER = "X-Gatepass-Token"
FormT = TypeVar("FormT", bound=BaseModel)


async def page_context(request: Request) -> GuardPage:
    """The guard page's context (put in ``app.state.page`` by :func:`edge.webapp.create_app`)."""
    page: GuardPage = request.app.state.page
    return page


Page = Annotated[GuardPage, Depends(page_context)]


async def checkpoint_api(page: Page) -> CheckpointAPI:
    """The checkpoint the page shows and acts on."""
    return page.checkpoint


async def edge_settings(page: Page) -> EdgeSettings:
    """The device's settings."""
    return page.settings


async def page_templates(page: Page) -> Jinja2Templates:
    """The page's Jinja2 templates."""
    return page.templates


async def voice_announcer(page: Page) -> VoiceAnnouncer | None:
    """The voice prompts (None when ``[voice]`` is off)."""
    return page.voice


Checkpoint = Annotated[CheckpointAPI, Depends(checkpoint_api)]
Settings = Annotated[EdgeSettings, Depends(edge_settings)]
Templates = Annotated[Jinja2Templates, Depends(page_templates)]
Voice = Annotated[VoiceAnnouncer | None, Depends(voice_announcer)]


async def paired_kiosk(request: Request, page: Page) -> None:
    """Refuses (403) a browser that is neither the kiosk on the Pi nor paired (:mod:`edge.web.access`); the
    pairing is looked up in a worker thread (SQLite)."""
    if not page.kiosks.is_local(request) and not await anyio.to_thread.run_sync(page.kiosks.paired, request):
        raise not_paired()


Paired = Annotated[None, Depends(paired_kiosk)]


async def check_action(request: Request, page: Page, _paired: Paired) -> None:
    """CSRF and mode checks of every guard action: a paired kiosk, a same-origin ``Origin`` (if sent), the
    page's token, guarded mode."""
    if not same_origin(request):
        raise ScreenError(403, "cross_site", "拒绝来自其他网页的操作", "Cross-site request refused")
    if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), page.token):
        raise ScreenError(403, "bad_token", "页面已过期，请刷新", "Page expired: reload it")
    if not page.guarded:
        raise ScreenError(403, "unattended", "无人值守模式不能操作", "Unattended mode: no guard actions")


ActionAllowed = Annotated[None, Depends(check_action)]


def signed_in_guard(_allowed: ActionAllowed, checkpoint: Checkpoint) -> str:
    """The signed-in guard's id (after :func:`check_action`); refused without a shift."""
    shift = checkpoint.status().get("shift")
    if not shift or not shift.get("guard_id"):
        raise ScreenError(403, "no_shift", "请先签到上岗", "Sign in to a shift first")
    return str(shift["guard_id"])


GuardId = Annotated[str, Depends(signed_in_guard)]


def json_form(model: type[FormT]) -> Callable[[Request], Awaitable[FormT]]:
    """A dependency parsing the JSON body as ``model``; refusals in the page's words (400, 422)."""

    async def parse(request: Request) -> FormT:
        try:
            body = await request.json()
        except ValueError:
            raise ScreenError(400, "bad_json", "请求格式错误", "Request is not JSON") from None
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            words = describe_errors(exc)
            raise ScreenError(422, "invalid", words["message_zh"], words["message_en"], words["field"]) from None

    return parse
