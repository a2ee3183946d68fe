"""The one error of the guard page's routes, and the JSON the page gets for it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from edge.errors import EdgeError


class ScreenError(EdgeError):
    """A guard action the page must refuse, with the words to show."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en


async def screen_error_response(_request: Request, exc: ScreenError) -> JSONResponse:
    """The app's handler for :class:`ScreenError`: ``{"error", "message_zh", "message_en"}`` with its status."""
    return JSONResponse({"error": exc.code, "message_zh": exc.zh, "message_en": exc.en}, status_code=exc.status)
