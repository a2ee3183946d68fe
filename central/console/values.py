"""Total conversions of stored values for pages, exports and the console's JSON.

A gate (or anything else that wrote the database) may have stored numbers that are not finite or out of any
sensible range, text where a number belongs, or control characters in text. Every function here accepts any
value and never raises: the console shows "数值异常" / "invalid value" (or "时间异常" for times, see
:mod:`central.console.timeutil`) instead of failing the whole page for everyone.
"""

from __future__ import annotations

import math
import re
from typing import Any

INVALID_VALUE = "数值异常"
MAX_SHOWN = 1e12  # a number beyond this (a skew, a temperature, a count) is shown as invalid, not as 300 digits
#: Characters XML 1.0 (so XLSX) cannot hold and that a terminal or spreadsheet would act on: C0 controls but
#: tab, line feed and carriage return; DEL and the C1 controls; lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def finite(value: object) -> float | None:
    """``value`` as a finite float; None for anything else (None, NaN, infinities, huge integers, text, bools)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def decimal(value: object, digits: int = 1, signed: bool = False, invalid: str = INVALID_VALUE) -> str:
    """``value`` with ``digits`` decimals ('' for None, ``invalid`` when it is no finite number or beyond
    :data:`MAX_SHOWN`)."""
    if value is None:
        return ""
    number = finite(value)
    if number is None or abs(number) >= MAX_SHOWN:
        return invalid
    return f"{number:{'+' if signed else ''}.{digits}f}"


def whole(value: object, invalid: str = INVALID_VALUE) -> str:
    """``value`` rounded to a whole number ('' for None, ``invalid`` when it is no finite number or beyond
    :data:`MAX_SHOWN`)."""
    if value is None:
        return ""
    number = finite(value)
    return invalid if number is None or abs(number) >= MAX_SHOWN else str(round(number))


def count(value: object) -> int | None:
    """A non-negative whole number below 10^12 (a backlog, a count), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = finite(value)
    return int(number) if number is not None and number.is_integer() and 0 <= number < 1e12 else None


def clean_text(value: str) -> str:
    """Text with control characters written out visibly (``\\x01``), so exports and pages hold only text."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", value)


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON has no NaN or Infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 50:
        return None
    if isinstance(value, dict):
        return {k: json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    return value
