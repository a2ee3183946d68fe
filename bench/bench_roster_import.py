"""Importing a 50,000-row household roster (一户一档), against a bare ``sqlite_utils`` insert of the same rows.

The roster: 25,000 households (楼号-单元-房号) of two members each, every column of a real roster filled (phone,
relation, owner/tenant with a landlord, grid, grid worker, care flags). Printed, in rows per second:

- the whole import (:func:`central.roster_import.import_rows`: every cell parsed and checked, each row matched
  against the members already on file, staged in chunks with progress, then moved into the household tables in one
  transaction) into a fresh SQLite database, against ``sqlite_utils`` ``insert_all`` of the same 50,000 rows (as
  dicts, 1,000 per transaction) into a plain table of a fresh database with the same settings (WAL,
  ``synchronous=FULL``) in the same run: what checking, matching and all-or-nothing cost;
- re-importing the same roster (every row an update), against the same baseline;
- reading the roster as an XLSX file (:func:`central.tabular.read_table`), for orientation.

``nice -n 10 .venv/bin/python -m bench roster_import`` (``--quick``: 5,000 rows).
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from bench.harness import Result

HEADERS = ("楼号", "单元", "房号", "姓名", "联系电话", "与户主关系", "身份", "房东", "网格", "网格员", "特殊人群",
           "备注")
MAPPING = {i: f for i, f in enumerate(("building", "unit", "room", "name", "phone", "relation", "tenure", "landlord",
                                       "grid", "grid_worker", "flags", "note"))}
_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def roster(rows: int) -> list[list[str]]:
    """``rows`` roster rows (two per household)."""
    out = []
    for n in range(rows):
        i, k = divmod(n, 2)
        tenant = i % 5 == 4
        out.append([str(1 + i // 400), str(1 + (i // 100) % 4), str(101 + i % 100),
                    _NAMES[i % 20] + _NAMES[(i // 20) % 20] + ("" if k == 0 else "妻"), f"13{i:08d}{k}"[:11],
                    "户主" if k == 0 else "配偶", "租户" if tenant else "业主", f"房东{i}" if tenant else "",
                    f"第{1 + i // 1000}网格", f"网格员{1 + i // 1000}", "独居老人" if i % 11 == 0 and k == 0 else "",
                    ""])
    return out


def _xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()  # shared strings, as Excel and WPS write them
    sheet = book.active
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bare(rows: list[list[str]], path: Path) -> float:
    from gatepass.sqlitedb import connect

    db = connect(path)  # a sqlite_utils.Database with central's settings (WAL, synchronous=FULL)
    dicts = [dict(zip(HEADERS, row, strict=True)) for row in rows]
    t0 = time.perf_counter()
    db["roster"].insert_all(dicts, batch_size=1000)
    took = time.perf_counter() - t0
    db.close()
    return took


def run(quick: bool = False) -> list[Result]:
    """The benchmark at 50,000 rows (``quick``: 5,000)."""
    return measure(5_000 if quick else 50_000)


def measure(count: int) -> list[Result]:
    """Import ``count`` roster rows, re-import them, and a bare insert of the same rows."""
    from central import roster_import, tabular
    from central.db import open_db

    rows = roster(count)
    lines = [(n + 2, row) for n, row in enumerate(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        bare = _bare(rows, Path(tmp) / "bare.db")
        db = open_db(Path(tmp) / "central.db")
        t0 = time.perf_counter()
        plan, job = roster_import.import_rows(db, lines, MAPPING, by="bench")
        first = time.perf_counter() - t0
        assert job is not None and job.state == "done" and not plan.bad and plan.new_members == count, job
        t0 = time.perf_counter()
        plan, job = roster_import.import_rows(db, lines, MAPPING, by="bench")
        again = time.perf_counter() - t0
        assert job is not None and job.state == "done" and plan.new_members == 0, job
        db.close()
    data = _xlsx(rows)
    t0 = time.perf_counter()
    table = tabular.read_table(data, "roster.xlsx")
    read = time.perf_counter() - t0
    assert len(table.rows) == count
    base = f"bare sqlite_utils insert_all of the same {count:,} rows"
    return [Result(f"roster import, {count:,} rows (check, match, stage, one transaction)", count / first, "rows/s",
                    base, count / bare),
            Result(f"roster re-import, {count:,} rows (all updates)", count / again, "rows/s", base, count / bare),
            Result(f"reading the roster XLSX ({len(data) // 1024:,} KiB)", count / read, "rows/s")]
