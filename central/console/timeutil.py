"""Local time for the console: parsing form values and formatting unix seconds.

The console shows and accepts times in one zone (:data:`DEFAULT_TZ`, the street office's), independent
of the server's own zone. Form values are ``YYYY-MM-DDTHH:MM`` (HTML ``datetime-local``) or ``YYYY-MM-DD``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from central.console.errors import ConsoleError

DEFAULT_TZ = "Asia/Shanghai"
FIRST_YEAR, LAST_YEAR = 1970, 2999  # what a person may ask for in a date or time field
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def zone(name: str = DEFAULT_TZ) -> ZoneInfo:
    """The console's time zone."""
    return ZoneInfo(name)


def parse_local(text: str | None, tz: ZoneInfo) -> float | None:
    """Unix seconds of a local ``YYYY-MM-DD[THH:MM[:SS]]`` value; None when empty; ConsoleError when malformed."""
    if text is None or not text.strip():
        return None
    text = text.strip().replace(" ", "T")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConsoleError(f"not a date/time: {text[:40]!r}", "use YYYY-MM-DD HH:MM") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    _check_year(value.year, text)
    return value.timestamp()


def parse_day(text: str | None, tz: ZoneInfo, default: date | None = None) -> date:
    """A ``YYYY-MM-DD`` day (``default`` or today in ``tz`` when empty)."""
    if text is None or not text.strip():
        return default or datetime.now(tz).date()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ConsoleError(f"not a date: {text.strip()[:40]!r}", "use YYYY-MM-DD") from None
    _check_year(day.year, text.strip())
    return day


def _check_year(year: int, text: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ConsoleError(f"date out of range: {text[:40]!r}", f"use a date in {FIRST_YEAR}-{LAST_YEAR}")


def day_bounds(day: date, tz: ZoneInfo) -> tuple[float, float]:
    """Unix seconds of local midnight at the start and end of ``day``."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()


INVALID_TIME = "时间异常"  # what a stored time that is no time (not finite, out of range, not a number) shows as


def as_time(ts: object) -> datetime | None:
    """The aware UTC datetime of unix seconds ``ts``; None for anything that is no representable time
    (None, NaN, infinities, out of the years 1-9999, text, bools ...). Never raises."""
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    try:
        if not math.isfinite(ts):
            return None
        return _EPOCH + timedelta(seconds=ts)
    except (OverflowError, ValueError):
        return None


def fmt(ts: object, tz: ZoneInfo, with_seconds: bool = True, invalid: str = INVALID_TIME) -> str:
    """``YYYY-MM-DD HH:MM:SS`` local time of unix seconds ('' for None, ``invalid`` for any value that is no
    representable time). Total: never raises, whatever a row holds."""
    if ts is None:
        return ""
    when = _local(ts, tz)
    if when is None:
        return invalid
    return when.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def fmt_export(ts: object, tz: ZoneInfo) -> str:
    """A time for an export cell: as :func:`fmt`, and a value that is no time as "时间异常 (<stored value>)"."""
    return fmt(ts, tz, invalid=f"{INVALID_TIME} ({str(ts)[:40]})")


def fmt_input(ts: object, tz: ZoneInfo) -> str:
    """Local time as an HTML ``datetime-local`` value ('' for None or a value that is no time)."""
    when = None if ts is None else _local(ts, tz)
    return "" if when is None else when.strftime("%Y-%m-%dT%H:%M")


def _local(ts: object, tz: ZoneInfo) -> datetime | None:
    when = as_time(ts)
    if when is None:
        return None
    try:
        local = when.astimezone(tz)
    except (OverflowError, ValueError):  # within a day of year 1 or 9999
        return None
    return local
