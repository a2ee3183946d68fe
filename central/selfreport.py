"""The resident's self-report link: a signed token for one person and one quarantine period, and its limits.

The token (``<quarantine id>-<person>-<signature>``, URL-safe, short enough for a small QR code on the printed
notice) is an HMAC-SHA256 (first 16 bytes, base64url) of the quarantine id, the person and the quarantine's first
and last day, under the secret central keeps in its database (:func:`central.care.secret`). So it opens the page
of that person for that period only: a changed period, a release or the end of the quarantine refuses it, and so
does any change to the token.

:class:`Limits` bounds what a token and an address may do (:class:`gatepass.throttle.FailureCounter` used as a
plain request counter): every request counts against its address and its token, failed token checks against the
address a second time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from central import care
from central.store import CentralDB
from gatepass.clock import SYSTEM, Clock
from gatepass.throttle import FailureCounter, Locked

SIG_BYTES = 16
_TOKEN = re.compile(r"([1-9]\d{0,11})-(0|[1-9]\d{0,6})-([A-Za-z0-9_-]{22})")  # one spelling per token
MAX_TOKEN = 48


class TokenError(care.CareError):
    """A self-report link that is not (or no longer) valid (the message says why, zh-CN / English)."""


INVALID = "链接无效，请联系社区工作人员 / this link is not valid: please call the community staff"
ENDED = "隔离已结束或已解除，无需再上报体温 / the quarantine is over: no more readings"


@dataclass(frozen=True)
class Subject:
    """Whom a token opens the page for."""

    quarantine_id: int
    person: int


def _signature(key: bytes, quarantine_id: int, person: int, first_day: str, last_day: str) -> str:
    message = f"gatepass-care-selfreport|{quarantine_id}|{person}|{first_day}|{last_day}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:SIG_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(key: bytes, quarantine_id: int, person: int, first_day: str, last_day: str) -> str:
    """The token of ``person`` for the quarantine ``quarantine_id`` from ``first_day`` to ``last_day``."""
    return f"{quarantine_id}-{person}-{_signature(key, quarantine_id, person, first_day, last_day)}"


def parse_token(text: str) -> tuple[Subject, str]:
    """The subject a token names and its signature, unchecked; :class:`TokenError` when malformed (pure)."""
    m = _TOKEN.fullmatch(text) if len(text) <= MAX_TOKEN else None
    if m is None:
        raise TokenError(INVALID)
    return Subject(int(m.group(1)), int(m.group(2))), m.group(3)


def check_token(key: bytes, text: str, first_day: str, last_day: str) -> Subject:
    """The subject of a token signed for the period ``first_day``-``last_day``; :class:`TokenError` otherwise."""
    subject, sig = parse_token(text)
    expected = _signature(key, subject.quarantine_id, subject.person, first_day, last_day)
    if not hmac.compare_digest(sig, expected):
        raise TokenError(INVALID)
    return subject


def token_for(db: CentralDB, quarantine_id: int, person: int) -> str:
    """The self-report token of ``person`` for the quarantine ``quarantine_id`` as it stands."""
    rec = care.record(db, quarantine_id)
    if rec is None:
        raise TokenError(INVALID)
    return make_token(care.secret(db), quarantine_id, person, rec.q.first_day, rec.q.last_day)


def verify(db: CentralDB, text: str, now: float) -> tuple[care.CareRecord, int]:
    """The quarantine and person a token opens now: refused when malformed, tampered, for another period, for a
    person the quarantine no longer covers, after release or after the quarantine's end."""
    subject, _ = parse_token(text)
    rec = care.record(db, subject.quarantine_id)
    if rec is None:
        raise TokenError(INVALID)
    check_token(care.secret(db), text, rec.q.first_day, rec.q.last_day)
    if not rec.active or now >= rec.q.end_ts:
        raise TokenError(ENDED)
    if subject.person not in care.persons(db, rec.q):
        raise TokenError(INVALID)
    return rec, subject.person


ADDRESS_LIMIT, TOKEN_LIMIT, BAD_LIMIT = 60, 20, 10
WINDOW_S, LOCKOUT_S = 600.0, 600.0
BUSY = "操作太频繁，请 {n} 秒后再试 / too many requests: try again in {n} s"


class Limits:
    """Requests per address and per token, and failed token checks per address, within a window."""

    def __init__(self, clock: Clock = SYSTEM, *, address_limit: int = ADDRESS_LIMIT, token_limit: int = TOKEN_LIMIT,
                 bad_limit: int = BAD_LIMIT) -> None:
        self.addresses = FailureCounter(address_limit, WINDOW_S, LOCKOUT_S, clock=clock)
        self.tokens = FailureCounter(token_limit, WINDOW_S, LOCKOUT_S, clock=clock)
        self.bad = FailureCounter(bad_limit, WINDOW_S, LOCKOUT_S, clock=clock)

    def admit(self, address: str, token: str) -> float | None:
        """Count a request; the seconds to wait when it is over a limit (None: go ahead)."""
        bad = self.bad.locked_for(address)
        if bad > 0 or self.bad.failures(address) >= self.bad.limit:
            return max(1.0, bad or WINDOW_S)
        try:
            self.addresses.begin(address)
            self.tokens.begin(token[:MAX_TOKEN])
        except Locked as exc:
            return max(1.0, exc.retry_after_s)
        return None

    def failed(self, address: str) -> float | None:
        """Count a failed token check of ``address``; the seconds to wait when that locked it."""
        try:
            self.bad.begin(address)
        except Locked as exc:
            return max(1.0, exc.retry_after_s)
        return WINDOW_S if self.bad.failures(address) >= self.bad.limit else None
