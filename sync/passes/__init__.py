"""Passes on the gate: the GP1 codec and the pure offline verifier.

``verify(text, trust_list, lists, gate, now) -> Verdict``; build ``now`` with
:func:`effective_now`; the trust list and lists come from :func:`sync.lists.load`.
"""

from sync.passes.codec import PREFIX, PassFormatError, decode_envelope, parse_claims, sign_pass
from sync.passes.messages import MESSAGES, message
from sync.passes.model import KIND_NAMES_ZH, KINDS, GateContext, Lists, Now, PassInfo, TrustKey, TrustList, Verdict
from sync.passes.verify import DEFAULT_CLOCK_FLOOR, effective_now, verify

__all__ = [
    "DEFAULT_CLOCK_FLOOR", "KINDS", "KIND_NAMES_ZH", "MESSAGES", "PREFIX", "GateContext", "Lists", "Now",
    "PassFormatError", "PassInfo", "TrustKey", "TrustList", "Verdict", "decode_envelope", "effective_now",
    "message", "parse_claims", "sign_pass", "verify",
]
