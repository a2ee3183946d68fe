"""一户一档 pages: the households list (search, grid and flag filters), the household file (members, masking for
viewers, timeline, audit) and the roster import over HTTP (upload → mapping → preview → import with progress)."""

from __future__ import annotations

import io
import re
import time

import openpyxl
import pytest

from central import homes, ingest
from tests.central.console.conftest import DAY0, csrf_of
from tests.central.console.roster_fixture import HEADERS, SHUFFLED_HEADERS, roster_rows, write_roster
from tests.waiting import wait_until


def _upload(c, path, name=None):
    """Upload, then follow the reading page until the file is read: the mapping page (or the refusal)."""
    page = c.get("/roster")
    assert page.status_code == 200
    with open(path, "rb") as fh:
        sent = c.post("/roster/map", data={"csrf": csrf_of(page.text)}, files={"file": (name or path.name, fh)})
    if sent.status_code != 303:
        return sent
    read = sent.headers["location"]
    wait_until(lambda: 'id="reading"' not in c.get(read).text, timeout=60)
    return c.get(read)


def _selected(html: str) -> dict[int, str]:
    found = {}
    for col, body in re.findall(r'<select name="col(\d+)".*?>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        found[int(col)] = chosen.group(1) if chosen else ""
    return found


def _import(c, path, fix: dict[int, str] | None = None) -> str:
    """Upload → (corrected) mapping → preview → import; returns the finished job page."""
    mapped = _upload(c, path)
    assert mapped.status_code == 200, mapped.text
    token = re.search(r'name="token" value="([^"]+)"', mapped.text).group(1)
    form = {"csrf": csrf_of(mapped.text), "token": token,
            **{f"col{k}": v for k, v in {**_selected(mapped.text), **(fix or {})}.items()}}
    preview = c.post("/roster/preview", data=form)
    assert preview.status_code == 200, preview.text
    mapping = re.search(r'name="mapping" value="([^"]+)"', preview.text).group(1).replace("&#34;", '"')
    run = c.post("/roster/import", data={"csrf": csrf_of(preview.text), "token": token, "mapping": mapping})
    assert run.status_code == 303
    job_url = run.headers["location"]
    wait_until(lambda: 'data-state="done"' in c.get(job_url).text or 'data-state="failed"' in c.get(job_url).text,
               timeout=60)
    return c.get(job_url).text


def test_a_shuffled_roster_is_mapped_corrected_previewed_and_imported_once(central, tmp_path):
    path = write_roster(tmp_path / "花名册.xlsx", households=40, headers=SHUFFLED_HEADERS)
    with central.client("staff") as c:
        mapped = _upload(c, path)
        guessed = _selected(mapped.text)
        relation_col = SHUFFLED_HEADERS.index("称谓")
        assert guessed[relation_col] == "" and guessed[SHUFFLED_HEADERS.index("手机号码")] == "phone"
        assert guessed[SHUFFLED_HEADERS.index("居住类型")] == "tenure"
        people = len(roster_rows(40))
        done = _import(c, path, fix={relation_col: "relation"})
        assert "导入完成" in done and f"新增 {people} 人" in done and "涉及 40 户" in done
        again = _import(c, path, fix={relation_col: "relation"})
        assert f"新增 0 人，更新 {people} 人" in again
    count = central.db.execute("SELECT COUNT(*) FROM household_members WHERE household LIKE '1-%' "
                               "OR household LIKE '2-%'").fetchone()[0]
    assert count == people
    head = homes.member(central.db, "1-1-101", 0)
    assert head is not None and head.relation == "户主" and head.tenure == "owner" and head.flags == ("elderly_alone",)
    tenant = homes.member(central.db, "1-1-105", 0)
    assert tenant is not None and tenant.tenure == "tenant" and tenant.landlord == "房东4"


def test_preview_gives_chinese_reasons_per_row(central, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("楼号,单元,房号,姓名,联系电话,特殊人群\n9,1,101,甲,1380,\n9,1,101,乙,13800000001,外星人\n"
                    "9,1,,丙,,\n9,1,102,丁,13800000002,孕妇\n9,1,102,丁,13800000003,\n", encoding="utf-8-sig")
    with central.client("staff") as c:
        mapped = _upload(c, path)
        token = re.search(r'name="token" value="([^"]+)"', mapped.text).group(1)
        form = {"csrf": csrf_of(mapped.text), "token": token,
                **{f"col{k}": v for k, v in _selected(mapped.text).items()}}
        preview = c.post("/roster/preview", data=form)
    text = preview.text
    assert "将导入 1 行" in text and "4 行有问题" in text
    assert "第 2 行：联系电话「1380」不是有效的电话号码" in text
    assert "第 3 行：特殊人群「外星人」中「外星人」不是已知的特殊人群" in text
    assert "第 4 行：无法确定户号" in text
    assert "第 6 行：与第 5 行是同一户的同一人（同名）" in text


def test_mapping_problems_and_hostile_files_are_refused_with_reasons(central, tmp_path):
    path = write_roster(tmp_path / "r.csv", households=3, headers=HEADERS)
    with central.client("staff") as c:
        mapped = _upload(c, path)
        token = re.search(r'name="token" value="([^"]+)"', mapped.text).group(1)
        preview = c.post("/roster/preview", data={"csrf": csrf_of(mapped.text), "token": token, "col0": "name",
                                                   "col3": "name"})
        assert preview.status_code == 400
        assert "「姓名」被选了 2 次" in preview.text and "请为「户号」或「房号」" in preview.text
        junk = tmp_path / "junk.xlsx"
        junk.write_bytes(b"PK\x03\x04 not really a zip")
        refused = _upload(c, junk)
        assert refused.status_code == 400 and "不是可读取的 XLSX 文件" in refused.text
    with central.client("viewer") as c:  # viewers cannot import, nor read another's upload
        assert c.get("/roster").status_code == 403


def test_an_upload_is_its_owners_only(central, tmp_path):
    path = write_roster(tmp_path / "r.csv", households=2)
    with central.client("staff") as c:
        token = re.search(r'name="token" value="([^"]+)"', _upload(c, path).text).group(1)
    with central.client("admin") as c:
        page = c.get("/roster")
        stolen = c.post("/roster/preview", data={"csrf": csrf_of(page.text), "token": token, "col0": "name"})
        assert stolen.status_code == 404


def test_the_template_is_a_roster_with_chinese_headers(central):
    with central.client("staff") as c:
        got = c.get("/roster/template.xlsx")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:5] == ["楼号", "单元", "房号", "姓名", "联系电话"] and rows[1][3] == "张三"


@pytest.fixture(scope="module")
def family(central):
    db = central.db
    homes.save_member(db, homes.Member("3-2-401", 1, "张三丰", "13812345678", "户主", "owner", "", ("elderly_alone",)))
    homes.save_member(db, homes.Member("3-2-401", 2, "李四", "13900001111", "租客", "tenant", "王房东", ("pregnant",)))
    db.execute("INSERT INTO household_files (household, building, unit, room, grid, grid_worker, notes, updated_at) "
               "VALUES ('3-2-401', '3', '2', '401', '东区网格', '刘网格', '门口有台阶', 0) "
               "ON CONFLICT (household) DO NOTHING")
    return "3-2-401"


def test_the_household_file_shows_members_and_one_timeline(central, family):
    with central.client("staff") as c:
        page = c.get(f"/households/{family}")
    assert page.status_code == 200
    html = page.text
    assert "张三丰" in html and "13812345678" in html and "独居老人" in html and "王房东" in html
    assert "东区网格" in html and "刘网格" in html and "门口有台阶" in html
    timeline = html.split('id="timeline"', 1)[1]
    gate = central.db.execute("SELECT name FROM devices WHERE device_id = 'dev-n'").fetchone()[0]
    assert gate and gate != "north"
    assert timeline.count("<li") >= 3 and f"· {gate} · 进" in timeline and "通行" in timeline  # gate names, not ids
    assert "dev-n" not in timeline and "· north ·" not in timeline
    audit = central.db.execute("SELECT detail FROM audit_log WHERE action = 'view_household' ORDER BY id DESC "
                               "LIMIT 1").fetchone()
    assert audit and family in audit[0]


def test_viewers_see_names_and_phones_masked_and_no_flags(central, family):
    with central.client("viewer") as c:
        page = c.get(f"/households/{family}")
        listing = c.get("/households", params={"q": "张三丰"})
    html = page.text
    assert page.status_code == 200
    assert "张三丰" not in html and "张**" in html and "138****5678" in html and "13812345678" not in html
    assert "独居老人" not in html and 'id="quarantine-form"' not in html and 'id="file-form"' not in html
    assert family not in listing.text.split('id="households"', 1)[1]  # viewers cannot search by name


def test_the_list_searches_by_name_phone_grid_and_filters_by_flag(central, family):
    with central.client("staff") as c:
        by_name = c.get("/households", params={"q": "张三丰"}).text
        by_phone = c.get("/households", params={"q": "13900001111"}).text
        by_grid = c.get("/households", params={"grid": "东区网格"}).text
        by_flag = c.get("/households", params={"flag": "pregnant"}).text
        other_flag = c.get("/households", params={"flag": "dialysis"}).text
    for html in (by_name, by_phone, by_grid, by_flag):
        body = html.split('id="households"', 1)[1]
        assert f'data-household="{family}"' in body and "东区网格" in body
    assert f'data-household="{family}"' not in other_flag
    assert 'id="new-household"' not in by_name + by_phone  # a name is no new household id
    assert "孕妇" in by_flag and "独居老人" in by_flag


def test_staff_edit_the_file_and_members(central, family):
    with central.client("staff") as c:
        page = c.get(f"/households/{family}")
        token = csrf_of(page.text)
        saved = c.post(f"/households/{family}/members", data={"csrf": token, "name": "王小明", "phone": "138 0000 9999",
                                                              "relation": "子女", "flags": ["chronic", "disabled"]})
        assert saved.status_code == 303
        bad = c.post(f"/households/{family}/members", data={"csrf": token, "name": "赵", "phone": "12"})
        assert bad.status_code == 400 and "联系电话「12」不是有效的电话号码" in bad.text
        filed = c.post(f"/households/{family}/file", data={
            "csrf": token, "building": "3", "unit": "2", "room": "401", "grid": "东区网格", "grid_worker": "陈网格",
            "notes": "新备注"})
        assert filed.status_code == 303
    added = [m for m in homes.members(central.db, family) if m.name == "王小明"]
    assert added and added[0].phone == "13800009999" and added[0].flags == ("chronic", "disabled")
    assert added[0].person == 3  # after 1 and 2
    assert central.db.execute("SELECT grid_worker FROM household_files WHERE household = ?", [family]).fetchone()[0] \
        == "陈网格"


def test_the_timeline_lists_passes_quarantine_and_alerts(central):
    from central.passes import issuance
    from central.timeline import household_timeline

    db, household = central.db, "7-7-707"  # seeded: a fever refusal and an override at the north gate
    issued = issuance.issue(db, central.settings.data_dir, household=household, person=1, kind="resident", days=3)
    issuance.revoke(db, issued.info.pass_id, "丢失")
    first = time.strftime("%Y-%m-%d", time.localtime(DAY0 + 86400 * 400))
    from datetime import date
    day = date.fromisoformat(first)
    issuance.quarantine(db, household, day, day, "密接", tz="Asia/Shanghai", by="staff")
    issuance.release(db, household, None, by="staff", note="解除")
    events = household_timeline(db, household)
    kinds = [e.kind for e in events]
    assert {"pass_issued", "pass_revoked", "quarantine_set", "quarantine_released", "alert"} <= set(kinds)
    alerts = [e for e in events if e.kind == "alert"]
    assert all(e.alert for e in alerts) and len(alerts) == 2  # the fever refusal and the guard's override
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert ingest  # the seeded devices came through central.ingest


def test_a_quarantined_member_is_named_masked_for_viewers(central):
    from datetime import date, timedelta

    from central import care

    homes.save_member(central.db, homes.Member("5-5-505", 0, "欧阳修", "13711112222"))
    care.start_quarantine(central.db, household="5-5-505", person=0, first_day=date.today(),
                          last_day=date.today() + timedelta(days=13), source="returnee", origin_city="上海",
                          by="staff")
    with central.client("staff") as c:
        staff_view = c.get("/households/5-5-505").text
    with central.client("viewer") as c:
        viewer_view = c.get("/households/5-5-505").text
    status = staff_view.split('id="q-status"', 1)[1].split("</p>", 1)[0]
    assert "欧阳修" in status and "#0" not in status
    hidden = viewer_view.split('id="q-status"', 1)[1].split("</p>", 1)[0]
    assert "欧**" in hidden and "欧阳修" not in viewer_view
