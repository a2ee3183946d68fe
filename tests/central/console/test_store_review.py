"""Review of the console on PostgreSQL: searches behave as on SQLite (fails without its fix on PostgreSQL)."""

from __future__ import annotations


def test_household_search_ignores_letter_case_on_both_backends(central):
    central.db.execute("INSERT INTO households (household, created_at) VALUES ('B-12-301', 0), ('b-12-302', 0)")
    with central.client("staff") as c:
        for q in ("b-12", "B-12"):
            page = c.get("/households", params={"q": q})
            assert page.status_code == 200
            assert "B-12-301" in page.text and "b-12-302" in page.text, q
