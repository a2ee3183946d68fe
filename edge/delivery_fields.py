"""The delivery form's fields (drop-off mode), parsed by pure functions that say what is wrong in Chinese and English.

Each parser returns the clean value or raises :class:`edge.visitor_fields.FieldError` naming the field and the
reason; the guard page shows the reason on that field (:mod:`edge.web.deliveries`). The page checks the same
rules before it posts.
"""

from __future__ import annotations

import re
import unicodedata

from edge.visitor_fields import FieldError

#: The companies the guard taps (besides "其他", which needs the company written after it).
COMPANIES = ("顺丰", "京东", "中通", "圆通", "韵达", "申通", "邮政", "美团", "饿了么", "盒马", "叮咚", "社区团购")
OTHER = "其他"
COMPANY_MAX = 20  # characters of a company written after 其他
COUNT_MAX = 99  # parcels in one drop-off (more is a typing slip)
NOTE_MAX = 30  # characters of the note (生鲜, 药品...)
HOUSEHOLD_MAX = 30  # characters of a household number (3-2-401)
NAME_MAX = 20  # characters of the name of who picked it up
_PHONE = re.compile(r"\+?[0-9]{5,15}")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_HOUSEHOLD = re.compile(r"[0-9A-Za-z\-#/\u4e00-\u9fff]+")


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in value)


def _folded(text: object) -> str:
    """``text`` NFC-normalised with its runs of white space folded to one space (not a string: "")."""
    return " ".join(unicodedata.normalize("NFC", text).split()) if isinstance(text, str) else ""


def parse_company(text: object) -> str:
    """The company: one of :data:`COMPANIES`, or "其他：<name>" (a short name written after 其他); a bare 其他 or
    anything over-long or with control characters is refused."""
    value = _folded(text)
    if value in COMPANIES:
        return value
    rest = value.removeprefix(OTHER).lstrip("：:").strip() if value.startswith(OTHER) else value
    if not rest:
        raise FieldError("company", "请选择快递公司；选“其他”时请写明公司名称",
                         "Pick the company; with 'Other', write its name")
    if len(rest) > COMPANY_MAX or _has_control(str(text)) or any(ch in "<>{}" for ch in rest):
        raise FieldError("company", f"公司名称请写{COMPANY_MAX}字以内，不含符号",
                         f"The company's name is at most {COMPANY_MAX} characters, no symbols")
    return rest if rest in COMPANIES else f"{OTHER}：{rest}"


def parse_count(value: object) -> int:
    """How many parcels: a whole number from 1 to :data:`COUNT_MAX` (typed digits, full-width too)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
        value = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else None
    if not isinstance(value, int) or not 1 <= value <= COUNT_MAX:
        raise FieldError("count", f"件数应为1到{COUNT_MAX}之间的整数",
                         f"The count is a whole number from 1 to {COUNT_MAX}")
    return value


def parse_courier_phone(text: object) -> str:
    """The courier's phone ("" when not given): 5 to 15 digits, an optional leading +; spaces and dashes dropped."""
    if text is None:
        return ""
    value = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text if isinstance(text, str) else "?"))
    if not value:
        return ""
    if not _PHONE.fullmatch(value):
        raise FieldError("courier_phone", "快递员电话应为5到15位数字", "The courier's phone is 5 to 15 digits")
    return value


def parse_note(text: object) -> str:
    """The optional note (生鲜, 药品...): at most :data:`NOTE_MAX` characters, no control characters."""
    raw = text if isinstance(text, str) else ""
    value = _folded(raw)
    if len(value) > NOTE_MAX or _has_control(raw):
        raise FieldError("note", f"备注请写{NOTE_MAX}字以内，不含控制字符",
                         f"The note is at most {NOTE_MAX} characters, no control characters")
    return value


def parse_household(text: object) -> str:
    """A household number as the lists name it (3-2-401, 5栋1单元302): letters, digits, 汉字, - # /."""
    value = unicodedata.normalize("NFKC", text).strip() if isinstance(text, str) else ""
    if not value:
        raise FieldError("household", "请填写收件住户（如 3-2-401）", "Write the household (e.g. 3-2-401)")
    if len(value) > HOUSEHOLD_MAX or not _HOUSEHOLD.fullmatch(value):
        raise FieldError("household", "住户号格式不对（如 3-2-401），不含空格和符号",
                         "The household number looks wrong (e.g. 3-2-401): no spaces or symbols")
    return value


def parse_pickup_name(text: object) -> str:
    """The name of who picked a delivery up ("" when not given): a short name, no digits or control characters."""
    value = _folded(text)
    if not value:
        return ""
    if len(value) > NAME_MAX or _has_control(str(text)) or any(unicodedata.category(ch)[0] in "CNS" for ch in value):
        raise FieldError("name", f"取件人姓名请写{NAME_MAX}字以内，不含数字或符号",
                         f"The name is at most {NAME_MAX} characters, no digits or symbols")
    return value
