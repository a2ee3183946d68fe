"""The central FastAPI application."""

from __future__ import annotations

import functools
import logging

from fastapi import FastAPI

from central.settings import CentralSettings

log = logging.getLogger(__name__)

API_CONNECTIONS = 4  # most PostgreSQL connections the device API of one server process opens (SQLite: 1)


def create_app(settings: CentralSettings) -> FastAPI:
    """Build the central application."""
    from central import api, signing
    from central import db as centraldb

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="gatepass central", docs_url=None, redoc_url=None, openapi_url=None)  # no public schema
    db = centraldb.open_db(settings.db_target)
    log.info("central database: %s (%s)", db.label, db.dialect)
    app.state.settings = settings
    app.state.db = db
    # the device API gets its own connection: its write transactions never mix with the console's
    app.state.central = api.CentralState(centraldb.connect(settings.db_target), signing.root_key(settings.data_dir),
                                         connect=functools.partial(centraldb.connect, settings.db_target),
                                         pool_size=API_CONNECTIONS)
    app.include_router(api.router(app.state.central))
    from central import console

    console_router = console.router(app.state)
    app.include_router(console_router)  # the staff console (pages at /, /login, /entries ...)
    console.install_error_pages(app, console_router.console)  # HTML errors on pages, JSON on the APIs

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    return app


def prepare(settings: CentralSettings) -> None:
    """What must happen once before any server process starts: the data dir, the schema, the root key."""
    from central import db as centraldb
    from central import signing

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = centraldb.open_db(settings.db_target)  # creates/migrates the schema (under the schema lock)
    try:
        log.info("central database: %s (%s)", db.label, db.dialect)
        if db.dialect == "sqlite":
            log.info("%d server processes on SQLite: reads scale, but SQLite still takes one writer at a time "
                     "(uploads wait their turn); set database_url to PostgreSQL for many gates", settings.workers)
    finally:
        db.close()
    signing.root_key(settings.data_dir)  # created here, once: every worker reads the same key file


def serve(settings: CentralSettings) -> None:
    """Run the central server until interrupted: in this process, or ``settings.workers`` processes."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from gatepass import serve as serving

    sock = serving.bind(settings.host, settings.port)  # fail early, in one line, if the port is taken
    log.info("central console on http://%s:%d/", settings.host, settings.port)
    if settings.workers == 1:
        serving.make_server(create_app(settings), sock).run(sockets=[sock])
        return
    prepare(settings)
    serving.run_workers(functools.partial(create_app, settings), sock, settings.workers)
