"""Wiring of the checkpoint service: builds the parts from settings and runs them."""

from __future__ import annotations

import logging

import uvicorn

from edge.settings import EdgeSettings
from edge.webapp import create_app

log = logging.getLogger(__name__)


def run(settings: EdgeSettings) -> None:
    """Run the guard page until interrupted."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    log.info("guard page on http://%s:%d/", settings.guard_page.host, settings.guard_page.port)
    uvicorn.run(app, host=settings.guard_page.host, port=settings.guard_page.port, log_config=None)
