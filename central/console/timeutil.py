"""Local time for the console: parsing form values and formatting unix seconds.

The console shows and accepts times in one zone (:data:`DEFAULT_TZ`, the street office's), independent
of the server's own zone. Form values are ``YYYY-MM-DDTHH:MM`` (HTML ``datetime-local``) or ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from central.console.errors import ConsoleError

DEFAULT_TZ = "Asia/Shanghai"


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
    return value.timestamp()


def parse_day(text: str | None, tz: ZoneInfo, default: date | None = None) -> date:
    """A ``YYYY-MM-DD`` day (``default`` or today in ``tz`` when empty)."""
    if text is None or not text.strip():
        return default or datetime.now(tz).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConsoleError(f"not a date: {text.strip()[:40]!r}", "use YYYY-MM-DD") from None


def day_bounds(day: date, tz: ZoneInfo) -> tuple[float, float]:
    """Unix seconds of local midnight at the start and end of ``day``."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()


def fmt(ts: float | None, tz: ZoneInfo, with_seconds: bool = True) -> str:
    """``YYYY-MM-DD HH:MM:SS`` local time of unix seconds ('' for None)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def fmt_input(ts: float | None, tz: ZoneInfo) -> str:
    """Local time as an HTML ``datetime-local`` value."""
    return "" if ts is None else datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%dT%H:%M")
