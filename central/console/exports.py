"""The console's CSV and XLSX files, in the form a street office accepts.

Every export is a :class:`Table`: a title, a sheet name and :class:`Column` s that know their header in Chinese and
English and the kind of their values. The conventions, the same for every export (entries, trace, daily report):

- XLSX: the title in the first row, the headers (in the console language of the member) in the second, both frozen
  so they stay in view; times as real date/time cells in the console's local time zone
  (``yyyy-mm-dd hh:mm:ss``), days as date cells; counts as numbers, and a totals row ("合计") summing every count
  column; column widths fit for Chinese headers; sheet names in the member's language.
- CSV: UTF-8 with a byte-order mark (Excel on staff PCs opens Chinese text without mojibake), the headers in the
  first line, times as ``YYYY-MM-DD HH:MM:SS`` local time, the same totals row as the XLSX.
- Values people read: codes (decisions, reasons) are shown as words; where a machine needs the code it is in a
  second column next to the words (e.g. "原因" and "原因代码").
- Hostile stored values stay harmless: control characters are written out, a text that a spreadsheet would run
  as a formula gets a leading ``'`` (as OWASP advises), numbers that are not finite or not exact become text.

XLSX is written with openpyxl in write-only mode (constant memory), one sheet per table.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.responses import Response

from central.console import values
from central.console.i18n import reason_text, translator
from central.console.timeutil import INVALID_TIME, as_time, fmt
from central.store import CentralDB

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXACT_INT = 2**53  # larger integers lose digits in a spreadsheet: written as text

# Kinds of column values.
TEXT, TIME, DATE, COUNT, DECIMAL = "text", "time", "date", "count", "decimal"
_FORMATS = {TIME: "yyyy-mm-dd hh:mm:ss", DATE: "yyyy-mm-dd", COUNT: "0", DECIMAL: "0.0"}
_WIDTHS = {TIME: 20.0, DATE: 12.0, COUNT: 9.0, DECIMAL: 8.0, TEXT: 12.0}
_TITLE_FONT = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
TOTAL = ("合计", "Total")


@dataclass(frozen=True)
class Column:
    """One column: its header in Chinese and English, the kind of its values and (optionally) its width."""

    zh: str
    en: str
    kind: str = TEXT
    width: float = 0.0  # 0: fit the header and the kind

    def header(self, lang: str) -> str:
        """The header in ``lang``."""
        return self.en if lang == "en" else self.zh

    def fit(self, lang: str) -> float:
        """A column width (in characters; a Chinese character counts two) that shows the header and values."""
        return max(self.width or _WIDTHS[self.kind], display_width(self.header(lang)) + 2.0)


@dataclass
class Table:
    """One exported table: a sheet of an XLSX or a whole CSV. ``rows`` hold values in column order: unix seconds
    for TIME columns, :class:`datetime.date` for DATE, numbers for COUNT and DECIMAL."""

    sheet: str
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]
    totals: bool = True  # add a totals row when there is a COUNT column
    #: the totals row's values when they are not the column sums (a count of distinct households over gates)
    fixed_totals: Sequence[object] | None = None
    notes: Sequence[str] = ()  # lines of fixed text under the table (unit, contact ...)
    _sums: list[int] = field(default_factory=list, init=False, repr=False)

    def has_totals(self) -> bool:
        """Whether the table ends with a totals row."""
        return self.totals and any(c.kind == COUNT for c in self.columns)

    def values(self) -> Iterable[Sequence[object]]:
        """The rows, adding up the count columns on the way (for :meth:`totals_row`)."""
        self._sums = [0] * len(self.columns)
        counts = [i for i, c in enumerate(self.columns) if c.kind == COUNT]
        for row in self.rows:
            for i in counts:
                v = row[i]
                if isinstance(v, int) and not isinstance(v, bool):
                    self._sums[i] += v
            yield row

    def totals_row(self, lang: str) -> list[object]:
        """The totals row after :meth:`values` ran: "合计" in the first column, the sum of each count column."""
        if self.fixed_totals is not None:
            row = list(self.fixed_totals)
        else:
            row = [self._sums[i] if c.kind == COUNT else None for i, c in enumerate(self.columns)]
        if row[0] is None:
            row[0] = TOTAL[1] if lang == "en" else TOTAL[0]
        return row


def display_width(text: str) -> int:
    """How many columns ``text`` takes in a monospaced view (a wide, e.g. Chinese, character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _safe(value: object) -> object:
    """Any stored value as a cell both formats and every spreadsheet program take: numbers that are finite and
    exact as they are, anything else as text with its control characters written out (openpyxl refuses them)
    and spreadsheet formula injection neutralised (a leading ', as OWASP advises)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and -_EXACT_INT < value < _EXACT_INT:
        return value
    if isinstance(value, float):
        if values.finite(value) is not None:
            return value
        return values.INVALID_VALUE
    text = values.clean_text(value if isinstance(value, str) else str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def local_time(ts: object, tz: ZoneInfo) -> datetime | None:
    """The local (naive: spreadsheets have no zones) date and time of unix seconds; None for no representable
    time. Never raises."""
    when = as_time(ts)
    if when is None:
        return None
    try:
        local = when.astimezone(tz)
    except (OverflowError, ValueError):
        return None
    return local.replace(tzinfo=None, microsecond=0) if 1900 <= local.year <= 9999 else None


def _bad_time(ts: object) -> str:
    return f"{INVALID_TIME} ({str(ts)[:40]})"


def _xlsx_value(kind: str, value: object, tz: ZoneInfo) -> object:
    if value is None:
        return None
    if kind == TIME and not isinstance(value, datetime):
        when = local_time(value, tz)
        return when if when is not None else _safe(_bad_time(value))
    if kind in (TIME, DATE) and isinstance(value, date):
        return value
    return _safe(value)


def _csv_value(kind: str, value: object, tz: ZoneInfo) -> object:
    if value is None:
        return ""
    if kind == TIME:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        text = fmt(value, tz, invalid="")
        return text or _safe(_bad_time(value))
    if kind == DATE and isinstance(value, date):
        return value.isoformat()
    return _safe(value)


def to_csv(table: Table, lang: str, tz: ZoneInfo) -> bytes:
    """A CSV file of ``table`` (UTF-8 with BOM, CRLF line ends): headers, rows, totals row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([_safe(c.header(lang)) for c in table.columns])
    kinds = [c.kind for c in table.columns]
    for row in table.values():
        writer.writerow([_csv_value(k, v, tz) for k, v in zip(kinds, row, strict=True)])
    if table.has_totals():
        writer.writerow(["" if v is None else _safe(v) for v in table.totals_row(lang)])
    for note in table.notes:
        writer.writerow([_safe(note)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table], lang: str, tz: ZoneInfo) -> bytes:
    """An XLSX workbook with one sheet per table (title row, frozen header row, typed cells, totals row)."""
    wb = Workbook(write_only=True)
    for table in tables:
        _write_sheet(wb.create_sheet(title=sheet_name(table.sheet)), table, lang, tz)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def sheet_name(text: str) -> str:
    """A valid sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in values.clean_text(text)).strip("'")
    return clean[:31] or "sheet"


def _write_sheet(ws: WriteOnlyWorksheet, table: Table, lang: str, tz: ZoneInfo) -> None:
    cols = table.columns
    for i, col in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.fit(lang)
    ws.freeze_panes = "A3"  # the title and header rows stay in view
    ws.print_title_rows = "1:2"
    ws.append([_styled(ws, _safe(table.title), font=_TITLE_FONT)])
    ws.append([_styled(ws, _safe(c.header(lang)), font=_BOLD, fill=_HEAD_FILL, wrap=True) for c in cols])
    for row in table.values():
        ws.append([_cell(ws, c.kind, _xlsx_value(c.kind, v, tz)) for c, v in zip(cols, row, strict=True)])
    if table.has_totals():
        totals = zip(cols, table.totals_row(lang), strict=True)
        ws.append([_styled(ws, _xlsx_value(c.kind, v, tz), font=_BOLD, fill=_TOTAL_FILL,
                           number_format=_FORMATS.get(c.kind)) for c, v in totals])
    if table.notes:
        ws.append([])
    for note in table.notes:
        ws.append([_safe(note)])


def _cell(ws: WriteOnlyWorksheet, kind: str, value: object) -> object:
    """A plain value, or a cell with a number format for times, days and decimals."""
    if isinstance(value, datetime):
        return _styled(ws, value, number_format=_FORMATS[TIME])
    if isinstance(value, date):
        return _styled(ws, value, number_format=_FORMATS[DATE])
    if kind == DECIMAL and isinstance(value, float):
        return _styled(ws, value, number_format=_FORMATS[DECIMAL])
    return value


def _styled(ws: WriteOnlyWorksheet, value: object, *, font: Font | None = None, fill: PatternFill | None = None,
            number_format: str | None = None, wrap: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


def download(tables: Sequence[Table], fmt_: str, name: str, lang: str, tz: ZoneInfo) -> Response:
    """``tables`` as a download named ``name``: the first table as CSV when ``fmt_`` is ``"csv"``, else every table
    as a sheet of one XLSX."""
    if fmt_ == "csv":
        return Response(to_csv(tables[0], lang, tz), media_type=CSV_TYPE, headers=download_headers(f"{name}.csv"))
    return Response(to_xlsx(tables, lang, tz), media_type=XLSX_TYPE, headers=download_headers(f"{name}.xlsx"))


def download_headers(filename: str) -> dict[str, str]:
    """``Content-Disposition`` for a download (ASCII file names only)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


# -- what staff read instead of codes ------------------------------------------------------------

def gate_names(db: CentralDB) -> dict[str, str]:
    """The name staff gave each gate's device (the first registered device of a gate that has a name), by gate id."""
    names: dict[str, str] = {}
    rows = db.execute("SELECT gate_id, name FROM devices WHERE name != '' ORDER BY revoked_at IS NOT NULL, "
                      "created_at, device_id").fetchall()
    for gate_id, name in rows:
        names.setdefault(gate_id, name)
    return names


_DECISION_KEYS = {"pass": "pass", "refuse": "refuse", "guard": "guard_dec", "info": "info"}
_DIRECTION_KEYS = {"in": "in", "out": "out"}


@dataclass(frozen=True)
class Words:
    """Codes stored in entries as the words staff read, in one language; an unknown code stays as it is."""

    lang: str
    gates: dict[str, str] = field(default_factory=dict)

    def _word(self, key: str, code: object) -> object:
        if not isinstance(code, str) or not code:
            return code
        text = translator(self.lang)(key)
        return code if text == key else text

    def decision(self, code: object) -> object:
        """通行 / 拒绝 / 保安处理 / 记录."""
        return self._word(_DECISION_KEYS.get(code, "?") if isinstance(code, str) else "?", code)

    def direction(self, code: object) -> object:
        """进 / 出."""
        return self._word(_DIRECTION_KEYS.get(code, "?") if isinstance(code, str) else "?", code)

    def event(self, code: object) -> object:
        """扫码 / 访客登记 / 保安放行 ..."""
        return self._word(f"ev.{code}", code)

    def pass_kind(self, code: object) -> object:
        """居民 / 临时 / 访客 ..."""
        return self._word(f"kind.{code}", code)

    def override(self, code: object) -> object:
        """The reason a guard gave for letting someone through."""
        return self._word(f"ovr.{code}", code)

    def reason(self, code: object) -> object:
        """The reason's text as the gate showed it."""
        return reason_text(code, self.lang) if isinstance(code, str) and code else code

    def fever(self, flag: object) -> object:
        """是 / 否."""
        if flag in (0, 1) and not isinstance(flag, float):
            return translator(self.lang)("yes" if flag else "no")
        return flag

    def gate(self, gate_id: object) -> object:
        """The gate's name where the console knows one, else its id."""
        return self.gates.get(gate_id, gate_id) if isinstance(gate_id, str) else gate_id


Spec = Sequence[tuple[str, Column, Callable[[Words, object], object] | None]]

# The columns of one entry, shared by the entries export and the trace export: (key in the row, column, how to
# turn the stored value into what people read; None: as stored).
ENTRY_COLUMNS: Spec = (
    ("wall_ts", Column("时间", "Time", TIME), None),
    ("community", Column("社区", "Community"), None),
    ("gate_id", Column("门岗", "Gate", width=14), Words.gate),
    ("gate_id", Column("门岗编号", "Gate id"), None),
    ("direction", Column("方向", "Direction", width=6), Words.direction),
    ("event", Column("事件", "Event", width=10), Words.event),
    ("decision", Column("结果", "Decision", width=8), Words.decision),
    ("reason", Column("原因", "Reason", width=28), Words.reason),
    ("reason", Column("原因代码", "Reason code", width=14), None),
    ("temp_c", Column("体温(℃)", "Temp. (°C)", DECIMAL), None),
    ("fever", Column("发热", "Fever", width=6), Words.fever),
    ("pass_id", Column("通行证号", "Pass no."), None),
    ("household", Column("户号", "Household"), None),
    ("person", Column("人员", "Person", width=6), None),
    ("pass_kind", Column("通行证类型", "Pass kind"), Words.pass_kind),
    ("visitor_name", Column("访客姓名", "Visitor name", width=10), None),
    ("visitor_ref", Column("访客编号", "Visitor ref."), None),
    ("guard_id", Column("保安", "Guard", width=8), None),
    ("override_reason", Column("放行原因", "Override reason"), Words.override),
    ("device_id", Column("设备", "Device"), None),
    ("seq", Column("序号", "Seq.", width=8), None),
    ("uuid", Column("记录编号", "Record id", width=38), None),
)


def spec_columns(spec: Spec) -> list[Column]:
    """The columns of a spec such as :data:`ENTRY_COLUMNS`."""
    return [c for _, c, _ in spec]


def spec_row(spec: Spec, row: dict, words: Words) -> tuple:
    """One stored row (a dict with the keys of ``spec``) as the cells of an export row."""
    return tuple(row.get(key) if conv is None else conv(words, row.get(key)) for key, _, conv in spec)
