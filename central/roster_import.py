"""Importing real household rosters (CSV/XLSX, Chinese headers in any order) into the household files (一户一档).

The steps (the console's "导入花名册" pages and ``gatepass central households import`` both use them):

1. :func:`central.tabular.read_table` reads the upload (bounded; hostile files refused in bounded time);
2. :func:`central.tabular.guess_mapping` with :data:`FIELDS` guesses which column is which (楼号/楼栋/栋,
   单元, 房号/门牌, 户号, 姓名, 联系电话/手机号, 与户主关系, 身份(业主/租户), 房东, 网格, 网格员, 特殊人群, 备注); staff
   correct it; :func:`mapping_problems` says what is still missing;
3. :func:`check` parses every row (:data:`FIELDS`' parsers, Chinese reasons) and plans the import against what the
   database holds (:func:`plan`): the household id is the 户号 column or ``楼号-单元-房号`` (``3-2-401``; "3号楼",
   "2单元", "401室" are reduced to their numbers); a row whose household already has a member **with the same name**
   (or, failing that, the same phone, if that member is not named elsewhere in the file) updates that member;
   other rows become new members numbered after the household's last (in file order). Two rows naming the same
   person of the same household are a reason. Re-importing the same roster therefore changes nothing.
4. :func:`run_import` writes the good rows. **Nothing is half-imported**: the planned rows are first written in
   chunks to staging tables (``roster_staging``, committed as they go, so the job's progress in ``roster_jobs``
   is visible to every server worker polling it), then moved into ``household_members`` / ``household_files`` /
   ``households`` in **one transaction** that also marks the job done; any failure before or inside it leaves the
   household tables untouched (staging rows are removed). If the members changed since the plan was made, the
   import is refused (nothing written) and can simply be run again. Non-empty cells overwrite what the file holds;
   empty cells leave it as it is (an import never erases what staff typed).
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from central.errors import CentralError
from central.homes import FLAGS
from central.store import CentralDB
from central.store.migrations import Migrations
from central.tabular import CheckedRow, Field, Invalid, check_rows
from central.tabular import mapping_problems as _field_problems
from central.visitors import normalise_phone
from sync.passes.codec import MAX_HOUSEHOLD_CHARS

log = logging.getLogger(__name__)
migrations = Migrations("central-roster")

PURPOSE = "roster"
STAGE_CHUNK = 2_000
JOB_STALE_S = 15 * 60   # a running job not heard of for this long was lost with its worker
MAX_PERSON = 999


class RosterError(CentralError):
    """An import that cannot run as asked (the message is zh-CN first)."""


# -- fields ------------------------------------------------------------------------------------------------------

def _limited(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > limit:
            raise Invalid(f"超过 {limit} 个字")
        return text
    return parse


_SUFFIXES = re.compile(r"(号楼|号|栋|幢|座|单元|室|户)$")


def _address_part(text: str) -> str:
    """3号楼 → 3, 2单元 → 2, 401室 → 401 (other text as it is); '-' and '/' are refused (they join the parts)."""
    part = _SUFFIXES.sub("", text.strip()) or text.strip()
    if len(part) > 12 or any(ch in part for ch in "-/") or not part.isprintable():
        raise Invalid("应为不超过 12 个字符的编号，且不含 - 或 /")
    return part


def parse_phone(text: str) -> str:
    """A phone as digits (:func:`central.visitors.normalise_phone`); a mobile must have 11 digits."""
    phone = normalise_phone(text)
    if phone is None or len(phone) < 7:
        raise Invalid("不是有效的电话号码")
    if phone.startswith("1") and len(phone) != 11:
        raise Invalid("不是有效的手机号（应为 11 位）")
    return phone


TENURE_WORDS = {"业主": "owner", "户主": "owner", "自住": "owner", "产权人": "owner", "owner": "owner",
                "租户": "tenant", "租客": "tenant", "租住": "tenant", "承租人": "tenant", "tenant": "tenant"}


def parse_tenure(text: str) -> str:
    """业主/户主/自住 → owner; 租户/租客/租住 → tenant."""
    code = TENURE_WORDS.get(text.strip().lower())
    if code is None:
        raise Invalid("应为 业主 或 租户")
    return code


FLAG_WORDS = {**{zh: code for code, (zh, _) in FLAGS.items()}, **{en: code for code, (_, en) in FLAGS.items()},
              **{code: code for code in FLAGS}, "独居": "elderly_alone", "空巢老人": "elderly_alone",
              "高龄": "elderly", "老人": "elderly", "孕产妇": "pregnant", "婴儿": "infant", "幼儿": "infant",
              "透析": "dialysis", "血透": "dialysis", "慢性病": "chronic", "慢病患者": "chronic",
              "残障": "disabled", "残疾人": "disabled", "无智能机": "no_smartphone"}
_FLAG_SPLIT = re.compile(r"[,，、;；/\s]+")


def parse_flags(text: str) -> tuple[str, ...]:
    """Care flags from words like "独居老人、慢病" (:data:`central.homes.FLAGS`), in FLAGS order."""
    codes = set()
    for word in filter(None, _FLAG_SPLIT.split(text.strip())):
        code = FLAG_WORDS.get(word) or FLAG_WORDS.get(word.lower())
        if code is None:
            raise Invalid(f"中「{word}」不是已知的特殊人群（{'、'.join(zh for zh, _ in FLAGS.values())}）")
        codes.add(code)
    return tuple(c for c in FLAGS if c in codes)


def _household_id(text: str) -> str:
    if len(text) > MAX_HOUSEHOLD_CHARS or not text.isprintable():
        raise Invalid(f"应为 1–{MAX_HOUSEHOLD_CHARS} 个可打印字符")
    return text


FIELDS: tuple[Field, ...] = (
    Field("household", "户号", "Household id", ("户号", "户编号", "户籍编号", "household"), parse=_household_id),
    Field("building", "楼号", "Building", ("楼号", "楼栋", "栋号", "楼", "栋", "幢", "building"), parse=_address_part),
    Field("unit", "单元", "Unit", ("单元", "门洞", "unit", "entrance"), parse=_address_part),
    Field("room", "房号", "Room", ("房号", "门牌", "房间", "室", "room"), parse=_address_part),
    Field("name", "姓名", "Name", ("姓名", "名字", "居民", "name"), required=True, parse=_limited(64)),
    Field("phone", "联系电话", "Phone", ("联系电话", "联系方式", "手机号", "电话", "手机", "phone", "mobile"),
          parse=parse_phone),
    Field("relation", "与户主关系", "Relation", ("与户主关系", "关系", "relation"), parse=_limited(16)),
    Field("tenure", "身份", "Owner/tenant", ("业主租户", "身份", "居住类型", "租户", "业主", "产权", "tenure"),
          parse=parse_tenure),
    Field("landlord", "房东", "Landlord", ("房东", "出租人", "landlord"), parse=_limited(64)),
    Field("grid", "网格", "Grid", ("网格", "所属网格", "grid"), parse=_limited(32)),
    Field("grid_worker", "网格员", "Grid worker", ("网格员", "网格长", "grid worker", "gridworker"),
          parse=_limited(32)),
    Field("flags", "特殊人群", "Care flags", ("特殊人群", "重点人群", "人群类别", "特殊情况", "标签", "flags"),
          parse=parse_flags, empty=()),
    Field("note", "备注", "Note", ("备注", "说明", "note", "remark"), parse=_limited(200)),
)
TEMPLATE_HEADERS = ("楼号", "单元", "房号", "姓名", "联系电话", "与户主关系", "身份", "房东", "网格", "网格员",
                    "特殊人群", "备注")
TEMPLATE_EXAMPLE = ("3", "2", "401", "张三", "13800138000", "户主", "业主", "", "第一网格", "李网格",
                    "独居老人", "")
_FILE_COLS = ("building", "unit", "room", "grid", "grid_worker")
_MEMBER_COLS = ("name", "phone", "relation", "tenure", "landlord", "flags", "note")


def mapping_problems(mapping: Mapping[int, str]) -> list[str]:
    """What a roster mapping still lacks, in Chinese (:func:`central.tabular.mapping_problems`, and a household:
    户号, or at least 房号)."""
    problems = _field_problems(mapping, FIELDS)
    if "household" not in mapping.values() and "room" not in mapping.values():
        problems.append("请为「户号」或「房号」（与楼号、单元一起组成户号）选择一列")
    return problems


def template_xlsx() -> bytes:
    """The downloadable roster template: the Chinese headers and one example row."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append(list(TEMPLATE_HEADERS))
    sheet.append(list(TEMPLATE_EXAMPLE))
    for letter in "ABCDEFGHIJKL":
        sheet.column_dimensions[letter].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- checking and planning ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedRow:
    """A good roster row and what it will do: update member ``person`` of ``household`` or add it (``new``)."""

    line: int
    household: str
    person: int
    new: bool
    values: dict[str, object]


@dataclass
class Plan:
    """What an import will do: the rows it writes, the rows it skips (``(line, zh reason)``), and a fingerprint of
    the members it was planned against."""

    rows: list[PlannedRow] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    fingerprint: tuple[int, float] = (0, 0.0)

    @property
    def new_members(self) -> int:
        """Members the import adds."""
        return sum(1 for r in self.rows if r.new)

    @property
    def households(self) -> int:
        """Households the import touches."""
        return len({r.household for r in self.rows})


def household_of(values: Mapping[str, object]) -> str:
    """The row's household id: 户号, else 楼号-单元-房号 (a Chinese reason raised as :class:`Invalid`)."""
    if values.get("household"):
        return str(values["household"])
    if not values.get("room"):
        raise Invalid("无法确定户号：请填写户号，或楼号/单元/房号")
    household = "-".join(str(values[k]) for k in ("building", "unit", "room") if values.get(k))
    if len(household) > MAX_HOUSEHOLD_CHARS:
        raise Invalid(f"户号「{household}」超过 {MAX_HOUSEHOLD_CHARS} 个字符")
    return household


Existing = dict[str, list[tuple[int, str, str]]]  # household → [(person, name, phone)]


def members_fingerprint(db: CentralDB) -> tuple[int, float]:
    """(count, newest change) of all members: an import planned against one fingerprint refuses another."""
    count, newest = db.execute("SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM household_members").fetchone()
    return int(count), float(newest)


def existing_members(db: CentralDB, households: Sequence[str]) -> Existing:
    """The members the households hold now (person, name, phone)."""
    found: Existing = {}
    wanted = sorted(set(households))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = db.execute("SELECT household, person, name, phone FROM household_members WHERE household IN "
                          f"({', '.join('?' * len(chunk))})", chunk).fetchall()
        for household, person, name, phone in rows:
            found.setdefault(household, []).append((int(person), name, phone))
    return found


def _match(row: CheckedRow, held: list[tuple[int, str, str]], named: set[str], taken: set[int]) -> int | None:
    """The person a row updates: the member of the same name, else of the same phone not named in the file."""
    name, phone = row.values["name"], row.values["phone"]
    for person, held_name, _ in held:
        if held_name and held_name == name and person not in taken:
            return person
    for person, held_name, held_phone in held:
        if phone and held_phone == phone and held_name not in named and person not in taken:
            return person
    return None


def _plan_household(household: str, rows: list[CheckedRow], held: list[tuple[int, str, str]], plan: Plan) -> None:
    named = {str(r.values["name"]) for r in rows}
    next_person = max((p for p, _, _ in held), default=-1) + 1
    seen: dict[str, int] = {}
    taken: set[int] = set()
    for row in rows:
        name = str(row.values["name"])
        if name in seen:
            plan.bad.append((row.line, f"第 {row.line} 行：与第 {seen[name]} 行是同一户的同一人（同名），"
                                       "请合并后再导入"))
            continue
        matched = _match(row, held, named, taken)
        person = next_person if matched is None else matched
        if person > MAX_PERSON:
            plan.bad.append((row.line, f"第 {row.line} 行：户「{household}」的人数超过 {MAX_PERSON + 1}"))
            continue
        if matched is None:
            next_person += 1
        taken.add(person)
        seen[name] = row.line
        plan.rows.append(PlannedRow(row.line, household, person, matched is None, row.values))


def plan(checked: Sequence[CheckedRow], existing: Existing) -> Plan:
    """Plan the import of checked rows against the members the households hold (pure: no database)."""
    result = Plan()
    by_household: dict[str, list[CheckedRow]] = {}
    for row in checked:
        if not row.ok:
            result.bad.append((row.line, row.reason_text()))
            continue
        try:
            household = household_of(row.values)
        except Invalid as exc:
            result.bad.append((row.line, f"第 {row.line} 行：{exc}"))
            continue
        by_household.setdefault(household, []).append(row)
    for household, rows in by_household.items():
        _plan_household(household, rows, existing.get(household, []), result)
    result.rows.sort(key=lambda r: r.line)
    result.bad.sort()
    return result


def check(db: CentralDB, rows: Sequence[tuple[int, Sequence[str]]], mapping: Mapping[int, str]) -> Plan:
    """Check every row and plan the import against the database (the preview shows this)."""
    fingerprint = members_fingerprint(db)
    checked = check_rows(rows, mapping, FIELDS)
    households = []
    for row in checked:
        try:
            households.append(household_of(row.values))
        except Invalid:
            continue
    result = plan(checked, existing_members(db, households))
    result.fingerprint = fingerprint
    return result


# -- the import: staged in chunks with progress, then one transaction ----------------------------------------------

@migrations()
def m001_jobs(db: CentralDB) -> None:
    """Import jobs (progress every server worker can read) and their staging rows."""
    db.execute("CREATE TABLE roster_jobs (job TEXT PRIMARY KEY, owner TEXT NOT NULL, "
               "filename TEXT NOT NULL DEFAULT '', total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, "
               "phase TEXT NOT NULL DEFAULT 'stage', "
               "state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')), "
               "result TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, "
               "updated_at REAL NOT NULL)")
    db.execute("CREATE TABLE roster_staging (job TEXT NOT NULL, seq INTEGER NOT NULL, household TEXT NOT NULL, "
               "person INTEGER NOT NULL, name TEXT NOT NULL, phone TEXT NOT NULL, relation TEXT NOT NULL, "
               "tenure TEXT NOT NULL, landlord TEXT NOT NULL, flags TEXT NOT NULL, note TEXT NOT NULL, "
               "building TEXT NOT NULL, unit TEXT NOT NULL, room TEXT NOT NULL, grid TEXT NOT NULL, "
               "grid_worker TEXT NOT NULL, PRIMARY KEY (job, seq))")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-roster`` migrations."""
    migrations.apply(db)


@dataclass(frozen=True)
class Job:
    """An import job as every worker sees it."""

    job: str
    owner: str
    filename: str
    total: int
    done: int
    phase: str
    state: str
    result: dict[str, object]
    error: str

    @property
    def percent(self) -> int:
        """0-100 (100 only when done)."""
        if self.state == "done":
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0


def start_job(db: CentralDB, owner: str, filename: str, total: int, now: float, phase: str = "stage") -> str:
    """Record a new running job (``phase`` ``check`` for :func:`check_and_run`); returns its id."""
    job = secrets.token_urlsafe(12)
    db.execute("INSERT INTO roster_jobs (job, owner, filename, total, phase, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)", [job, owner, filename, total, phase, now, now])
    return job


def check_and_run(db: CentralDB, job: str, rows: Sequence[tuple[int, Sequence[str]]], mapping: Mapping[int, str],
                  by: str, on_progress: Callable[[int], None] = lambda n: None) -> Job:
    """A whole import in the background: check and plan the rows (:func:`check`), then :func:`run_import` them
    (bad rows skipped, their count in the result). A failure marks the job failed; nothing is written then."""
    try:
        result = check(db, rows, mapping)
    except Exception as exc:
        log.exception("roster import %s: checking failed", job)
        db.execute("UPDATE roster_jobs SET state = 'failed', error = ?, updated_at = ? WHERE job = ?",
                   [f"检查失败，未写入任何数据 / checking failed: {exc}"[:500], time.time(), job])
        status = job_status(db, job, _owner(db, job))
        assert status is not None
        return status
    db.execute("UPDATE roster_jobs SET total = ?, phase = 'stage', updated_at = ? WHERE job = ?",
               [len(result.rows), time.time(), job])
    return run_import(db, job, result, by, on_progress)


def job_status(db: CentralDB, job: str, owner: str, now: float | None = None) -> Job | None:
    """The job, if it is ``owner``'s; a running job silent for :data:`JOB_STALE_S` is reported failed."""
    row = db.execute("SELECT job, owner, filename, total, done, phase, state, result, error, updated_at "
                     "FROM roster_jobs WHERE job = ? AND owner = ?", [job, owner]).fetchone()
    if row is None:
        return None
    state, error = row[6], row[8]
    if state == "running" and (time.time() if now is None else now) - row[9] > JOB_STALE_S:
        state, error = "failed", "导入中断（服务器重启？），未写入任何数据，请重新导入"
    return Job(row[0], row[1], row[2], int(row[3]), int(row[4]), row[5], state, json.loads(row[7]), error)


def _staged(job: str, seq: int, r: PlannedRow) -> list[object]:
    v = r.values
    flags = ",".join(str(f) for f in v.get("flags") or ())  # type: ignore[attr-defined]
    return [job, seq, r.household, r.person, *(str(v.get(k) or "") for k in ("name", "phone", "relation",
            "tenure", "landlord")), flags, str(v.get("note") or ""), *(str(v.get(k) or "") for k in _FILE_COLS)]


def _stage(db: CentralDB, job: str, rows: Sequence[PlannedRow], on_progress: Callable[[int], None]) -> None:
    cols = ("job", "seq", "household", "person", *_MEMBER_COLS[:5], "flags", "note", *_FILE_COLS)
    for start in range(0, len(rows), STAGE_CHUNK):
        chunk = rows[start:start + STAGE_CHUNK]
        with db.transaction():
            db.insert_ignore_many("roster_staging", cols, [_staged(job, start + i, r) for i, r in enumerate(chunk)])
            db.execute("UPDATE roster_jobs SET done = ?, updated_at = ? WHERE job = ?",
                       [start + len(chunk), time.time(), job])
        on_progress(start + len(chunk))


def _keep(column: str, table: str) -> str:
    return f"{column} = CASE WHEN excluded.{column} <> '' THEN excluded.{column} ELSE {table}.{column} END"


_MOVE_MEMBERS = (
    "INSERT INTO household_members (household, person, name, phone, relation, tenure, landlord, flags, note, "
    "updated_at) SELECT household, person, name, phone, relation, tenure, landlord, flags, note, ? "
    "FROM roster_staging WHERE job = ? ON CONFLICT (household, person) DO UPDATE SET "
    + ", ".join(_keep(c, "household_members") for c in _MEMBER_COLS) + ", updated_at = excluded.updated_at")
_MOVE_FILES = (
    "INSERT INTO household_files (household, building, unit, room, grid, grid_worker, updated_at, updated_by) "
    "SELECT household, MAX(building), MAX(unit), MAX(room), MAX(grid), MAX(grid_worker), ?, ? "
    "FROM roster_staging WHERE job = ? GROUP BY household ON CONFLICT (household) DO UPDATE SET "
    + ", ".join(_keep(c, "household_files") for c in _FILE_COLS)
    + ", updated_at = excluded.updated_at, updated_by = excluded.updated_by")


def _commit(db: CentralDB, job: str, result: Plan, by: str) -> None:
    """Move the staged rows into the household tables and mark the job done, all in one transaction."""
    now = time.time()
    with db.transaction():
        db.lock("household_members")
        if members_fingerprint(db) != result.fingerprint:
            raise RosterError("导入期间住户档案有改动，为免覆盖，本次未写入任何数据，请重新导入 / the household files "
                              "changed while the import ran: nothing was written; run it again")
        db.execute("INSERT INTO households (household, created_at) SELECT DISTINCT household, ? "
                   "FROM roster_staging WHERE job = ? ON CONFLICT (household) DO NOTHING", [now, job])
        db.execute(_MOVE_MEMBERS, [now, job])
        db.execute(_MOVE_FILES, [now, by, job])
        db.execute("DELETE FROM roster_staging WHERE job = ?", [job])
        summary = {"rows": len(result.rows), "new": result.new_members,
                   "updated": len(result.rows) - result.new_members, "households": result.households,
                   "skipped": len(result.bad)}
        db.execute("UPDATE roster_jobs SET state = 'done', phase = 'done', done = total, result = ?, updated_at = ? "
                   "WHERE job = ?", [json.dumps(summary), now, job])


def run_import(db: CentralDB, job: str, result: Plan, by: str,
               on_progress: Callable[[int], None] = lambda n: None) -> Job:
    """Write the planned rows of ``job`` (see the module's docstring: staged with progress, then one
    transaction). On failure nothing reaches the household tables, the job is marked failed with the reason."""
    try:
        _stage(db, job, result.rows, on_progress)
        db.execute("UPDATE roster_jobs SET phase = 'commit', updated_at = ? WHERE job = ?", [time.time(), job])
        _commit(db, job, result, by)
    except Exception as exc:
        log.exception("roster import %s failed", job)
        reason = str(exc) if isinstance(exc, RosterError) else f"导入失败，未写入任何数据 / import failed: {exc}"
        db.execute("DELETE FROM roster_staging WHERE job = ?", [job])
        db.execute("UPDATE roster_jobs SET state = 'failed', error = ?, updated_at = ? WHERE job = ?",
                   [reason[:500], time.time(), job])
    status = job_status(db, job, _owner(db, job))
    assert status is not None
    return status


def _owner(db: CentralDB, job: str) -> str:
    row = db.execute("SELECT owner FROM roster_jobs WHERE job = ?", [job]).fetchone()
    return str(row[0]) if row else ""


def import_rows(db: CentralDB, rows: Sequence[tuple[int, Sequence[str]]], mapping: Mapping[int, str], *, by: str,
                filename: str = "", skip_bad: bool = True,
                on_progress: Callable[[int], None] = lambda n: None) -> tuple[Plan, Job | None]:
    """Check, plan and import in one call (the CLI and tests): (the plan, the finished job; None when the plan has
    bad rows and ``skip_bad`` is False, nothing written then)."""
    problems = mapping_problems(mapping)
    if problems:
        raise RosterError("；".join(problems))
    result = check(db, rows, mapping)
    if result.bad and not skip_bad:
        return result, None
    job = start_job(db, by, filename, len(result.rows), time.time())
    return result, run_import(db, job, result, by, on_progress)
