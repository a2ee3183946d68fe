"""The console's query parameters, typed and bounded: FastAPI answers a value out of bounds with 422 (an HTML page
naming the field on a page, the JSON list of problems on ``/console/api/*``), and they appear in the console's
OpenAPI schema, which the fuzzing test reads. Text fields are capped in length; integers in form fields that a
person may leave empty are read by :func:`whole_number`, which takes ASCII digits only (``int()`` would take
"²" or "١٢" and then fail elsewhere).
"""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query
from pydantic import BaseModel, Field

from central.console.errors import ConsoleError
from central.console.i18n import translator
from central.console.timeutil import day_bounds, parse_day

MAX_TEXT = 200  # characters of any text field of a query
INT64_MAX = 2**63 - 1  # ids and sequence numbers are 64-bit integers in both databases
MAX_ALERT_HOURS = 24 * 31
MAX_SHIFT_DAYS = 92

Text = Annotated[str, Field(max_length=MAX_TEXT)]
QueryText = Annotated[str, Query(max_length=MAX_TEXT)]
Cursor = Annotated[str, Query(max_length=1024, description="the next_cursor of the previous page")]
Hours = Annotated[float, Query(gt=0, le=MAX_ALERT_HOURS, allow_inf_nan=False, description="window (hours)")]
Days = Annotated[float, Query(gt=0, le=3660, allow_inf_nan=False, description="window (days, at most 92 used)")]
RowId = Annotated[int, Query(ge=0, le=INT64_MAX)]

_DIGITS = re.compile(r"[0-9]{1,9}")


class EntryQuery(BaseModel):
    """The entries filters of a query string (all optional; times ``YYYY-MM-DD[ HH:MM]`` local)."""

    since: Text = ""
    until: Text = ""
    community: Text = ""
    gate_id: Text = ""
    direction: Text = ""
    decision: Text = ""
    reason: Text = ""
    fever: Text = ""
    pass_id: Text = ""
    household: Text = ""
    visitor_ref: Text = ""
    guard_id: Text = ""


class TraceQuery(BaseModel):
    """What to trace: ``kind`` = ``value`` between ``since`` and ``until``, contacts within ``minutes``."""

    kind: Text = "pass_id"
    value: Text = ""
    since: Text = ""
    until: Text = ""
    minutes: Text = "15"


class ReportQuery(BaseModel):
    """The daily report's day (``YYYY-MM-DD``, today when empty) and community (all when empty)."""

    day: Text = ""
    community: Text = ""
    trend: Text = ""  # the trend's span: 14 or 30 days (central.console.reports.trend_days)


def whole_number(text: str, name: str, lo: int, hi: int, default: int) -> int:
    """A form field's whole number in ``lo..hi`` (``default`` when empty); ConsoleError (400) with the reason
    otherwise. Only ASCII digits count."""
    text = text.strip()
    if not text:
        return default
    if not _DIGITS.fullmatch(text) or not lo <= int(text) <= hi:
        raise ConsoleError(f"{name} 须为 {lo}–{hi} 的整数 / {name} must be a whole number {lo}-{hi}: {text[:20]!r}")
    return int(text)


def ledger_days(day_from: str, day_to: str, tz: ZoneInfo, lang: str, max_days: int) -> tuple[float, float]:
    """The span of a ledger's day filters (``YYYY-MM-DD`` local, both included; today when empty, the first day
    when only it is given) as unix seconds from local midnight to local midnight; a :class:`ConsoleError` in the
    member's language when a day is malformed, the last is before the first, or the span exceeds ``max_days``."""
    t = translator(lang)
    try:
        first = parse_day(day_from, tz)
        last = parse_day(day_to, tz, default=first) if day_to else first
    except ConsoleError:
        raise ConsoleError(t("visitor.bad_day")) from None
    if last < first:
        raise ConsoleError(t("visitor.bad_period"))
    if (last - first).days >= max_days:
        raise ConsoleError(t("visitor.too_long").replace("{n}", str(max_days)))
    return day_bounds(first, tz)[0], day_bounds(last, tz)[1]
