"""The device API's handling of uploads cut off mid-body (issue 21 item 4)."""

from __future__ import annotations

import asyncio
import logging

from central import ingest
from central.db import open_db
from central.server import create_app
from central.settings import CentralSettings


def _cut_upload(app, token: str) -> list[dict]:
    """Send an upload whose body stops half-way with the client disconnecting; the ASGI messages sent back."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/upload", "raw_path": b"/api/v1/upload", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 80),
             "headers": [(b"authorization", f"Bearer {token}".encode()), (b"content-length", b"1000"),
                         (b"content-encoding", b"gzip")]}
    incoming = [{"type": "http.request", "body": b"\x1f\x8b" + b"x" * 98, "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # an exception here is what uvicorn logs as a traceback at ERROR
    return sent


def test_an_upload_cut_mid_body_is_one_warning_line_not_an_error_traceback(central_url, tmp_path, caplog):
    settings = CentralSettings(data_dir=tmp_path / "central", session_secret="s" * 40,
                               database_url=central_url if central_url.startswith("postgresql") else None)
    settings.data_dir.mkdir(parents=True)
    token = ingest.add_device(open_db(settings.db_target), "dev-cut", community="Garden", gate_id="north")
    app = create_app(settings)
    with caplog.at_level(logging.INFO):
        sent = _cut_upload(app, token)
    assert sent and sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    mine = [r for r in caplog.records if r.name == "central.api"]
    assert len(mine) == 1 and mine[0].levelno == logging.WARNING and "dev-cut" in mine[0].getMessage()
    assert mine[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
