"""The people page (issue 17): list, add, edit, set/reset a PIN, disable; phones for staff only, every view
audited, the PIN never kept in clear."""

from __future__ import annotations

import re

from central import people
from central.console import audit
from central.passes import changelog
from tests.central.console.conftest import csrf_of


def _add(c, guard_id, name="张丽", phone="13912345678", group="patrol", unit="区教育局"):
    page = c.get("/people")
    return c.post("/people/add", data={"csrf": csrf_of(page.text), "guard_id": guard_id, "name": name,
                                       "phone": phone, "group": group, "unit": unit})


def _row(html: str, guard_id: str) -> str:
    return re.sub(r"<[^>]+>", " ", html.split(f'data-guard="{guard_id}"', 1)[1].split("</tr>", 1)[0])


def test_staff_add_a_person_set_a_pin_and_disable_them(central):
    with central.client("staff") as c:
        added = _add(c, "3101")
        assert added.status_code == 303
        url = added.headers["location"]
        page = c.get(url)
        assert page.status_code == 200 and "张丽" in page.text and "未设置" in page.text
        pid = int(url.rsplit("/", 1)[1])
        bad = c.post(f"{url}/pin", data={"csrf": csrf_of(page.text), "pin": "123", "pin_again": "123"})
        assert bad.status_code == 400 and "6-12 位数字" in bad.text
        differ = c.post(f"{url}/pin", data={"csrf": csrf_of(page.text), "pin": "13572468",
                                            "pin_again": "13572469"})
        assert differ.status_code == 400 and "不一致" in differ.text
        done = c.post(f"{url}/pin", data={"csrf": csrf_of(page.text), "pin": "13572468", "pin_again": "13572468"})
        assert done.status_code == 200 and "门岗同步后生效" in done.text
        assert c.post(f"{url}/enabled", data={"csrf": csrf_of(page.text), "enabled": "0"}).status_code == 303
        listed = c.get("/people").text
    assert "已停用" in _row(listed, "3101") and "13912345678" in _row(listed, "3101")
    assert not people.get(central.db, pid).may_sign_in
    ops = [(ch["op"], ch["guard_id"]) for ch in changelog.changes_since(central.db, 0, limit=5000, fmt=3)["changes"]
           if ch.get("guard_id") == "3101"]
    assert ops == [("guard_off", "3101"), ("guard", "3101"), ("guard_off", "3101")]  # added without a PIN
    records = audit.recent(central.db, 50, username="staff")
    actions = [r["action"] for r in records]
    assert {"add_person", "view_person", "set_guard_pin", "disable_person", "view_people"} <= set(actions)
    assert not any("13572468" in (r["detail"] or "") for r in records)  # the PIN is never audited


def test_viewers_see_the_list_with_phones_masked_and_cannot_change_anything(central):
    with central.client("staff") as c:
        _add(c, "3201", name="赵军", phone="13800001234")
    with central.client("viewer") as c:
        html = c.get("/people").text
        row = _row(html, "3201")
        assert "赵军" in row and "13800001234" not in row and "138****34" in row
        assert "只读账号不显示电话" in html
        pid = people.by_guard(central.db, "3201").id
        assert c.get(f"/people/{pid}").status_code == 403
        assert c.post("/people/add", data={"csrf": csrf_of(html), "guard_id": "3202", "name": "x",
                                           "group": "watch"}).status_code == 403
    viewed = [r for r in audit.recent(central.db, 20, username="viewer", action="view_people")]
    assert viewed and '"phones": false' in viewed[0]["detail"]


def test_bad_input_is_refused_in_plain_words(central):
    with central.client("admin") as c:
        assert _add(c, "3301").status_code == 303
        again = _add(c, "3301")
        assert again.status_code == 400 and "已被使用" in again.text
        assert _add(c, "33 02").status_code == 400
        assert "分组" in _add(c, "3303", group="night").text
        assert c.get("/people/999999").status_code == 404
        assert c.get("/people/abc").status_code in (400, 404, 422)
