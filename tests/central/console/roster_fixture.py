"""A realistic household roster for tests (reusable): Chinese headers in any order, written as XLSX or CSV.

    from tests.central.console.roster_fixture import roster_rows, write_roster
    path = write_roster(tmp_path / "花名册.xlsx", households=300)          # default header order
    path = write_roster(tmp_path / "r.xlsx", households=300, headers=SHUFFLED_HEADERS)
    rows = roster_rows(300)   # the same people as dicts keyed by the default headers

Household ``i`` (0-based) is building ``1 + i // 40``, unit ``1 + (i // 20) % 2``, room ``101 + i % 20``
(``household_id(i)`` gives ``1-1-101`` …); it has 1-3 members (``1 + i % 3``): the head (户主, 业主 or every
fifth household 租户 with a landlord), a spouse, a child. Every seventh head is 独居老人.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

HEADERS = ("楼号", "单元", "房号", "姓名", "联系电话", "与户主关系", "身份", "房东", "网格", "网格员", "特殊人群",
           "备注")
#: The same columns in another order, with other words people use (楼栋, 门牌号, 手机号码, 居住类型 …); "称谓"
#: (the relation) is a word the guesser does not know: staff map it by hand
SHUFFLED_HEADERS = ("手机号码", "姓名", "门牌号", "楼栋", "单元", "称谓", "居住类型", "网格员", "所属网格", "房东",
                    "重点人群", "备注")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英")


def household_id(i: int) -> str:
    """The household id of household ``i`` (building-unit-room)."""
    return f"{1 + i // 40}-{1 + (i // 20) % 2}-{101 + i % 20}"


def _person(i: int, k: int) -> dict[str, str]:
    building, unit, room = household_id(i).split("-")
    tenant = i % 5 == 4
    name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i * 3 + k) % len(_GIVEN)] + ("" if k == 0 else "儿女"[k - 1])
    return {"楼号": building, "单元": unit, "房号": room, "姓名": name,
            "联系电话": f"139{i:04d}{k:04d}", "与户主关系": ("户主", "配偶", "子女")[k],
            "身份": "租户" if tenant else "业主", "房东": f"房东{i}" if tenant else "",
            "网格": f"第{1 + i // 100}网格", "网格员": f"网格员{1 + i // 100}",
            "特殊人群": "独居老人" if k == 0 and i % 7 == 0 else "", "备注": ""}


def roster_rows(households: int) -> list[dict[str, str]]:
    """The roster's people in file order, keyed by :data:`HEADERS`."""
    return [_person(i, k) for i in range(households) for k in range(1 + i % 3)]


def _cells(person: dict[str, str], headers: Sequence[str]) -> list[str]:
    by_position = dict(zip(SHUFFLED_HEADERS, ("联系电话", "姓名", "房号", "楼号", "单元", "与户主关系", "身份",
                                               "网格员", "网格", "房东", "特殊人群", "备注"), strict=True))
    return [person[by_position.get(h, h)] for h in headers]


def write_roster(path: Path, households: int = 300, headers: Sequence[str] = HEADERS) -> Path:
    """Write the roster (XLSX if ``path`` ends in .xlsx, else UTF-8 CSV with BOM) with ``headers`` (any order of
    :data:`HEADERS` or :data:`SHUFFLED_HEADERS`)."""
    rows = [_cells(p, headers) for p in roster_rows(households)]
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        book.active.append(list(headers))
        for row in rows:
            book.active.append(row)
        book.save(path)
    else:
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerows([list(headers), *rows])
    return path
