"""The central FastAPI application: the device API, the staff console and ``/healthz``.

Routes are module-level routers (:mod:`central.api`, ``central.console.routes_*``) that find what they work with
on ``app.state`` through their dependencies (:mod:`central.deps`, :mod:`central.console.deps`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from central import api, api_enrol, signing
from central import db as centraldb
from central.console import (
    routes_admin,
    routes_auth,
    routes_care,
    routes_data,
    routes_deliveries,
    routes_duty,
    routes_enrolment,
    routes_homes,
    routes_patrol,
    routes_people,
    routes_reports,
    routes_screening,
    routes_screening_import,
    routes_selfreport,
    routes_vehicles,
    routes_visitors,
)
from central.console.errorpages import install_error_pages
from central.console.signin import SignInGuard
from central.console.web import Console
from central.retention import RetentionJob
from central.settings import CentralSettings
from central.state import CentralState
from gatepass import serve as serving

log = logging.getLogger(__name__)

API_CONNECTIONS = 4  # most PostgreSQL connections the device API of one server process opens (SQLite: 1)


def healthz() -> dict:
    """The server answers."""
    return {"ok": True}


@contextlib.asynccontextmanager
async def _retention_lifespan(settings: CentralSettings, app: FastAPI) -> AsyncIterator[None]:
    """Apply the retention limits of personal data while the server runs (:mod:`central.retention`)."""
    job = RetentionJob(functools.partial(centraldb.connect, settings.db_target), settings.retention).start()
    try:
        yield
    finally:
        job.stop()


def create_app(settings: CentralSettings) -> FastAPI:
    """Build the central application (also in each worker process: it must stay picklable as a partial)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    app = FastAPI(title="gatepass central", docs_url=None, redoc_url=None, openapi_url=None,  # no public schema
                  lifespan=functools.partial(_retention_lifespan, settings))
    db = centraldb.open_db(settings.db_target)
    log.info("central database: %s (%s)", db.label, db.dialect)
    app.state.settings = settings
    app.state.db = db
    # the device API gets its own connection: its write transactions never mix with the console's
    app.state.central = CentralState(centraldb.connect(settings.db_target), signing.root_key(settings.data_dir),
                                     connect=functools.partial(centraldb.connect, settings.db_target),
                                     pool_size=API_CONNECTIONS)
    app.state.list_pages = signing.SignedPages(app.state.central.signing_key)  # built and signed once a second
    app.state.console = Console.from_settings(settings)  # its own connection per worker thread
    app.state.signin = SignInGuard()  # sign-in limits of this process (central.console.signin)
    app.include_router(api.router)
    app.include_router(api_enrol.router)  # enrolment of new gates (no device token)
    for router in (routes_auth.router, routes_data.router, routes_admin.router, routes_reports.router,
                   routes_people.router, routes_duty.router, routes_visitors.router, routes_vehicles.router,
                   routes_patrol.router, routes_homes.router, routes_care.router, routes_selfreport.router,
                   routes_screening.router, routes_screening_import.router, routes_deliveries.router,
                   routes_enrolment.router):
        app.include_router(router)  # the staff console (pages at /, /login, /entries ...)
    install_error_pages(app)  # HTML errors on pages, JSON on the APIs
    app.add_api_route("/healthz", healthz, methods=["GET"])
    return app


def prepare(settings: CentralSettings) -> None:
    """What must happen once before any server process starts: the data dir, the schema, the root key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
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
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    sock = serving.bind(settings.host, settings.port)  # fail early, in one line, if the port is taken
    log.info("central console on http://%s:%d/", settings.host, settings.port)
    if settings.workers == 1:
        serving.make_server(create_app(settings), sock).run(sockets=[sock])
        return
    prepare(settings)
    serving.run_workers(functools.partial(create_app, settings), sock, settings.workers)
