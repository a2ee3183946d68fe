"""一户一档 in the console: the households list, the household file page (address, grid, members, timeline, passes,
quarantine), its edits, the pass register import, and the roster import (upload → mapping → preview → import with
a progress bar).

Names, phones and care flags are shown to staff and admins; a viewer sees names and phones masked (张**,
138****5678), no flags, no forms, and cannot search by name or phone. Every view is audited.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from central import homes, roster_import, tabular, timeline
from central.console import auth, params
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember, Viewer
from central.console.web import SECURITY_HEADERS, Console, error_page
from central.passes import issuance
from central.passes import quarantine as quarantines
from central.passes.bulk import BulkReport, issue_register
from central.passes.cards import render_cards
from central.store import connect
from central.tabular import Invalid
from central.visitors import mask_name, mask_phone
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_DAYS = 3660
PASS_KINDS = ("resident", "temporary", "visitor", "staff", "delivery")
MAX_LIST = 500
PREVIEW_ROWS = 20
JobId = Annotated[str, PathParam(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Token = Annotated[str, PathParam(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_LIST_SQL = (
    "SELECT h.household, COALESCE(f.grid, '') AS grid, COALESCE(f.grid_worker, '') AS grid_worker, "
    "(SELECT COUNT(*) FROM household_members m WHERE m.household = h.household) AS members, "
    "(SELECT COUNT(*) FROM passes p WHERE p.household = h.household AND p.revoked_at IS NULL AND p.valid_to > :now) "
    "AS valid_passes, "
    "(SELECT MIN(first_day) FROM quarantines q WHERE q.household = h.household AND q.status = 'active' "
    " AND q.end_ts > :now) AS q_start, "
    "(SELECT MAX(last_day) FROM quarantines q WHERE q.household = h.household AND q.status = 'active' "
    " AND q.end_ts > :now) AS q_end "
    "FROM households h LEFT JOIN household_files f ON f.household = h.household WHERE {where} "
    "ORDER BY h.household LIMIT :limit")


def _list_where(q: str, grid: str, flag: str, may_see: bool) -> tuple[str, dict[str, Any]]:
    """The households list's filter: ``q`` (household id prefix, grid; names and phones for staff), grid, flag."""
    where, args = ["1 = 1"], {"pat": _like(q.strip()) + "%", "any": "%" + _like(q.strip()) + "%", "grid": grid,
                               "flag": f"%,{_like(flag)},%"}
    if q.strip():
        person = ("OR EXISTS (SELECT 1 FROM household_members m WHERE m.household = h.household AND "
                  "(m.name LIKE :any ESCAPE '\\' OR m.phone LIKE :any ESCAPE '\\')) ") if may_see else ""
        where.append(f"(LOWER(h.household) LIKE LOWER(:pat) ESCAPE '\\' OR f.grid LIKE :any ESCAPE '\\' {person})")
    if grid:
        where.append("f.grid = :grid")
    if flag:
        where.append("EXISTS (SELECT 1 FROM household_members m WHERE m.household = h.household AND "
                     "(',' || m.flags || ',') LIKE :flag ESCAPE '\\')")
    return " AND ".join(where), args


def _flags_by_household(ctx: Console, households: list[str]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for start in range(0, len(households), 500):
        chunk = households[start:start + 500]
        rows = ctx.db.execute("SELECT household, flags FROM household_members WHERE flags != '' AND household IN "
                              f"({', '.join('?' * len(chunk))})", chunk).fetchall()
        for household, flags in rows:
            found.setdefault(household, set()).update(flags.split(","))
    return {h: [c for c in homes.FLAGS if c in codes] for h, codes in found.items()}


@router.get("/households")
def households_page(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, q: params.QueryText = "",
                    grid: params.QueryText = "", flag: params.QueryText = "") -> Response:
    """Households: search by household id, grid (and, for staff, a member's name or phone); filter by grid and
    by care flag; each with its grid, members, flags, valid passes and active quarantine."""
    may_see = staff.can("staff")
    flag = flag if flag in homes.FLAGS else ""
    where, args = _list_where(q, grid, flag, may_see)
    rows = list(ctx.db.query(_LIST_SQL.format(where=where), {**args, "now": time.time(), "limit": MAX_LIST}))
    flags = _flags_by_household(ctx, [r["household"] for r in rows]) if may_see else {}
    grids = [r[0] for r in ctx.db.execute("SELECT DISTINCT grid FROM household_files WHERE grid != '' "
                                          "ORDER BY grid").fetchall()]
    record("view_households", q=q, grid=grid, flag=flag, rows=len(rows))
    text = q.strip().lower()  # a household id not on file yet (not a name, phone or grid that matched): offer it
    offer_new = bool(text) and all(r["household"].lower().startswith(text) for r in rows) and \
        not any(r["household"].lower() == text for r in rows)
    return ctx.render(request, "households.html", staff, rows=rows, q=q, grid=grid, flag=flag, grids=grids,
                      flags=flags, FLAGS=homes.FLAGS, may_see=may_see, report=None, limit=MAX_LIST,
                      offer_new=offer_new)


@router.post("/households/import")
async def households_import(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                            file: Annotated[UploadFile, File()],
                            days: Annotated[int, Form(ge=1, le=MAX_DAYS)] = 30) -> Response:
    """Issue passes for a household register (.csv or .xlsx)."""
    suffix = Path(file.filename or "register.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        return error_page(ctx, request, staff, "请上传 .csv 或 .xlsx 文件 / upload a .csv or .xlsx file")
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, "文件超过 20 MB / file too large (20 MB at most)")
    try:
        report = await run_in_threadpool(_import_register, ctx, data, suffix, days)
    except (GatepassError, ValueError, OSError) as exc:
        return error_page(ctx, request, staff, f"登记表未导入 / register not imported: {exc}")
    await run_in_threadpool(record, "import_register", file=file.filename, issued=len(report.issued),
                            skipped=len(report.skipped), errors=len(report.errors))
    return ctx.render(request, "households.html", staff, rows=[], q="", grid="", flag="", grids=[], flags={},
                      FLAGS=homes.FLAGS, may_see=True, report=report, limit=MAX_LIST)


def _import_register(ctx: Console, data: bytes, suffix: str, days: int) -> BulkReport:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"register{suffix}"
        path.write_bytes(data)
        return issue_register(ctx.db, ctx.data_dir, path, default_days=days, tz=ctx.tz_name)


# -- the roster import: upload → mapping → preview → import (background, with progress) ----------------------------

def _roster_page(ctx: Console, request: Request, staff: auth.Staff, status_code: int = 200, **extra: Any) -> Response:
    values: dict[str, Any] = {"step": "upload", "fields": roster_import.FIELDS, "problems": [], "table": None,
                              "mapping": {}, "token": "", "plan": None, "job": None, "FLAGS": homes.FLAGS,
                              "TENURES": homes.TENURES}
    return ctx.render(request, "roster_import.html", staff, status_code=status_code, **{**values, **extra})


@router.get("/roster")
def roster_upload_page(request: Request, ctx: ConsoleCtx, staff: StaffMember) -> Response:
    """Step 1: choose the roster file (and download the template)."""
    return _roster_page(ctx, request, staff)


@router.get("/roster/template.xlsx")
def roster_template(staff: StaffMember) -> Response:
    """The roster template: the Chinese headers and an example row."""
    headers = {**SECURITY_HEADERS, "Content-Disposition": "attachment; filename*=UTF-8''"
               + quote("住户花名册模板.xlsx")}
    return Response(roster_import.template_xlsx(), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/roster/map")
async def roster_map(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                     file: Annotated[UploadFile, File()]) -> Response:
    """Step 2: keep the upload and read it in the background (bounded), then show the guessed mapping."""
    name = file.filename or "roster.csv"
    if Path(name).suffix.lower() not in (".csv", ".xlsx", ".xlsm"):
        return _roster_page(ctx, request, staff, 400, problems=["请上传 .xlsx 或 .csv 文件"])
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return _roster_page(ctx, request, staff, 413, problems=["文件超过 20 MB"])
    token = await run_in_threadpool(tabular.start_reading, ctx.db, ctx.db_target, data, name, owner=staff.username,
                                    purpose=roster_import.PURPOSE)
    await run_in_threadpool(record, "upload_roster", file=name, bytes=len(data))
    return RedirectResponse(f"/roster/read/{token}", 303)


@router.get("/roster/read/{token}")
def roster_read(request: Request, ctx: ConsoleCtx, token: Token, staff: StaffMember) -> Response:
    """The upload being read (a progress bar; the page reloads itself), then the mapping step."""
    status = tabular.upload_status(ctx.db, token, owner=staff.username, purpose=roster_import.PURPOSE)
    if status is None:
        raise HTTPException(404, "上传的文件已过期或不存在，请重新上传 / the upload expired: upload it again")
    if status.state == "failed":
        return _roster_page(ctx, request, staff, 400, problems=[status.error])
    if status.state == "reading":
        return _roster_page(ctx, request, staff, step="reading", reading=status)
    table = _kept(ctx, staff, token)
    if not table.rows:
        return _roster_page(ctx, request, staff, 400, problems=["文件只有标题行，没有数据"])
    mapping = tabular.guess_mapping(table.headers, roster_import.FIELDS)
    return _roster_page(ctx, request, staff, step="map", table=table, mapping=mapping, token=token)


def _kept(ctx: Console, staff: auth.Staff, token: str) -> tabular.Table:
    table = tabular.load_upload(ctx.db, token, owner=staff.username, purpose=roster_import.PURPOSE)
    if table is None:
        raise HTTPException(404, "上传的文件已过期或不存在，请重新上传 / the upload expired: upload it again")
    return table


@router.post("/roster/preview")
async def roster_preview(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                         token: Annotated[str, Form(max_length=64)]) -> Response:
    """Step 3: the rows checked against the mapping, with per-row reasons in Chinese."""
    table = await run_in_threadpool(_kept, ctx, staff, token)
    mapping = tabular.mapping_from_form(await request.form(), len(table.headers), roster_import.FIELDS)
    problems = roster_import.mapping_problems(mapping)
    if problems:
        return _roster_page(ctx, request, staff, 400, step="map", table=table, mapping=mapping, token=token,
                            problems=problems)
    plan = await run_in_threadpool(roster_import.check, ctx.db, table.rows, mapping)
    await run_in_threadpool(record, "preview_roster", rows=len(table.rows), bad=len(plan.bad))
    return _roster_page(ctx, request, staff, step="preview", table=table, mapping=mapping, token=token, plan=plan,
                        preview=plan.rows[:PREVIEW_ROWS], mapping_json=tabular.mapping_to_json(mapping))


@router.post("/roster/import")
async def roster_run(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                     token: Annotated[str, Form(max_length=64)],
                     mapping: Annotated[str, Form(max_length=4000)]) -> Response:
    """Step 4: start the import in the background and go to its progress page."""
    table = await run_in_threadpool(_kept, ctx, staff, token)
    try:
        chosen = tabular.parse_mapping(mapping, table.headers, roster_import.FIELDS)
    except tabular.TabularError as exc:
        return _roster_page(ctx, request, staff, 400, problems=[exc.zh])
    job = await run_in_threadpool(roster_import.start_job, ctx.db, staff.username, table.filename, len(table.rows),
                                  time.time(), "check")
    threading.Thread(target=_run_job, args=(ctx.db_target, job, table, chosen, staff.username, token), daemon=True,
                     name=f"roster-{job}").start()
    await run_in_threadpool(record, "import_roster", file=table.filename, job=job, rows=len(table.rows))
    return RedirectResponse(f"/roster/jobs/{job}", 303)


def _run_job(target: str, job: str, table: tabular.Table, mapping: dict[int, str], by: str, token: str) -> None:
    """The import thread: its own connection; the upload is forgotten once the import is done."""
    db = connect(target)
    try:
        done = roster_import.check_and_run(db, job, table.rows, mapping, by)
        if done.state == "done":
            tabular.drop_upload(db, token, owner=by)
    finally:
        db.close()


@router.get("/roster/jobs/{job}")
def roster_job(request: Request, ctx: ConsoleCtx, job: JobId, staff: StaffMember) -> Response:
    """The import's progress (the page reloads itself every second while it runs), then its result."""
    status = roster_import.job_status(ctx.db, job, staff.username)
    if status is None:
        raise HTTPException(404, "没有这个导入任务 / no such import")
    return _roster_page(ctx, request, staff, step="job", job=status)


# -- the household file ------------------------------------------------------------------------------------------

# Household ids may hold '/' (e.g. 3/2/401): the routes take the rest of the path, and the more
# specific routes (.../cards) come before the household page that would match them too.
@router.get("/households/{household:path}/cards")
def hh_cards(ctx: ConsoleCtx, household: str, staff: StaffMember, record: Audit) -> Response:
    """Printable pass cards of a household's valid passes."""
    passes = issuance.find_passes(ctx.db, household=household, valid_at=time.time())
    record("print_cards", household=household, passes=len(passes))
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
               "style-src 'self' 'unsafe-inline'; script-src 'none'; frame-ancestors 'none'"}
    return HTMLResponse(render_cards(passes, tz=ctx.tz_name), headers=headers)


def _file(ctx: Console, household: str) -> dict[str, Any]:
    rows = list(ctx.db.query("SELECT building, unit, room, grid, grid_worker, notes, updated_at, updated_by "
                             "FROM household_files WHERE household = ?", [household]))
    return rows[0] if rows else {"building": "", "unit": "", "room": "", "grid": "", "grid_worker": "", "notes": "",
                                 "updated_at": None, "updated_by": ""}


def _shown(m: homes.Member, may_see: bool) -> homes.Member:
    """A member as the viewer may see them (names and phones masked, no flags or landlord for a viewer)."""
    if may_see:
        return m
    return homes.Member(m.household, m.person, mask_name(m.name), mask_phone(m.phone), m.relation, m.tenure,
                        mask_name(m.landlord), (), "")


@router.get("/households/{household:path}")
def household_page(request: Request, ctx: ConsoleCtx, household: str, staff: Viewer, record: Audit,
                   msg: params.QueryText = "") -> Response:
    """The household file: address, grid, notes, members, one timeline; its passes and quarantine records with
    the forms to issue, revoke, quarantine and release (staff)."""
    if not household.strip("/"):
        return RedirectResponse("/households", 303)
    may_see = staff.can("staff")
    passes = issuance.find_passes(ctx.db, household=household, include_revoked=True)
    revoked = {r[0]: r[1] for r in ctx.db.execute(
        "SELECT pass_id, revoked_at FROM passes WHERE household = ? AND revoked_at IS NOT NULL", [household])}
    records = quarantines.records(ctx.db, household)
    members = [_shown(m, may_see) for m in homes.members(ctx.db, household)]
    events = timeline.household_timeline(ctx.db, household)
    now = time.time()
    record("view_household", household=household, passes=len(passes), members=len(members), events=len(events))
    holders = {p.info.person for p in passes if p.info.pass_id not in revoked and p.info.valid_to > time.time()}
    without = [m.person for m in members if m.person not in holders]
    next_person = without[0] if without else max([*holders, *(m.person for m in members), -1]) + 1
    today = datetime.now(ctx.tz).date()
    return ctx.render(request, "household.html", staff, household=household, passes=passes, revoked=revoked,
                      records=records, active=[r for r in records if r.status == "active" and r.end_ts > now],
                      persons=sorted({p.info.person for p in passes} | {m.person for m in members}),
                      kinds=PASS_KINDS, msg=msg, now=now, today=today.isoformat(),
                      preset_days=quarantines.DEFAULT_DAYS, preset_last=quarantines.last_day_of(today).isoformat(),
                      file=_file(ctx, household), members=members, by_person={m.person: m for m in members},
                      events=events, may_see=may_see, FLAGS=homes.FLAGS, TENURES=homes.TENURES,
                      mask_name=(lambda s: s) if may_see else mask_name, next_person=min(next_person, 999))


def _back(household: str, msg: str = "saved") -> Response:
    return RedirectResponse(f"/households/{quote(household, safe='')}?msg={msg}", 303)


Short = Annotated[str, Form(max_length=64)]


@router.post("/households/{household:path}/file")
def hh_file(request: Request, ctx: ConsoleCtx, household: str, staff: StaffForm, record: Audit,
            building: Short = "", unit: Short = "", room: Short = "", grid: Short = "", grid_worker: Short = "",
            notes: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Save the household's address, grid, grid worker and notes."""
    values = {"building": building.strip(), "unit": unit.strip(), "room": room.strip(), "grid": grid.strip(),
              "grid_worker": grid_worker.strip(), "notes": notes.strip()}
    with ctx.db.transaction():
        homes.ensure_household(ctx.db, household)
        ctx.db.execute("INSERT INTO household_files (household, building, unit, room, grid, grid_worker, notes, "
                       "updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (household) DO UPDATE "
                       "SET building = excluded.building, unit = excluded.unit, room = excluded.room, "
                       "grid = excluded.grid, grid_worker = excluded.grid_worker, notes = excluded.notes, "
                       "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                       [household, *values.values(), time.time(), staff.username])
    record("edit_household", household=household, fields=sorted(k for k, v in values.items() if v))
    return _back(household)


def _member_values(form: dict[str, str], flags: list[str]) -> dict[str, Any]:
    """A member form's values checked with the roster's parsers (:class:`Invalid` with a Chinese reason)."""
    by_name = {f.name: f for f in roster_import.FIELDS}
    values: dict[str, Any] = {}
    for key in ("name", "phone", "relation", "landlord", "note"):
        text = form.get(key, "").strip()
        try:
            values[key] = by_name[key].parse(text) if text else ""
        except Invalid as exc:
            raise Invalid(f"{by_name[key].zh}「{text[:40]}」{exc}") from None
    if not values["name"]:
        raise Invalid("请填写姓名")
    tenure = form.get("tenure", "")
    values["tenure"] = tenure if tenure in homes.TENURES else ""
    values["flags"] = tuple(c for c in homes.FLAGS if c in flags)
    return values


@router.post("/households/{household:path}/members")
def hh_member(request: Request, ctx: ConsoleCtx, household: str, staff: StaffForm, record: Audit,
              person: Annotated[str, Form(max_length=4)] = "", name: Short = "", phone: Short = "",
              relation: Short = "", tenure: Short = "", landlord: Short = "",
              note: Annotated[str, Form(max_length=200)] = "",
              flags: Annotated[list[str] | None, Form(max_length=len(homes.FLAGS))] = None) -> Response:
    """Add a member (``person`` empty: numbered after the last) or save member ``person``."""
    try:
        values = _member_values({"name": name, "phone": phone, "relation": relation, "tenure": tenure,
                                 "landlord": landlord, "note": note}, flags or [])
        number = int(person) if person.strip() else None
        if number is not None and not 0 <= number <= roster_import.MAX_PERSON:
            raise Invalid(f"人员序号应为 0–{roster_import.MAX_PERSON}")
    except (Invalid, ValueError) as exc:
        return error_page(ctx, request, staff, f"未保存：{exc}")
    with ctx.db.transaction():
        ctx.db.lock("household_members")
        if number is None:
            row = ctx.db.execute("SELECT MAX(person) FROM household_members WHERE household = ?",
                                 [household]).fetchone()
            number = 0 if row[0] is None else int(row[0]) + 1
        homes.save_member(ctx.db, homes.Member(household, number, **values))
    record("edit_member", household=household, person=number)
    return _back(household)
