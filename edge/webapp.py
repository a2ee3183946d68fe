"""The guard screen: a local web page served on the Pi, opened full-screen in a kiosk browser.

Outcomes reach the page as Server-Sent Events (``/events``, :mod:`edge.web.stream`) straight from
:meth:`CheckpointAPI.subscribe`; the page polls ``/status`` for devices, sync, lists, faults and the shift,
and ``/preview.jpg`` for the camera (:mod:`edge.web.pages`). Guard actions are JSON POSTs under ``/api/``
(:mod:`edge.web.actions`): each needs the page's per-process token (``X-Gatepass-Token``), a same-origin
``Origin`` when the browser sends one, and (except sign-in) a signed-in shift, whose guard id is the one logged
(:mod:`edge.web.deps`). In unattended mode there are no actions at all. Everything (scripts, styles) is served
locally: there is no network at the gate.

Who may see it (:mod:`edge.web.access`): every request needs a ``Host`` naming the page, whatever the listen
address (DNS rebinding); reads of personal data, the page (which carries the token) and the actions need the
kiosk on the Pi itself or a browser paired with a one-time code (``/pair``, :mod:`edge.web.pairing`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from edge.events import CheckpointAPI
from edge.settings import EdgeSettings, is_loopback
from edge.voice import VoiceAnnouncer, make_voice
from edge.web import actions, deliveries, enrolment, pages, pairing, stream, vehicles, visitors
from edge.web.access import ClientRule, HostGate, allowed_hosts
from edge.web.context import GuardPage
from edge.web.errors import ScreenError, screen_error_response

log = logging.getLogger(__name__)

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
    section = settings.guard_page
    # a gate not enrolled yet shows its enrolment code only (edge/web/enrolment.py); HostGate still checks first
    app.state.enrolment_screen = enrolment.screen_file(settings.data_dir)
    app.add_middleware(enrolment.EnrolmentGate, screen=app.state.enrolment_screen)
    app.add_middleware(HostGate, hosts=allowed_hosts(section),
                       clients=ClientRule(tuple(section.allow_clients), section.local_kiosk))
    warn_if_exposed(settings)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.exception_handler(ScreenError)(screen_error_response)
    app.state.page = GuardPage.build(checkpoint, settings, voice, Jinja2Templates(directory=WEB_DIR / "templates"))
    for router in (enrolment.router, pages.router, pairing.router, stream.router, actions.router, visitors.router,
                   vehicles.router, deliveries.router):
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


def warn_if_exposed(settings: EdgeSettings) -> None:
    """A warning when the page listens beyond loopback (allowed only with ``[guard_page] allow_remote``)."""
    section = settings.guard_page
    if is_loopback(section.host):
        return
    log.warning("the guard page listens on %s, not only on this machine: clients %s, %s; remote browsers must be "
                "paired (gatepass edge kiosk pair)", section.host,
                ", ".join(map(str, section.allow_clients)) or "any address",
                "over TLS" if section.tls_cert else "WITHOUT TLS (PINs cross the network in clear)")
