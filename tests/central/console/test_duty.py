"""The on-duty board page (issue 17): rostered, signed in since when, absent, empty posts and someone signed in
without being rostered; the roster is filled by picking names; every view audited."""

from __future__ import annotations

import json
import re
import time

from central import duty, ingest, people
from central.console import audit
from tests.central.console.conftest import csrf_of
from tests.central.console.data import entry, ingest_entries


def _shift(seq, gate, event, guard, started_at, at):
    return entry(seq, f"dev-{gate}", gate, at, event=event, decision="info", reason=event, guard_id=guard,
                 temp_c=None, temps=None, extra=json.dumps({"started_at": started_at}))


def _row(html: str, post: str) -> str:
    return re.sub(r"<[^>]+>", " ", html.split(f'data-post="{post}"', 1)[1].split("</tr>", 1)[0])


def test_the_board_flags_absent_empty_and_unrostered(central):
    now = time.time()
    for gid, name in (("4001", "孙刚"), ("4002", "周敏"), ("4003", "吴涛")):
        people.add(central.db, gid, name, "13700000000", "watch")
    ingest_entries(central.db, "dev-dutya", "Garden", [
        _shift(1, "dutya", "shift_start", "4001", now - 7200, now - 7200)])
    ingest_entries(central.db, "dev-dutyb", "Garden", [
        _shift(1, "dutyb", "shift_start", "4002", now - 5000, now - 5000),
        _shift(2, "dutyb", "shift_end", "4002", now - 5000, now - 600)])  # signed out
    ingest_entries(central.db, "dev-dutyc", "Garden", [
        _shift(1, "dutyc", "shift_start", "4003", now - 300, now - 300)])
    with central.client("staff") as c:
        page = c.get("/duty")
        assert page.status_code == 200
        posts = {p.gate_id: p.id for p in duty.posts(central.db) if p.gate_id}
        day = time.strftime("%Y-%m-%d", time.localtime(now - 3600 * 8 + 8 * 3600))
        for post, guard in (("dutya", "4001"), ("dutya", "4002"), ("dutyb", "4002")):
            added = c.post("/duty/slots", data={"csrf": csrf_of(page.text), "post_id": posts[post], "guard_id": guard,
                                                "day": "", "start": "00:00", "end": "00:00"})  # today, 24 hours
            assert added.status_code == 303, added.text
        bad = c.post("/duty/slots", data={"csrf": csrf_of(page.text), "post_id": posts["dutya"],
                                          "guard_id": "nobody", "day": day, "start": "08:00", "end": "20:00"})
        assert bad.status_code == 400 and "不是在岗的值班人员" in bad.text
        html = c.get("/duty").text
    a, b, cc = _row(html, "dutya"), _row(html, "dutyb"), _row(html, "dutyc")
    assert "孙刚" in a and "到岗" in a and "周敏" in a and "未到岗" in a  # 4001 in place, 4002 absent
    assert "无人在岗" in b and "未到岗" in b  # signed out: the post is empty
    assert "吴涛" in cc and "未排班人员在岗" in cc
    assert "4001" not in b and "dutyc" not in a
    assert audit.recent(central.db, 5, username="staff", action="view_duty")


def test_viewers_see_the_board_but_cannot_roster(central):
    with central.client("viewer") as c:
        page = c.get("/duty")
        assert page.status_code == 200 and 'id="add-slot"' not in page.text
        refused = c.post("/duty/posts", data={"csrf": csrf_of(page.text), "name": "巡逻一组", "kind": "patrol"})
        assert refused.status_code == 403
    with central.client("admin") as c:
        page = c.get("/duty")
        assert c.post("/duty/posts", data={"csrf": csrf_of(page.text), "name": "巡逻一组",
                                           "kind": "patrol"}).status_code == 303
        again = c.post("/duty/posts", data={"csrf": csrf_of(page.text), "name": "巡逻一组", "kind": "patrol"})
        assert again.status_code == 400 and "已存在" in again.text
        assert "巡逻岗" in c.get("/duty").text


def test_the_people_and_duty_pages_have_every_text_in_both_languages(central):
    people.add(central.db, "4901", "郑华", "13600000000", "mobile", "区卫健委")
    with central.client("admin") as c:
        pid = people.by_guard(central.db, "4901").id
        for lang in ("zh", "en"):
            for url in ("/people", f"/people/{pid}", "/duty"):
                html = c.get(url, params={"lang": lang}).text
                for raw in re.findall(r">\s*((?:ppl|duty|grp|nav)\.[a-z_.]+)\s*<", html):
                    raise AssertionError(f"{url} [{lang}] shows the bare key {raw}")
                assert ("Mobile reserve" in html) == (lang == "en"), url  # its group, by name


def test_copy_last_week_repeats_each_slot_a_week_later_once(central):
    people.add(central.db, "4801", "冯雪", "", "watch")
    post = duty.add_post(central.db, "收货点一", "point")
    with central.client("staff") as c:
        page = c.get("/duty", params={"day": "2026-12-07"})
        token = csrf_of(page.text)
        assert c.post("/duty/slots", data={"csrf": token, "post_id": post, "guard_id": "4801", "day": "2026-12-01",
                                           "start": "20:00", "end": "08:00"}).status_code == 303  # a night
        for _ in range(2):  # twice: not doubled
            assert c.post("/duty/copy-week", data={"csrf": token, "day": "2026-12-07"}).status_code == 303
        html = c.get("/duty", params={"day": "2026-12-07"}).text
    mine = [s for s in duty.slots(central.db, 0, 1e12) if s.post_id == post]
    assert len(mine) == 2 and mine[1].start_ts - mine[0].start_ts == 7 * 86400
    assert mine[0].end_ts - mine[0].start_ts == 12 * 3600
    assert "12-08 20:00" in html and "12-09 08:00" in html
    assert audit.recent(central.db, 5, username="staff", action="copy_duty_week")


def test_a_gate_post_is_named_as_staff_named_the_gate(central):
    ingest.add_device(central.db, "dev-east", name="东门", community="Garden", gate_id="gate-e")
    ingest.add_device(central.db, "dev-east2", name="东门", community="Other", gate_id="gate-e2")
    ingest.add_device(central.db, "dev-plain", community="Garden", gate_id="gate-p")
    duty.sync_gate_posts(central.db)
    names = {p.gate_id: p.name for p in duty.posts(central.db) if p.gate_id}
    assert names["gate-p"] == "gate-p"
    assert sorted([names["gate-e"], names["gate-e2"]]) in (["东门", "东门 (gate-e2)"], ["东门 (gate-e)", "东门"])
