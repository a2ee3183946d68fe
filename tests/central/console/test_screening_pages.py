"""The screening register's pages (central.console.routes_screening) on a real server, both backends: staff see
names, phones and health data, viewers see them masked; the worklist; recording a call; one click to a quarantine;
exports with Chinese headers; every view and export audited."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from openpyxl import load_workbook

from central import homes, screening
from central.db import transaction
from central.screening import ScreenRow
from tests.central.console.conftest import csrf_of


@pytest.fixture(scope="module")
def listed(central):
    """Three people from a questionnaire and a street-office list (张三 on both), two household files."""
    db = central.db
    with transaction(db):
        for hh, grid in (("11-1-101", "一网格"), ("12-1-101", "二网格")):
            db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES (?, ?, 0) "
                       "ON CONFLICT (household) DO NOTHING", [hh, grid])
        homes.save_member(db, homes.Member("12-1-101", 0, name="赵六", phone="13900000016"), now=0)
    today = time.strftime("%Y-%m-%d")
    screening.import_rows(db, "questionnaire", "问卷星 返乡登记", [
        ScreenRow("13800000011", name="张三", household="11号楼1单元101", origin_city="上海", return_date=today,
                  travel="G1234", health="咳嗽", row_no=2),
        ScreenRow("13800000012", name="李四", household="河边小区9栋", origin_city="武汉", row_no=3),
        ScreenRow("13900000016", name="赵六", contact="同航班 CA1234", row_no=4)], by="staff", now=time.time())
    screening.import_rows(db, "close_contact_list", "街道密接名单", [ScreenRow("13800000011", name="张三")],
                          by="staff", now=time.time())
    return {p["name"]: p["id"] for p in screening.people(db, screening.Filters(), now=time.time())[0]}


def _audits(central, action: str) -> list[dict]:
    return [json.loads(r[0]) for r in central.db.execute(
        "SELECT detail FROM audit_log WHERE action = ? ORDER BY id", [action]).fetchall()]


def test_staff_see_the_register_with_names_phones_health_and_lists(central, listed):
    before = len(_audits(central, "view_screening"))
    with central.client("staff") as c:
        r = c.get("/screening")
        person = c.get(f"/screening/people/{listed['张三']}")
    assert r.status_code == 200 and person.status_code == 200
    table = r.text.split('id="register"', 1)[1]
    assert "张三" in table and "13800000011" in table and "咳嗽" in table and "密接" in table
    assert "河边小区9栋" in table  # kept as written: no household file
    assert "问卷星 返乡登记" in person.text and "街道密接名单" in person.text
    assert 'href="tel:13800000011"' in person.text
    assert len(_audits(central, "view_screening")) == before + 1
    assert _audits(central, "view_screening_person")[-1]["person"] == listed["张三"]


def test_viewers_see_masks_no_health_and_cannot_act(central, listed):
    with central.client("viewer") as c:
        r = c.get("/screening")
        work = c.get("/screening/worklist")
        person = c.get(f"/screening/people/{listed['张三']}")
        export = c.get("/screening/export.csv")
        call = c.post(f"/screening/people/{listed['张三']}/calls", data={"csrf": csrf_of(person.text),
                                                                         "outcome": "reached"})
    for page in (r.text, work.text, person.text):
        assert "13800000011" not in page and "张三" not in page and "咳嗽" not in page
    assert "138****0011" in r.text and "张*" in r.text and "tel:" not in work.text
    assert export.status_code == 403 and call.status_code == 403
    assert _audits(central, "view_screening")[-1]["names_shown"] is False


def test_the_worklist_filters_and_a_call_from_it(central, listed):
    with central.client("staff") as c:
        page = c.get("/screening/worklist", params={"grid": "二网格"})
        assert "赵六" in page.text and "张三" not in page.text and 'href="tel:13900000016"' in page.text
        r = c.post(f"/screening/people/{listed['赵六']}/calls",
                   data={"csrf": csrf_of(page.text), "outcome": "no_answer", "note": "晚上再打",
                         "back": "/screening/worklist?grid=二网格"})
        assert r.status_code == 303 and r.headers["location"].startswith("/screening/worklist?grid=")
        after = c.get(r.headers["location"])
        bad = c.post(f"/screening/people/{listed['赵六']}/calls",
                     data={"csrf": csrf_of(page.text), "outcome": "maybe", "back": "https://evil.example/"})
    assert "call-saved" in after.text and "赵六" not in after.text.split('id="worklist"', 1)[1]
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
    assert bad.headers["location"].startswith("/screening/people/")
    call = screening.calls(central.db, listed["赵六"])[0]
    assert (call["outcome"], call["note"], call["called_by"]) == ("no_answer", "晚上再打", "staff")
    assert _audits(central, "screening_call")[-1]["outcome"] == "no_answer"


def test_one_click_turns_a_row_into_a_quarantine(central, listed):
    with central.client("staff") as c:
        page = c.get("/screening")
        row = page.text.split(f'data-person="{listed["张三"]}"', 1)[1].split("</tr>", 1)[0]
        first = row.split('name="first_day" value="', 1)[1].split('"', 1)[0]
        last = row.split('name="last_day" value="', 1)[1].split('"', 1)[0]
        r = c.post(f"/screening/people/{listed['张三']}/quarantine",
                   data={"csrf": csrf_of(page.text), "household": "11-1-101", "first_day": first,
                         "last_day": last, "scope": "person", "back": "/screening"})
        assert r.status_code == 303
        after = c.get("/screening").text
        unknown = c.post(f"/screening/people/{listed['李四']}/quarantine",
                         data={"csrf": csrf_of(page.text), "household": "99-9-999", "first_day": first,
                               "last_day": last})
    assert first == time.strftime("%Y-%m-%d")
    row = after.split(f'data-person="{listed["张三"]}"', 1)[1].split("</tr>", 1)[0]
    assert f"已转居家隔离：{first} 至 {last}" in row
    q = central.db.execute("SELECT household, person, first_day, last_day, status FROM quarantines WHERE id = ?",
                           [screening.person(central.db, listed["张三"])["quarantine_id"]]).fetchone()
    assert tuple(q) == ("11-1-101", 1, first, last, "active")
    assert unknown.status_code == 303 and "error=" in unknown.headers["location"]
    assert _audits(central, "screening_quarantine")[-1]["household"] == "11-1-101"


def test_exports_have_chinese_headers_and_are_audited(central, listed):
    with central.client("staff") as c:
        text = c.get("/screening/export.csv").content.decode("utf-8-sig")
        book = load_workbook(io.BytesIO(c.get("/screening/worklist/export.xlsx").content))
        assert c.get("/screening/export.pdf").status_code == 404
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["姓名", "电话", "人员类别", "户号"]
    assert any(r[0] == "李四" and r[1] == "13800000012" and r[4] == "河边小区9栋" for r in rows)
    sheet = book.worksheets[0]
    values = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    assert "姓名" in values[1] and any("李四" in r for r in values[2:])
    assert _audits(central, "export_screening")[-1]["format"] == "csv"
    assert _audits(central, "export_screening_worklist")[-1]["format"] == "xlsx"


def test_bad_ids_and_filters_are_clear_errors(central, listed):
    with central.client("staff") as c:
        assert c.get("/screening/people/999999").status_code == 404
        assert c.get("/screening/people/0").status_code == 422
        assert c.get("/screening", params={"source": "x" * 500}).status_code == 422
        assert c.get("/screening", params={"source": "9" * 30, "day_from": "not-a-day",
                                           "status": "nonsense"}).status_code == 200
        assert c.get("/screening", params={"q": "a\x00b"}).status_code == 400


def test_the_household_timeline_shows_calls_and_lists_without_names_for_viewers(central, listed):
    screening.record_call(central.db, listed["赵六"], "refused", "说在外地", by="staff", now=time.time())
    with central.client("staff") as c:
        staff_page = c.get("/households/12-1-101")
    with central.client("viewer") as c:
        viewer_page = c.get("/households/12-1-101")
    assert staff_page.status_code == 200 and viewer_page.status_code == 200
    timeline = staff_page.text.split('id="timeline"', 1)[1]
    assert "排查电话：拒接" in timeline and "列入排查名单" in timeline and "问卷星 返乡登记" in timeline
    assert f'href="/screening/people/{listed["赵六"]}"' in timeline
    seen = viewer_page.text.split('id="timeline"', 1)[1]
    assert "排查电话：拒接" in seen and "赵六" not in seen and "说在外地" not in seen


def _upload(c, name: str, body: bytes, kind: str = "secondary_list", label: str = "次密接名单 甲"):
    page = c.get("/screening/import")
    return c.post("/screening/import", data={"csrf": csrf_of(page.text), "kind": kind, "label": label},
                  files={"file": (name, body)})


def _import_csv(c, body: bytes) -> tuple[str, str]:
    mapping = _upload(c, "list.csv", body)
    assert mapping.status_code == 200 and 'id="mapping-form"' in mapping.text
    token = mapping.text.split('name="token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": csrf_of(mapping.text), "token": token, "kind": "secondary_list", "label": "次密接名单 甲",
            "col0": "name", "col1": "phone", "col2": "return_date", "col3": "travel"}
    preview = c.post("/screening/import/preview", data=form)
    assert preview.status_code == 200 and 'id="commit-form"' in preview.text
    mapping_json = preview.text.split('name="mapping" value="', 1)[1].split('"', 1)[0].replace("&#34;", '"')
    done = c.post("/screening/import/commit", data={"csrf": csrf_of(preview.text), "token": token,
                                                    "kind": "secondary_list", "label": "次密接名单 甲",
                                                    "mapping": mapping_json})
    return preview.text, done.headers.get("location", str(done.status_code))


def test_the_import_pages_with_a_csv_twice_and_hostile_uploads(central, listed):
    body = "姓名,手机,到达日期,车次\n周九,13500000031,2022/4/3,D12\n吴十,13500000032,4月3日,K1\n坏,123,昨天,火车\n"
    with central.client("staff") as c:
        preview, first = _import_csv(c, body.encode("gb18030"))
        _, again = _import_csv(c, body.encode("utf-8-sig"))
        garbage = _upload(c, "list.xlsx", b"PK\x03\x04 not a zip")
        bad_kind = _upload(c, "list.csv", body.encode(), kind="nonsense")
        gone = c.post("/screening/import/commit", data={"csrf": csrf_of(c.get("/screening/import").text),
                                                       "token": "no-such-token", "kind": "secondary_list",
                                                       "label": "x", "mapping": "{}"})
    with central.client("viewer") as v:
        assert v.get("/screening/import").status_code == 403
    assert "可导入 2 行" in preview and "电话号码无效" in preview and "日期无法识别" in preview
    assert "new=2" in first and "refused=1" in first and "new=0" in again and "merged=2" in again
    people = screening.people(central.db, screening.Filters(category="secondary_contact"), now=time.time())[0]
    assert sorted(p["name"] for p in people) == ["吴十", "周九"] and people[0]["sources"] == 1
    assert garbage.status_code == 400 and "XLSX" in garbage.text
    assert bad_kind.status_code == 400 and gone.status_code == 410
    assert _audits(central, "import_screening")[-1]["new_people"] == 0


def test_english_pages_have_no_bare_keys(central, listed):
    with central.client("staff") as c:
        pages = [c.get(url, params={"lang": "en"}).text for url in
                 ("/screening", "/screening/worklist", f"/screening/people/{listed['李四']}", "/screening/import")]
        c.get("/screening", params={"lang": "zh"})
    for html in pages:
        assert "scr." not in html and "timeline_" not in html
    assert "Screening register" in pages[0] and "Phone round" in pages[1] and "Record the call" in pages[2]
