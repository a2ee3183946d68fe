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
        r = c.post(f"/households/{hh}/quarantine", data={"first_day": "2026-11-20", "last_day": "2099-12-03",
                                                         "csrf": token})
        assert r.status_code == 303
        assert central.db.execute("SELECT household FROM quarantines WHERE household = ? AND status = 'active'",
                                  [hh]).fetchone()
        cards = c.get(f"/households/{hh}/cards")
        assert cards.status_code == 200 and "<h1>" not in cards.text.split("</head>")[0]
        assert c.post(f"/households/{hh}/release", data={"csrf": token}).status_code == 303
        assert central.db.execute("SELECT status, released_by FROM quarantines WHERE household = ?",
                                  [hh]).fetchone() == ("released", "staff")
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


def test_devices_page_shows_each_gates_device_faults_and_since_when(central):
    now = time.time()
    ingest_entries(central.db, "dev-broken", "Garden", [], wall_now=now - 3600,  # its clock is an hour behind
                   faults=[{"code": "thermometer", "since": now - 3600 - 600},
                           {"code": "disk_full", "since": now - 4000}, {"code": "weird_new", "since": now - 3700}])
    ingest_entries(central.db, "dev-fine", "Garden", [], faults=[])
    ingest_entries(central.db, "dev-legacy", "Garden", [])
    rows = {r["device_id"]: r for r in ingest.list_devices(central.db, None, time.time())}
    therm = [f for f in rows["dev-broken"]["faults"] if f["code"] == "thermometer"][0]
    assert abs(therm["started_at"] - (now - 600)) < 5  # on central's clock, not the gate's
    assert rows["dev-fine"]["faults"] == [] and rows["dev-legacy"]["faults"] is None
    with central.client("viewer") as c:
        html = c.get("/devices").text
        en = c.get("/devices", params={"lang": "en"}).text

    def row(page, dev):
        return page.split(f"<code>{dev}</code>", 1)[1].split("</tr>", 1)[0]

    broken = row(html, "dev-broken")
    therm_cell = broken.split('fault-thermometer', 1)[1].split("</td>", 1)[0]
    assert "bad" in therm_cell and "故障" in therm_cell and "起" in therm_cell
    assert "正常" in broken.split('fault-camera', 1)[1].split("</td>", 1)[0]
    assert "存储空间已满" in broken and "weird_new" in broken and "disk_full" not in broken
    assert "设备故障" in broken.split('class="status"', 1)[1]
    fine = row(html, "dev-fine")
    assert fine.count(">正常<") == 5 and "设备故障" not in fine and "正常" in fine.split('class="status"', 1)[1]
    assert "未上报" in row(html, "dev-legacy") and "故障" not in row(html, "dev-legacy").replace("未上报", "")
    assert "Thermometer" in en and "storage full" in row(en, "dev-broken")


def test_central_devices_command_names_open_faults(central, capsys):
    from central.cli import _fault_texts

    texts = _fault_texts([{"code": "thermometer", "started_at": time.time() - 420}], time.time())
    assert texts == ["体温计故障 / thermometer not working (7 min)"]


def test_a_person_is_quarantined_for_14_days_by_default_and_release_keeps_the_record(central):
    from datetime import date, timedelta

    hh = "6-6-606"
    with central.client("staff") as c:
        page = c.get(f"/households/{hh}")
        token = csrf_of(page.text)
        assert 'name="last_day"' in page.text and "默认14天" in page.text
        r = c.post(f"/households/{hh}/quarantine", data={"first_day": "2026-11-20", "last_day": "", "days": "14",
                                                         "person": "2", "note": "密接", "csrf": token})
        assert r.status_code == 303
        row = central.db.execute("SELECT person, first_day, last_day, set_by FROM quarantines WHERE household = ?",
                                 [hh]).fetchone()
        assert row == (2, "2026-11-20", (date(2026, 11, 20) + timedelta(days=13)).isoformat(), "staff")
        c.post(f"/households/{hh}/quarantine", data={"first_day": "2026-11-20", "last_day": "2099-01-01",
                                                     "person": "3", "csrf": token})
        r = c.post(f"/households/{hh}/release", data={"person": "3", "note": "核酸阴性", "csrf": token})
        assert r.status_code == 303
        page = c.get(f"/households/{hh}").text
    records = page.split('id="q-records"', 1)[1]
    assert "已解除" in records and "核酸阴性" in records and "#3" in records and "2099-01-01" in records
    assert "2026-12-03" in records and "密接" in records
    log = central.db.execute("SELECT detail FROM audit_log WHERE action = 'release' ORDER BY id DESC").fetchone()
    assert '"person": "3"' in log[0]
