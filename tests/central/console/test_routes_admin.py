"""Devices, households and passes pages: household ids with '/', household search on both backends, the list
age on the devices page."""

from __future__ import annotations

import time

from central import ingest
from tests.central.console.conftest import csrf_of
from tests.central.console.data import entry, ingest_entries


def test_household_ids_with_a_slash_open_and_change(central):
    hh = "3/2/401"
    with central.client("staff") as c:
        page = c.get(f"/households/{hh}")
        assert page.status_code == 200 and f"{hh}</h1>" in page.text
        token = csrf_of(page.text)
        r = c.post(f"/households/{hh}/issue", data={"person": "1", "kind": "resident", "days": "30",
                                                    "csrf": token})
        assert r.status_code == 303 and r.headers["location"].startswith("/households/3%2F2%2F401")
        page = c.get(r.headers["location"])
        assert page.status_code == 200 and 'data-pass="' in page.text
        r = c.post(f"/households/{hh}/quarantine", data={"start": "2026-11-20", "end": "2026-12-04",
                                                         "csrf": token})
        assert r.status_code == 303
        assert central.db.execute("SELECT household FROM quarantine WHERE household = ?", [hh]).fetchone()
        cards = c.get(f"/households/{hh}/cards")
        assert cards.status_code == 200 and "<h1>" not in cards.text.split("</head>")[0]
        assert c.post(f"/households/{hh}/release", data={"csrf": token}).status_code == 303
        assert central.db.execute("SELECT 1 FROM quarantine WHERE household = ?", [hh]).fetchone() is None
        listed = c.get("/households", params={"q": "3/2"})
        assert 'href="/households/3/2/401"' in listed.text
    assert central.db.execute("SELECT count(*) FROM passes WHERE household = ?", [hh]).fetchone()[0] == 1


def test_household_search_ignores_letter_case_on_both_backends(central):
    central.db.execute("INSERT INTO households (household, created_at) VALUES ('B-12-301', 0), ('b-12-302', 0)")
    with central.client("staff") as c:
        for q in ("b-12", "B-12"):
            page = c.get("/households", params={"q": q})
            assert page.status_code == 200
            assert "B-12-301" in page.text and "b-12-302" in page.text, q


def test_devices_page_flags_lists_older_than_the_configured_age(central):
    now = time.time()
    ingest_entries(central.db, "dev-old", "Garden", [entry(1, "dev-old", "west", now)],
                   lists_issued_at=now - 3 * 86400)
    ingest_entries(central.db, "dev-new", "Garden", [entry(1, "dev-new", "west2", now)], lists_issued_at=now - 60)
    rows = {r["device_id"]: r for r in ingest.list_devices(central.db, None, now, 24 * 3600)}
    assert rows["dev-old"]["lists_too_old"] and rows["dev-old"]["lists_stale"]
    assert not rows["dev-new"]["lists_too_old"] and not rows["dev-new"]["lists_stale"]
    with central.client("viewer") as c:
        html = c.get("/devices").text
    old_row = html.split("<code>dev-old</code>", 1)[1].split("</tr>", 1)[0]
    new_row = html.split("<code>dev-new</code>", 1)[1].split("</tr>", 1)[0]
    assert 'lists-age warn' in old_row and "3 天" in old_row and "名单过旧" in old_row
    assert 'lists-age warn' not in new_row and "1 分钟" in new_row
