"""The one error of the guard page's routes, and the JSON the page gets for it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from edge.errors import EdgeError
from edge.visitor_fields import FieldError


class ScreenError(EdgeError):
    """A guard action the page must refuse, with the words to show."""

    def __init__(self, status: int, code: str, zh: str, en: str, field: str = "") -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en, self.field = status, code, zh, en, field


async def screen_error_response(_request: Request, exc: ScreenError) -> JSONResponse:
    """The app's handler for :class:`ScreenError`: ``{"error", "message_zh", "message_en"}`` (and the form
    ``field`` it is about, when one) with its status."""
    body = {"error": exc.code, "message_zh": exc.zh, "message_en": exc.en} | ({"field": exc.field} if exc.field else {})
    return JSONResponse(body, status_code=exc.status)


#: The checkpoint's refusals of a guard action (by the start of their message) in the page's words:
#: (error code for the page, zh-CN, English).
REFUSALS: tuple[tuple[str, str, str, str], ...] = (
    ("this refusal needs a second confirmation", "confirm_needed", "请再次确认放行",
     "Confirm once more to let through"),
    ("the entry to override does not exist", "not_found", "找不到这条记录，无法放行", "That entry is not found"),
    ("that entry was not refused", "not_refused", "这条记录不是拒绝，无需放行", "That entry was not refused"),
    ("that entry was already overridden", "already_overridden", "这条记录已经放行过了",
     "That entry was already let through"),
    ("the reason 'other' needs a short note", "note_needed", "选择“其他”时请写明原因",
     "With 'Other', write the reason"),
    ("the note is longer than", "note_too_long", "备注太长，请写短一些", "The note is too long"),
    ("no scan is waiting for a health code colour", "no_hold", "已超时或已处理，请重新扫码",
     "Nothing is waiting for a colour now (timed out or done): scan again"),
    ("this visitor was registered a moment ago", "repeated", "刚刚已登记过该访客，请稍等几秒",
     "This visitor was registered a moment ago: wait a few seconds"),
    ("name, phone and host household are required", "fill_all", "请填写姓名、电话和被访住户",
     "Fill in name, phone and host household"),
    ("this visitor has already left", "already_left", "该访客已登记离开", "This visitor has already left"),
    ("no such visitor on the now-inside list", "not_inside", "在场访客名单中没有这位访客，请刷新",
     "This visitor is not on the now-inside list: refresh it"),
    ("the hand-over could not be saved", "handover_not_saved", "交班记录未能保存（本地存储故障），请当面向下一班交接",
     "The hand-over could not be saved (local storage fault): hand over in person"),
    ("the exit could not be saved", "exit_not_saved", "离开记录未能保存（本地存储故障），请稍后重试",
     "The exit could not be saved (local storage fault): try again shortly"),
)


def refusal_error(exc: Exception) -> ScreenError:
    """A 409 :class:`ScreenError` for the checkpoint's refusal ``exc``, in plain words when it is a known one."""
    if isinstance(exc, FieldError):  # a form field the checkpoint refused (e.g. an unknown host household)
        return ScreenError(409, "bad_field", exc.zh, exc.en, exc.field)
    text = str(exc)
    for start, code, zh, en in REFUSALS:
        if text.startswith(start):
            return ScreenError(409, code, zh, en)
    return ScreenError(409, "refused", f"操作未完成：{text}", f"Not done: {text}")
