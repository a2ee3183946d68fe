"""Central pass management: keys on disk, issuance, revocation, quarantine and the change log."""

from __future__ import annotations

import stat
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization

from central.db import open_db
from central.passes import changelog, issuance, keys
from central.passes.errors import PassAdminError
from sync.passes import decode_envelope, parse_claims


@pytest.fixture
def central(tmp_path, central_url):
    db = open_db(central_url)
    yield db, tmp_path / "data"
    db.close()


def test_private_keys_are_private_files(central):
    db, data_dir = central
    issued = issuance.issue(db, data_dir, household="3-2-401", person=1, kind="resident", days=30)
    kid = issued.info.kid.hex()
    assert stat.S_IMODE((data_dir / "keys").stat().st_mode) == 0o700
    keys.root_key(data_dir)
    for name in (f"pass-{kid}.pem", "root.pem"):
        assert stat.S_IMODE((data_dir / "keys" / name).stat().st_mode) == 0o600
    assert len(kid) == 8 and kid == keys.kid_of(keys.active_key(db, data_dir)[1])
    pem = keys.root_public_pem(data_dir)
    assert serialization.load_pem_public_key(pem.encode()) is not None
    assert pem == keys.root_public_pem(data_dir)  # stable across calls


def test_root_key_made_by_racing_processes_is_one_complete_key(tmp_path):
    # Regression: the second of two processes creating the root key crashed with FileExistsError, or read a
    # half-written PEM file. Now the key file appears complete (linked into place) and both use the same key.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        pems = list(pool.map(lambda _: keys.root_public_pem(tmp_path / "data"), range(16)))
    assert len(set(pems)) == 1
    assert sorted(p.name for p in (tmp_path / "data" / "keys").iterdir()) == ["root.pem"]  # no temporary left


def test_issued_pass_matches_its_record(central):
    db, data_dir = central
    issued = issuance.issue(db, data_dir, household="3-2-401", person=2, kind="visitor", days=1,
                            gates=("north",), name="王五")
    envelope = decode_envelope(issued.text)
    assert parse_claims(envelope.payload, envelope.kid) == issued.info
    assert issuance.get_pass(db, issued.info.pass_id) == issued
    assert issued.qr_version <= 7
    assert "王五" not in issued.text and issued.info.valid_to - issued.info.valid_from == 86400


@pytest.mark.parametrize("kwargs", [dict(household="", person=0, kind="resident", days=1),
                                    dict(household="1-1-1", person=1000, kind="resident", days=1),
                                    dict(household="1-1-1", person=0, kind="alien", days=1),
                                    dict(household="1-1-1", person=0, kind="resident", days=0),
                                    dict(household="1-1-1", person=0, kind="resident", days=1, gates=())])
def test_bad_issue_requests_are_refused_with_a_reason(central, kwargs):
    db, data_dir = central
    with pytest.raises(PassAdminError):
        issuance.issue(db, data_dir, **kwargs)
    assert db.execute("SELECT COUNT(*) FROM passes").fetchone()[0] == 0


def test_every_list_change_is_logged_in_its_transaction(central):
    db, data_dir = central
    p = issuance.issue(db, data_dir, household="3-2-401", person=1, kind="resident", days=30)
    assert issuance.revoke(db, p.info.pass_id, "lost") == 3  # after the key and the new household
    assert issuance.revoke(db, p.info.pass_id, "again") == 3  # idempotent: no second change
    v = issuance.quarantine(db, "3-2-401", date(2026, 11, 20), date(2026, 12, 3))  # 14 days, both included
    change = changelog.changes_since(db, v - 1)["changes"][0]
    assert change["start_ts"] == issuance.local_midnight(date(2026, 11, 20))
    assert change["end_ts"] - change["start_ts"] == 14 * 86400
    with pytest.raises(PassAdminError):
        issuance.quarantine(db, "3-2-401", date(2026, 12, 4), date(2026, 12, 3))
    issuance.release(db, "3-2-401")
    with pytest.raises(PassAdminError):
        issuance.release(db, "3-2-401")
    with pytest.raises(PassAdminError):
        issuance.revoke(db, 999)
    ops = [c["op"] for c in changelog.changes_since(db, 0)["changes"]]
    assert ops == ["key_add", "revoke", "quarantine", "release"]


def test_the_active_key_cannot_be_retired_and_rotation_keeps_one_active(central):
    db, data_dir = central
    kid, _ = keys.active_key(db, data_dir)
    with pytest.raises(PassAdminError):
        keys.retire(db, kid)
    new, old = keys.rotate(db, data_dir)
    assert old.kid == kid and old.status == "verify" and new.status == "active"
    assert keys.retire(db, kid).status == "retired"
    assert [k.status for k in keys.list_keys(db)].count("active") == 1
    with pytest.raises(PassAdminError):
        keys.retire(db, "00000000")


def test_a_pass_issued_now_is_valid_at_a_gate_whose_clock_is_a_little_behind(central, tmp_path):
    import time as _time

    from central.passes import changelog
    from sync.devicedb import open_db
    from sync.lists import apply_page, load
    from sync.passes import GateContext, Now, verify

    db, data_dir = central
    before = _time.time()
    issued = issuance.issue(db, data_dir, household="3-2-401", person=1, kind="resident", days=1)
    assert issued.info.valid_from <= before - issuance.CLOCK_SKEW_ALLOWANCE_S + 1
    gate_db = open_db(tmp_path / "edge.db")
    apply_page(gate_db, changelog.snapshot(db))
    trust, lists = load(gate_db)[:2]
    gate_clock_two_minutes_behind = Now(before - 120, True)
    verdict = verify(issued.text, trust, lists, GateContext("g1", "in"), gate_clock_two_minutes_behind)
    assert verdict.code == "ok"
