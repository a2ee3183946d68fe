"""What central corrects in an uploaded row before storing it: pure rules on plain data.

:mod:`sync.protocol` refuses what no gate can send (NaN, 64-bit overflows, over-long texts). What a broken or
hostile gate *can* send is stored, never refused (a refused batch stops that gate's uploads), but made harmless
first, so that no stored value breaks a page, an export, or another gate's figures:

* ``gate_id`` is the gate the device is registered for (``devices.gate_id``), whatever the row says: a gate's
  rows never feed another gate's traces and reports. A different claim is kept in ``corrections``.
* ``wall_ts`` later than central's clock + :data:`FUTURE_SLACK_S` or earlier than :data:`EARLIEST_WALL_TS` (a
  clock that was never set, a bad real-time clock, or a forged value such as 2.6e11 or -1e300) is replaced by the
  best estimate central has, and the row gets ``time_suspect`` = 1. The estimate is central's clock minus the
  monotonic time that passed on the gate since the entry (same boot as the report), else the receive time.
  The lower bound is a fixed date, not "now - 1 day": a gate that was offline for days sends genuine old rows.
* ``temp_c`` outside :data:`TEMP_RANGE_C` is stored as NULL (no reading).
* Texts: control characters (Unicode category Cc, tab and newline included), lone surrogates and the
  non-characters U+FFFE/U+FFFF become U+FFFD.

Every original value that was replaced is kept in the row's ``corrections``: JSON in ASCII only (NULL when nothing
was changed), e.g. ``{"gate_id": "south", "wall_ts": 260000000000.0, "text": {"reason": "ok\\u0007"}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Earliest plausible entry time (unix s): before gatepass existed, so only an unset or broken clock says it.
EARLIEST_WALL_TS = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
#: How far after central's clock an entry time may be (s): a gate clock a little ahead is normal.
FUTURE_SLACK_S = 24 * 3600.0
#: Body temperatures a thermometer can report (°C); anything else is no reading.
TEMP_RANGE_C = (-50.0, 100.0)
REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """``value`` with every control character, lone surrogate and U+FFFE/U+FFFF replaced by U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, value)


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character :func:`clean_text` replaces. Each of them (categories Cc, Cs, Cn) is
    one ``str.isprintable`` says is not printable, so a printable text (nearly every one) needs no regular
    expression: a C pass over it, several times faster than the search."""
    return not text.isprintable() and _UNSAFE.search(text) is not None


def plausible_time(t: float, now: float) -> bool:
    """Whether an entry time can be right, given central's clock ``now``."""
    return EARLIEST_WALL_TS <= t <= now + FUTURE_SLACK_S


@dataclass(frozen=True)
class Context:
    """What the rules need besides the row: the registered gate, central's clock and the upload's report."""

    gate_id: str
    now: float
    report_boot_id: str
    report_mono_now: float


def estimated_time(row: dict[str, Any], ctx: Context) -> float:
    """Central's best estimate of when an entry with a wrong ``wall_ts`` happened: central's clock minus the
    monotonic time that passed on the gate since (when the entry is from the report's boot), else ``ctx.now``."""
    elapsed = ctx.report_mono_now - row["mono_ts"]
    if row.get("boot_id") == ctx.report_boot_id and 0 <= elapsed and plausible_time(ctx.now - elapsed, ctx.now):
        return ctx.now - elapsed
    return ctx.now


def any_unsafe_text(rows: list[dict[str, Any]]) -> bool:
    """Whether any text of any of ``rows`` holds a character :func:`clean_text` replaces: one search over all of
    them (a character class matches single code points, so joining the texts neither makes nor hides a match).
    Most batches hold none, and then :func:`screen` need not look at each row's texts."""
    return has_unsafe("".join([v for row in rows for v in row.values() if isinstance(v, str)]))


def screen(row: dict[str, Any], ctx: Context, *, texts: bool = True, in_place: bool = False) -> dict[str, Any]:
    """The row as central stores it (a new dict with ``time_suspect`` and ``corrections``); see the module.
    ``texts=False``: the caller has found no text to clean in it (:func:`any_unsafe_text`). ``in_place``: the
    caller gives ``row`` away (a dict it built for this), which is changed and returned rather than copied."""
    out = row if in_place else dict(row)
    corrections: dict[str, Any] = {}
    if out.get("gate_id") != ctx.gate_id:
        corrections["gate_id"] = out.get("gate_id")
        out["gate_id"] = ctx.gate_id
    out["time_suspect"] = 0
    if not plausible_time(out["wall_ts"], ctx.now):
        corrections["wall_ts"] = out["wall_ts"]
        out["wall_ts"] = estimated_time(out, ctx)
        out["time_suspect"] = 1
    temp = out.get("temp_c")
    if temp is not None and not TEMP_RANGE_C[0] <= temp <= TEMP_RANGE_C[1]:
        corrections["temp_c"] = temp
        out["temp_c"] = None
    unsafe = _unsafe_texts(out) if texts else {}
    if unsafe:
        corrections["text"] = unsafe
        out.update({k: clean_text(v) for k, v in unsafe.items()})
    out["corrections"] = _ascii_json(corrections) if corrections else None
    return out


def _unsafe_texts(row: dict[str, Any]) -> dict[str, str]:
    """The texts of ``row`` holding a character :func:`clean_text` replaces (one search over all of them first:
    a character class matches single code points, so joining the texts neither makes nor hides a match)."""
    strings = [v for v in row.values() if isinstance(v, str)]
    if not has_unsafe("".join(strings)):
        return {}
    return {k: v for k, v in row.items() if isinstance(v, str) and has_unsafe(v)}


def _ascii_json(value: Any) -> str:
    """JSON with every non-ASCII character escaped (a lone surrogate included: it could not be stored raw)."""
    return json.dumps(value, ensure_ascii=True, sort_keys=True, allow_nan=False)


def clean_report(report: dict[str, Any]) -> dict[str, Any]:
    """A report as central keeps it (``devices.last_report``): its texts, fault codes included, made safe."""
    out: dict[str, Any] = {k: clean_text(v) if isinstance(v, str) else v for k, v in report.items()}
    found = out.get("faults")
    if isinstance(found, list):
        out["faults"] = [{**f, "code": clean_text(f["code"])} if isinstance(f, dict) and isinstance(f.get("code"), str)
                         else f for f in found]
    return out
