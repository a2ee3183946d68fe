"""People on duty at central (issue 17): details, PINs hashed with argon2id, and the guard changes gates on list
format 3 get (formats 1 and 2 never see them, their version still advances)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters

from central import people
from central.db import open_db
from central.passes import changelog, issuance
from sync.lists import GUARD_OPS, PAGE_FORMAT_2, PAGE_FORMAT_3


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    yield d
    d.close()


def _add(db, guard_id="2001", **over):
    fields = dict(name="王强", phone="138 0000 1111", group="watch", unit="区税务局")
    fields.update(over)
    return people.add(db, guard_id, fields["name"], fields["phone"], fields["group"], fields["unit"], by="admin")


def test_person_is_kept_with_group_unit_and_status(db):
    pid = _add(db)
    p = people.get(db, pid)
    assert (p.guard_id, p.name, p.phone, p.group, p.unit, p.status, p.enabled) == \
        ("2001", "王强", "138 0000 1111", "watch", "区税务局", "active", True)
    assert not p.may_sign_in  # no PIN yet
    people.update(db, pid, "王强", "13800001111", "patrol", "区税务局", "called_back", by="admin")
    assert people.get(db, pid).status == "called_back" and people.get(db, pid).group == "patrol"
    assert people.next_guard_id(db) == "2002"


@pytest.mark.parametrize("over, words", [({"name": " "}, "姓名"), ({"group": "night"}, "分组"),
                                         ({"phone": "call me"}, "电话"), ({"name": "长" * 61}, "姓名")])
def test_bad_details_are_refused_in_chinese(db, over, words):
    with pytest.raises(people.PeopleError, match=words):
        _add(db, **over)


def test_guard_id_is_unique_and_well_formed(db):
    _add(db)
    with pytest.raises(people.PeopleError, match="已被使用"):
        _add(db)
    with pytest.raises(people.PeopleError, match="工号"):
        _add(db, guard_id="a b")


def test_pin_is_stored_as_a_strong_argon2id_hash_only(db):
    pid = _add(db)
    with pytest.raises(people.PeopleError, match="6-12"):
        people.set_pin(db, pid, "12345")
    people.set_pin(db, pid, "13572468", by="admin")
    stored = db.execute("SELECT pin_hash FROM people WHERE id = ?", [pid]).fetchone()[0]
    assert "13572468" not in stored and stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    assert params.memory_cost >= 64 * 1024 and params.time_cost >= 3
    assert PasswordHasher().verify(stored, "13572468")
    assert people.get(db, pid).may_sign_in


def test_guard_changes_reach_format_3_only(db):
    issuance.set_policy(db, "fever_c", 37.3)
    pid = _add(db)
    people.set_pin(db, pid, "13572468")
    people.set_enabled(db, pid, False)
    page3 = changelog.changes_since(db, 0, fmt=3)
    assert page3["format"] == PAGE_FORMAT_3
    assert [c["op"] for c in page3["changes"]] == ["policy", "guard_off", "guard", "guard_off"]  # added: no PIN yet
    assert page3["changes"][2]["guard_id"] == "2001" and page3["changes"][2]["pin_hash"].startswith("$argon2id$")
    page2 = changelog.changes_since(db, 0, fmt=2)
    assert page2["format"] == PAGE_FORMAT_2 and [c["op"] for c in page2["changes"]] == ["policy"]
    assert page2["version"] == page3["version"]  # an old gate still moves on past the guard changes
    assert not any(c["op"] in GUARD_OPS for c in changelog.changes_since(db, 0, fmt=1)["changes"])


def test_snapshot_holds_each_guard_as_the_gate_must(db):
    with_pin, without, off, back = (_add(db, str(g)) for g in (2001, 2002, 2003, 2004))
    people.set_pin(db, with_pin, "13572468")
    people.set_pin(db, off, "24681357")
    people.set_enabled(db, off, False)
    people.update(db, back, "李梅", "", "repair", "", "called_back")
    snap = {c["guard_id"]: c["op"] for c in changelog.snapshot(db, 3)["changes"] if c["op"] in GUARD_OPS}
    assert snap == {"2001": "guard", "2002": "guard_off", "2003": "guard_off", "2004": "guard_off"}
    assert not any(c["op"] in GUARD_OPS for c in changelog.snapshot(db, 2)["changes"])
