"""The city health code ("凭码进出"): what a guarded gate can honestly do offline.

A gate's policy ``[policy] health_code`` is ``off`` (default), ``record`` or ``require``. With ``record`` or
``require``, a pass that would let its holder through is *held*: the guard page shows big 绿/黄/红 buttons and the
guard taps the colour the resident's phone shows (:class:`HealthCodeDesk`). Green lets the person through, yellow
and red refuse (and central raises an alert); no tap within :data:`HOLD_S` refuses with ``require`` and lets
through, noting that no colour was seen, with ``record``. The colour is in the entry (``extra.health_code``).

The city's own code is never called out to: :func:`looks_like_health_code` only recognises one shown to the scanner
by mistake (by its URL's host and path words), so the guard is told to check the colour instead of "not our pass".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Colour = Literal["green", "yellow", "red"]
COLOURS: tuple[Colour, ...] = ("green", "yellow", "red")
Policy = Literal["off", "record", "require"]
HOLD_S = 30.0  # longest wait for the guard's tap (seconds)

#: Words in the host or path of the common city health-code QR payloads (粤康码, i深圳, 健康宝, 随申码, 苏康码,
#: 浙江健康码, 渝康码, 穗康码 ...): they are links to the issuing government service. A code is recognised, never
#: decoded or verified: its colour is only on the phone's screen.
HEALTH_CODE_PATTERN = re.compile(
    r"^https?://[^\s/]*(?:gov\.cn|jkm|jkb|ykm|skm|kangma|healthcode|health-code|hcode|suishen|ssm\.|i\.?shenzhen|"
    r"ishenzhen|yuekang|sukang|jiankangma)[^\s]*|^https?://\S*(?:healthcode|health_code|jkm|jiankangma|kangma)\S*",
    re.IGNORECASE)


def looks_like_health_code(text: str) -> bool:
    """Whether scanned ``text`` is (very probably) a city health code rather than a gatepass pass (pure)."""
    return len(text) <= 2048 and HEALTH_CODE_PATTERN.match(text.strip()) is not None


@dataclass(frozen=True)
class ColourAnswer:
    """What the guard tapped (None: nothing within the hold) and who tapped it."""

    colour: Colour | None
    guard_id: str | None


class HealthCodeDesk:
    """One held scan at a time waiting for the guard's colour (the decide loop waits, the guard page answers)."""

    def __init__(self, hold_s: float = HOLD_S) -> None:
        self.hold_s = hold_s  # longest wait for the guard's tap (seconds)
        self._cond = threading.Condition()
        self._waiting = False
        self._answer: ColourAnswer | None = None

    @property
    def waiting(self) -> bool:
        """Whether a scan is held for the colour now."""
        with self._cond:
            return self._waiting

    def wait(self, keep_waiting: Callable[[], bool], step_s: float = 1.0) -> ColourAnswer:
        """Hold until the guard answers, :attr:`hold_s` passes or ``keep_waiting()`` turns false (checked every
        ``step_s``, e.g. to beat the watchdog and to stop with the service)."""
        with self._cond:
            self._waiting, self._answer = True, None
            left = self.hold_s
            try:
                while self._answer is None and left > 0 and keep_waiting():
                    step = min(step_s, left)
                    self._cond.wait(step)
                    left -= step
                return self._answer or ColourAnswer(None, None)
            finally:
                self._waiting, self._answer = False, None

    def answer(self, colour: str, guard_id: str) -> bool:
        """The guard's tap; False when no scan is held (a late or double tap changes nothing)."""
        if colour not in COLOURS:
            raise ValueError(f"colour must be one of {', '.join(COLOURS)}")
        with self._cond:
            if not self._waiting or self._answer is not None:
                return False
            self._answer = ColourAnswer(colour, guard_id)
            self._cond.notify_all()
            return True

    def wake(self) -> None:
        """Wake a waiting hold (the service stops)."""
        with self._cond:
            self._cond.notify_all()


def colour_code(colour: Colour | None, policy: Policy) -> str | None:
    """The refusal code for what the guard saw, or None when the person may pass (pure)."""
    if colour in ("yellow", "red"):
        return f"health_code_{colour}"
    if colour is None and policy == "require":
        return "health_code_missing"
    return None
