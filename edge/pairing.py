"""Pairing a scan with a body temperature, and judging it: pure functions on plain data.

The thermometer loop keeps recent readings as :class:`Sample` (monotonic time,
body temperature or None for "no subject"). After a scan at ``t_scan``,
:func:`pair` picks the body-range readings from ``t_scan - lookback_s`` to
``t_scan + window_s`` (never one already used for the previous person) and
turns the first ``samples`` of them into one measurement (their median, so a
single stray value does not decide). :func:`judge_temperature` then says
normal / high (re-measure) / fever (high twice) / missing.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """One thermometer reading: ``t`` monotonic seconds, ``body_c`` deg C (None: no subject)."""

    t: float
    body_c: float | None


@dataclass(frozen=True, slots=True)
class PairingRules:
    """How a scan is paired with readings (seconds, readings, deg C)."""

    window_s: float = 5.0
    lookback_s: float = 2.0
    samples: int = 3
    fever_c: float = 37.3


@dataclass(frozen=True, slots=True)
class Measurement:
    """The outcome of pairing: ``temp_c`` (None: no body reading yet), every body reading used, and
    whether waiting longer could change it (``complete``); ``last_t`` is the time of the last reading used."""

    temp_c: float | None
    temps: tuple[float, ...]
    complete: bool
    last_t: float | None = None


class TempStatus(enum.Enum):
    """How a measurement is judged."""

    NORMAL = "normal"
    HIGH = "high"        # at or above the threshold once: refuse, ask to measure again
    FEVER = "fever"      # high again within the re-measure window: a fever event
    MISSING = "missing"  # no body reading in the window


def pair(samples: Iterable[Sample], t_scan: float, now: float, rules: PairingRules,
         not_before: float | None = None) -> Measurement:
    """Pair the scan at ``t_scan`` with readings, as far as they are known at ``now``.

    ``not_before``: readings at or before this time were used for someone else and are skipped.
    Complete once ``rules.samples`` body readings are in, or when the window is over.
    """
    start = t_scan - rules.lookback_s
    end = t_scan + rules.window_s
    body: list[Sample] = []
    for s in samples:
        if s.body_c is None or s.t < start or s.t > end or s.t > now:
            continue
        if not_before is not None and s.t <= not_before:
            continue
        body.append(s)
    body.sort(key=lambda s: s.t)
    used = body[:max(1, rules.samples)]
    complete = len(used) >= rules.samples or now >= end
    if not used:
        return Measurement(None, (), complete)
    temps = tuple(s.body_c for s in used if s.body_c is not None)
    return Measurement(round(statistics.median(temps), 2), temps, complete, used[-1].t)


def judge_temperature(temp_c: float | None, fever_c: float, high_before: bool) -> TempStatus:
    """Normal, high (first time: re-measure), fever (``high_before``: high again) or missing."""
    if temp_c is None:
        return TempStatus.MISSING
    if temp_c >= fever_c:
        return TempStatus.FEVER if high_before else TempStatus.HIGH
    return TempStatus.NORMAL
