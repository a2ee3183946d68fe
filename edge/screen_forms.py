"""The guard page's request bodies: parsed and checked here, rejected with a reason in plain words."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.visitor_fields import FieldError, parse_city, parse_household, parse_id_last4, parse_reason

OverrideReason = Literal["emergency", "medical", "staff", "other"]
HealthCodeColour = Literal["green", "yellow", "red"]

OVERRIDE_REASONS = {
    "emergency": {"zh-CN": "紧急情况", "en": "Emergency"},
    "medical": {"zh-CN": "就医", "en": "Medical"},
    "staff": {"zh-CN": "工作人员", "en": "Staff"},
    "other": {"zh-CN": "其他", "en": "Other"},
}
NOTE_MAX = 60  # characters of the guard's note on an override (as edge.guard_desk.NOTE_MAX)

FIELD_NAMES = {
    "guard_id": {"zh-CN": "工号", "en": "Guard ID"},
    "pin": {"zh-CN": "PIN码", "en": "PIN"},
    "ref_uuid": {"zh-CN": "记录", "en": "Entry"},
    "reason": {"zh-CN": "事由", "en": "Reason"},
    "name": {"zh-CN": "姓名", "en": "Name"},
    "phone": {"zh-CN": "电话", "en": "Phone"},
    "host_household": {"zh-CN": "被访住户", "en": "Host household"},
    "temperature_c": {"zh-CN": "体温", "en": "Temperature"},
    "muted": {"zh-CN": "静音", "en": "Mute"},
    "direction": {"zh-CN": "通行方向", "en": "Direction"},
    "note": {"zh-CN": "备注", "en": "Note"},
    "confirmed": {"zh-CN": "确认", "en": "Confirmation"},
    "colour": {"zh-CN": "健康码颜色", "en": "Health code colour"},
    "id_last4": {"zh-CN": "身份证后四位", "en": "ID card's last 4"},
    "from_city": {"zh-CN": "来自城市", "en": "Coming from (city)"},
    "outside_14d": {"zh-CN": "14天内是否离开本市", "en": "Outside the city in the last 14 days"},
}

#: Sentences for a field whose own check failed (instead of "<field> is wrong").
FIELD_PROBLEMS = {
    "note": {"zh-CN": f"选择“其他”时请写明原因（{NOTE_MAX}字以内）",
             "en": f"With 'Other', write the reason ({NOTE_MAX} characters at most)"},
}

_PHONE_SEPARATORS = re.compile(r"[\s\-()]")


def _clean_text(value: str) -> str:
    """Trimmed text with no control characters (a form field shown on screens and in reports)."""
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("contains control characters")
    if not value:
        raise ValueError("is empty")
    return value


def _phone(value: str) -> str:
    """A phone number: digits with an optional leading +; spaces, dashes and brackets are dropped."""
    digits = _PHONE_SEPARATORS.sub("", value.strip())
    if not re.fullmatch(r"\+?[0-9]{5,15}", digits):
        raise ValueError("must be 5 to 15 digits")
    return digits


class _FieldProblem(ValueError):
    """A check across fields that failed on ``field`` (its sentence is in :data:`FIELD_PROBLEMS`)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"problem:{field}")
        self.field = field


def _problem_field(err: dict) -> str | None:
    """The field named by a :class:`_FieldProblem` in a pydantic error, else None."""
    cause = (err.get("ctx") or {}).get("error")
    return cause.field if isinstance(cause, _FieldProblem) else None


def _note(value: str) -> str:
    """An optional short note: spaces folded, no control characters ("" when none)."""
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("contains control characters")
    return value


Text = Annotated[str, Field(max_length=60), AfterValidator(_clean_text)]
Note = Annotated[str, Field(max_length=NOTE_MAX), AfterValidator(_note)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200)


class SignInForm(_Form):
    """A guard signing in to a shift."""

    guard_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,32}$")
    pin: str = Field(pattern=r"^[0-9]{4,12}$")


class OverrideForm(_Form):
    """Letting a refused person through."""

    ref_uuid: str = Field(pattern=r"^[0-9A-Za-z\-]{1,64}$")
    reason: OverrideReason
    note: Note = ""         # required for "other"
    confirmed: bool = False  # the guard confirmed a second time (quarantine, fever, health code refusals)

    @model_validator(mode="after")
    def _other_needs_a_note(self) -> OverrideForm:
        if self.reason == "other" and not self.note:
            raise _FieldProblem("note")
        return self


class HealthCodeForm(_Form):
    """The colour of the city health code the guard saw on the resident's phone."""

    colour: HealthCodeColour


class VisitorForm(_Form):
    """A visitor without a pass."""

    name: Text
    phone: Annotated[str, Field(max_length=30), AfterValidator(_phone)]
    host_household: Annotated[str, Field(max_length=60), AfterValidator(parse_household)]
    reason: Annotated[Text, AfterValidator(parse_reason)]
    temperature_c: float | None = Field(None, ge=30.0, le=45.0)
    id_last4: Annotated[str, Field(max_length=10), AfterValidator(parse_id_last4)] = ""
    from_city: Annotated[str, Field(max_length=40), AfterValidator(parse_city)] = ""
    outside_14d: bool | None = None  # None: not asked

    def details(self) -> dict[str, object]:
        """The optional answers that were given (for the visit's record)."""
        given = {"id_last4": self.id_last4, "from_city": self.from_city, "outside_14d": self.outside_14d}
        return {k: v for k, v in given.items() if v not in ("", None)}


class MuteForm(_Form):
    """The mute toggle."""

    muted: bool


class DirectionForm(_Form):
    """The direction at a "both" gate: "in", "out", or null for automatic."""

    direction: Literal["in", "out"] | None


def describe_errors(exc: ValidationError) -> dict[str, str]:
    """One sentence per bad field, in zh-CN and English, for showing on the guard page; ``field``: the first bad
    field (the page shows the sentence there)."""
    zh, en, bad = [], [], []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else (_problem_field(dict(err)) or "")
        bad.append(field)
        if field in FIELD_PROBLEMS and (not err["loc"] or err["type"] == "string_too_long"):
            zh.append(FIELD_PROBLEMS[field]["zh-CN"])
            en.append(FIELD_PROBLEMS[field]["en"])
            continue
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):  # a field parser's own reason (edge.visitor_fields)
            zh.append(cause.zh)
            en.append(cause.en)
            continue
        names = FIELD_NAMES.get(field, {"zh-CN": field, "en": field})
        zh.append(f"{names['zh-CN']}填写有误")
        en.append(f"{names['en']}: {err['msg']}")
    return {"message_zh": "；".join(dict.fromkeys(zh)) or "输入有误", "message_en": "; ".join(en) or "invalid input",
            "field": next((f for f in bad if f), "")}
