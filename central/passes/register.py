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

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from central.passes.errors import PassAdminError
from gatepass.clock import SYSTEM, Clock
from sync.passes.codec import MAX_GATE_CHARS, MAX_GATES, MAX_HOUSEHOLD_CHARS
from sync.passes.model import KIND_NAMES_ZH, KINDS

MAX_ROWS = 100_000            # register rows (good and bad)
MAX_ROWS_READ = 150_000       # rows read, blank ones included
MAX_BLANK_RUN = 1_000         # blank rows in a row that end the register
MAX_COLUMNS = 32              # columns read per row
MAX_FILE_BYTES = 20 * 2**20   # the file
MAX_UNZIPPED_BYTES = 64 * 2**20  # an XLSX's parts, inflated
MAX_ZIP_MEMBERS = 1_000
MAX_READ_S = 60.0             # reading the file (issuing its passes is not counted)
MAX_DAYS = 3660
COLUMN_ALIASES = {
    "household": "household", "户号": "household", "房号": "household", "unit": "household",
    "person": "person", "序号": "person", "人员序号": "person",
    "kind": "kind", "类型": "kind", "类别": "kind",
    "name": "name", "姓名": "name",
    "valid_from": "valid_from", "起始日期": "valid_from", "开始日期": "valid_from",
    "days": "days", "天数": "days", "有效天数": "days",
    "valid_to": "valid_to", "截止日期": "valid_to", "结束日期": "valid_to",
    "gates": "gates", "通行门": "gates", "门": "gates",
}
_KIND_BY_NAME = {**{k: k for k in KINDS}, **{zh: k for k, zh in KIND_NAMES_ZH.items()}}


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
    raise RowError(f"{column}: {text!r} is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)")


def _int(value: object, column: str, lo: int, hi: int) -> int:
    text = _cell(value)
    try:
        number = int(text)
    except ValueError:
        raise RowError(f"{column}: {text!r} is not a whole number") from None
    if not lo <= number <= hi:
        raise RowError(f"{column}: {number} is not in {lo}..{hi}")
    return number


def parse_row(line: int, raw: dict[str, object], tz: str = "Asia/Shanghai") -> RegisterRow:
    """Check one register row (keys: canonical column names); raises :class:`RowError`."""
    household = _cell(raw.get("household"))
    if not household:
        raise RowError("household: empty")
    if len(household) > MAX_HOUSEHOLD_CHARS or any(not ch.isprintable() for ch in household):
        raise RowError(f"household: must be 1-{MAX_HOUSEHOLD_CHARS} printable characters")
    if _cell(raw.get("person")) == "":
        raise RowError("person: empty")
    person = _int(raw.get("person"), "person", 0, 999)
    kind_text = _cell(raw.get("kind")).lower()
    if kind_text not in _KIND_BY_NAME:
        raise RowError(f"kind: {kind_text!r} is not one of {', '.join(KINDS)} / {', '.join(KIND_NAMES_ZH.values())}")
    name = _cell(raw.get("name"))
    if len(name) > 64:
        raise RowError("name: longer than 64 characters")
    valid_from = _parse_time(raw["valid_from"], "valid_from", tz) if _cell(raw.get("valid_from")) else None
    valid_to = _parse_time(raw["valid_to"], "valid_to", tz) if _cell(raw.get("valid_to")) else None
    days = _int(raw.get("days"), "days", 1, MAX_DAYS) if _cell(raw.get("days")) else None
    if valid_to is not None and days is not None:
        raise RowError("give either days or valid_to, not both")
    if valid_to is not None and valid_from is not None and valid_to <= valid_from:
        raise RowError("valid_to is not after valid_from")
    gates_text = _cell(raw.get("gates"))
    gates = None
    if gates_text and gates_text.lower() not in ("all", "全部"):
        gates = tuple(g.strip() for g in gates_text.replace(",", ";").split(";") if g.strip())
        if not 1 <= len(gates) <= MAX_GATES or any(len(g) > MAX_GATE_CHARS for g in gates):
            raise RowError(f"gates: 1-{MAX_GATES} gate ids of at most {MAX_GATE_CHARS} characters")
    return RegisterRow(line, household, person, _KIND_BY_NAME[kind_text], name, valid_from, valid_to, days, gates)


def _canonical_header(header: list[object]) -> list[str | None]:
    names = [COLUMN_ALIASES.get(_cell(h).lower()) for h in header]
    missing = {"household", "person", "kind"} - set(names)
    if missing:
        raise PassAdminError(f"the register lacks the column(s) {', '.join(sorted(missing))}",
                             "the first row must name the columns: household, person, kind, ...")
    return names


@dataclass(frozen=True)
class ReadLimits:
    """How much of a register file is read at most: a hostile file (an XLSX claiming 16,384 columns, a million
    empty rows, a zip that inflates a thousandfold) is refused or cut short with the reason, in bounded time."""

    file_bytes: int = MAX_FILE_BYTES          # the file as uploaded
    unzipped_bytes: int = MAX_UNZIPPED_BYTES  # XLSX: all its parts inflated (zip headers bound what is inflated)
    rows: int = MAX_ROWS_READ                 # rows read, blank ones included
    blank_run: int = MAX_BLANK_RUN            # this many blank rows in a row end the register
    columns: int = MAX_COLUMNS                # columns read per row (never the sheet's <dimension>)
    seconds: float = MAX_READ_S               # reading stops, and the file is refused, after this long


@dataclass
class ReadStats:
    """What reading a register took (for tests and logs): rows read (blank included), blank rows."""

    rows_read: int = 0
    blank_rows: int = 0


def _refuse(zh: str, en: str) -> PassAdminError:
    return PassAdminError(f"{zh} / {en}")


def _read_csv_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse("文件既不是 UTF-8 也不是 GB18030 文本", f"{path.name} is neither UTF-8 nor GB18030 text")


def _check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse an XLSX that is no zip or would inflate beyond ``limits.unzipped_bytes`` (before openpyxl reads it:
    its shared strings and styles are read whole when the workbook is opened)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse("不是可读取的 XLSX 文件", f"{path.name} is not a readable XLSX file") from None
    if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > limits.unzipped_bytes:
        raise _refuse(f"XLSX 解压后超过 {limits.unzipped_bytes // 2**20} MB，请删除多余的工作表、空行或格式后重试",
                      f"the XLSX inflates to more than {limits.unzipped_bytes // 2**20} MB")


def _xlsx_rows(path: Path, limits: ReadLimits) -> Iterator[tuple[int, list[object]]]:
    import openpyxl

    _check_zip(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a malformed file
        raise _refuse("不是可读取的 XLSX 文件", f"{path.name} is not a readable XLSX file") from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # never trust the file's <dimension ref="A1:XFD1048576">
        rows = sheet.iter_rows(min_row=1, max_col=limits.columns, values_only=True)
        for number, row in enumerate(rows, start=1):
            yield number, list(row)
    except PassAdminError:
        raise
    except Exception:  # noqa: BLE001 - a malformed sheet fails while it is read
        raise _refuse("XLSX 文件内容已损坏", f"{path.name}: the XLSX sheet is malformed") from None
    finally:
        book.close()


def _csv_rows(path: Path, limits: ReadLimits) -> Iterator[tuple[int, list[object]]]:
    reader = csv.reader(io.StringIO(_read_csv_text(path), newline=""))
    try:
        for row in reader:
            yield reader.line_num, list(row[:limits.columns])
    except csv.Error as exc:
        raise _refuse(f"CSV 格式错误（第 {reader.line_num} 行）", f"malformed CSV at line {reader.line_num}: {exc}") \
            from None


def _raw_rows(path: Path, limits: ReadLimits) -> Iterator[tuple[int, list[object]]]:
    if path.stat().st_size > limits.file_bytes:
        raise _refuse(f"文件超过 {limits.file_bytes // 2**20} MB", f"the file is larger than "
                      f"{limits.file_bytes // 2**20} MB")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, limits)
    return _csv_rows(path, limits)


def read_register(path: Path, tz: str = "Asia/Shanghai", limits: ReadLimits | None = None,
                  clock: Clock = SYSTEM, stats: ReadStats | None = None,
                  ) -> tuple[list[RegisterRow], list[tuple[int, str]]]:
    """Read and check every row of a CSV/XLSX register: (good rows, [(line, reason)] for bad rows).

    Blank rows are skipped, but count toward ``limits.rows``; ``limits.blank_run`` blank rows in a row end the
    register (noted as a bad line). A missing required column, a file over the limits or a read that takes longer
    than ``limits.seconds`` (on ``clock``) is an error for the whole file (:class:`PassAdminError`).
    """
    path, limits, stats = Path(path), limits or ReadLimits(), stats if stats is not None else ReadStats()
    if not path.exists():
        raise PassAdminError(f"register file {path} does not exist")
    deadline = clock.monotonic() + limits.seconds
    rows: list[RegisterRow] = []
    errors: list[tuple[int, str]] = []
    header: list[str | None] | None = None
    blank_run = 0
    for line, values in _raw_rows(path, limits):
        stats.rows_read += 1
        _check_budget(stats, limits, deadline, clock)
        if all(_cell(v) == "" for v in values):
            stats.blank_rows += 1
            blank_run += 1
            if blank_run >= limits.blank_run:
                errors.append((line, f"连续 {blank_run} 行空白，其后内容未读取 / {blank_run} blank rows in a row: "
                                     "the rest was not read"))
                break
            continue
        blank_run = 0
        if header is None:
            header = _canonical_header(values)
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append((line, f"more than {MAX_ROWS} rows: the rest was not read"))
            break
        record = {name: value for name, value in zip(header, values, strict=False) if name}
        try:
            rows.append(parse_row(line, record, tz))
        except RowError as exc:
            errors.append((line, str(exc)))
    if header is None:
        raise PassAdminError(f"register file {path} is empty")
    return rows, errors


def _check_budget(stats: ReadStats, limits: ReadLimits, deadline: float, clock: Clock) -> None:
    if stats.rows_read > limits.rows:
        raise _refuse(f"读取超过 {limits.rows} 行（空行也计入），请删除多余的空行后重试",
                      f"more than {limits.rows} rows read (blank rows count too)")
    if stats.rows_read % 256 == 0 and clock.monotonic() > deadline:
        raise _refuse(f"读取超过 {limits.seconds:g} 秒，文件过大或格式异常，请拆分或删除空行后重试",
                      f"reading took longer than {limits.seconds:g} s")
