"""CSV and XLSX files from rows with fixed columns.

CSV is UTF-8 with a byte-order mark, so spreadsheet programs on staff PCs open Chinese text correctly.
XLSX is written with openpyxl in write-only mode (constant memory), one sheet per table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

from central.console import values

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXACT_INT = 2**53  # larger integers lose digits in a spreadsheet: written as text


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


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file (UTF-8 with BOM, CRLF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[object]]]]) -> bytes:
    """An XLSX workbook with one sheet per ``(title, header, rows)``."""
    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append(list(header))
        for row in rows:
            ws.append([_safe(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def download_headers(filename: str) -> dict[str, str]:
    """``Content-Disposition`` for a download (ASCII file names only)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
