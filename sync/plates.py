"""Mainland China vehicle plates: validated and normalised by one pure function both ends use.

:func:`parse_plate` takes what a guard typed (full-width characters, lower case, spaces, the dot or dash printed
between the authority letter and the number) and returns the plate in its one written form (``京A12345``,
``粤BD12345``), or raises :class:`PlateError` with the reason in Chinese and English.

Accepted:

* **ordinary plates** (7 characters): a province abbreviation (:data:`PROVINCES`), the issuing authority's letter,
  then 5 letters or digits (letters never I or O: they would read as 1 and 0); the last may instead be 挂
  (trailer), 学 (learner), 警 (police), 港 or 澳 (Hong Kong and Macao cars crossing at Guangdong);
* **new-energy plates** (8 characters): the province and the letter, then 6: a small car's number starts with its
  energy letter (D, A, B, C, E: battery; F, G, H, J, K: hybrid), the next is a letter or digit and the last 4 are
  digits (``京AD12345``, ``粤BFA1234``); a large vehicle's number is 5 digits ending with the energy letter
  (``沪A12345D``).

Refused, each with its own reason: military (军, VA…, the 武警 "WJ" plates), embassy and consulate plates (使, 领).
They are not issued by the traffic police of a province, their number formats differ and change, and such vehicles
do not come under a residential compound's vehicle register: the guard handles them by the community's own
procedure (call the office) rather than typing something the register would then hold as a plate.
"""

from __future__ import annotations

import re
import unicodedata

#: The 31 province-level abbreviations that begin a mainland plate.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
#: The special endings of an ordinary plate: trailer, learner, police, Hong Kong, Macao.
SUFFIXES = "挂学警港澳"
#: The energy letters of a new-energy plate (D, A, B, C, E: battery electric; F, G, H, J, K: not only electric).
ENERGY = "DABCEFGHJK"
PLATE_MAX = 12  # characters typed at most (separators included); anything longer is no plate

_LETTER = "A-HJ-NP-Z"  # no I, no O
_ORDINARY = re.compile(f"[{PROVINCES}][{_LETTER}](?:[{_LETTER}0-9]{{5}}|[{_LETTER}0-9]{{4}}[{SUFFIXES}])")
_SMALL_NEV = re.compile(f"[{PROVINCES}][{_LETTER}][{ENERGY}][{_LETTER}0-9][0-9]{{4}}")
_LARGE_NEV = re.compile(f"[{PROVINCES}][{_LETTER}][0-9]{{5}}[{ENERGY}]")
_SEPARATORS = re.compile(r"[\s·•・.\-_]")


class PlateError(ValueError):
    """A text that is no mainland plate: the reason in zh-CN (``zh``) and English (``en``)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def normalise(text: str) -> str:
    """What was typed in the plate's written form: full-width to half-width (NFKC), upper case, the separators
    (spaces, middle dots, dashes) dropped. Nothing is checked."""
    value = unicodedata.normalize("NFKC", text or "").upper()
    return _SEPARATORS.sub("", value)


def parse_plate(text: str) -> str:
    """The plate in ``text`` in its written form; raises :class:`PlateError` with the reason (see the module doc)."""
    if len(text or "") > PLATE_MAX * 2:
        raise PlateError("车牌号太长", "the plate is too long")
    plate = normalise(text)
    if not plate:
        raise PlateError("请填写车牌号", "enter the plate")
    _refuse_special(plate)
    if any(unicodedata.category(ch)[0] == "C" for ch in plate):
        raise PlateError("车牌号含有不可见的控制字符", "the plate holds control characters")
    if plate[0] not in PROVINCES:
        raise PlateError("车牌号第一个字应为省份简称，如“京”“粤”", "a plate starts with a province, e.g. 京 or 粤")
    if len(plate) < 2 or not re.fullmatch(f"[{_LETTER}]", plate[1]):
        raise PlateError("省份简称后应为发牌机关字母（不含I和O），如“京A”",
                         "after the province comes the authority's letter (no I or O), e.g. 京A")
    if "I" in plate or "O" in plate:
        raise PlateError("车牌号中没有字母I和O：请检查是否为数字1和0", "plates have no I or O: is it 1 or 0?")
    return _checked_number(plate)


def _refuse_special(plate: str) -> None:
    """Military, armed police, embassy and consulate plates: refused with what to do instead."""
    if "使" in plate or "领" in plate:
        raise PlateError("使馆、领馆车辆号牌不在本登记范围，请按社区规定人工处理",
                         "embassy and consulate plates are not registered here: follow the community's procedure")
    if "军" in plate or plate.startswith("WJ") or re.match(r"[A-Z]{2}[0-9]{5}$", plate):
        raise PlateError("军队、武警车辆号牌不在本登记范围，请按社区规定人工处理",
                         "military and armed police plates are not registered here: follow the community's procedure")


def _checked_number(plate: str) -> str:
    """The plate when its number (after province and letter) has a valid length and form."""
    number = plate[2:]
    if len(number) == 6:
        if _SMALL_NEV.fullmatch(plate) or _LARGE_NEV.fullmatch(plate):
            return plate
        raise PlateError("新能源车牌（8位）：小型车号码以D或F等能源字母开头、后四位为数字；"
                         "大型车为五位数字加能源字母结尾",
                         "a new-energy plate (8 characters): a small car's number starts with D, F... and ends with "
                         "4 digits; a large vehicle's is 5 digits then D, F...")
    if len(number) == 5:
        if _ORDINARY.fullmatch(plate):
            return plate
        if any(ch not in "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ" for ch in number[:4]):
            raise PlateError("车牌号码只能是字母和数字", "a plate's number is letters and digits only")
        raise PlateError(f"车牌最后一位只能是字母、数字或“{'、'.join(SUFFIXES)}”",
                         f"a plate ends with a letter, a digit or one of {SUFFIXES}")
    raise PlateError(f"车牌号位数不对：普通车牌7位，新能源车牌8位（现为{len(plate)}位）",
                     f"wrong length: ordinary plates have 7 characters, new-energy plates 8 (this one {len(plate)})")


def is_new_energy(plate: str) -> bool:
    """Whether a plate (as :func:`parse_plate` returns it) is a new-energy plate (8 characters)."""
    return len(plate) == 8
