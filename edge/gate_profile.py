"""The gate's rules as the decision sees them: :class:`edge.decision.GateRules` and
:class:`edge.pairing.PairingRules` from the settings, the parsed opening hours and central's policy."""

from __future__ import annotations

import time
from dataclasses import dataclass

from edge.decision import GateRules, Hours, parse_hours
from edge.direction import GateWay
from edge.lists_policy import Policy
from edge.pairing import PairingRules
from edge.settings import EdgeSettings

_WAYS: dict[str, GateWay] = {"in": "in", "out": "out", "both": "both"}


@dataclass(frozen=True)
class GateProfile:
    """The settings the rules come from, and the opening hours parsed once."""

    settings: EdgeSettings
    open_hours: Hours

    @classmethod
    def of(cls, settings: EdgeSettings) -> GateProfile:
        """The profile of ``settings`` (raises ``ValueError`` for bad opening hours)."""
        return cls(settings, parse_hours(settings.policy.open_hours))

    def rules(self, direction: str | None = None) -> GateRules:
        """The gate rules the decision uses now (``direction``: the one the rules apply; default the gate's)."""
        gate, policy = self.settings.gate, self.settings.policy
        return GateRules(_WAYS[direction or gate.direction], gate.mode, self.open_hours, policy.no_reading,
                         policy.measure_on_exit)

    def pairing_rules(self, policy: Policy) -> PairingRules:
        """The pairing rules now (central's policy applied)."""
        p = self.settings.policy
        return PairingRules(policy.pair_window_s, p.pair_lookback_s, p.samples, policy.fever_c)


def minute_of_day(t: float) -> int:
    """Local minute of the day (0-1439) of the unix time ``t``."""
    lt = time.localtime(t)
    return lt.tm_hour * 60 + lt.tm_min
