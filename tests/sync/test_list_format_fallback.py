"""A gate upgraded before its central: central refuses the newer list format with 422 (its query bound), and the
gate asks the format before, keeps receiving lists, and does not ask for a snapshot every time."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.responses import JSONResponse

from central.passes import issuance
from sync import client as sync_client
from sync import lists as edge_lists

from .helpers import Central, sync_settings


def _older_central(newest_format: int):
    """Central's app behind the query bound an older central had (``format`` at most ``newest_format``)."""

    def wrap(app: Any) -> Any:
        async def older(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/api/v1/changes":
                query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
                if int(query.get("format", "1")) > newest_format:
                    resp = JSONResponse({"detail": [{"type": "less_than_equal", "loc": ["query", "format"],
                                                     "msg": f"Input should be less than or equal to {newest_format}"}]},
                                        status_code=422)
                    await resp(scope, receive, send)
                    return
            await app(scope, receive, send)

        return older

    return wrap


def test_a_gate_newer_than_central_falls_back_to_the_format_central_knows(tmp_path, caplog):
    central = Central(tmp_path / "central").start_thread(wrap=_older_central(2))
    try:
        issuance.quarantine(central.db, "3-2-401", date(2026, 11, 20), date(2026, 12, 4))
        token = central.add_device("gate-a")
        client = sync_client.SyncClient(sync_settings(central.url, token, central.public_pem(), tmp_path / "dev"))
        version = client.fetch_lists()
        assert version >= 1 and client.list_format == 2
        assert "3-2-401" in edge_lists.load(client.db)[1].quarantine
        assert "older central" in caplog.text
        assert edge_lists.ask_since(client.db, client.list_format) == version  # no snapshot on every fetch
        issuance.release(central.db, "3-2-401")
        assert client.fetch_lists() == version + 1
        assert "3-2-401" not in edge_lists.load(client.db)[1].quarantine
        client.close()
    finally:
        central.stop()
