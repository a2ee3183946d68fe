"""Reading a household register (CSV or XLSX) for bulk issuance, row by row, with reasons for bad rows.

Columns (header row first; English or Chinese names; order free; extra columns ignored):

=============  ==========  ========  =====================================================
column         中文        required  value
=============  ==========  ========  =====================================================
household      户号         yes       unit id, e.g. ``3-2-401`` (building-entrance-room)
person         序号         yes       person index within the household, 0-999
kind           类型         yes       resident/temporary/visitor/staff/delivery or
                                      居民/临时/访客/工作人员/配送
name           姓名         no        printed on the card only; never in the pass
valid_from     起始日期     no        ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM`` (local time);
                                      default: now
days           天数         no        validity in days (default: the command's ``--days``)
valid_to       截止日期     no        instead of days: ``YYYY-MM-DD[ HH:MM]`` local time
gates          通行门       no        gate ids separated by ``;`` or ``,``; empty or ``all``: every gate
=============  ==========  ========  =====================================================

CSV files may be UTF-8 (with or without BOM) or GB18030 (what Excel saves on
Chinese Windows). Line numbers in reports count the header as line 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from central import tabular
from central.passes.errors import PassAdminError
from central.tabular import MAX_BLANK_RUN as MAX_BLANK_RUN  # re-exported: the limits live in central.tabular
from central.tabular import MAX_COLUMNS as MAX_COLUMNS
from central.tabular import ReadLimits, ReadStats, TabularError
from gatepass.clock import SYSTEM, Clock
from sync.passes.codec import MAX_GATE_CHARS, MAX_GATES, MAX_HOUSEHOLD_CHARS
from sync.passes.model import KIND_NAMES_ZH, KINDS

MAX_ROWS = 100_000            # register rows (good and bad)
MAX_DAYS = 3660
COLUMN_ALIASES = {
    "household": "household", "户号": "household", "unit": "household",
    "楼号": "building", "楼栋": "building", "栋": "building", "楼": "building", "单元": "unit_no",
    "单元号": "unit_no", "房号": "room", "门牌": "room", "门牌号": "room", "房间号": "room", "室": "room",
    "person": "person", "序号": "person", "人员序号": "person",
    "kind": "kind", "类型": "kind", "类别": "kind", "通行证类型": "kind",
    "name": "name", "姓名": "name",
    "valid_from": "valid_from", "起始日期": "valid_from", "开始日期": "valid_from",
    "days": "days", "天数": "days", "有效天数": "days",
    "valid_to": "valid_to", "截止日期": "valid_to", "结束日期": "valid_to",
    "gates": "gates", "通行门": "gates", "门": "gates",
}
_ALIASES = {tabular.normalise_header(k): v for k, v in COLUMN_ALIASES.items()}
#: what people write for a kind, beyond the codes and their Chinese names: owners and tenants are residents
KIND_WORDS = {"租户": "resident", "业主": "resident", "住户": "resident", "户主": "resident", "家属": "resident",
              "tenant": "resident", "owner": "resident", "快递": "delivery", "外卖": "delivery", "物业": "staff"}
_KIND_BY_NAME = {**KIND_WORDS, **{k: k for k in KINDS}, **{zh: k for k, zh in KIND_NAMES_ZH.items()}}


class RowError(PassAdminError):
    """A register row that cannot be issued; the message says why."""


@dataclass(frozen=True)
class RegisterRow:
    """One checked register row."""

    line: int
    household: str
    person: int
    kind: str
    name: str = ""
    valid_from: float | None = None
    valid_to: float | None = None
    days: float | None = None
    gates: tuple[str, ...] | None = None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_ZH = {"household": "户号", "person": "序号", "kind": "类型", "name": "姓名", "valid_from": "起始日期",
       "days": "天数", "valid_to": "截止日期", "gates": "通行门"}


def _bad(column: str, zh: str, en: str) -> RowError:
    return RowError(f"{_ZH.get(column, column)}{zh} / {column}: {en}")


def _parse_time(value: object, column: str, tz: str) -> float:
    zone = ZoneInfo(tz)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone).timestamp()
    text = _cell(value)
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone).timestamp()
        except ValueError:
            continue
    raise _bad(column, f"「{text}」不是日期（应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM）",
               f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)")


def _int(value: object, column: str, lo: int, hi: int) -> int:
    text = _cell(value)
    try:
        number = int(text)
    except ValueError:
        raise _bad(column, f"「{text}」不是整数", f"{text!r} is not a whole number") from None
    if not lo <= number <= hi:
        raise _bad(column, f" {number} 不在 {lo}–{hi} 之间", f"{number} is not in {lo}..{hi}")
    return number


def parse_row(line: int, raw: dict[str, object], tz: str = "Asia/Shanghai") -> RegisterRow:
    """Check one register row (keys: canonical column names); raises :class:`RowError` (zh-CN / English)."""
    household = _cell(raw.get("household"))
    if not household:
        raise _bad("household", "为空", "empty")
    if len(household) > MAX_HOUSEHOLD_CHARS or any(not ch.isprintable() for ch in household):
        raise _bad("household", f"应为 1–{MAX_HOUSEHOLD_CHARS} 个可打印字符",
                   f"must be 1-{MAX_HOUSEHOLD_CHARS} printable characters")
    if _cell(raw.get("person")) == "":
        raise _bad("person", "为空", "empty")
    person = _int(raw.get("person"), "person", 0, 999)
    kind_text = _cell(raw.get("kind")).lower()
    if kind_text not in _KIND_BY_NAME:
        raise _bad("kind", f"「{kind_text}」不是{'/'.join(KIND_NAMES_ZH.values())}/业主/租户之一",
                   f"{kind_text!r} is not one of {', '.join(KINDS)}")
    name = _cell(raw.get("name"))
    if len(name) > 64:
        raise _bad("name", "超过 64 个字", "longer than 64 characters")
    valid_from = _parse_time(raw["valid_from"], "valid_from", tz) if _cell(raw.get("valid_from")) else None
    valid_to = _parse_time(raw["valid_to"], "valid_to", tz) if _cell(raw.get("valid_to")) else None
    days = _int(raw.get("days"), "days", 1, MAX_DAYS) if _cell(raw.get("days")) else None
    if valid_to is not None and days is not None:
        raise RowError("天数和截止日期只能填一个 / give either days or valid_to, not both")
    if valid_to is not None and valid_from is not None and valid_to <= valid_from:
        raise RowError("截止日期不晚于起始日期 / valid_to is not after valid_from")
    gates_text = _cell(raw.get("gates"))
    gates = None
    if gates_text and gates_text.lower() not in ("all", "全部"):
        gates = tuple(g.strip() for g in gates_text.replace(",", ";").replace("，", ";").split(";") if g.strip())
        if not 1 <= len(gates) <= MAX_GATES or any(len(g) > MAX_GATE_CHARS for g in gates):
            raise _bad("gates", f"应为 1–{MAX_GATES} 个门岗编号，每个不超过 {MAX_GATE_CHARS} 个字符",
                       f"1-{MAX_GATES} gate ids of at most {MAX_GATE_CHARS} characters")
    return RegisterRow(line, household, person, _KIND_BY_NAME[kind_text], name, valid_from, valid_to, days, gates)


def _canonical_header(header: list[object]) -> list[str | None]:
    names = [_ALIASES.get(tabular.normalise_header(_cell(h))) for h in header]
    if "household" not in names and "room" not in names:
        raise PassAdminError("登记表缺少「户号」列（或「楼号/单元/房号」列）；第一行应为列名，如 户号、姓名 / "
                             "the register lacks the column household (or building/unit/room): the first row must "
                             "name the columns")
    return names


def _raw_rows(path: Path, limits: ReadLimits) -> Iterator[tuple[int, list[object]]]:
    """The file's rows as read (kept for tests; the reading lives in :mod:`central.tabular`)."""
    try:
        yield from tabular.raw_rows(path, path.name, limits)
    except TabularError as exc:
        raise PassAdminError(str(exc)) from None


def read_register(path: Path, tz: str = "Asia/Shanghai", limits: ReadLimits | None = None,
                  clock: Clock = SYSTEM, stats: ReadStats | None = None,
                  ) -> tuple[list[RegisterRow], list[tuple[int, str]]]:
    """Read and check every row of a CSV/XLSX register: (good rows, [(line, reason)] for bad rows).

    Blank rows are skipped, but count toward ``limits.rows``; ``limits.blank_run`` blank rows in a row end the
    register (noted as a bad line). A missing required column, a file over the limits or a read that takes longer
    than ``limits.seconds`` (on ``clock``) is an error for the whole file (:class:`PassAdminError`, zh-CN first).
    A roster without 户号 but with 楼号/单元/房号 gets ``building-unit-room`` as household; without 序号 the people of
    a household are numbered 0, 1, 2 … in the order of the file; without 类型 everybody is a resident.
    """
    path = Path(path)
    if not path.exists():
        raise PassAdminError(f"登记表文件 {path} 不存在 / register file {path} does not exist")
    rows: list[RegisterRow] = []
    errors: list[tuple[int, str]] = []
    header: list[str | None] | None = None
    numbering: dict[str, int] = {}
    try:
        for line, values in tabular.iter_rows(path, path.name, limits, clock, stats, errors):
            if header is None:
                header = _canonical_header(values)
                continue
            if len(rows) + len(errors) >= MAX_ROWS:
                errors.append((line, f"超过 {MAX_ROWS} 行，其后内容未读取 / more than {MAX_ROWS} rows: the rest "
                                     "was not read"))
                break
            record = _complete({name: value for name, value in zip(header, values, strict=False) if name}, numbering)
            try:
                rows.append(parse_row(line, record, tz))
            except RowError as exc:
                errors.append((line, str(exc)))
    except TabularError as exc:
        raise PassAdminError(str(exc)) from None
    if header is None:
        raise PassAdminError(f"登记表是空的 / register file {path} is empty")
    return rows, errors


def _complete(record: dict[str, object], numbering: dict[str, int]) -> dict[str, object]:
    """Fill what a roster leaves out: the household from building/unit/room, the person by order, the kind."""
    if "household" not in record and "room" in record:
        parts = [_cell(record.get(k)) for k in ("building", "unit_no", "room")]
        record["household"] = "-".join(p for p in parts if p) if _cell(record.get("room")) else ""
    if "person" not in record:
        household = _cell(record.get("household"))
        record["person"] = numbering.get(household, 0)
        numbering[household] = int(record["person"]) + 1  # type: ignore[call-overload]
    if "kind" not in record:
        record["kind"] = "resident"
    return record
