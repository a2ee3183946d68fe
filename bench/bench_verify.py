"""Pass verification: ``sync.passes.verify`` per pass against a bare Ed25519 verify (the baseline).

Also reports the size of a typical pass: its character count and QR version at error correction M.
"""

from __future__ import annotations

import statistics
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.harness import Result, interleaved, percentile
from central.passes.issuance import make_qr
from sync.passes import GateContext, Lists, Now, PassInfo, TrustKey, TrustList, decode_envelope, sign_pass, verify


def _alternating_samples(fns: list, n: int) -> list[list[float]]:
    """Per-call times of each function, calls alternating so that load hits all of them alike."""
    out: list[list[float]] = [[] for _ in fns]
    clock = time.perf_counter
    for _ in range(n):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            out[i].append(clock() - t0)
    return out


def run(quick: bool = False) -> list[Result]:
    key = Ed25519PrivateKey.generate()
    kid = b"\xa1\xb2\xc3\xd4"
    now = int(time.time())
    info = PassInfo(123456, "12-3-1201", 2, "resident", now - 60, now - 60 + 30 * 86400, now - 60, None, kid)
    text = sign_pass(info, key)
    trust = TrustList.of([TrustKey(kid, key.public_key())])
    lists = Lists.of(revoked=set(range(1_000_000, 1_010_000)),
                     quarantine={f"9-{i // 100}-{i % 100}": (0.0, 2e9) for i in range(2000)})
    gate, when = GateContext("north", "both"), Now(time.time(), True)
    envelope = decode_envelope(text)
    signed, signature, public = envelope.signed_bytes(), envelope.signature, key.public_key()
    assert verify(text, trust, lists, gate, when).ok

    def full() -> None:
        verify(text, trust, lists, gate, when)

    def bare() -> None:
        public.verify(signature, signed)

    def garbage() -> None:
        verify("GP1:" + "Z" * 170, trust, lists, gate, when)

    repeat, number = (3, 200) if quick else (9, 1000)
    medians = interleaved({"verify": full, "ed25519": bare, "garbage": garbage}, repeat=repeat, number=number)
    singles_verify, singles_bare = _alternating_samples([full, bare], 2000 if quick else 20000)
    qr = make_qr(text)
    return [
        Result("verify() per pass, median", medians["verify"] * 1e6, "us", "bare Ed25519 verify",
               medians["ed25519"] * 1e6),
        Result("verify() per pass, p99 (single calls)", percentile(singles_verify, 99) * 1e6, "us",
               "bare Ed25519 verify p99", percentile(singles_bare, 99) * 1e6,
               notes={"single-call median us": f"{statistics.median(singles_verify) * 1e6:.1f}"}),
        Result("verify() of Base45 garbage, median", medians["garbage"] * 1e6, "us", "bare Ed25519 verify",
               medians["ed25519"] * 1e6),
        Result("typical pass size", len(text), "chars",
               notes={"QR version (ECC M, alphanumeric)": qr.version, "modules": qr.symbol_size(border=0)[0]}),
    ]
