"""The visitor form's own fields, parsed by pure functions that say what is wrong in Chinese and English.

Each parser returns the clean value or raises :class:`FieldError` naming the field and the reason. The guard page's
form (:class:`edge.screen_forms.VisitorForm`) uses them, and the page checks the same rules before it posts.
"""

from __future__ import annotations

import re
import unicodedata

from sync.passes.model import Lists

_ID_LAST4 = re.compile(r"[0-9]{3}[0-9X]")
CITY_MAX = 20  # characters of a city name
HOUSEHOLD_MAX = 32  # characters of a household id on the form (e.g. 3-2-401; central allows longer ids)
_HOUSEHOLD_SYMBOLS = "-#/._"


class FieldError(ValueError):
    """A form field holds no valid value: ``field``, and the reason in zh-CN and English."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(f"{field}: {en}")
        self.field, self.zh, self.en = field, zh, en


def parse_id_last4(text: str) -> str:
    """The last 4 characters of a resident ID card number ("" when not given): 3 digits, then a digit or X."""
    value = unicodedata.normalize("NFKC", text or "").strip().upper()
    if not value:
        return ""
    if _ID_LAST4.fullmatch(value):
        return value
    raise FieldError("id_last4", "身份证后四位应为4个字符：前三位是数字，最后一位是数字或X",
                     "the ID card's last 4 are 3 digits then a digit or X")


def parse_city(text: str) -> str:
    """Where the visitor came from ("" when not given): a short place name, no digits or control characters."""
    value = " ".join(unicodedata.normalize("NFC", text or "").split())
    if not value:
        return ""
    if len(value) > CITY_MAX or any(unicodedata.category(ch)[0] in "CN" or ch in "<>{}" for ch in value):
        raise FieldError("from_city", f"来自城市请填写地名（{CITY_MAX}字以内，不含数字或符号）",
                         f"the city is a place name ({CITY_MAX} characters at most, no digits or symbols)")
    return value


#: What the form's "其他" (other) reason button says; alone it is no reason: the guard writes it after it.
OTHER_REASONS = frozenset({"其他", "other", "其他：", "other:"})


def parse_reason(text: str) -> str:
    """The visit's reason: one from the form's list, or "其他：<what>" (the bare "其他" says nothing)."""
    value = " ".join((text or "").split())
    if value.lower() in OTHER_REASONS:
        raise FieldError("reason", "选择“其他”时请写明来访事由", "with 'Other', write the reason for the visit")
    return value


def parse_household(text: str) -> str:
    """A host household as typed (e.g. ``3-2-401``; full-width digits and dashes folded to ASCII): letters, digits,
    Chinese characters and ``- # / . _``, no spaces, at most :data:`HOUSEHOLD_MAX` characters."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    if not value:
        raise FieldError("host_household", "请填写被访住户（户号，如 3-2-401）",
                         "fill in the host household (e.g. 3-2-401)")
    if len(value) > HOUSEHOLD_MAX or not all(ch.isalnum() or ch in _HOUSEHOLD_SYMBOLS for ch in value):
        raise FieldError("host_household", f"被访住户请填写户号，如 3-2-401（{HOUSEHOLD_MAX}字以内，不含空格）",
                         f"the host household is a household number such as 3-2-401 ({HOUSEHOLD_MAX} characters "
                         "at most, no spaces)")
    return value


def check_host(household: str, lists: Lists) -> None:
    """Refuse a host household the gate's lists say central does not know (lists without households, from an older
    central, cannot tell: then any household is taken). Quarantine is the checkpoint's decision, logged."""
    if lists.household_known(household) is False:
        raise FieldError("host_household", f"住户 {household} 不在本小区住户名单中，请核对户号",
                         f"household {household} is not on this community's list: check the number")
