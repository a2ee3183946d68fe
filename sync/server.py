"""The central FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from sync.settings import CentralSettings

log = logging.getLogger(__name__)


def create_app(settings: CentralSettings) -> FastAPI:
    """Build the central application."""
    app = FastAPI(title="gatepass central", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
            "<title>gatepass central</title><h1>gatepass</h1></html>"
        )

    return app


def serve(settings: CentralSettings) -> None:
    """Run the central server until interrupted."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from gatepass import serve as serving

    sock = serving.bind(settings.host, settings.port)  # fail early, in one line, if the port is taken
    log.info("central console on http://%s:%d/", settings.host, settings.port)
    serving.make_server(create_app(settings), sock).run(sockets=[sock])
