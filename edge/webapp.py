"""The guard screen: a local web page served on the Pi, opened full-screen in a kiosk browser.

Outcomes reach the page as Server-Sent Events (``/events``, :mod:`edge.web.stream`) straight from
:meth:`CheckpointAPI.subscribe`; the page polls ``/status`` for devices, sync, lists, faults and the shift,
and ``/preview.jpg`` for the camera (:mod:`edge.web.pages`). Guard actions are JSON POSTs under ``/api/``
(:mod:`edge.web.actions`): each needs the page's per-process token (``X-Gatepass-Token``), a same-origin
``Origin`` when the browser sends one, and (except sign-in and mute) a signed-in shift, whose guard id is the
one logged (:mod:`edge.web.deps`). In unattended mode there are no actions at all. Everything (scripts,
styles) is served locally: there is no network at the gate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from edge.events import CheckpointAPI
from edge.settings import EdgeSettings
from edge.voice import VoiceAnnouncer, make_voice
from edge.web import actions, pages, stream
from edge.web.context import GuardPage
from edge.web.errors import ScreenError, screen_error_response

WEB_DIR = Path(__file__).parent / "web"


def create_app(checkpoint: CheckpointAPI, settings: EdgeSettings, voice: VoiceAnnouncer | None = None) -> FastAPI:
    """Build the guard page for ``checkpoint``; its context is ``app.state.page`` (:class:`GuardPage`).

    ``voice``: the announcer to start and stop with the app; by default one is built from ``[voice]``
    (when enabled), so voice prompts follow the checkpoint without further wiring.
    """
    if voice is None and settings.voice.enabled:
        voice = make_voice(checkpoint, settings.voice, settings.data_dir)
    app = FastAPI(title="gatepass guard screen", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_lifespan)
    hosts = _allowed_hosts(settings.guard_page.host)
    if hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.exception_handler(ScreenError)(screen_error_response)
    app.state.page = GuardPage.build(checkpoint, settings, voice, Jinja2Templates(directory=WEB_DIR / "templates"))
    for router in (pages.router, stream.router, actions.router):
        app.include_router(router)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the override window and the voice with the app; stop them when it ends."""
    page: GuardPage = app.state.page
    page.start()
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(page.stop)


def _allowed_hosts(host: str) -> list[str] | None:
    """Host names the page answers to (None: any, when listening on every interface)."""
    if host in ("0.0.0.0", "::", ""):
        return None
    return sorted({"127.0.0.1", "localhost", "[::1]", host})
