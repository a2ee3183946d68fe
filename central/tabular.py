"""Reading uploaded tables (CSV / XLSX with headers in any order) safely, mapping their columns to fields.

Every bulk import of the console (the household roster, the screening and returnee register, the pass register)
goes through the same four steps; this module holds the generic parts:

1. **Read** the upload, bounded: :func:`read_table` turns the bytes of a CSV (UTF-8 with or without BOM, or
   GB18030 as Excel saves it on Chinese Windows) or an XLSX (first sheet) into a :class:`Table` (header texts + rows
   of cell texts with their line numbers). A hostile file (too big, a zip bomb, an XLSX claiming 16,384 columns, a
   million empty rows, a read that takes too long) is refused with :class:`TabularError`, whose message is zh-CN
   first (``"中文 / English"``; ``.zh`` and ``.en`` separately). Limits: :class:`ReadLimits`.
2. **Map** the columns: describe the fields you want as :class:`Field` (name, zh/en label, header words that suggest
   it, required, a parser) and call :func:`guess_mapping` (headers → ``{column index: field name}``), then let the
   staff correct it (the Jinja partial ``_tabular_mapping.html``, macro ``mapping_form``, shows every column header
   with a select of fields, pre-selected by the guess, plus a few sample rows; :func:`mapping_from_form` reads the
   posted form back). :func:`mapping_problems` says what is wrong with a mapping (a required field not mapped, a
   field chosen twice), in Chinese.
3. **Preview**: :func:`check_rows` parses every row with the fields' parsers: per row its values, or the Chinese
   reasons it cannot be taken (``"第 7 行：联系电话「1380」不是有效的手机号"``).
4. **Import** (your module): write the good rows in one transaction.

A large upload is better read in the background: :func:`start_reading` keeps it and reads it in a thread, with
progress (rows read of an estimate) in the database that any server worker can show (:func:`upload_status`).

Between the upload and the import the table is kept in the database (:func:`keep_upload` → a token;
:func:`load_upload` with the same owner and purpose; :func:`drop_upload` when done), so the mapping and preview
pages work with several server workers; uploads expire after :data:`UPLOAD_TTL_S` and only the member who uploaded
can load one. Example::

    FIELDS = (Field("name", "姓名", "Name", ("姓名", "名字", "name"), required=True),
              Field("phone", "联系电话", "Phone", ("电话", "手机", "phone"), parse=parse_phone))
    table = read_table(data, "roster.xlsx")                    # TabularError → show err.zh
    token = keep_upload(db, table, owner=staff.username, purpose="roster")
    mapping = guess_mapping(table.headers, FIELDS)             # {0: "name", 3: "phone"}
    ... the staff confirm / correct the mapping (mapping_from_form(form, len(table.headers), FIELDS)) ...
    checked = check_rows(table.rows, mapping, FIELDS)           # [CheckedRow(line, values, reasons)]
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import secrets
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from central.errors import CentralError
from central.store import CentralDB
from central.store.migrations import Migrations
from gatepass.clock import SYSTEM, Clock

log = logging.getLogger(__name__)
migrations = Migrations("central-tabular")

MAX_ROWS_READ = 150_000       # rows read, blank ones included
MAX_BLANK_RUN = 1_000         # blank rows in a row that end the table
MAX_COLUMNS = 32              # columns read per row
MAX_FILE_BYTES = 20 * 2**20   # the file
MAX_UNZIPPED_BYTES = 64 * 2**20  # an XLSX's parts, inflated
MAX_ZIP_MEMBERS = 1_000
MAX_READ_S = 60.0             # reading the file
MAX_CELL_CHARS = 500          # longer cell texts are cut (a reason in check_rows for fields with max_chars)
UPLOAD_TTL_S = 2 * 3600       # a kept upload expires after this
SAMPLE_ROWS = 5
PROGRESS_EVERY = 1_000        # rows between progress reports while reading


class TabularError(CentralError):
    """A table that cannot be read: ``zh`` and ``en`` say why; ``str()`` is ``"zh / en"``."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


class Invalid(ValueError):
    """Raised by a :class:`Field` parser: the message is the Chinese reason (without the field's label)."""


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file is read at most: a hostile file (an XLSX claiming 16,384 columns, a million empty rows,
    a zip that inflates a thousandfold) is refused or cut short with the reason, in bounded time."""

    file_bytes: int = MAX_FILE_BYTES          # the file as uploaded
    unzipped_bytes: int = MAX_UNZIPPED_BYTES  # XLSX: all its parts inflated (zip headers bound what is inflated)
    rows: int = MAX_ROWS_READ                 # rows read, blank ones included
    blank_run: int = MAX_BLANK_RUN            # this many blank rows in a row end the table
    columns: int = MAX_COLUMNS                # columns read per row (never the sheet's <dimension>)
    seconds: float = MAX_READ_S               # reading stops, and the file is refused, after this long


@dataclass
class ReadStats:
    """What reading took (for tests and logs): rows read (blank included), blank rows."""

    rows_read: int = 0
    blank_rows: int = 0


@dataclass(frozen=True)
class Table:
    """A read table: the header row's texts, the data rows as ``(line, cell texts)`` (line 1 is the header of a
    file whose first row is the header), and notes on what was not read (``(line, zh reason)``)."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    notes: list[tuple[int, str]] = field(default_factory=list)
    filename: str = ""

    def samples(self, n: int = SAMPLE_ROWS) -> list[list[str]]:
        """The first ``n`` rows' cells, padded to the header's width (for the mapping page)."""
        width = len(self.headers)
        return [(cells + [""] * width)[:width] for _, cells in self.rows[:n]]


# -- reading ---------------------------------------------------------------------------------------------------

def cell_text(value: object) -> str:
    """A cell as text: whole floats without ``.0``, dates as ``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM`` with a time),
    control characters turned into spaces, surrounding blanks stripped, cut at :data:`MAX_CELL_CHARS`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d" if (value.hour, value.minute, value.second) == (0, 0, 0)
                              else "%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).strip()
    return text[:MAX_CELL_CHARS]


def _decode_csv(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TabularError("文件既不是 UTF-8 也不是 GB18030 文本（请在 Excel 中另存为 CSV UTF-8 或 XLSX）",
                       f"{name} is neither UTF-8 nor GB18030 text")


def _not_xlsx(name: str) -> TabularError:
    return TabularError("不是可读取的 XLSX 文件", f"{name} is not a readable XLSX file")


def _check_zip(source: io.BytesIO | Path, name: str, limits: ReadLimits) -> None:
    """Refuse an XLSX that is no zip or would inflate beyond ``limits.unzipped_bytes`` (before openpyxl reads it:
    its shared strings and styles are read whole when the workbook is opened)."""
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _not_xlsx(name) from None
    if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > limits.unzipped_bytes:
        raise TabularError(f"XLSX 解压后超过 {limits.unzipped_bytes // 2**20} MB，请删除多余的工作表、空行或格式后重试",
                           f"the XLSX inflates to more than {limits.unzipped_bytes // 2**20} MB")


def _xlsx_rows(source: io.BytesIO | Path, name: str, limits: ReadLimits) -> Iterator[tuple[int, list[object]]]:
    import openpyxl

    _check_zip(source, name, limits)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a malformed file
        raise _not_xlsx(name) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # never trust the file's <dimension ref="A1:XFD1048576">
        rows = sheet.iter_rows(min_row=1, max_col=limits.columns, values_only=True)
        for number, row in enumerate(rows, start=1):
            yield number, list(row)
    except TabularError:
        raise
    except Exception:  # noqa: BLE001 - a malformed sheet fails while it is read
        raise TabularError("XLSX 文件内容已损坏", f"{name}: the XLSX sheet is malformed") from None
    finally:
        book.close()


def _csv_rows(data: bytes, name: str, limits: ReadLimits) -> Iterator[tuple[int, list[object]]]:
    reader = csv.reader(io.StringIO(_decode_csv(data, name), newline=""))
    try:
        for row in reader:
            yield reader.line_num, list(row[:limits.columns])
    except csv.Error as exc:
        raise TabularError(f"CSV 格式错误（第 {reader.line_num} 行）",
                           f"malformed CSV at line {reader.line_num}: {exc}") from None


def is_xlsx(name: str) -> bool:
    """True if the file name says XLSX (else the file is read as CSV)."""
    return Path(name).suffix.lower() in (".xlsx", ".xlsm")


def raw_rows(source: bytes | Path, name: str = "", limits: ReadLimits | None = None,
             ) -> Iterator[tuple[int, list[object]]]:
    """Every row of the file as ``(line, cell values)`` (XLSX cells keep their types), blank rows included, at
    most ``limits.columns`` cells each; the file size and an XLSX's inflated size are checked first. Prefer
    :func:`iter_rows` / :func:`read_table`, which also bound rows, blank runs and time."""
    limits = limits or ReadLimits()
    name = name or (source.name if isinstance(source, Path) else "upload")
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > limits.file_bytes:
        raise TabularError(f"文件超过 {limits.file_bytes // 2**20} MB",
                           f"the file is larger than {limits.file_bytes // 2**20} MB")
    if is_xlsx(name):
        return _xlsx_rows(source if isinstance(source, Path) else io.BytesIO(source), name, limits)
    return _csv_rows(source.read_bytes() if isinstance(source, Path) else source, name, limits)


def iter_rows(source: bytes | Path, name: str = "", limits: ReadLimits | None = None, clock: Clock = SYSTEM,
              stats: ReadStats | None = None, notes: list[tuple[int, str]] | None = None,
              ) -> Iterator[tuple[int, list[object]]]:
    """The non-blank rows of the file (header included) as ``(line, values)``, within ``limits``.

    Blank rows are skipped but count toward ``limits.rows``; ``limits.blank_run`` blank rows in a row end the
    table (a note is appended to ``notes``). Reading more than ``limits.rows`` rows or for longer than
    ``limits.seconds`` (on ``clock``) raises :class:`TabularError`.
    """
    limits, stats = limits or ReadLimits(), stats if stats is not None else ReadStats()
    deadline = clock.monotonic() + limits.seconds
    blank_run = 0
    for line, values in raw_rows(source, name, limits):
        stats.rows_read += 1
        _check_budget(stats, limits, deadline, clock)
        if all(cell_text(v) == "" for v in values):
            stats.blank_rows += 1
            blank_run += 1
            if blank_run >= limits.blank_run:
                if notes is not None:
                    notes.append((line, f"连续 {blank_run} 行空白，其后内容未读取 / {blank_run} blank rows in a "
                                        "row: the rest was not read"))
                return
            continue
        blank_run = 0
        yield line, values


def _check_budget(stats: ReadStats, limits: ReadLimits, deadline: float, clock: Clock) -> None:
    if stats.rows_read > limits.rows:
        raise TabularError(f"读取超过 {limits.rows} 行（空行也计入），请删除多余的空行后重试",
                           f"more than {limits.rows} rows read (blank rows count too)")
    if stats.rows_read % 256 == 0 and clock.monotonic() > deadline:
        raise TabularError(f"读取超过 {limits.seconds:g} 秒，文件过大或格式异常，请拆分或删除空行后重试",
                           f"reading took longer than {limits.seconds:g} s")


def read_table(source: bytes | Path, name: str = "", limits: ReadLimits | None = None, clock: Clock = SYSTEM,
               stats: ReadStats | None = None, progress: Callable[[int], None] | None = None) -> Table:
    """Read a whole CSV/XLSX upload (``source``: its bytes, or a path; ``name`` its file name, whose suffix
    decides XLSX or CSV) into a :class:`Table`; the first non-blank row is the header. Raises
    :class:`TabularError` for a file that cannot be read within ``limits`` or has no header row.
    ``progress(rows read)`` is called every :data:`PROGRESS_EVERY` rows."""
    name = name or (source.name if isinstance(source, Path) else "upload")
    notes: list[tuple[int, str]] = []
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for line, values in iter_rows(source, name, limits, clock, stats, notes):
        if progress is not None and len(rows) % PROGRESS_EVERY == PROGRESS_EVERY - 1:
            progress(len(rows) + 1)
        cells = [cell_text(v) for v in values]
        if headers is None:
            headers = _trim_headers(cells)
            continue
        rows.append((line, cells[:len(headers)]))
    if headers is None:
        raise TabularError("文件是空的（没有标题行）", f"{name} is empty (no header row)")
    return Table(headers, rows, notes, name)


def _trim_headers(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


# -- fields and mapping ----------------------------------------------------------------------------------------

def text_value(text: str) -> str:
    """The default parser: the text as it is."""
    return text


@dataclass(frozen=True)
class Field:
    """A field an import wants: ``name`` (the key of the checked values), its labels, the header ``words`` that
    suggest it (any of them contained in a header; a longer match wins), whether it is ``required`` (an empty
    cell is a reason), and ``parse``: text → value, raising :class:`Invalid` (or ValueError) with the Chinese
    reason (e.g. ``"不是有效的手机号"``). ``parse`` is not called for an empty cell (the value is then ``empty``)."""

    name: str
    zh: str
    en: str
    words: tuple[str, ...] = ()
    required: bool = False
    parse: Callable[[str], Any] = text_value
    empty: Any = ""

    def label(self, lang: str = "zh") -> str:
        """The label in ``lang``."""
        return self.en if lang == "en" else self.zh


#: column index → field name
Mapping_ = dict[int, str]

_PUNCT = re.compile(r"[\s*＊:：_\-—·.。()（）\[\]【】<>《》/／\\、,，;；'\"“”‘’?？!！#＃]+")


def normalise_header(text: str) -> str:
    """A header reduced for matching: NFKC (full-width → ASCII), lower case, without spaces and punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


def _score(header: str, words: Sequence[str]) -> int:
    """How strongly ``header`` (normalised) suggests a field with these ``words``: an exact match beats any
    containment; a longer contained word beats a shorter one; 0: no match."""
    best = 0
    for word in words:
        w = normalise_header(word)
        if not w or not header:
            continue
        if header == w:
            best = max(best, 1000 + len(w))
        elif w in header:
            best = max(best, 10 * len(w) + (5 if header.startswith(w) else 0))
    return best


def guess_mapping(headers: Sequence[str], fields: Sequence[Field]) -> Mapping_:
    """Guess which column holds which field from the header words: ``{column index: field name}``.

    Each field goes to at most one column and each column to at most one field; the strongest matches are taken
    first (an exact header, then the longest contained word, e.g. "网格员" → grid worker before "网格" → grid), ties
    going to the leftmost column and the earlier field. Columns nobody claims stay unmapped."""
    candidates = []
    for col, header in enumerate(headers):
        norm = normalise_header(header)
        for rank, f in enumerate(fields):
            score = _score(norm, f.words or (f.zh, f.en, f.name))
            if score:
                candidates.append((-score, col, rank, f.name))
    candidates.sort()
    mapping: Mapping_ = {}
    taken: set[str] = set()
    for _, col, _, name in candidates:
        if col not in mapping and name not in taken:
            mapping[col] = name
            taken.add(name)
    return dict(sorted(mapping.items()))


def mapping_problems(mapping: Mapping[int, str], fields: Sequence[Field]) -> list[str]:
    """What is wrong with a mapping, in Chinese: required fields no column gives, fields given by two columns,
    unknown field names. Empty: fine."""
    known = {f.name: f for f in fields}
    problems = [f"未知字段「{name}」" for name in sorted(set(mapping.values()) - set(known))]
    chosen = list(mapping.values())
    problems += [f"「{known[n].zh}」被选了 {chosen.count(n)} 次，每个字段只能对应一列"
                 for n in known if chosen.count(n) > 1]
    problems += [f"缺少必填字段「{f.zh}」：请为它选择一列" for f in fields if f.required and f.name not in chosen]
    return problems


def mapping_from_form(form: Mapping[str, Any], columns: int, fields: Sequence[Field]) -> Mapping_:
    """The mapping the partial's form posted (``col<i>`` = field name, or empty for "不导入")."""
    known = {f.name for f in fields}
    mapping: Mapping_ = {}
    for col in range(columns):
        value = str(form.get(f"col{col}", "") or "")
        if value in known:
            mapping[col] = value
    return mapping


def mapping_to_json(mapping: Mapping[int, str]) -> str:
    """A mapping as JSON (e.g. for a hidden form field or a CLI ``--mapping``)."""
    return json.dumps({str(k): v for k, v in sorted(mapping.items())}, ensure_ascii=False)


def parse_mapping(text: str, headers: Sequence[str], fields: Sequence[Field]) -> Mapping_:
    """A mapping from JSON (``{"0": "name"}``) or ``header=field,header=field`` / ``3=phone`` text; header texts
    are matched after :func:`normalise_header`. Raises :class:`TabularError` for an unknown header or field."""
    by_label = {f.zh: f.name for f in fields} | {f.name: f.name for f in fields}
    text = text.strip()
    pairs: list[tuple[str, str]]
    if text.startswith("{"):
        try:
            pairs = [(str(k), str(v)) for k, v in json.loads(text).items()]
        except (ValueError, AttributeError):
            raise TabularError("对应关系不是有效的 JSON", "the mapping is not valid JSON") from None
    else:
        pairs = [(p.split("=", 1)[0], p.split("=", 1)[1]) for p in re.split(r"[,，]", text) if "=" in p]
    norm_headers = [normalise_header(h) for h in headers]
    mapping: Mapping_ = {}
    for key, value in pairs:
        key, value = key.strip(), value.strip()
        if value not in by_label:
            raise TabularError(f"没有字段「{value}」", f"no field {value!r}")
        col = int(key) if key.isdigit() and int(key) < len(headers) else (
            norm_headers.index(normalise_header(key)) if normalise_header(key) in norm_headers else -1)
        if col < 0:
            raise TabularError(f"文件中没有列「{key}」", f"the file has no column {key!r}")
        mapping[col] = by_label[value]
    return mapping


# -- checking rows ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckedRow:
    """One row after :func:`check_rows`: its line, the parsed ``values`` by field name (every field present;
    unmapped or empty → the field's ``empty``), and the Chinese ``reasons`` it cannot be taken (empty: good)."""

    line: int
    values: dict[str, Any]
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True if the row can be taken."""
        return not self.reasons

    def reason_text(self) -> str:
        """``"第 N 行：reason；reason"``."""
        return f"第 {self.line} 行：" + "；".join(self.reasons)


def check_row(line: int, cells: Sequence[str], mapping: Mapping[int, str], fields: Sequence[Field]) -> CheckedRow:
    """Parse one row's cells with the fields' parsers (see :func:`check_rows`)."""
    by_name = {f.name: f for f in fields}
    texts = {name: (cells[col] if col < len(cells) else "") for col, name in mapping.items() if name in by_name}
    values: dict[str, Any] = {}
    reasons: list[str] = []
    for f in fields:
        text = texts.get(f.name, "")
        if not text:
            values[f.name] = f.empty
            if f.required:
                reasons.append(f"「{f.zh}」为空")
            continue
        try:
            values[f.name] = f.parse(text)
        except Invalid as exc:
            values[f.name] = f.empty
            reasons.append(f"{f.zh}「{text[:40]}」{exc}")
        except (ValueError, TypeError):
            values[f.name] = f.empty
            reasons.append(f"{f.zh}「{text[:40]}」格式不正确")
    return CheckedRow(line, values, tuple(reasons))


def check_rows(rows: Sequence[tuple[int, Sequence[str]]], mapping: Mapping[int, str],
               fields: Sequence[Field]) -> list[CheckedRow]:
    """Every row checked: its values by field name, or the Chinese reasons (``"「姓名」为空"``,
    ``"联系电话「1380」不是有效的手机号"``). Rows are independent; cross-row rules (duplicates) are the importer's."""
    return [check_row(line, cells, mapping, fields) for line, cells in rows]


# -- keeping an upload between the steps ------------------------------------------------------------------------

@migrations()
def m001_uploads(db: CentralDB) -> None:
    """Uploads kept between the mapping step and the import."""
    db.execute("CREATE TABLE tabular_uploads (token TEXT PRIMARY KEY, owner TEXT NOT NULL, purpose TEXT NOT NULL, "
               "filename TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, expires_at REAL NOT NULL, "
               "body TEXT NOT NULL)")
    db.execute("CREATE INDEX tabular_uploads_expires ON tabular_uploads (expires_at)")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-tabular`` migrations."""
    migrations.apply(db)


def keep_upload(db: CentralDB, table: Table, *, owner: str, purpose: str, now: float | None = None,
                ttl_s: float = UPLOAD_TTL_S) -> str:
    """Keep ``table`` for ``owner`` (a console user name) and ``purpose`` (e.g. ``"roster"``) until ``ttl_s``
    from now; returns the token to load it with. Expired uploads of anybody are removed on the way."""
    at = time.time() if now is None else now
    token = secrets.token_urlsafe(18)
    body = json.dumps({"headers": table.headers, "rows": table.rows, "notes": table.notes}, ensure_ascii=False)
    with db.transaction():
        db.execute("DELETE FROM tabular_uploads WHERE expires_at < ?", [at])
        db.execute("INSERT INTO tabular_uploads (token, owner, purpose, filename, created_at, expires_at, body) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [token, owner, purpose, table.filename, at, at + ttl_s, body])
    return token


def load_upload(db: CentralDB, token: str, *, owner: str, purpose: str, now: float | None = None) -> Table | None:
    """The table kept under ``token``, if it is ``owner``'s, for ``purpose``, read and not expired (else None)."""
    at = time.time() if now is None else now
    row = db.execute("SELECT filename, body FROM tabular_uploads WHERE token = ? AND owner = ? AND purpose = ? "
                     "AND expires_at >= ? AND state = 'ready'", [token, owner, purpose, at]).fetchone()
    if row is None:
        return None
    body = json.loads(row[1])
    return Table(body["headers"], [(int(line), list(cells)) for line, cells in body["rows"]],
                 [(int(line), str(note)) for line, note in body["notes"]], row[0])


def drop_upload(db: CentralDB, token: str, *, owner: str) -> None:
    """Forget an upload (after its import)."""
    db.execute("DELETE FROM tabular_uploads WHERE token = ? AND owner = ?", [token, owner])


def purge_uploads(db: CentralDB, now: float | None = None) -> int:
    """Remove expired uploads; returns how many."""
    at = time.time() if now is None else now
    return db.execute("DELETE FROM tabular_uploads WHERE expires_at < ?", [at]).rowcount


# -- reading a large upload in the background, with progress every server worker can see ---------------------------

READ_STALE_S = 10 * 60   # a reading not heard of for this long was lost with its worker
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


@migrations()
def m002_background_reading(db: CentralDB) -> None:
    """Uploads read in the background: their state and progress (rows read of an estimate)."""
    for column in ("state TEXT NOT NULL DEFAULT 'ready'", "done INTEGER NOT NULL DEFAULT 0",
                   "total INTEGER NOT NULL DEFAULT 0", "error TEXT NOT NULL DEFAULT ''"):
        db.execute(f"ALTER TABLE tabular_uploads ADD COLUMN {column}")


def estimate_rows(data: bytes, name: str, limits: ReadLimits | None = None) -> int:
    """A guess at an upload's rows, for a progress bar only (never trusted for reading): a CSV's line breaks; an
    XLSX's first sheet's ``<dimension>`` (read from the first 4 KiB of the part); 0: unknown."""
    limits = limits or ReadLimits()
    if not is_xlsx(name):
        return min(data.count(b"\n") + 1, limits.rows)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
            with archive.open(sheets[0]) as part:
                head = part.read(4096)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, IndexError, KeyError, RuntimeError):
        return 0
    found = _DIMENSION.search(head)
    rows = int(found.group(1)) if found else 0
    return rows if rows <= limits.rows else 0


@dataclass(frozen=True)
class UploadStatus:
    """Where the reading of an upload stands: ``state`` ``reading`` / ``ready`` / ``failed`` (``error``: why, zh-CN
    first), ``done`` rows read of an estimated ``total`` (0: unknown)."""

    token: str
    filename: str
    state: str
    done: int
    total: int
    error: str

    @property
    def percent(self) -> int | None:
        """0-100, or None while the total is unknown."""
        if self.state == "ready":
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else None


def upload_status(db: CentralDB, token: str, *, owner: str, purpose: str, now: float | None = None,
                  ) -> UploadStatus | None:
    """The upload's reading state, if it is ``owner``'s for ``purpose`` and not expired (a reading silent for
    :data:`READ_STALE_S` is reported failed)."""
    at = time.time() if now is None else now
    row = db.execute("SELECT filename, state, done, total, error, created_at FROM tabular_uploads WHERE token = ? "
                     "AND owner = ? AND purpose = ? AND expires_at >= ?", [token, owner, purpose, at]).fetchone()
    if row is None:
        return None
    state, error = row[1], row[4]
    if state == "reading" and at - row[5] > READ_STALE_S:
        state, error = "failed", "读取中断（服务器重启？），请重新上传 / reading was interrupted: upload again"
    return UploadStatus(token, row[0], state, int(row[2]), int(row[3]), error)


def start_reading(db: CentralDB, target: str, data: bytes, name: str, *, owner: str, purpose: str,
                  limits: ReadLimits | None = None, ttl_s: float = UPLOAD_TTL_S) -> str:
    """Keep an upload for ``owner`` and read it in a background thread (its own connection to ``target``),
    reporting progress in the database so any server worker can show it (:func:`upload_status`); returns the
    token. When read, :func:`load_upload` gives the table; a refused file leaves the reason in ``error``."""
    at = time.time()
    token = secrets.token_urlsafe(18)
    with db.transaction():
        db.execute("DELETE FROM tabular_uploads WHERE expires_at < ?", [at])
        db.execute("INSERT INTO tabular_uploads (token, owner, purpose, filename, created_at, expires_at, body, "
                   "state, total) VALUES (?, ?, ?, ?, ?, ?, '{}', 'reading', ?)",
                   [token, owner, purpose, name, at, at + ttl_s, estimate_rows(data, name, limits)])
    threading.Thread(target=_read_in_background, args=(target, token, data, name, limits), daemon=True,
                     name=f"read-{token[:8]}").start()
    return token


def _read_in_background(target: str, token: str, data: bytes, name: str, limits: ReadLimits | None) -> None:
    from central.store import connect

    db = connect(target)

    def progress(rows: int) -> None:
        db.execute("UPDATE tabular_uploads SET done = ?, created_at = ? WHERE token = ?", [rows, time.time(), token])

    try:
        table = read_table(data, name, limits, progress=progress)
        body = json.dumps({"headers": table.headers, "rows": table.rows, "notes": table.notes}, ensure_ascii=False)
        db.execute("UPDATE tabular_uploads SET body = ?, state = 'ready', done = ? WHERE token = ?",
                   [body, len(table.rows), token])
    except TabularError as exc:
        db.execute("UPDATE tabular_uploads SET state = 'failed', error = ? WHERE token = ?", [str(exc), token])
    except Exception:  # noqa: BLE001 - whatever went wrong, the page must say so rather than wait forever
        log.exception("reading upload %s failed", name)
        db.execute("UPDATE tabular_uploads SET state = 'failed', error = ? WHERE token = ?",
                   ["读取文件时出错，请重试 / the file could not be read", token])
    finally:
        db.close()
