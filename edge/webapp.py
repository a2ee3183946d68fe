"""The guard screen: a local web page served on the Pi."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from edge.settings import EdgeSettings


def create_app(settings: EdgeSettings) -> FastAPI:
    """Build the guard page application."""
    app = FastAPI(title="gatepass guard screen", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True, "gate": settings.gate.id}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>gatepass</title>"
            f"<h1>{settings.gate.name}</h1></html>"
        )

    return app
