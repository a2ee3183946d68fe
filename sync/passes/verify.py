"""Offline pass verification: a pure function of the pass text, keys, lists, gate and clock."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature

from sync.passes.codec import PassFormatError, decode_envelope, parse_claims
from sync.passes.model import GateContext, Lists, Now, PassInfo, TrustList, Verdict

log = logging.getLogger(__name__)

#: Default build-time clock floor: a Pi without a real-time clock that boots
#: before this (and has never heard from central) knows its clock is unset.
DEFAULT_CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def effective_now(system_time: float, last_server_time: float | None,
                  clock_floor: float = DEFAULT_CLOCK_FLOOR) -> Now:
    """The time to verify by: ``max(system time, last time confirmed by central)``.

    Trusted when central has confirmed a time at least once, or the system
    clock is past ``clock_floor``; otherwise the clock is known to be unset
    (a Pi booted without network starts near 1970 or its last shutdown).
    """
    if last_server_time is not None:
        return Now(max(system_time, last_server_time), True)
    return Now(system_time, system_time >= clock_floor)


def _refuse(code: str, info: PassInfo | None = None, detail: str = "") -> Verdict:
    return Verdict(False, code, info, detail)


def _judge(info: PassInfo, lists: Lists, gate: GateContext, now: Now) -> Verdict:
    if info.pass_id in lists.revoked:
        return _refuse("revoked", info)
    if not now.trusted or not math.isfinite(now.t):  # NaN would pass every period check
        return _refuse("clock_not_set", info)
    if now.t < info.valid_from:
        return _refuse("not_yet_valid", info)
    if now.t >= info.valid_to:
        return _refuse("expired", info)
    if gate.direction != "in" and lists.quarantined(info.household, info.person, now.t):
        return _refuse("quarantined", info)
    if info.gates is not None and gate.gate_id not in info.gates:
        return _refuse("wrong_gate", info)
    return Verdict(True, "ok", info)


def _verify(text: str, trust_list: TrustList, lists: Lists, gate: GateContext, now: Now) -> Verdict:
    try:
        envelope = decode_envelope(text)
    except PassFormatError as exc:
        return _refuse(exc.code, detail=str(exc))
    key = trust_list.get(envelope.kid)
    if key is None:
        return _refuse("unknown_key", detail=f"kid {envelope.kid.hex()} not in trust list")
    if now.trusted and not key.usable_at(now.t):
        return _refuse("unknown_key", detail=f"kid {envelope.kid.hex()} retired or outside its validity")
    if key.retired:
        return _refuse("unknown_key", detail=f"kid {envelope.kid.hex()} retired")
    try:
        key.public_key.verify(envelope.signature, envelope.signed_bytes())
    except InvalidSignature:
        return _refuse("bad_signature", detail=f"kid {envelope.kid.hex()}")
    try:
        info = parse_claims(envelope.payload, envelope.kid)
    except PassFormatError as exc:
        return _refuse(exc.code, detail=f"signed but {exc}")
    return _judge(info, lists, gate, now)


def verify(text: str, trust_list: TrustList, lists: Lists, gate: GateContext, now: Now) -> Verdict:
    """Decide whether the pass ``text`` admits its holder at ``gate`` at ``now``.

    Pure: no I/O, no clock, no logging on the normal path. Never raises: any
    malformed input yields a refusal with a reason code (see
    :data:`sync.passes.messages.MESSAGES`). Checks, in order: format, key,
    signature, claims, revocation, clock, validity period, home quarantine of
    the pass's household or of its person (refuses exits only: at an "out" or
    "both" gate), allowed gates.
    """
    try:
        return _verify(text, trust_list, lists, gate, now)
    except Exception as exc:  # last line of defence: hostile input must never crash the gate
        log.warning("pass verification failed unexpectedly: %r", exc)
        return _refuse("corrupt", detail=f"unexpected {type(exc).__name__}")
