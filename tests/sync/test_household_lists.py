"""List format 4: the households central knows reach the gate (snapshot and changes), older formats never see
them, and a gate holding an older format knows no households (it checks none)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import signing
from central.db import open_db
from central.passes import changelog, issuance
from gatepass.sqlitedb import connect
from sync import lists as edge_lists


@pytest.fixture
def central(tmp_path, central_url):
    db = open_db(central_url)
    yield db, tmp_path / "central"


def _edge(tmp_path, name: str):
    db = connect(tmp_path / name)
    edge_lists.migrate(db)
    return db


def test_households_reach_a_format_4_gate_and_no_older_one(central, tmp_path):
    cdb, data_dir = central
    issuance.issue(cdb, data_dir, household="3-2-401", person=1, kind="resident", days=30)
    issuance.issue(cdb, data_dir, household="3-2-401", person=2, kind="resident", days=30)  # not new: no change
    gate4, gate3 = _edge(tmp_path, "g4.db"), _edge(tmp_path, "g3.db")
    edge_lists.apply_page(gate4, changelog.snapshot(cdb, fmt=4))
    edge_lists.apply_page(gate3, changelog.snapshot(cdb, fmt=3))
    assert edge_lists.load(gate4)[1].households == frozenset({"3-2-401"})
    assert edge_lists.load(gate3)[1].households is None  # format 3 carries none: the gate cannot tell
    held = edge_lists.meta(gate4).version

    issuance.issue(cdb, data_dir, household="5-1-101", person=1, kind="resident", days=30)
    page4, page3 = changelog.changes_since(cdb, held, fmt=4), changelog.changes_since(cdb, held, fmt=3)
    assert [c["op"] for c in page4["changes"]] == ["household"] and page3["changes"] == []
    assert page4["version"] == page3["version"] == held + 1  # the version moves for every format
    edge_lists.apply_page(gate4, page4)
    edge_lists.apply_page(gate3, page3)
    lists4 = edge_lists.load(gate4)[1]
    assert lists4.household_known("5-1-101") and lists4.household_known("9-9-909") is False
    assert edge_lists.load(gate3)[1].household_known("9-9-909") is None
    gate4.close()
    gate3.close()


def test_a_gate_on_format_3_asks_for_a_snapshot_once_to_get_the_households(central, tmp_path):
    cdb, data_dir = central
    issuance.issue(cdb, data_dir, household="3-2-401", person=1, kind="resident", days=30)
    gate = _edge(tmp_path, "g.db")
    edge_lists.apply_page(gate, changelog.snapshot(cdb, fmt=3))
    assert edge_lists.ask_since(gate, 4) == 0  # held in format 3: a snapshot in format 4 first
    edge_lists.apply_page(gate, signing.page_for(cdb, edge_lists.ask_since(gate, 4), 500, fmt=4))  # as the API does
    assert edge_lists.ask_since(gate, 4) == edge_lists.meta(gate).version
    assert edge_lists.load(gate)[1].households == frozenset({"3-2-401"})
    gate.close()


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.none(), st.integers(), st.text(max_size=80)))
def test_a_malformed_household_change_applies_nothing(tmp_path_factory, household):
    gate = _edge(tmp_path_factory.mktemp("h"), "g.db")
    try:
        page = {"format": edge_lists.PAGE_FORMAT_4, "version": 1, "since": 0, "snapshot": False,
                "changes": [{"v": 1, "op": "household", "household": household}]}
        try:
            edge_lists.apply_page(gate, page)
        except edge_lists.ListError:
            assert edge_lists.meta(gate).version == 0
            assert gate.execute("SELECT count(*) FROM list_households").fetchone()[0] == 0
            return
        assert isinstance(household, str) and 0 < len(household) <= edge_lists.MAX_HOUSEHOLD
        assert edge_lists.load(gate)[1].households == frozenset({household})
    finally:
        gate.close()


def test_a_household_file_made_at_central_reaches_the_gate(central):
    from central import homes

    cdb, _ = central
    with cdb.transaction():
        homes.save_member(cdb, homes.Member("7-1-701", 1, name="王芳"))
        homes.save_member(cdb, homes.Member("7-1-701", 2, name="张伟"))  # the same household: no second change
    ops = [c for c in changelog.changes_since(cdb, 0, fmt=4)["changes"] if c["op"] == "household"]
    assert [c["household"] for c in ops] == ["7-1-701"]
