"""The vehicle form's fields and the vehicle lane's rule, as pure functions that say what is wrong in Chinese.

A vehicle at the gate: its plate (:func:`sync.plates.parse_plate`), its driver (a resident whose pass was just
scanned, a visitor on the "now inside" list, or a name and phone typed), the purpose (:data:`PURPOSES`) and an
optional note. :class:`VehicleForm` is the guard page's request body; a refusal names the field and the reason
(:func:`field_errors`), which the page shows under that field.

Which gates take vehicles, and for which purposes (:func:`lane_purposes`): the gate's settings (``[gate]
vehicle_lane`` and ``vehicle_purposes``), unless central's policy ``vehicle_lanes`` (a JSON object of gate id ->
list of purposes, set with the other gate policy and synced down with the lists) names this gate: then central's
list wins (an empty list: not a vehicle lane).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.visitor_fields import FieldError
from sync.plates import PlateError, parse_plate

Purpose = Literal["resident", "delivery", "medical", "works", "other"]
DriverKind = Literal["resident", "visitor", "person"]
#: The purposes a vehicle comes for, with their names on the page and in the ledger.
PURPOSES: dict[str, dict[str, str]] = {
    "resident": {"zh-CN": "业主车辆", "en": "Resident"},
    "delivery": {"zh-CN": "配送", "en": "Delivery"},
    "medical": {"zh-CN": "医疗/急救", "en": "Medical"},
    "works": {"zh-CN": "工程", "en": "Works"},
    "other": {"zh-CN": "其他", "en": "Other"},
}
POLICY_KEY = "vehicle_lanes"  # central's policy: {gate id: [purposes]}
NAME_MAX = 20  # characters of a driver's name
NOTE_MAX = 40  # characters of the purpose's note
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}[0-9]{7,8}")
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）\u3000]")

FIELD_NAMES = {"form": "表单", "plate": "车牌号", "purpose": "用途", "driver": "驾驶人", "driver_ref": "驾驶人",
               "name": "驾驶人姓名", "phone": "驾驶人电话", "note": "备注"}


def plate_field(text: str) -> str:
    """The plate, normalised; a :class:`FieldError` on ``plate`` with the reason."""
    try:
        return parse_plate(text)
    except PlateError as exc:
        raise FieldError("plate", exc.zh, exc.en) from None


def _no_control(field: str, value: str, zh_name: str) -> None:
    if any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise FieldError(field, f"{zh_name}含有不可见的控制字符，请重新输入", f"the {field} holds control characters")


def name_field(text: str) -> str:
    """A driver's name ("" when not given): spaces folded, at most :data:`NAME_MAX` characters, no control
    characters, digits or markup."""
    value = " ".join(unicodedata.normalize("NFC", text or "").split())
    _no_control("name", value, "姓名")
    if len(value) > NAME_MAX:
        raise FieldError("name", f"姓名太长（{NAME_MAX}字以内）", f"the name is longer than {NAME_MAX} characters")
    if any(ch.isdigit() or ch in "<>{}\\/@#$%^&*=+|~`" for ch in value):
        raise FieldError("name", "姓名不能含数字或符号", "a name has no digits or symbols")
    return value


def phone_field(text: str) -> str:
    """A driver's phone ("" when not given): a mainland mobile (11 digits from 1) or a landline with its area code;
    +86 / 0086 and separators dropped."""
    value = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    _no_control("phone", value, "电话")
    if not value:
        return ""
    for prefix in ("+86", "0086"):
        if value.startswith(prefix) and len(value) - len(prefix) == 11:
            value = value[len(prefix):]
    if _MOBILE.fullmatch(value) or _LANDLINE.fullmatch(value):
        return value
    raise FieldError("phone", "电话应为11位手机号（1开头），或带区号的座机号", "a phone is an 11-digit mobile "
                     "number starting with 1, or a landline with its area code")


def note_field(text: str) -> str:
    """The purpose's note ("" when none): spaces folded, short, no control characters."""
    value = " ".join(unicodedata.normalize("NFC", text or "").split())
    _no_control("note", value, "备注")
    if len(value) > NOTE_MAX:
        raise FieldError("note", f"备注太长（{NOTE_MAX}字以内）", f"the note is longer than {NOTE_MAX} characters")
    return value


class VehicleForm(BaseModel):
    """A vehicle the guard registers at a vehicle lane."""

    model_config = ConfigDict(extra="forbid", str_max_length=200)

    plate: Annotated[str, Field(max_length=40), AfterValidator(plate_field)]
    purpose: Purpose
    note: Annotated[str, Field(max_length=200), AfterValidator(note_field)] = ""
    driver: DriverKind = "person"
    driver_ref: str = Field("", pattern=r"^[0-9A-Za-z_.:-]{0,64}$")  # the resident's scan, or the visit
    name: Annotated[str, Field(max_length=200), AfterValidator(name_field)] = ""
    phone: Annotated[str, Field(max_length=40), AfterValidator(phone_field)] = ""

    @model_validator(mode="after")
    def _driver_is_known(self) -> VehicleForm:
        if self.driver == "person" and not self.name:
            raise FieldError("name", "请填写驾驶人姓名", "enter the driver's name")
        if self.driver == "person" and not self.phone:
            raise FieldError("phone", "请填写驾驶人电话", "enter the driver's phone")
        if self.driver != "person" and not self.driver_ref:
            raise FieldError("driver", "请选择驾驶人（刚扫码的住户或在场访客）",
                             "choose the driver (the resident just scanned, or a visitor inside)")
        if self.purpose == "other" and not self.note:
            raise FieldError("note", "选择“其他”时请写明用途", "with 'Other', write the purpose")
        return self


def field_errors(exc: ValidationError) -> dict[str, dict[str, str]]:
    """Each bad field of a :class:`VehicleForm` with its reason: ``{field: {"zh-CN": ..., "en": ...}}``."""
    out: dict[str, dict[str, str]] = {}
    for err in exc.errors():
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            out.setdefault(cause.field, {"zh-CN": cause.zh, "en": cause.en})
            continue
        field = str(err["loc"][0]) if err["loc"] else "form"
        name = FIELD_NAMES.get(field, field)
        zh = f"{name}太长" if err["type"] == "string_too_long" else f"{name}填写有误"
        out.setdefault(field, {"zh-CN": zh, "en": f"{field}: {err['msg']}"})
    return out


def lane_purposes(lane: bool, purposes: list[str], policy: Mapping[str, object], gate_id: str) -> frozenset[str]:
    """The purposes vehicles may enter for at this gate (empty: not a vehicle lane): central's
    ``vehicle_lanes[gate_id]`` when it names the gate (unknown purposes ignored), else the gate's settings."""
    lanes = policy.get(POLICY_KEY)
    if isinstance(lanes, Mapping) and gate_id in lanes:
        central = lanes[gate_id]
        return frozenset(p for p in central if p in PURPOSES) if isinstance(central, list) else frozenset()
    return frozenset(p for p in purposes if p in PURPOSES) if lane else frozenset()


def purpose_refusal(purpose: str, allowed: frozenset[str]) -> tuple[str, str] | None:
    """Why ``purpose`` may not enter here (zh-CN, English), or None when it may."""
    if purpose in allowed:
        return None
    names = "、".join(PURPOSES[p]["zh-CN"] for p in PURPOSES if p in allowed) or "无"
    return (f"不允许{PURPOSES[purpose]['zh-CN']}车辆；只允许{names}",
            f"no '{PURPOSES[purpose]['en']}' vehicles at this lane")
