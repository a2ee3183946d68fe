"""Plain data the pass verifier works on: verdicts, pass details, trust list, lists, gate and clock.

Everything here is immutable, so one snapshot can be shared by the scan loop
and replaced as a whole when the lists change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: Pass kinds in claim order: the CBOR claim carries the index.
KINDS: tuple[str, ...] = ("resident", "temporary", "visitor", "staff", "delivery")

#: zh-CN names of the kinds, for the guard screen and printed cards.
KIND_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"resident": "居民", "temporary": "临时", "visitor": "访客", "staff": "工作人员", "delivery": "配送"}
)


@dataclass(frozen=True, slots=True)
class PassInfo:
    """What a decoded, correctly signed pass says. Times are unix seconds (UTC)."""

    pass_id: int
    household: str
    person: int
    kind: str
    valid_from: int
    valid_to: int
    issued_at: int
    gates: tuple[str, ...] | None  # None: valid at every gate
    kid: bytes


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of :func:`sync.passes.verify`.

    ``code`` is machine-readable (see :data:`sync.passes.messages.MESSAGES`);
    ``pass_info`` is set whenever the pass could be decoded and its signature
    checked, so the guard sees whose pass was refused; ``detail`` is an English
    note for logs only (never shown as the reason).
    """

    ok: bool
    code: str
    pass_info: PassInfo | None = None
    detail: str = ""

    @property
    def message_zh(self) -> str:
        """Short zh-CN reason for the guard screen."""
        from sync.passes.messages import message

        return message(self.code, "zh")

    @property
    def message_en(self) -> str:
        """Short English reason."""
        from sync.passes.messages import message

        return message(self.code, "en")


@dataclass(frozen=True, slots=True)
class GateContext:
    """Where the scan happens: the gate id passes name, and which way people pass there."""

    gate_id: str
    direction: Literal["in", "out", "both"] = "both"


@dataclass(frozen=True, slots=True)
class Now:
    """The time to judge passes by (unix seconds) and whether it can be trusted."""

    t: float
    trusted: bool


@dataclass(frozen=True, slots=True)
class TrustKey:
    """One pass-signing public key as the gate holds it.

    A key verifies passes while ``not_before <= now <= not_after`` (``not_after``
    None: open-ended) and it is not ``retired``; so a key scheduled to expire is
    dropped on time even by a gate that has been offline since.
    """

    kid: bytes
    public_key: Ed25519PublicKey
    not_before: float = 0.0
    not_after: float | None = None
    retired: bool = False

    def usable_at(self, t: float) -> bool:
        """Whether this key verifies passes at time ``t``."""
        if self.retired or t < self.not_before:
            return False
        return self.not_after is None or t <= self.not_after


@dataclass(frozen=True)
class TrustList:
    """Pass-signing keys by key id (a read-only mapping)."""

    keys: Mapping[bytes, TrustKey] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, keys: list[TrustKey] | tuple[TrustKey, ...]) -> TrustList:
        """Build a trust list from keys (later duplicates win)."""
        return cls(MappingProxyType({k.kid: k for k in keys}))

    def get(self, kid: bytes) -> TrustKey | None:
        """The key with id ``kid``, or None."""
        return self.keys.get(kid)


Period = tuple[float, float]


def _holds(period: Period | None, t: float) -> bool:
    return period is not None and period[0] <= t < period[1]


@dataclass(frozen=True)
class Lists:
    """Revoked pass ids, households and persons (household, person number) under home quarantine.

    A quarantine period is ``(start, end)`` in unix seconds and holds while ``start <= now < end``: ``end`` is
    local midnight ending the last day of quarantine, when its people may go out again.
    """

    revoked: frozenset[int] = frozenset()
    quarantine: Mapping[str, Period] = field(default_factory=lambda: MappingProxyType({}))
    persons: Mapping[tuple[str, int], Period] = field(default_factory=lambda: MappingProxyType({}))
    #: The households central knows (list format 4); None when the lists carry none (an older central).
    households: frozenset[str] | None = None

    @classmethod
    def of(cls, revoked: set[int] | frozenset[int] = frozenset(), quarantine: dict[str, Period] | None = None,
           persons: dict[tuple[str, int], Period] | None = None,
           households: set[str] | frozenset[str] | None = None) -> Lists:
        """Build lists from plain collections."""
        return cls(frozenset(revoked), MappingProxyType(dict(quarantine or {})), MappingProxyType(dict(persons or {})),
                   None if households is None else frozenset(households))

    def household_known(self, household: str) -> bool | None:
        """Whether central knows ``household`` (None: these lists carry no households to tell)."""
        return None if self.households is None else household in self.households

    def household_quarantined(self, household: str, t: float) -> bool:
        """Whether the whole household is under home quarantine at ``t`` (e.g. to refuse its visitors)."""
        return _holds(self.quarantine.get(household), t)

    def quarantined(self, household: str, person: int, t: float) -> bool:
        """Whether this person is under home quarantine at ``t``: their household, or they alone."""
        return self.household_quarantined(household, t) or _holds(self.persons.get((household, person)), t)
