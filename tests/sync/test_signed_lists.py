"""Signed list download: verify against the pinned key, apply in one transaction, refuse old or forged pages."""

from __future__ import annotations

import base64
import json
from datetime import date

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import signing as central_signing
from central.passes import issuance
from sync import client as sync_client
from sync import lists as edge_lists
from sync import signing

from .helpers import Central, sync_settings

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _client(central, tmp_path, pem=None, **over):
    token = central.add_device("gate-a")
    settings = sync_settings(central.url, token, pem or central.public_pem(), tmp_path / "dev", **over)
    return sync_client.SyncClient(settings)


def test_lists_arrive_signed_and_are_applied(central, tmp_path):
    issuance.quarantine(central.db, "3-2-401", date(2026, 11, 20), date(2026, 12, 4))
    issuance.set_policy(central.db, "fever_c", 37.3)
    client = _client(central, tmp_path)
    version = client.fetch_lists()
    assert version == central_signing.central_list_version(central.db) >= 2
    _, lists, policy, meta = edge_lists.load(client.db)
    assert "3-2-401" in lists.quarantine and policy["fever_c"] == 37.3 and meta.version == version
    issuance.release(central.db, "3-2-401")
    assert client.fetch_lists() == version + 1
    assert "3-2-401" not in edge_lists.load(client.db)[1].quarantine
    client.close()


def test_page_signed_by_another_key_is_refused(central, tmp_path):
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    issuance.set_policy(central.db, "fever_c", 37.5)
    client = _client(central, tmp_path, pem=other)
    with pytest.raises(sync_client.RejectedError, match="signature"):
        client.fetch_lists()
    assert edge_lists.meta(client.db).version == 0
    client.close()


def test_pem_may_be_a_file_path(central, tmp_path):
    path = tmp_path / "central.pem"
    path.write_text(central.public_pem())
    client = _client(central, tmp_path, pem=str(path))
    assert client.fetch_lists() == 0
    client.close()


def test_older_version_than_held_is_refused(central, tmp_path):
    issuance.set_policy(central.db, "fever_c", 37.5)
    client = _client(central, tmp_path)
    token = client.settings.device_token.get_secret_value()
    old = httpx.get(central.url + "/api/v1/changes", params={"since": 0},
                    headers={"Authorization": f"Bearer {token}"}).json()
    issuance.set_policy(central.db, "fever_c", 37.6)
    held = client.fetch_lists()
    page = signing.verify_envelope(client.public_key, old)
    with pytest.raises(edge_lists.StaleListError):
        edge_lists.apply_page(client.db, page)
    assert edge_lists.meta(client.db).version == held
    client.close()


def test_snapshot_when_far_behind(central, tmp_path, monkeypatch):
    for i in range(5):
        issuance.set_policy(central.db, "cooldown_s", i)
    monkeypatch.setattr(central_signing, "SNAPSHOT_BEHIND", 2)
    page = central_signing.page_for(central.db, 1, 100)
    assert page["snapshot"] is True and page["version"] == 5
    assert central_signing.page_for(central.db, 4, 100)["snapshot"] is False


KEY = Ed25519PrivateKey.generate()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=st.fixed_dictionaries({"version": st.integers(0, 10**9), "changes": st.lists(st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=10), st.none()), max_size=3), max_size=3)}),
       flip=st.integers(min_value=0))
def test_any_tampering_is_detected(page, flip):
    env = signing.sign_page(KEY, page)
    assert signing.verify_envelope(KEY.public_key(), env)["version"] == page["version"]
    body = bytearray(env["body"].encode())
    body[flip % len(body)] ^= 1 << (flip % 7)
    try:
        tampered = {**env, "body": body.decode()}
    except UnicodeDecodeError:
        return
    if tampered["body"] == env["body"]:
        return
    with pytest.raises(signing.SignatureError):
        signing.verify_envelope(KEY.public_key(), tampered)


@settings(deadline=None)  # no timing limits in tests (CONTRIBUTING)
@given(env=st.one_of(st.none(), st.integers(), st.text(), st.dictionaries(st.text(max_size=8), st.one_of(
    st.text(max_size=40), st.integers(), st.none()), max_size=6)))
def test_garbage_envelopes_are_refused_cleanly(env):
    if isinstance(env, dict) and env:
        env = {**env, "format": "gatepass-signed/1", "alg": "Ed25519",
               "sig": base64.b64encode(b"x" * 64).decode(), "body": json.dumps(env)}
    with pytest.raises(signing.SignatureError):
        signing.verify_envelope(KEY.public_key(), env)


def test_a_replayed_expired_page_is_refused(central, tmp_path, monkeypatch):
    client = _client(central, tmp_path)
    edge_lists.note_server_time(client.db, 2_000_000_000.0)  # central already confirmed a later time
    real_sign = signing.sign_page
    monkeypatch.setattr(signing, "sign_page", lambda key, page: real_sign(key, page, now=1_700_000_000.0))
    with pytest.raises(sync_client.RejectedError, match="expired"):
        client.fetch_lists()
    client.close()


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.text(max_size=120).map(
    lambda body: f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")))
def test_any_central_public_key_text_is_loaded_or_refused_with_a_reason(text, tmp_path_factory):
    try:
        key = signing.load_public_key(text)
    except signing.SignatureError as exc:
        assert "central_public_key" in str(exc)
    else:
        assert len(signing.kid_of(key)) == 8
