"""The central FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from sync.settings import CentralSettings

log = logging.getLogger(__name__)


def create_app(settings: CentralSettings) -> FastAPI:
    """Build the central application."""
    from sync import api, centraldb, signing

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="gatepass central", docs_url=None, redoc_url=None, openapi_url=None)  # no public schema
    db = centraldb.open_db(settings.db_target)
    log.info("central database: %s (%s)", db.label, db.dialect)
    app.state.settings = settings
    app.state.db = db
    # the device API gets its own connection: its write transactions never mix with the console's
    app.state.central = api.CentralState(centraldb.connect(settings.db_target), signing.root_key(settings.data_dir))
    app.include_router(api.router(app.state.central))
    from sync import console

    console_router = console.router(app.state)
    app.include_router(console_router)  # the staff console (pages at /, /login, /entries ...)
    console.install_error_pages(app, console_router.console)  # HTML errors on pages, JSON on the APIs

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    return app


def serve(settings: CentralSettings) -> None:
    """Run the central server until interrupted."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from gatepass import serve as serving

    sock = serving.bind(settings.host, settings.port)  # fail early, in one line, if the port is taken
    log.info("central console on http://%s:%d/", settings.host, settings.port)
    serving.make_server(create_app(settings), sock).run(sockets=[sock])
