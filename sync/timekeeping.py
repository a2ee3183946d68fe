"""One notion of time on a gate without a battery clock: central's time carried on the monotonic clock.

Every list page central serves is signed with the time it was issued (``issued_at``, verified against the key the
gate pins; an upload reply's unsigned ``server_time`` is never used for this). The sync process notes it as an
:class:`Anchor` — central's signed time, the system's monotonic time when the page arrived, and the kernel's boot id
— in the sync state (``server_anchor``), with every list fetch (about once a minute). Both gate
processes read ``CLOCK_MONOTONIC`` of the same kernel, so within one boot the checkpoint's best estimate of the
time is ``anchor.t + (monotonic now - anchor.mono)``, whatever the wall clock says (1970 after a power cut, an
hour behind before NTP, a year ahead after a bad RTC write). :func:`best_now` decides (pure):

* an anchor from this boot: the system clock when it agrees with the estimate within :data:`AGREE_S`, else the
  estimate; trusted either way;
* no anchor from this boot: the system clock, trusted only when it is not earlier than the clock floor (build
  date, last known good time) nor than the last time central confirmed (:func:`sync.passes.effective_now` held
  it up to that time before, stamping every entry with one stale time), and, when the gate's last good time of
  this boot is known (``reference``, :meth:`gatepass.startup.ClockGuard.reference`), not more than
  :data:`gatepass.startup.STEP_S` ahead of or behind it carried on the monotonic clock: a clock that jumped years
  ahead or hours back is not believed, and the carried time is the estimate (untrusted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from gatepass.startup import STEP_S
from sync.passes import Now

#: The system clock is believed when it is within this many seconds of central's time carried forward.
AGREE_S = 120.0


@dataclass(frozen=True)
class Anchor:
    """Central's time ``t`` (unix s), received at monotonic ``mono`` (s) during boot ``boot``."""

    t: float
    mono: float
    boot: str

    def as_json(self) -> dict[str, object]:
        """What the sync state keeps."""
        return {"t": self.t, "mono": self.mono, "boot": self.boot}

    @classmethod
    def from_json(cls, value: Any) -> Anchor | None:
        """The anchor in the sync state, or None when absent or malformed."""
        if not isinstance(value, dict):
            return None
        t, mono, boot = value.get("t"), value.get("mono"), value.get("boot")
        if not (_number(t) and _number(mono) and isinstance(boot, str)):
            return None
        return cls(float(t), float(mono), boot)


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def best_now(system: float, mono: float, boot: str, anchor: Anchor | None, last_server_time: float | None,
             floor: float, reference: Anchor | None = None) -> Now:
    """The best estimate of the time now and whether it can be trusted (see the module docstring).

    ``reference``: the gate's own last good time of this boot on the monotonic clock (not central's)."""
    if anchor is not None and anchor.boot == boot and mono >= anchor.mono:
        carried = anchor.t + (mono - anchor.mono)
        return Now(system if abs(system - carried) <= AGREE_S else carried, True)
    if reference is not None and reference.boot == boot and mono >= reference.mono:
        carried = reference.t + (mono - reference.mono)
        if abs(system - carried) > STEP_S:
            return Now(carried, False)
    behind = last_server_time is not None and system < last_server_time - AGREE_S
    return Now(system, system >= floor and not behind)
