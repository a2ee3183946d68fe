"""Household registers (CSV/XLSX): good rows issued, bad rows reported by line."""

from __future__ import annotations

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.db import open_db
from central.passes.bulk import issue_register
from central.passes.errors import PassAdminError
from central.passes.register import RowError, parse_row, read_register

HEADER = ["household", "person", "kind", "name", "valid_from", "days", "valid_to", "gates"]
ROWS = [
    ["3-2-401", "1", "resident", "张三", "", "30", "", ""],          # line 2: good
    ["3-2-401", "2", "居民", "李四", "2026-11-23", "", "2026-12-23", "north;east"],  # line 3: good
    ["", "1", "resident", "", "", "", "", ""],                     # line 4: no household
    ["3-2-402", "x", "resident", "", "", "", "", ""],              # line 5: bad person
    ["3-2-403", "0", "alien", "", "", "", "", ""],                 # line 6: bad kind
    ["", "", "", "", "", "", "", ""],                              # line 7: blank, skipped
    ["3-2-404", "0", "visitor", "", "2026/13/40", "", "", ""],     # line 8: bad date
    ["3-2-405", "0", "visitor", "", "", "3", "2026-12-01", ""],    # line 9: days and valid_to
    ["3-2-406", "0", "delivery", "", "", "1", "", "north"],        # line 10: good
]
EXPECTED_ERRORS = {4: "household", 5: "person", 6: "kind", 8: "valid_from", 9: "days or valid_to"}


def _write_csv(path, encoding="utf-8-sig"):
    lines = [",".join(HEADER)] + [",".join(r) for r in ROWS]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _write_xlsx(path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [["户号", "序号", "类型", "姓名", "起始日期", "天数", "截止日期", "通行门"], *ROWS]:
        sheet.append([int(v) if v.isdigit() and i in (1, 5) else (v or None) for i, v in enumerate(row)])
    book.save(path)
    return path


@pytest.mark.parametrize("make", [_write_csv, lambda p: _write_csv(p, "gb18030"), _write_xlsx],
                         ids=["csv-utf8", "csv-gb18030", "xlsx-chinese-headers"])
def test_bad_rows_are_reported_by_line_and_the_rest_issued(tmp_path, make, central_url):
    path = make(tmp_path / ("reg.xlsx" if make is _write_xlsx else "reg.csv"))
    db = open_db(central_url)
    seen = []
    report = issue_register(db, tmp_path / "data", path, on_start=seen.append, on_row=lambda row: seen.append(row))
    assert {line: reason for line, reason in report.errors}.keys() == EXPECTED_ERRORS.keys()
    for line, reason in report.errors:
        assert EXPECTED_ERRORS[line] in reason
    assert [(p.info.household, p.info.person, p.name) for p in report.issued] == [
        ("3-2-401", 1, "张三"), ("3-2-401", 2, "李四"), ("3-2-406", 0, "")]
    assert report.issued[1].info.gates == ("north", "east")
    assert seen[0] == 3 and len(seen) == 4  # progress: total, then one tick per row
    again = issue_register(db, tmp_path / "data", path)  # re-running the register does not double-issue
    assert again.issued == [] and len(again.skipped) == 3
    db.close()


def test_a_register_without_required_columns_is_refused(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("姓名,联系电话\n张三,13800000000\n", encoding="utf-8")
    with pytest.raises(PassAdminError, match="household") as refused:
        read_register(path)
    assert str(refused.value).startswith("登记表缺少「户号」列")


def test_a_typical_roster_is_read_tenants_and_all(tmp_path):
    """楼号/单元/房号/姓名/联系电话/身份 with 租户: households from the address, people numbered in order, residents."""
    path = tmp_path / "roster.csv"
    path.write_text("楼号,单元,房号,姓名,联系电话,类型\n3,2,401,张三,13800000000,业主\n3,2,401,李四,,租户\n"
                    "5,1,102,王五,,租户\n5,1,102,赵六,,外星人\n", encoding="utf-8")
    rows, errors = read_register(path)
    assert [(r.household, r.person, r.kind, r.name) for r in rows] == [
        ("3-2-401", 0, "resident", "张三"), ("3-2-401", 1, "resident", "李四"), ("5-1-102", 0, "resident", "王五")]
    assert errors == [(5, errors[0][1])] and errors[0][1].startswith("类型「外星人」不是")


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(PassAdminError):
        read_register(tmp_path / "empty.csv")
    with pytest.raises(PassAdminError):
        read_register(tmp_path / "nope.csv")


cell = st.none() | st.text(max_size=12) | st.integers(-5, 2000) | st.floats() | st.sampled_from(
    ["resident", "居民", "2026-11-23", "2026-11-23 08:00", "all", "north;east", "30"])


@settings(max_examples=300, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(HEADER), cell))
def test_parse_row_accepts_or_explains(raw):
    try:
        row = parse_row(2, raw)
    except RowError as exc:
        assert str(exc)
    else:
        assert row.household and 0 <= row.person <= 999


# -- hostile files: bounded rows, columns, size and time ----------------------------------------------------------

_XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook'
    '.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
    '.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org'
    '/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def _inline_row(number: int, values: list[str]) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def _crafted_xlsx(path, body: str):
    """An XLSX written by hand: its sheet claims the whole grid (<dimension ref="A1:XFD1048576">)."""
    import zipfile

    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>' + body + "</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


HEADER_ROW = _inline_row(1, ["household", "person", "kind"])


def test_empty_rows_under_a_full_grid_dimension_are_cut_short(tmp_path):
    from central.passes.register import MAX_BLANK_RUN, ReadStats

    body = HEADER_ROW + _inline_row(2, ["3-2-401", "1", "resident"]) + "".join(
        f'<row r="{n}"><c r="XFD{n}"/></row>' for n in range(3, 200_003))  # 200,000 empty rows
    path = _crafted_xlsx(tmp_path / "bomb.xlsx", body)  # under 1 MB
    stats = ReadStats()
    rows, errors = read_register(path, stats=stats)
    assert [r.household for r in rows] == ["3-2-401"]
    assert stats.rows_read == 2 + MAX_BLANK_RUN  # not 200,002 rows, each padded to 16,384 columns
    assert errors and "blank rows in a row" in errors[0][1] and "连续" in errors[0][1]


def test_a_row_gap_up_to_the_last_row_is_not_walked(tmp_path):
    from central.passes.register import MAX_BLANK_RUN, ReadStats

    body = HEADER_ROW + _inline_row(2, ["3-2-401", "1", "resident"]) + _inline_row(1048576, ["9-9-9", "1", "resident"])
    stats = ReadStats()
    rows, errors = read_register(_crafted_xlsx(tmp_path / "gap.xlsx", body), stats=stats)
    assert len(rows) == 1 and stats.rows_read == 2 + MAX_BLANK_RUN
    assert "the rest was not read" in errors[0][1]


def test_columns_read_per_row_are_capped(tmp_path):
    from central.passes.register import MAX_COLUMNS, ReadLimits, ReadStats, _raw_rows

    wide = "".join(f'<c r="{_col(i)}2" t="inlineStr"><is><t>x</t></is></c>' for i in range(1, 16385))
    path = _crafted_xlsx(tmp_path / "wide.xlsx", HEADER_ROW + f'<row r="2">{wide}</row>')
    lines = list(_raw_rows(path, ReadLimits()))
    assert [len(values) for _, values in lines] == [MAX_COLUMNS, MAX_COLUMNS]
    rows, errors = read_register(path, stats=ReadStats())
    assert rows == [] and errors[0][0] == 2  # 'x' is no household... a reason, not a crash


def _col(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def test_rows_read_are_capped_blank_ones_included(tmp_path):
    from central.passes.register import ReadLimits, ReadStats

    lines = ["household,person,kind"] + ["3-2-401,1,resident", ""] * 600
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    stats = ReadStats()
    with pytest.raises(PassAdminError, match="blank rows count too"):
        read_register(path, limits=ReadLimits(rows=1000), stats=stats)
    assert stats.rows_read == 1001


def test_reading_stops_when_the_time_budget_is_spent(tmp_path):
    from central.passes.register import ReadLimits, ReadStats
    from gatepass.clock import ManualClock

    class SlowClock(ManualClock):
        """Every look at the clock finds a second gone (a stand-in for a slow file)."""

        def monotonic(self) -> float:
            self.advance(1.0)
            return super().monotonic()

    path = tmp_path / "slow.csv"
    path.write_text("\n".join(["household,person,kind"] + ["3-2-401,1,resident"] * 2000), encoding="utf-8")
    stats = ReadStats()
    with pytest.raises(PassAdminError, match="秒"):
        read_register(path, limits=ReadLimits(seconds=0.5), clock=SlowClock(), stats=stats)
    assert stats.rows_read == 256  # refused at the first look at the clock after the budget


def test_an_xlsx_that_inflates_too_far_is_refused_before_it_is_opened(tmp_path):
    from central.passes.register import ReadLimits

    body = HEADER_ROW + "".join(_inline_row(n, ["3-2-401", "1", "resident"]) for n in range(2, 2002))
    path = _crafted_xlsx(tmp_path / "big.xlsx", body)
    with pytest.raises(PassAdminError, match="MB"):
        read_register(path, limits=ReadLimits(unzipped_bytes=64 * 1024))
    with pytest.raises(PassAdminError, match="MB"):
        read_register(path, limits=ReadLimits(file_bytes=1024))
    rows, _ = read_register(path)
    assert len(rows) == 2000


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([".csv", ".xlsx"]))
def test_arbitrary_bytes_are_refused_with_a_reason(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("junk") / f"junk{suffix}"
    path.write_bytes(data)
    try:
        read_register(path)
    except PassAdminError as exc:
        assert str(exc)
