"""Report templates staff build in the console, and the history of generated reports (migration set
``central-reports``).

A template is the form one upward recipient wants: a name (one per recipient), a title, fixed text (the reporting
unit, a contact), the figures of :mod:`central.figures` it holds, in order, each under the column name the
recipient uses, and a grouping (one row for everything, a row per community or a row per gate). Generating a
template for a day gives one XLSX sheet in the conventions of :mod:`central.console.exports`: the title and day in
the first row, frozen headers, the day as a date cell, a row per group, a totals row ("合计": each figure for the
whole scope, so a count of distinct households is not added up over gates), and the fixed text under the table.
Every generation is kept in ``report_runs`` (who, when, which day, the totals), the daily history of what was sent.

Tables:

- ``report_templates``: id, name (unique), title, unit, contact, grouping (all | community | gate | grid | origin:
  a row per city returnees came from, for the figures that know one, see :mod:`central.figures`), layout
  (columns: figures as columns, a row per group | rows: figures as rows, a column per group), rows (JSON list of
  ``{"figure": key, "label": column name}``), created/updated by and at.
- ``report_runs``: id, template_id, template_name, day (YYYY-MM-DD), generated_by, generated_at, totals (JSON
  ``{figure: count}``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from central import figures
from central.console import exports
from central.console.errors import ConsoleError
from central.store import CentralDB
from central.store.migrations import Migrations

migrations = Migrations("central-reports")

MAX_NAME, MAX_TEXT, MAX_LABEL, MAX_ROWS = 60, 200, 40, 40
GROUPINGS = {"all": ("不分组（只有合计）", "No groups (totals only)"), "community": ("按社区", "By community"),
             "gate": ("按门岗", "By gate"), "grid": ("按网格", "By grid"),
             "origin": ("按来源城市（仅返乡人员指标）", "By origin city (returnee figures only)")}
LAYOUTS = {"columns": ("指标为列（每个社区/门岗/网格一行）", "Figures as columns (a row per group)"),
           "rows": ("指标为行（每个社区/门岗/网格一列）", "Figures as rows (a column per group)")}
NO_GRID = ("（未分网格）", "(no grid)")
NO_ORIGIN = ("（未填城市）", "(city not given)")
#: The first column of a row per group: the group's words (zh-CN, English, width).
GROUP_COLUMNS = {"grid": ("网格", "Grid", 14), "origin": ("来源城市", "Origin city", 14)}


@migrations()
def m001_report_templates(db: CentralDB) -> None:
    """Templates and the history of generated reports."""
    db.execute("CREATE TABLE report_templates (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
               "title TEXT NOT NULL DEFAULT '', unit TEXT NOT NULL DEFAULT '', contact TEXT NOT NULL DEFAULT '', "
               "grouping TEXT NOT NULL DEFAULT 'all', layout TEXT NOT NULL DEFAULT 'columns', rows TEXT NOT NULL, "
               "created_by TEXT NOT NULL, created_at REAL NOT NULL, updated_by TEXT NOT NULL, "
               "updated_at REAL NOT NULL)")
    db.execute("CREATE TABLE report_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, template_id INTEGER NOT NULL, "
               "template_name TEXT NOT NULL, day TEXT NOT NULL, generated_by TEXT NOT NULL, "
               "generated_at REAL NOT NULL, totals TEXT NOT NULL)")
    db.execute("CREATE INDEX report_runs_at ON report_runs (generated_at)")


def migrate(db: CentralDB) -> None:
    """Create or update the report tables."""
    migrations.apply(db)


@dataclass(frozen=True)
class Row:
    """One figure of a template under the recipient's column name."""

    figure: str
    label: str


@dataclass
class Template:
    """A saved report template."""

    name: str
    title: str = ""
    unit: str = ""
    contact: str = ""
    grouping: str = "all"
    rows: list[Row] = field(default_factory=list)
    layout: str = "columns"
    id: int | None = None
    updated_by: str = ""
    updated_at: float = 0.0

    def check(self) -> Template:
        """This template with its texts trimmed; ConsoleError naming what is wrong."""
        self.name, self.title = self.name.strip(), self.title.strip()
        self.unit, self.contact = self.unit.strip(), self.contact.strip()
        if not 1 <= len(self.name) <= MAX_NAME:
            raise ConsoleError(f"模板名称须为 1-{MAX_NAME} 个字 / the name must be 1-{MAX_NAME} characters")
        if max(len(self.title), len(self.unit), len(self.contact)) > MAX_TEXT:
            raise ConsoleError(f"标题、单位、联系人各不超过 {MAX_TEXT} 字 / at most {MAX_TEXT} characters each")
        if self.grouping not in GROUPINGS:
            raise ConsoleError(f"未知的分组方式 / unknown grouping {self.grouping[:20]!r}")
        if self.layout not in LAYOUTS:
            raise ConsoleError(f"未知的排列方式 / unknown layout {self.layout[:20]!r}")
        if not 1 <= len(self.rows) <= MAX_ROWS:
            raise ConsoleError(f"请选择 1-{MAX_ROWS} 项指标 / choose 1-{MAX_ROWS} figures")
        for r in self.rows:
            try:
                figures.figure(r.figure)
            except figures.FigureError:
                raise ConsoleError(f"没有这项指标 / no figure {r.figure[:40]!r}") from None
            if not 1 <= len(r.label.strip()) <= MAX_LABEL:
                raise ConsoleError(f"列名须为 1-{MAX_LABEL} 个字 / column names must be 1-{MAX_LABEL} characters")
        if len({r.figure for r in self.rows}) != len(self.rows):
            raise ConsoleError("同一指标只能选一次 / each figure at most once")
        return self


_COLS = "id, name, title, unit, contact, grouping, rows, layout, updated_by, updated_at"


def _template(row: tuple) -> Template:
    tid, name, title, unit, contact, grouping, rows, layout, by, at = row
    return Template(name, title, unit, contact, grouping, [Row(r["figure"], r["label"]) for r in json.loads(rows)],
                    layout, tid, by, at)


def all_templates(db: CentralDB) -> list[Template]:
    """Every template, by name."""
    return [_template(r) for r in db.execute(f"SELECT {_COLS} FROM report_templates ORDER BY name").fetchall()]


def get(db: CentralDB, template_id: int) -> Template:
    """The template ``template_id``; ConsoleError if there is none."""
    row = db.execute(f"SELECT {_COLS} FROM report_templates WHERE id = ?", [template_id]).fetchone()
    if row is None:
        raise ConsoleError("没有这个报表模板 / no such report template")
    return _template(row)


def save(db: CentralDB, template: Template, username: str, now: float | None = None) -> int:
    """Insert (no id) or update a template; returns its id. ConsoleError when invalid or the name is taken."""
    t = template.check()
    now = time.time() if now is None else now
    rows = json.dumps([{"figure": r.figure, "label": r.label.strip()} for r in t.rows], ensure_ascii=False)
    with db.transaction():
        clash = db.execute("SELECT id FROM report_templates WHERE name = ?", [t.name]).fetchone()
        if clash is not None and clash[0] != t.id:
            raise ConsoleError(f"已有名为“{t.name}”的模板 / a template named {t.name!r} exists")
        if t.id is None:
            cur = db.execute("INSERT INTO report_templates (name, title, unit, contact, grouping, layout, rows, "
                             "created_by, created_at, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                             "RETURNING id", [t.name, t.title, t.unit, t.contact, t.grouping, t.layout, rows,
                                              username, now, username, now])
            return int(cur.fetchone()[0])
        get(db, t.id)
        db.execute("UPDATE report_templates SET name = ?, title = ?, unit = ?, contact = ?, grouping = ?, layout = ?, "
                   "rows = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                   [t.name, t.title, t.unit, t.contact, t.grouping, t.layout, rows, username, now, t.id])
        return t.id


def copy_name(db: CentralDB, name: str) -> str:
    """A free name for a copy of ``name`` ("name 副本", "name 副本2" ...)."""
    taken = {t.name for t in all_templates(db)}
    for n in range(1, 1000):
        candidate = f"{name[:MAX_NAME - 6]} 副本{'' if n == 1 else n}"
        if candidate not in taken:
            return candidate
    raise ConsoleError("副本太多 / too many copies")


# -- generating ------------------------------------------------------------------------------------

def _groups(db: CentralDB, grouping: str, results: dict[str, figures.Counts]) -> list[tuple[str, ...]]:
    """The rows of a report: every community or gate of a registered device, every grid of the household files, and
    any other the figures name (by origin: the cities the day's figures name; any city ever typed would be a long
    list of zeros)."""
    if grouping == "all":
        return [()]
    keys: set[tuple[str, ...]] = set()
    if grouping == "grid":
        keys = {tuple(r) for r in db.execute("SELECT DISTINCT grid FROM household_files WHERE grid <> ''")}
    elif grouping in ("community", "gate"):
        cols = "community" if grouping == "community" else "community, gate_id"
        keys = {tuple(r) for r in db.execute(f"SELECT DISTINCT {cols} FROM devices WHERE revoked_at IS NULL")}
    for counts in results.values():
        keys |= {k for k in counts if k}
    return sorted(keys)


@dataclass
class Generated:
    """A template generated for one day: the export table and the totals per figure."""

    table: exports.Table
    totals: dict[str, int]


def generate(db: CentralDB, template: Template, day: date, tz: ZoneInfo, lang: str = "zh",
             now: float | None = None) -> Generated:
    """The template's figures for local ``day`` as an export table (figures as columns or as rows)."""
    window = figures.Window.day(day, tz, now=now)
    results = figures.compute_many(db, [r.figure for r in template.rows], window, template.grouping)
    groups = _groups(db, template.grouping, results)
    words = exports.Words(lang, exports.gate_names(db))
    totals = {r.figure: results[r.figure][()] for r in template.rows}
    cells = {r.figure: [_cell(results[r.figure], r.figure, template.grouping, key) for key in groups]
             for r in template.rows}
    build = _by_rows if template.layout == "rows" else _by_columns
    table = build(template, day, [_group_name(key, template.grouping, words) for key in groups], cells, totals, lang)
    table.title = f"{template.title or template.name} {day.isoformat()}"
    table.notes = [line for line in (_note("填报单位", "Unit", template.unit, lang),
                                     _note("联系人", "Contact", template.contact, lang)) if line]
    return Generated(table, totals)


def _cell(counts: figures.Counts, key: str, grouping: str, group: tuple[str, ...]) -> int | None:
    """A figure's count for ``group``; None (blank) for a figure that cannot be answered per ``grouping``."""
    return counts.get(group, 0) if figures.figure(key).can_group(grouping) or not group else None


def _group_name(key: tuple[str, ...], grouping: str, words: exports.Words) -> tuple[str, ...]:
    if grouping in ("grid", "origin"):
        blank = NO_GRID if grouping == "grid" else NO_ORIGIN
        return tuple(k or blank[words.lang == "en"] for k in key)
    return tuple(str(words.gate(k)) if i == 1 else k for i, k in enumerate(key))


def _by_columns(template: Template, day: date, groups: list[tuple[str, ...]], cells: dict[str, list],
                totals: dict[str, int], lang: str) -> exports.Table:
    """A row per group (community / gate), a column per figure, then the totals row."""
    place = [exports.Column("日期", "Date", exports.DATE)]
    if template.grouping in GROUP_COLUMNS:
        zh, en, width = GROUP_COLUMNS[template.grouping]
        place.append(exports.Column(zh, en, width=width))
    elif template.grouping != "all":
        place.append(exports.Column("社区", "Community"))
    if template.grouping == "gate":
        place.append(exports.Column("门岗", "Gate", width=14))
    cols = [*place, *(exports.Column(r.label, r.label, exports.COUNT) for r in template.rows)]
    rows = [(day, *group, *(cells[r.figure][i] for r in template.rows)) for i, group in enumerate(groups)]
    fixed = [exports.TOTAL[1] if lang == "en" else exports.TOTAL[0], *([None] * (len(place) - 1)),
             *totals.values()]
    return exports.Table(template.name, "", cols, rows, totals=template.grouping != "all", fixed_totals=fixed)


def _by_rows(template: Template, day: date, groups: list[tuple[str, ...]], cells: dict[str, list],
             totals: dict[str, int], lang: str) -> exports.Table:
    """A row per figure, a column per group, then the totals column (each figure for the whole scope)."""
    total = exports.TOTAL[1] if lang == "en" else exports.TOTAL[0]
    head = [exports.Column("日期", "Date", exports.DATE), exports.Column("指标", "Figure", width=16)]
    named = [" ".join(g) for g in groups if g]
    cols = [*head, *(exports.Column(n, n, width=10) for n in named), exports.Column(total, total, width=8)]
    rows = [(day, r.label, *(cells[r.figure] if named else []), totals[r.figure]) for r in template.rows]
    return exports.Table(template.name, "", cols, rows, totals=False)


def _note(zh: str, en: str, text: str, lang: str) -> str:
    return f"{en if lang == 'en' else zh}{': ' if lang == 'en' else '：'}{text}" if text else ""


def record_run(db: CentralDB, template: Template, day: date, username: str, totals: dict[str, int],
               now: float | None = None) -> None:
    """Keep a generation in the history."""
    db.execute("INSERT INTO report_runs (template_id, template_name, day, generated_by, generated_at, totals) "
               "VALUES (?, ?, ?, ?, ?, ?)", [template.id, template.name, day.isoformat(), username,
                                             time.time() if now is None else now, json.dumps(totals)])


def history(db: CentralDB, limit: int = 100) -> list[dict]:
    """The latest generated reports, newest first."""
    return list(db.query("SELECT id, template_id, template_name, day, generated_by, generated_at, totals "
                         "FROM report_runs ORDER BY generated_at DESC, id DESC LIMIT ?", [limit]))
