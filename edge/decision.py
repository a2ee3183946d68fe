"""The pass/refuse decision: a pure function of the verdict, the temperature and the gate's rules.

Everything it needs is an argument (no clock, no configuration lookups), so the
policy is tested on plain data. Reason codes are explained in
:mod:`sync.reasons` (zh-CN and English).

Order of the checks: a confirmed fever refuses first (and is flagged for
immediate sync); then an invalid pass (the verifier's code); then the opening
hours (staff passes are let through); then the temperature (high: refuse and
ask to measure again; missing: refuse, or let the guard decide at a guarded
gate configured so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from edge.pairing import TempStatus

Hours = tuple[tuple[int, int], ...]  # (start minute, end minute) of the day, local time; end may be < start

_RANGE = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")


def parse_hours(text: str) -> Hours:
    """Parse opening hours such as ``"06:00-23:00"`` or ``"06:00-12:00, 13:00-01:00"``.

    Empty text means "always open" (an empty tuple). A range may run past midnight
    (``22:00-06:00``). Raises ``ValueError`` with the offending part otherwise.
    """
    if not text.strip():
        return ()
    out = []
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"opening hours {part.strip()!r}: expected HH:MM-HH:MM")
        h0, m0, h1, m1 = (int(g) for g in m.groups())
        start, end = h0 * 60 + m0, h1 * 60 + m1
        if end > 24 * 60:
            raise ValueError(f"opening hours {part.strip()!r}: 24:00 is the latest end")
        if start == end:
            raise ValueError(f"opening hours {part.strip()!r}: start and end are the same")
        out.append((start, end))
    return tuple(out)


def is_open(hours: Hours, minute_of_day: int) -> bool:
    """Whether ``minute_of_day`` (0-1439, local time) falls inside ``hours`` (empty: always open)."""
    if not hours:
        return True
    for start, end in hours:
        if start < end and start <= minute_of_day < end:
            return True
        if start > end and (minute_of_day >= start or minute_of_day < end):
            return True
    return False


@dataclass(frozen=True, slots=True)
class GateRules:
    """What the decision needs to know about the gate and the policy."""

    direction: Literal["in", "out", "both"] = "both"
    mode: Literal["guarded", "unattended"] = "guarded"
    open_hours: Hours = ()
    no_reading: Literal["refuse", "guard"] = "refuse"
    measure_on_exit: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The result: ``decision`` pass/refuse/guard, a reason ``code`` and flags for the log and screen."""

    decision: Literal["pass", "refuse", "guard", "info"]  # info: a record, nobody passed or was refused
    code: str
    remeasure: bool = False
    fever: bool = False
    priority: bool = False


def needs_temperature(rules: GateRules) -> bool:
    """Whether people at this gate must be measured (exits only when ``measure_on_exit``)."""
    return rules.direction != "out" or rules.measure_on_exit


def decide(pass_ok: bool, pass_code: str, pass_kind: str | None, temp: TempStatus | None, rules: GateRules,
           minute_of_day: int) -> Decision:
    """Decide for one person.

    ``pass_ok``/``pass_code``: the verifier's verdict; ``pass_kind``: resident, staff, ... (None if unknown);
    ``temp``: the judged temperature, or None when not measured (not needed here, or the pass was refused
    first); ``minute_of_day``: local time for the opening hours.
    """
    if temp is TempStatus.FEVER:
        return Decision("refuse", "fever", fever=True, priority=True)
    if not pass_ok:
        return Decision("refuse", pass_code or "corrupt")
    if pass_kind != "staff" and not is_open(rules.open_hours, minute_of_day):
        return Decision("refuse", "closed")
    if temp is TempStatus.HIGH:
        return Decision("refuse", "temp_high", remeasure=True)
    if temp is TempStatus.MISSING:
        if rules.mode == "guarded" and rules.no_reading == "guard":
            return Decision("guard", "temp_missing_guard")
        return Decision("refuse", "temp_missing", remeasure=True)
    if temp is TempStatus.NORMAL:
        return Decision("pass", "temp_ok")
    if needs_temperature(rules):
        # the caller must measure first; refusing is the safe answer if it did not
        return Decision("refuse", "temp_missing", remeasure=True)
    return Decision("pass", "pass_ok")
