"""The screening register's import pages (:mod:`central.screening_import`, :mod:`central.tabular`): upload a
questionnaire export or a street-office list → check the guessed column mapping → preview every row (per-row
Chinese reasons) → import the good rows in one transaction. Staff and admins only; uploads and imports audited.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from central import screening, screening_import, tabular
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember
from central.console.i18n import translator
from central.console.routes_screening import Form100, redirect
from central.console.web import Console
from central.screening_parse import CATEGORIES
from gatepass.errors import GatepassError

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

PURPOSE = "screening"


def _today(ctx: Console) -> date:
    return datetime.now(ctx.tz).date()


def _import_page(ctx: Console, request: Request, staff: Any, status_code: int = 200, **values: Any) -> Response:
    values.setdefault("stage", "upload")
    values.setdefault("sources", screening.sources(ctx.db) if values["stage"] == "upload" else [])
    return ctx.render(request, "screening_import.html", staff, status_code=status_code,
                      kinds=screening.SOURCE_KINDS, categories=CATEGORIES,
                      fields=screening_import.fields(_today(ctx)), **values)


@router.get("/screening/import")
def import_page(request: Request, ctx: ConsoleCtx, staff: StaffMember) -> Response:
    """Step 1: choose the file, its kind of list and a name for it."""
    return _import_page(ctx, request, staff)


@router.post("/screening/import")
async def import_upload(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit,
                        file: Annotated[UploadFile, File()], kind: Form100, label: Form100 = "") -> Response:
    """Step 2: the file is read (bounded) and kept; the mapping step shows its columns with the guessed fields."""
    data = await file.read(tabular.MAX_FILE_BYTES + 1)
    name = (file.filename or "upload.csv")[-100:]
    label = " ".join(label.split()) or name
    if kind not in screening.SOURCE_KINDS:
        return _import_page(ctx, request, staff, 400, error=translator(staff.lang)("scr.bad_kind"))
    try:
        table = await run_in_threadpool(tabular.read_table, data, name)
    except tabular.TabularError as exc:
        return _import_page(ctx, request, staff, 400, error=str(exc), label=label, kind=kind)
    token = await run_in_threadpool(tabular.keep_upload, ctx.db, table, owner=staff.username, purpose=PURPOSE)
    await run_in_threadpool(record, "upload_screening", file=name, kind=kind, label=label, rows=len(table.rows))
    mapping = tabular.guess_mapping(table.headers, screening_import.fields(_today(ctx)))
    return _import_page(ctx, request, staff, stage="map", token=token, table=table, mapping=mapping,
                        problems=[], kind=kind, label=label)


def _loaded(ctx: Console, staff: Any, token: str) -> tabular.Table:
    table = tabular.load_upload(ctx.db, token, owner=staff.username, purpose=PURPOSE)
    if table is None:
        raise HTTPException(410, translator(staff.lang)("scr.upload_gone"))
    return table


@router.post("/screening/import/preview")
async def import_preview(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, token: Form100,
                         kind: Form100, label: Form100) -> Response:
    """Step 3: the rows checked under the chosen mapping: how many go in, which cannot and why."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    table = await run_in_threadpool(_loaded, ctx, staff, token)
    mapping, problems = screening_import.mapping_of(form, table.headers, _today(ctx))
    if problems:
        return _import_page(ctx, request, staff, 400, stage="map", token=token, table=table, mapping=mapping,
                            problems=problems, kind=kind, label=label)
    checked = await run_in_threadpool(screening_import.check, table, mapping, _today(ctx))
    await run_in_threadpool(record, "preview_screening", kind=kind, label=label, good=len(checked.good),
                            refused=len(checked.bad))
    return _import_page(ctx, request, staff, stage="preview", token=token, table=table, mapping=mapping,
                        mapping_json=tabular.mapping_to_json(mapping), checked=checked, kind=kind, label=label,
                        bad=checked.bad[:screening_import.PREVIEW_BAD],
                        good=checked.good[:screening_import.PREVIEW_GOOD])


def _commit(ctx: Console, staff: Any, token: str, kind: str, label: str, mapping_json: str) -> tuple[Any, Any]:
    table = _loaded(ctx, staff, token)
    mapping = tabular.parse_mapping(mapping_json, table.headers, screening_import.fields(_today(ctx)))
    checked = screening_import.check(table, mapping, _today(ctx))
    result = screening.import_rows(ctx.db, kind, label, checked.good, by=staff.username, now=time.time())
    tabular.drop_upload(ctx.db, token, owner=staff.username)
    return checked, result


@router.post("/screening/import/commit")
async def import_commit(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit, token: Form100,
                        kind: Form100, label: Form100, mapping: Annotated[str, Form(max_length=4000)]) -> Response:
    """Step 4: the good rows imported in one transaction (all of them or none); the register shows the list."""
    try:
        checked, result = await run_in_threadpool(_commit, ctx, staff, token, kind, label, mapping)
    except GatepassError as exc:
        return _import_page(ctx, request, staff, 400, error=str(exc), kind=kind, label=label)
    await run_in_threadpool(record, "import_screening", kind=kind, label=label, rows=result.rows,
                            new_people=result.new_people, merged=result.merged_people, refused=len(checked.bad))
    return redirect("/screening", source=str(result.source_id), msg="imported", new=str(result.new_people),
                    merged=str(result.merged_people), refused=str(len(checked.bad)))
