"""Fixtures for pass tests: a signing key, its trust list, and a pass factory."""

from __future__ import annotations

import dataclasses
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.passes import GateContext, Lists, Now, PassInfo, TrustKey, TrustList, sign_pass

KID = bytes.fromhex("a1b2c3d4")
# A fixed private key so that failures are reproducible.
SEED = bytes(range(32))
NOW = 1795424000  # 2026-11-23, well past the clock floor


@pytest.fixture(scope="session")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


@pytest.fixture(scope="session")
def trust(key) -> TrustList:
    return TrustList.of([TrustKey(KID, key.public_key(), not_before=NOW - 86400 * 30)])


def make_info(**changes) -> PassInfo:
    base = PassInfo(pass_id=1234, household="3-2-401", person=1, kind="resident", valid_from=NOW - 3600,
                    valid_to=NOW - 3600 + 30 * 86400, issued_at=NOW - 3600, gates=None, kid=KID)
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="session")
def make_pass(key):
    def make(**changes) -> tuple[str, PassInfo]:
        info = make_info(**changes)
        return sign_pass(info, key), info
    return make


@pytest.fixture
def gate() -> GateContext:
    return GateContext("north", "both")


@pytest.fixture
def now() -> Now:
    return Now(float(NOW), True)


@pytest.fixture
def no_lists() -> Lists:
    return Lists()


@pytest.fixture
def wall_now() -> float:
    return time.time()
