"""The screening register's value parsers: pure functions from what a questionnaire export or a street-office list
holds (text typed by residents and clerks, or a spreadsheet's date cell) to a stored value, or a reason in Chinese
(with English) saying what is wrong with it.

Every parser returns ``(value, None)`` or ``(None, reason)``; an empty cell is ``("", None)`` (callers decide what
is required). They are used by the register's column fields (:mod:`central.screening`) and tested with Hypothesis.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from central.visitors import normalise_phone

Parsed = tuple[str | None, str | None]

EARLIEST_YEAR = 2019
FUTURE_DAYS = 60  # a return date (an announced return) at most this far after today
MAX_TEXT = 200

_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SHORT = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")

_TRAIN = re.compile(r"^([GDCKZTLYS])(\d{1,4})$")
_TRAIN_LETTERS = "GDCKZTLYS"
_DIGIT_AIRLINES = ("G5",)  # airlines whose code is a train letter and a digit (华夏航空 G5)
_TRAIN_DIGITS = re.compile(r"^\d{4}$")
_FLIGHT = re.compile(r"^([A-Z]{2}|[A-Z]\d|\d[A-Z])(\d{1,4})([A-Z]?)$")
_LEG_SPLIT = re.compile(r"\s*(?:[/,，、;；+＋]|->|→|转)\s*")
_NO_NUMBER = ("自驾", "私家车", "汽车", "大巴", "客车", "步行", "无", "其他")

#: Categories of a person on the register: code → (zh-CN, English), most severe first.
CATEGORIES: dict[str, tuple[str, str]] = {
    "close_contact": ("密接", "close contact"),
    "secondary_contact": ("次密接", "secondary contact"),
    "returnee": ("返乡人员", "returnee"),
    "other": ("其他", "other"),
}
_CATEGORY_WORDS = (("次密", "secondary_contact"), ("密", "close_contact"), ("返", "returnee"), ("来", "returnee"),
                   ("其他", "other"))


def reason(zh: str, en: str) -> str:
    """A row reason as staff read it: Chinese first, English after."""
    return f"{zh} / {en}"


def _clean(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def _checked_day(day: date, today: date) -> Parsed:
    if day.year < EARLIEST_YEAR:
        return None, reason(f"日期太早（{day.isoformat()}）", f"date too early ({day.isoformat()})")
    if day > today + timedelta(days=FUTURE_DAYS):
        return None, reason(f"日期在将来（{day.isoformat()}）", f"date in the future ({day.isoformat()})")
    return day.isoformat(), None


def _short_day(month: int, day: int, today: date) -> date:
    """A month and day without a year: this year's, or last year's when that would be far in the future."""
    found = date(today.year, month, day)
    if found > today + timedelta(days=FUTURE_DAYS):
        found = date(today.year - 1, month, day)
    return found


def parse_date(value: object, today: date) -> Parsed:
    """A return date as ISO text: ``2022/4/3``, ``2022-04-03``, ``2022.4.3``, ``2022年4月3日``, ``20220403``,
    ``4月3日`` / ``4/3`` (the year: this one, or the last when that is far ahead), a spreadsheet date cell; a time
    after the day is ignored. Refused: no such day, before 2019, more than 60 days after ``today``."""
    if isinstance(value, datetime):
        return _checked_day(value.date(), today)
    if isinstance(value, date):
        return _checked_day(value, today)
    text = _TIME_TAIL.sub("", _clean(value or ""))
    if not text:
        return "", None
    try:
        if m := _FULL.match(text) or _COMPACT.match(text):
            return _checked_day(date(int(m[1]), int(m[2]), int(m[3])), today)
        if m := _SHORT.match(text):
            return _checked_day(_short_day(int(m[1]), int(m[2]), today), today)
    except ValueError:
        return None, reason("没有这一天", f"no such day: {text[:20]}")
    return None, reason("日期无法识别（应如 2022/4/3 或 4月3日）",
                        f"unreadable date: {text[:20]} (write e.g. 2022/4/3)")


def _leg(text: str) -> str | None:
    """One train or flight number, normalised (``G1234``, ``CA1234``), or None."""
    text = re.sub(r"\s+", "", text.upper()).removesuffix("次").removeprefix("航班").removesuffix("航班")
    if _TRAIN.match(text) or _TRAIN_DIGITS.match(text):
        return text
    if text[:1] in _TRAIN_LETTERS and text[1:2].isdigit() and text[:2] not in _DIGIT_AIRLINES:
        return None  # G12345: a train number too long, not the flight "G1 2345"
    return text if _FLIGHT.match(text) else None


def travel_kind(number: str) -> str:
    """``train``, ``flight`` or ``other`` for a normalised leg."""
    if _TRAIN.match(number) or _TRAIN_DIGITS.match(number):
        return "train"
    return "flight" if _FLIGHT.match(number) else "other"


def parse_travel(value: object) -> Parsed:
    """Train or flight numbers (车次/航班), each normalised (``g1234次`` → ``G1234``, ``ca 1234`` → ``CA1234``),
    several legs joined by `` / ``; a way of travel without a number (自驾, 大巴 …) is kept as written."""
    text = _clean(value or "")
    if not text:
        return "", None
    if any(text.startswith(word) for word in _NO_NUMBER):
        return text[:40], None
    legs = [leg for leg in _LEG_SPLIT.split(text) if leg]
    parsed = [_leg(leg) for leg in legs]
    if not legs or any(p is None for p in parsed):
        return None, reason("车次/航班号无法识别（应如 G1234、D12、CA1234）",
                            f"unreadable train/flight number: {text[:30]} (e.g. G1234, CA1234)")
    return " / ".join(p for p in parsed if p), None


def parse_phone(value: object) -> Parsed:
    """A phone number, normalised (:func:`central.visitors.normalise_phone`): a mobile number has 11 digits and
    starts with 1; a landline 7-12 digits. Required: people are merged by it."""
    text = _clean(value or "")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text:
        return None, reason("缺少电话号码（按电话合并同一人，不能为空）", "no phone number (people are merged by it)")
    phone = normalise_phone(text)
    if phone is None or len(phone) < 7 or len(phone) > 12 or (phone.startswith("1") and len(phone) != 11):
        return None, reason("电话号码无效（手机号应为11位）", f"invalid phone number: {text[:24]}")
    return phone, None


def parse_category(value: object) -> Parsed:
    """The person's category from words like 密接 / 密切接触者, 次密接, 返乡 / 返京人员, 其他 ('' when empty)."""
    text = _clean(value or "")
    if not text:
        return "", None
    if text in CATEGORIES:
        return text, None
    for word, code in _CATEGORY_WORDS:
        if word in text:
            return code, None
    return None, reason("人员类别无法识别（应为密接、次密接、返乡人员或其他）",
                        f"unknown category: {text[:20]}")


def parse_text(value: object, limit: int = MAX_TEXT) -> Parsed:
    """Free text (name, city, health status, contact history), whitespace collapsed, at most ``limit``
    characters."""
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    text = " ".join(_clean(value or "").split())
    if len(text) > limit:
        return None, reason(f"内容太长（最多 {limit} 个字）", f"too long (at most {limit} characters)")
    return text, None




def household_candidates(text: str) -> list[str]:
    """Household ids an address may mean: as written, and ``楼-单元-房`` from its numbers (``3号楼2单元401室``,
    ``3栋2单元401``, ``3-2-401`` → ``3-2-401``)."""
    text = _clean(text)
    found = [text] if text else []
    numbers = re.findall(r"\d+", text)
    if len(numbers) in (2, 3):
        found.append("-".join(str(int(n)) for n in numbers))
    return found


def severest(categories: list[str]) -> str:
    """The most severe of ``categories`` (close contact first), ``other`` when none."""
    order = list(CATEGORIES)
    known = [c for c in categories if c in CATEGORIES]
    return min(known, key=order.index) if known else "other"
