"""List format 3 on the gate (issue 17): guard changes are checked before anything is applied."""

from __future__ import annotations

import pytest

from sync import lists as edge_lists


@pytest.mark.parametrize("change", [
    {"op": "guard", "guard_id": "2001", "pin_hash": "plain-246810"},
    {"op": "guard", "guard_id": "2001"},
    {"op": "guard_off", "guard_id": ""},
    {"op": "guard_off", "guard_id": 2001},
])
def test_malformed_guard_changes_are_refused_whole(edge_db, tmp_path, change):
    db = edge_db(tmp_path / "edge.db")
    page = {"format": edge_lists.PAGE_FORMAT_3, "version": 1, "since": 0, "snapshot": False,
            "changes": [{"v": 1, **change}]}
    with pytest.raises(edge_lists.ListError):
        edge_lists.apply_page(db, page)
    assert edge_lists.meta(db).version == 0
