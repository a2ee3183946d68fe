"""central.tabular: bounded reading of uploads, the column guesser, row checks and kept uploads."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central import tabular
from central.db import open_db
from central.tabular import Field, Invalid, ReadLimits, ReadStats, TabularError
from tests.central.passes.test_register import _crafted_xlsx, _inline_row


def _phone(text: str) -> str:
    digits = text.replace(" ", "").replace("-", "")
    if not (digits.isdigit() and len(digits) == 11 and digits.startswith("1")):
        raise Invalid("不是有效的手机号")
    return digits


FIELDS = (
    Field("building", "楼号", "Building", ("楼号", "楼栋", "栋")),
    Field("unit", "单元", "Unit", ("单元",)),
    Field("room", "房号", "Room", ("房号", "门牌", "房间")),
    Field("name", "姓名", "Name", ("姓名", "名字"), required=True),
    Field("phone", "联系电话", "Phone", ("联系电话", "手机号", "电话", "手机"), parse=_phone),
    Field("grid", "网格", "Grid", ("网格",)),
    Field("grid_worker", "网格员", "Grid worker", ("网格员",)),
    Field("landlord", "房东", "Landlord", ("房东",)),
)
HEADERS = ["楼号", "单元", "房号", "姓名", "联系电话", "网格", "网格员", "房东"]


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_encoding_excel_writes(encoding):
    data = "楼号,姓名\r\n3,张三\r\n\r\n5,李四\r\n".encode(encoding)
    table = tabular.read_table(data, "r.csv")
    assert table.headers == ["楼号", "姓名"]
    assert table.rows == [(2, ["3", "张三"]), (4, ["5", "李四"])]


def test_xlsx_cells_become_text():
    from datetime import datetime

    data = _xlsx_bytes([["楼号", "房号", "日期", None], [3, 401.0, datetime(2026, 11, 27), None],
                        [None, None, None, None], [5, "1\t02", datetime(2026, 11, 27, 8, 30), None]])
    table = tabular.read_table(data, "r.xlsx")
    assert table.headers == ["楼号", "房号", "日期"]
    assert table.rows == [(2, ["3", "401", "2026-11-27"]), (4, ["5", "1 02", "2026-11-27 08:30"])]
    assert table.samples(1) == [["3", "401", "2026-11-27"]]


def test_refusals_say_why_in_chinese_first():
    with pytest.raises(TabularError) as refused:
        tabular.read_table(b"\xff\xfe\x00junk", "r.xlsx")
    assert refused.value.zh == "不是可读取的 XLSX 文件" and str(refused.value).startswith("不是")
    with pytest.raises(TabularError, match="文件是空的"):
        tabular.read_table(b"\r\n\r\n", "r.csv")
    with pytest.raises(TabularError, match="文件超过 1 MB"):
        tabular.read_table(b"a,b\n" * 300_000, "r.csv", ReadLimits(file_bytes=2**20))


def test_hostile_xlsx_refused_or_cut_short_fast(tmp_path):
    bomb = _inline_row(1, ["姓名"]) + "".join(f'<row r="{n}"><c r="XFD{n}"/></row>' for n in range(2, 300_002))
    stats = ReadStats()
    started = time.monotonic()
    table = tabular.read_table(_crafted_xlsx(tmp_path / "bomb.xlsx", bomb), stats=stats)
    assert time.monotonic() - started < 10
    assert table.rows == [] and stats.rows_read == 1 + tabular.MAX_BLANK_RUN and "连续" in table.notes[0][1]
    inflating = _inline_row(1, ["姓名"]) + "".join(_inline_row(n, ["张三"]) for n in range(2, 3000))
    with pytest.raises(TabularError, match="解压后超过"):
        tabular.read_table(_crafted_xlsx(tmp_path / "zip.xlsx", inflating), limits=ReadLimits(unzipped_bytes=65536))


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(["x.csv", "x.xlsx"]))
def test_arbitrary_bytes_read_or_refused(data, name):
    try:
        table = tabular.read_table(data, name)
    except TabularError as exc:
        assert exc.zh and exc.en
    else:
        assert all(len(cells) <= len(table.headers) for _, cells in table.rows)


# -- the guesser ---------------------------------------------------------------------------------------------------

def test_typical_roster_headers_are_guessed():
    headers = ["序号", "楼栋", "单元", "门牌号", "户主姓名", "手机号码", "所属网格", "网格员", "房东姓名", "备注"]
    mapping = tabular.guess_mapping(headers, FIELDS)
    assert {headers[c]: f for c, f in mapping.items()} == {
        "楼栋": "building", "单元": "unit", "门牌号": "room", "户主姓名": "name", "手机号码": "phone",
        "所属网格": "grid", "网格员": "grid_worker", "房东姓名": "landlord"}


def test_full_width_and_decorated_headers_match():
    mapping = tabular.guess_mapping(["＊姓名（必填）", " 联系电话 ", "楼号:"], FIELDS)
    assert mapping == {0: "name", 1: "phone", 2: "building"}


@settings(max_examples=200, deadline=None)
@given(st.permutations(HEADERS), st.lists(st.sampled_from(["备注", "年龄", "", "x", "性别"]), max_size=3))
def test_guess_is_independent_of_column_order(order, extra):
    headers = list(order) + extra
    mapping = tabular.guess_mapping(headers, FIELDS)
    assert {headers[c]: f for c, f in mapping.items()} == {h: f.name for h, f in zip(HEADERS, FIELDS, strict=True)}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=20))
def test_guess_is_one_to_one_on_any_headers(headers):
    mapping = tabular.guess_mapping(headers, FIELDS)
    assert len(set(mapping.values())) == len(mapping)
    assert all(0 <= c < len(headers) for c in mapping)
    assert not tabular.mapping_problems(mapping, FIELDS) or "name" not in mapping.values()


def test_mapping_problems_in_chinese():
    assert tabular.mapping_problems({0: "phone"}, FIELDS) == ["缺少必填字段「姓名」：请为它选择一列"]
    assert tabular.mapping_problems({0: "name", 1: "name"}, FIELDS) == ["「姓名」被选了 2 次，每个字段只能对应一列"]
    form = {"col0": "name", "col1": "", "col2": "nonsense", "col3": "phone"}
    assert tabular.mapping_from_form(form, 4, FIELDS) == {0: "name", 3: "phone"}


def test_mapping_text_for_the_cli():
    headers = ["电话", "名字"]
    assert tabular.parse_mapping("名字=name,电话=联系电话", headers, FIELDS) == {1: "name", 0: "phone"}
    assert tabular.parse_mapping('{"1": "name"}', headers, FIELDS) == {1: "name"}
    with pytest.raises(TabularError, match="没有列"):
        tabular.parse_mapping("地址=name", headers, FIELDS)
    with pytest.raises(TabularError, match="没有字段"):
        tabular.parse_mapping("名字=age", headers, FIELDS)


# -- row checks ----------------------------------------------------------------------------------------------------

def test_rows_are_checked_with_chinese_reasons():
    rows = [(2, ["张三", "138 0000 0000"]), (3, ["", "1380"]), (4, ["李四"])]
    checked = tabular.check_rows(rows, {0: "name", 1: "phone"}, FIELDS)
    assert checked[0].ok and checked[0].values["phone"] == "13800000000" and checked[0].values["grid"] == ""
    assert checked[1].reasons == ("「姓名」为空", "联系电话「1380」不是有效的手机号")
    assert checked[1].reason_text() == "第 3 行：「姓名」为空；联系电话「1380」不是有效的手机号"
    assert checked[2].ok and checked[2].values["phone"] == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=15), max_size=10),
       st.dictionaries(st.integers(0, 12), st.sampled_from([f.name for f in FIELDS]), max_size=8))
def test_check_row_gives_values_or_reasons(cells, mapping):
    row = tabular.check_row(7, cells, mapping, FIELDS)
    assert set(row.values) == {f.name for f in FIELDS}
    if "name" not in mapping.values() or not any(
            c < len(cells) and cells[c] for c, f in mapping.items() if f == "name"):
        assert "「姓名」为空" in row.reasons
    assert all(isinstance(r, str) and r for r in row.reasons)


# -- kept uploads --------------------------------------------------------------------------------------------------

def test_uploads_are_kept_for_their_owner_until_they_expire(central_url):
    db = open_db(central_url)
    table = tabular.read_table("姓名,电话\n张三,13800000000\n".encode(), "r.csv")
    token = tabular.keep_upload(db, table, owner="ann", purpose="roster", now=1000.0, ttl_s=60)
    kept = tabular.load_upload(db, token, owner="ann", purpose="roster", now=1059.0)
    assert kept == table
    assert tabular.load_upload(db, token, owner="bob", purpose="roster", now=1001.0) is None
    assert tabular.load_upload(db, token, owner="ann", purpose="screening", now=1001.0) is None
    assert tabular.load_upload(db, token, owner="ann", purpose="roster", now=1061.0) is None
    assert tabular.purge_uploads(db, now=1061.0) == 1
    token = tabular.keep_upload(db, table, owner="ann", purpose="roster", now=2000.0)
    tabular.drop_upload(db, token, owner="ann")
    assert tabular.load_upload(db, token, owner="ann", purpose="roster", now=2000.0) is None


def test_an_upload_nobody_imported_is_deleted_by_the_retention_purge_once_expired(central_url):
    """Its names and phones do not wait for somebody's next upload to go."""
    from central import retention
    from central.settings import RetentionSection

    db = open_db(central_url)
    table = tabular.read_table("姓名,电话\n张三,13800000000\n".encode(), "r.csv")
    token = tabular.keep_upload(db, table, owner="ann", purpose="roster", now=1000.0, ttl_s=60)
    assert retention.purge_expired(db, RetentionSection(), now=1059.0).uploads == 0
    report = retention.purge_expired(db, RetentionSection(), now=1061.0)
    assert report.uploads == 1 and any("上传表格已删除：1" in line for line in report.lines())
    assert db.execute("SELECT count(*) FROM tabular_uploads WHERE token = ?", [token]).fetchone()[0] == 0


def test_a_large_upload_is_read_in_the_background_with_progress(central_url):
    from tests.waiting import wait_until

    db = open_db(central_url)
    data = ("姓名,电话\n" + "张三,13800000000\n" * 5000).encode()
    assert tabular.estimate_rows(data, "r.csv") == 5002
    xlsx = _xlsx_bytes([["姓名"]] + [["张三"]] * 300)
    assert tabular.estimate_rows(xlsx, "r.xlsx") == 301 and tabular.estimate_rows(b"junk", "r.xlsx") == 0
    token = tabular.start_reading(db, central_url, data, "r.csv", owner="ann", purpose="roster")
    seen = []

    def read() -> bool:
        status = tabular.upload_status(db, token, owner="ann", purpose="roster")
        seen.append((status.state, status.done))
        return status.state != "reading"

    wait_until(read, timeout=30)
    assert seen[-1] == ("ready", 5000) and tabular.upload_status(db, token, owner="bob", purpose="roster") is None
    assert len(tabular.load_upload(db, token, owner="ann", purpose="roster").rows) == 5000
    bad = tabular.start_reading(db, central_url, b"PK\x03\x04junk", "r.xlsx", owner="ann", purpose="roster")
    wait_until(lambda: tabular.upload_status(db, bad, owner="ann", purpose="roster").state == "failed", timeout=30)
    status = tabular.upload_status(db, bad, owner="ann", purpose="roster")
    assert status.error.startswith("不是可读取的 XLSX 文件") and status.percent is None
    assert tabular.load_upload(db, bad, owner="ann", purpose="roster") is None


def test_a_sheet_claiming_a_huge_dimension_is_read_by_its_rows(tmp_path):
    body = _inline_row(1, ["姓名", "电话"]) + _inline_row(2, ["张三", "13800000000"])
    huge = _crafted_xlsx(tmp_path / "huge.xlsx", body)  # <dimension ref="A1:XFD1048576">
    started = time.monotonic()
    table = tabular.read_table(huge)
    assert time.monotonic() - started < 5
    assert table.headers == ["姓名", "电话"] and table.rows == [(2, ["张三", "13800000000"])]
    assert tabular.estimate_rows(huge.read_bytes(), "huge.xlsx") == 0  # beyond the limits: no estimate, no trust
