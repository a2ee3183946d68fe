"""Importing a questionnaire export or a street-office list into the screening register: the columns it may have
(:data:`fields`, for :mod:`central.tabular`'s mapping step) and the checked rows as :class:`ScreenRow` s.

The steps (the console's ``/screening/import`` pages): read the upload (:func:`central.tabular.read_table`,
bounded), keep it, guess the mapping from the Chinese headers (``姓名``, ``联系电话``, ``返京日期``, ``车次/航班`` …
in any order), let staff correct it, :func:`check` every row (per-row Chinese reasons), then
:func:`central.screening.import_rows` the good ones in one transaction. A row without a valid phone number is
refused (people are merged by it); rows of one file with the same phone are merged into one person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from central import tabular
from central.screening import ScreenRow
from central.screening_parse import Parsed, parse_category, parse_date, parse_phone, parse_text, parse_travel

PREVIEW_BAD = 200  # bad rows a preview lists
PREVIEW_GOOD = 20  # good rows a preview shows


def _field_parser(parse: Callable[[str], Parsed]) -> Callable[[str], str]:
    """A :class:`central.tabular.Field` parser of one of :mod:`central.screening_parse`'s."""

    def run(text: str) -> str:
        value, why = parse(text)
        if why is not None or value is None:
            raise tabular.Invalid((why or "").split(" / ")[0])
        return value

    return run


def fields(today: date) -> tuple[tabular.Field, ...]:
    """The register's fields (return dates are checked against ``today``)."""
    text = _field_parser(parse_text)
    return (
        tabular.Field("name", "姓名", "Name", ("姓名", "名字", "人员姓名", "联系人", "name"), parse=text),
        tabular.Field("phone", "联系电话", "Phone", ("联系电话", "联系人电话", "电话", "手机", "手机号", "手机号码",
                                                    "联系方式", "phone", "mobile"), required=True,
                      parse=_field_parser(parse_phone)),
        tabular.Field("household", "住址/户号", "Address / household", (
            "户号", "住址", "地址", "现住址", "居住地址", "家庭住址", "门牌", "房号", "address"), parse=text),
        tabular.Field("origin_city", "来自城市", "From (city)", (
            "来源地", "出发地", "来自城市", "来自何地", "从何地返回", "从何地来", "所在城市", "城市", "返回前所在地",
            "from"), parse=text),
        tabular.Field("return_date", "返回日期", "Return date", (
            "返回日期", "返乡日期", "返京日期", "到达日期", "抵达日期", "返回时间", "到达时间", "抵达时间", "返回"),
            parse=_field_parser(lambda t: parse_date(t, today))),
        tabular.Field("travel", "车次/航班", "Train / flight", (
            "车次", "航班", "航班号", "车次航班", "交通方式", "班次", "train", "flight"),
            parse=_field_parser(parse_travel)),
        tabular.Field("health", "健康状况", "Health", ("健康状况", "健康", "症状", "身体状况", "体温", "health"),
                      parse=text),
        tabular.Field("contact", "接触史", "Contact history", ("接触史", "接触", "密接", "旅居史", "风险", "contact"),
                      parse=text),
        tabular.Field("category", "人员类别", "Category", ("人员类别", "类别", "人员类型", "类型", "category"),
                      parse=_field_parser(parse_category)),
    )


@dataclass
class Checked:
    """A checked upload: the good rows (to import), the bad ones with their reasons, the phones given twice."""

    good: list[ScreenRow] = field(default_factory=list)
    bad: list[tabular.CheckedRow] = field(default_factory=list)
    repeated: int = 0  # good rows whose phone an earlier good row has (merged into one person)

    @property
    def people(self) -> int:
        """People the good rows name."""
        return len(self.good) - self.repeated


def check(table: tabular.Table, mapping: dict[int, str], today: date) -> Checked:
    """Every row of ``table`` under ``mapping``: good ones as :class:`ScreenRow`, bad ones with Chinese reasons."""
    out = Checked()
    seen: set[str] = set()
    for row in tabular.check_rows(table.rows, mapping, fields(today)):
        if not row.ok:
            out.bad.append(row)
            continue
        v = row.values
        out.repeated += v["phone"] in seen
        seen.add(v["phone"])
        out.good.append(ScreenRow(phone=v["phone"], name=v["name"], household=v["household"],
                                  origin_city=v["origin_city"], return_date=v["return_date"], travel=v["travel"],
                                  health=v["health"], contact=v["contact"], category=v["category"], row_no=row.line))
    return out


def mapping_of(form: dict[str, str], headers: Sequence[str], today: date) -> tuple[dict[int, str], list[str]]:
    """The mapping posted by the mapping step and what is wrong with it (Chinese; empty: fine)."""
    found = tabular.mapping_from_form(form, len(headers), fields(today))
    return found, tabular.mapping_problems(found, fields(today))
