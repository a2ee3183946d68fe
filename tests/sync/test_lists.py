"""Device-side lists: pages from central's change log applied in one transaction, loaded for ``verify``."""

from __future__ import annotations

import copy
import time
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.db import open_db
from central.passes import changelog, issuance, keys
from gatepass.sqlitedb import connect
from sync import lists as edge_lists
from sync.passes import GateContext, Now, verify


@pytest.fixture
def central(tmp_path, central_url):
    db = open_db(central_url)
    yield db, tmp_path / "central"
    db.close()


@pytest.fixture
def edge_db(tmp_path):
    db = connect(tmp_path / "edge.db")
    edge_lists.migrate(db)
    yield db
    db.close()


def _dump(db) -> dict:
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("list_revoked", "list_quarantine", "list_trust_keys", "list_policy", "list_meta", "list_guards")}


def test_central_changes_reach_the_verifier(central, edge_db):
    cdb, data_dir = central
    resident = issuance.issue(cdb, data_dir, household="3-2-401", person=1, kind="resident", days=30)
    lost = issuance.issue(cdb, data_dir, household="3-2-402", person=0, kind="resident", days=30)
    today = date.today()
    issuance.quarantine(cdb, "3-2-401", date.fromordinal(today.toordinal() - 1),
                        date.fromordinal(today.toordinal() + 13))
    issuance.revoke(cdb, lost.info.pass_id, "card lost")
    issuance.set_policy(cdb, "fever_c", 37.3)
    page = changelog.changes_since(cdb, 0)
    assert [c["op"] for c in page["changes"]] == ["key_add", "quarantine", "revoke", "policy"]
    assert edge_lists.apply_page(edge_db, page) == page["version"] == 6  # and the two new households (format 4)

    trust, lists, policy, meta = edge_lists.load(edge_db)
    now = Now(time.time(), True)
    assert policy == {"fever_c": 37.3} and meta.version == 6 and meta.server_time == page["issued_at"]
    assert verify(resident.text, trust, lists, GateContext("east", "in"), now).ok
    assert verify(resident.text, trust, lists, GateContext("east", "out"), now).code == "quarantined"
    assert verify(lost.text, trust, lists, GateContext("east", "in"), now).code == "revoked"

    issuance.release(cdb, "3-2-401")
    issuance.unrevoke(cdb, lost.info.pass_id)
    edge_lists.apply_page(edge_db, changelog.changes_since(cdb, 6))
    trust, lists, _, _ = edge_lists.load(edge_db)
    assert verify(resident.text, trust, lists, GateContext("east", "out"), now).ok
    assert verify(lost.text, trust, lists, GateContext("east", "in"), now).ok


def test_rotation_and_retirement_flow_down(central, edge_db):
    cdb, data_dir = central
    old = issuance.issue(cdb, data_dir, household="1-1-101", person=0, kind="staff", days=2)
    new_key, previous = keys.rotate(cdb, data_dir)
    new = issuance.issue(cdb, data_dir, household="1-1-101", person=1, kind="staff", days=2)
    assert previous.kid == old.info.kid.hex() and previous.status == "verify"
    assert previous.not_after == old.info.valid_to  # the old key verifies until its last pass expires
    edge_lists.apply_page(edge_db, changelog.changes_since(cdb, 0))
    trust, lists, _, _ = edge_lists.load(edge_db)
    gate, now = GateContext("g"), Now(time.time(), True)
    assert verify(old.text, trust, lists, gate, now).ok and verify(new.text, trust, lists, gate, now).ok
    assert verify(old.text, trust, lists, gate, Now(old.info.valid_to + 1, True)).code == "unknown_key"

    keys.retire(cdb, previous.kid)
    edge_lists.apply_page(edge_db, changelog.changes_since(cdb, edge_lists.meta(edge_db).version))
    trust, lists, _, _ = edge_lists.load(edge_db)
    assert verify(old.text, trust, lists, gate, now).code == "unknown_key"
    assert verify(new.text, trust, lists, gate, now).ok


def test_paging_snapshot_stale_and_gap(central, edge_db):
    cdb, data_dir = central
    issued = [issuance.issue(cdb, data_dir, household=f"2-1-{i}", person=0, kind="resident", days=5)
              for i in range(5)]
    for p in issued:
        issuance.revoke(cdb, p.info.pass_id)
    first = changelog.changes_since(cdb, 0, limit=2)
    assert first["more"] and first["version"] == 2
    since = 0
    while True:
        page = changelog.changes_since(cdb, since, limit=2)
        since = edge_lists.apply_page(edge_db, page)
        if not page["more"]:
            break
    assert since == 11  # the key, 5 new households (list format 4 only), 5 revocations
    held = _dump(edge_db)
    with pytest.raises(edge_lists.StaleListError):
        edge_lists.apply_page(edge_db, first)
    issuance.quarantine(cdb, "2-1-0", date(2026, 11, 20), date(2026, 12, 4))
    issuance.quarantine(cdb, "2-1-1", date(2026, 11, 20), date(2026, 12, 4))
    with pytest.raises(edge_lists.ListGapError):
        edge_lists.apply_page(edge_db, changelog.changes_since(cdb, 12))
    assert _dump(edge_db) == held
    edge_lists.apply_page(edge_db, changelog.changes_since(cdb, 11))
    again = changelog.changes_since(cdb, 10)  # overlaps what is held: re-applying is harmless
    edge_lists.apply_page(edge_db, again)
    incremental = _dump(edge_db)

    fresh = connect(edge_db_path := (data_dir.parent / "fresh.db"))
    edge_lists.migrate(fresh)
    edge_lists.apply_page(fresh, changelog.snapshot(cdb))
    snap_trust, snap_lists, _, _ = edge_lists.load(fresh)
    inc_trust, inc_lists, _, _ = edge_lists.load(edge_db)
    assert snap_lists == inc_lists and set(snap_trust.keys) == set(inc_trust.keys)
    assert incremental["list_meta"][-1][1] == "13"
    fresh.close()
    assert edge_db_path.exists()


def test_a_bad_change_applies_nothing(edge_db, central):
    cdb, data_dir = central
    issuance.issue(cdb, data_dir, household="1-1-101", person=0, kind="resident", days=1)
    page = changelog.changes_since(cdb, 0)
    broken = copy.deepcopy(page)
    broken["changes"].append({"v": 99, "op": "revoke", "pass_id": "not a number"})
    broken["version"] = 99
    with pytest.raises(edge_lists.ListError):
        edge_lists.apply_page(edge_db, broken)
    assert edge_lists.meta(edge_db).version == 0 and _dump(edge_db)["list_trust_keys"] == []
    assert edge_lists.apply_page(edge_db, page) == 2  # the key, and the household (not in format 1)


def test_non_finite_times_are_refused(edge_db):
    # Regression: NaN/inf passed the type checks; a NaN quarantine period never matches (exit allowed) and an
    # infinite server time would have made every pass expired for good ("the clock never goes back").
    quarantine = {"v": 1, "op": "quarantine", "household": "1-1-101", "start": "2026-11-20", "end": "2026-12-04",
                  "start_ts": float("nan"), "end_ts": 2e9}
    with pytest.raises(edge_lists.ListError):
        edge_lists.apply_page(edge_db, {"version": 1, "since": 0, "changes": [quarantine]})
    assert _dump(edge_db)["list_quarantine"] == []
    edge_lists.apply_page(edge_db, {"version": 1, "since": 0, "changes": [], "issued_at": float("inf")})
    assert edge_lists.meta(edge_db).server_time is None
    edge_lists.note_server_time(edge_db, float("inf"))  # ignored (logged), never raises into the sync loop
    edge_lists.note_server_time(edge_db, float("nan"))
    assert edge_lists.meta(edge_db).server_time is None


def test_server_time_never_goes_back(edge_db):
    edge_lists.note_server_time(edge_db, 2000.0)
    edge_lists.note_server_time(edge_db, 1000.0)
    assert edge_lists.meta(edge_db).server_time == 2000.0


change = st.fixed_dictionaries({"v": st.integers(-2, 5) | st.text(max_size=2), "op": st.sampled_from(
    [*edge_lists.OPS, "drop_table", None])}, optional={
    "pass_id": st.integers(-2, 10) | st.text(max_size=3) | st.none(),
    "household": st.text(max_size=5) | st.integers(),
    "start": st.text(max_size=10), "end": st.text(max_size=10),
    "start_ts": st.floats() | st.text(max_size=2), "end_ts": st.integers() | st.floats() | st.none(),
    "kid": st.text(max_size=8) | st.sampled_from(["a1b2c3d4", "zz"]),
    "public_key": st.text(max_size=64) | st.just("00" * 32),
    "key": st.text(max_size=5), "value": st.none() | st.integers() | st.text(max_size=5),
    "guard_id": st.text(max_size=70) | st.integers() | st.none(),
    "pin_hash": st.text(max_size=5) | st.just("$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA") | st.none()})
pages = st.fixed_dictionaries({"version": st.integers(-1, 8) | st.text(max_size=2),
                               "changes": st.lists(change, max_size=6) | st.none()},
                              optional={"since": st.integers(-1, 8) | st.none(), "snapshot": st.booleans(),
                                        "format": st.sampled_from(["gatepass-lists/1", "gatepass-lists/3", "other"]),
                                        "issued_at": st.floats() | st.text(max_size=3)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(page=pages | st.none() | st.lists(st.integers(), max_size=3))
def test_any_page_is_applied_whole_or_refused_whole(edge_db, page):
    before = _dump(edge_db)
    try:
        edge_lists.apply_page(edge_db, page)
    except edge_lists.ListError:
        assert _dump(edge_db) == before
    edge_lists.load(edge_db)  # whatever was stored loads


def test_key_retire_matches_the_kid_whatever_its_case(edge_db):
    # Regression: key_add stores the kid lower-case but key_retire compared it as sent, so an upper-case
    # retirement silently left the key trusted.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    edge_lists.apply_page(edge_db, {"version": 1, "since": 0, "changes": [
        {"v": 1, "op": "key_add", "kid": "A1B2C3D4", "public_key": pub, "not_before": 0}]})
    edge_lists.apply_page(edge_db, {"version": 2, "since": 1, "changes": [
        {"v": 2, "op": "key_retire", "kid": "A1B2C3D4"}]})
    trust, _, _, _ = edge_lists.load(edge_db)
    assert trust.get(bytes.fromhex("a1b2c3d4")).retired


def test_a_device_ahead_of_the_change_log_is_reported(central, caplog):
    # A device holding a version central never made (central restored from an old backup) would otherwise
    # wait forever for changes that never come; the page is empty and central says so in its log.
    cdb, data_dir = central
    issuance.issue(cdb, data_dir, household="1-1-101", person=0, kind="resident", days=1)
    with caplog.at_level("ERROR", logger="central.passes.changelog"):
        page = changelog.changes_since(cdb, 50)
    assert page["changes"] == [] and page["version"] == 50
    assert "change log ends at 2" in caplog.text


def test_a_persons_quarantine_reaches_the_verifier_in_format_2_and_the_whole_household_in_format_1(central, tmp_path):
    cdb, data_dir = central
    two = issuance.issue(cdb, data_dir, household="2-3-401", person=2, kind="resident", days=30)
    three = issuance.issue(cdb, data_dir, household="2-3-401", person=3, kind="resident", days=30)
    today = date.today()
    issuance.quarantine(cdb, "2-3-401", date.fromordinal(today.toordinal() - 1),
                        date.fromordinal(today.toordinal() + 12), person=2)
    out, now = GateContext("east", "out"), Now(time.time(), True)
    verdicts = {}
    for fmt in (1, 2):
        db = connect(tmp_path / f"edge-{fmt}.db")
        edge_lists.migrate(db)
        edge_lists.apply_page(db, changelog.changes_since(cdb, 0, fmt=fmt))
        trust, lists, _, _ = edge_lists.load(db)
        verdicts[fmt] = (verify(two.text, trust, lists, out, now).code, verify(three.text, trust, lists, out, now).code)
        if fmt == 2:
            issuance.release(cdb, "2-3-401", 2)
        edge_lists.apply_page(db, changelog.changes_since(cdb, edge_lists.meta(db).version, fmt=fmt))
        trust, lists, _, _ = edge_lists.load(db)
        verdicts[fmt] += (verify(two.text, trust, lists, out, now).code,)
        db.close()
    assert verdicts[2] == ("quarantined", "ok", "ok")  # only person 2, until released
    assert verdicts[1] == ("quarantined", "quarantined", "quarantined")  # an old gate holds the whole household


def test_a_gate_database_from_before_person_quarantine_keeps_its_lists(tmp_path):
    db = connect(tmp_path / "edge.db")
    edge_lists.migrations.apply(db, stop_before="m002_person_quarantine")  # a gate's database of before
    db.execute("INSERT INTO list_quarantine VALUES ('1-1-101', '2026-11-20', '2026-12-04', 1.0, 2.0, 1)")
    db.execute("INSERT INTO list_meta VALUES ('version', '1')")
    edge_lists.migrate(db)  # the updated software starts
    _, lists, _, meta = edge_lists.load(db)
    assert dict(lists.quarantine) == {"1-1-101": (1.0, 2.0)} and dict(lists.persons) == {} and meta.version == 1
    edge_lists.apply_page(db, {"format": "gatepass-lists/2", "version": 2, "since": 1, "changes": [
        {"v": 2, "op": "quarantine", "household": "1-1-102", "person": 0, "start_ts": 1.0, "end_ts": 3.0}]})
    _, lists, _, _ = edge_lists.load(db)
    assert dict(lists.persons) == {("1-1-102", 0): (1.0, 3.0)} and "1-1-101" in lists.quarantine
