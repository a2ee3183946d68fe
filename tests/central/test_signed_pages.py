"""Central's signed list pages are built and signed once per request and change-log state, handed out again for
at most ``max_age_s`` (central.signing.SignedPages): a fleet polling "anything after my version?" costs one
small query per poll, and a device never gets a page older than the change log it asked about."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central import signing
from central.db import open_db
from central.passes import issuance
from gatepass.clock import ManualClock
from sync.signing import verify_envelope

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    yield d
    d.close()


def _page(envelope: dict) -> dict:
    return verify_envelope(KEY.public_key(), envelope)


def test_a_repeated_poll_gets_the_same_signed_page_until_it_is_max_age_old(db):
    issuance.set_policy(db, "fever_c", 37.3)
    clock = ManualClock()
    pages = signing.SignedPages(KEY, max_age_s=1.0, clock=clock)
    first = pages.page(db, 1, 500, 2)
    clock.advance(0.9)
    assert pages.page(db, 1, 500, 2) is first  # signed once
    assert pages.page(db, 1, 500, 3) is not first  # another format is another page
    clock.advance(0.2)
    again = pages.page(db, 1, 500, 2)
    assert again is not first and _page(again)["issued_at"] == clock.time()  # signed anew, stamped now
    assert _page(again)["version"] == _page(first)["version"] == 1 and _page(again)["changes"] == []


def test_a_new_change_is_in_the_very_next_poll(db):
    issuance.set_policy(db, "fever_c", 37.3)
    pages = signing.SignedPages(KEY, max_age_s=3600.0, clock=ManualClock())
    assert _page(pages.page(db, 1, 500, 2))["changes"] == []
    issuance.set_policy(db, "fever_c", 37.5)
    page = _page(pages.page(db, 1, 500, 2))
    assert page["version"] == 2 and [c["value"] for c in page["changes"]] == [37.5]


def test_a_pruned_change_log_gives_a_snapshot_at_once(db):
    for value in (37.1, 37.2, 37.3):
        issuance.set_policy(db, "fever_c", value)
    pages = signing.SignedPages(KEY, max_age_s=3600.0, clock=ManualClock())
    assert _page(pages.page(db, 1, 500, 2))["snapshot"] is False
    with db.transaction():
        db.execute("DELETE FROM pass_changes WHERE v < 3")
    page = _page(pages.page(db, 1, 500, 2))
    assert page["snapshot"] is True and page["version"] == 3


def test_pages_kept_stay_bounded(db):
    clock = ManualClock()
    pages = signing.SignedPages(KEY, max_age_s=60.0, clock=clock, most=8)
    for since in range(40):
        pages.page(db, since, 500, 1)
        assert len(pages._pages) <= 8


def test_list_bounds_read_in_one_query(db):
    assert signing.list_bounds(db) == (0, None)
    issuance.set_policy(db, "fever_c", 37.3)
    issuance.set_policy(db, "fever_c", 37.4)
    assert signing.list_bounds(db) == (2, 1)


@pytest.fixture
def served(central_database, tmp_path):
    from tests.sync.helpers import Central

    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def test_the_device_api_hands_out_one_signed_page_and_still_checks_every_token(served):
    import httpx

    issuance.set_policy(served.db, "fever_c", 37.3)
    token = served.add_device("gate-a")
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"}) as http:
        one, two = (http.get("/api/v1/changes", params={"since": 1, "format": 2}) for _ in range(2))
        assert one.status_code == two.status_code == 200 and one.json() == two.json()  # the same signature
        assert http.get("/api/v1/whoami").json()["device_id"] == "gate-a"
        bad = {"Authorization": "Bearer not-a-token"}
        assert http.get("/api/v1/changes", params={"since": 1, "format": 2}, headers=bad).status_code == 401
        assert http.get("/api/v1/whoami", headers=bad).status_code == 401
        assert http.get("/api/v1/changes", params={"since": 1}, headers={"Authorization": ""}).status_code == 401
        issuance.set_policy(served.db, "fever_c", 37.5)
        page = http.get("/api/v1/changes", params={"since": 1, "format": 2}).json()
    assert [c["value"] for c in verify_envelope(served_key(served), page)["changes"]] == [37.5]


def served_key(central):
    from sync.signing import load_public_key

    return load_public_key(central.public_pem())


def test_devices_far_behind_share_one_signed_snapshot(db, monkeypatch):
    for value in (37.1, 37.2, 37.3, 37.4):
        issuance.set_policy(db, "fever_c", value)
    monkeypatch.setattr(signing, "SNAPSHOT_BEHIND", 2)
    pages = signing.SignedPages(KEY, max_age_s=3600.0, clock=ManualClock())
    new, behind = pages.page(db, 0, 500, 2), pages.page(db, 1, 100, 2)
    assert behind is new and _page(new)["snapshot"] is True and _page(new)["version"] == 4
    assert _page(pages.page(db, 3, 500, 2))["snapshot"] is False  # one behind: changes, not the snapshot
