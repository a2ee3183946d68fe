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
    path.write_text("unit,who\n1,2\n")
    with pytest.raises(PassAdminError, match="household"):
        read_register(path)


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
