"""Report templates in the console: list, create, duplicate, edit, generate for a day, and the history.

Everyone signed in may see the templates and generate them (the figures are counts, no personal data); staff and
administrators create and change them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from central import figures
from central.console import exports
from central.console import report_templates as rt
from central.console.deps import Audit, CleanInput, ConsoleCtx, StaffForm, StaffMember, Viewer
from central.console.errors import ConsoleError
from central.console.timeutil import parse_day
from central.console.web import Console, error_page

router = APIRouter(include_in_schema=False, dependencies=[CleanInput])  # no control characters in any field

BASE = "/report-templates"
TemplateId = Annotated[int, Path(ge=1, le=2**62)]  # beyond: no database integer


def _page(request: Request, ctx: Console, staff, **extra) -> Response:
    return ctx.render(request, "report_templates.html", staff, templates=rt.all_templates(ctx.db),
                      runs=rt.history(ctx.db), groupings=rt.GROUPINGS,
                      today=datetime.now(ctx.tz).date().isoformat(), **extra)


@router.get(BASE)
def templates_page(request: Request, ctx: ConsoleCtx, staff: Viewer) -> Response:
    """The saved templates, a form to generate one for a day, and the history of generated reports."""
    return _page(request, ctx, staff, saved=bool(request.query_params.get("saved")))


def _edit(request: Request, ctx: Console, staff, template: rt.Template, status_code: int = 200,
          error: str | None = None) -> Response:
    chosen = {r.figure: (n, r.label) for n, r in enumerate(template.rows, start=1)}
    return ctx.render(request, "report_template_edit.html", staff, status_code=status_code, error=error,
                      tpl=template, catalogue=figures.catalogue(), chosen=chosen, groupings=rt.GROUPINGS,
                      layouts=rt.LAYOUTS)


@router.get(BASE + "/new")
def template_new(request: Request, ctx: ConsoleCtx, staff: StaffMember,
                 copy: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    """A blank template form, or (``?copy=<id>``) a copy of a template under a new name."""
    template = rt.Template(name="")
    if copy is not None:
        try:
            template = rt.get(ctx.db, copy)
        except ConsoleError as exc:
            raise HTTPException(404, str(exc)) from None
        template.id, template.name = None, rt.copy_name(ctx.db, template.name)
    return _edit(request, ctx, staff, template)


@router.get(BASE + "/{template_id}/edit")
def template_edit(request: Request, ctx: ConsoleCtx, staff: StaffMember, template_id: TemplateId) -> Response:
    """The form of a saved template."""
    try:
        return _edit(request, ctx, staff, rt.get(ctx.db, template_id))
    except ConsoleError as exc:
        raise HTTPException(404, str(exc)) from None


def _posted(form, template_id: int | None) -> rt.Template:
    """The template a posted form describes: chosen figures (``figure``) ordered by ``order.<key>`` (then
    catalogue order), each under ``label.<key>`` (the figure's name when empty)."""
    keys = [k for k in form.getlist("figure") if isinstance(k, str)]
    known = {f.key: n for n, f in enumerate(figures.catalogue())}
    rows = []
    for key in dict.fromkeys(keys):
        if key not in known:
            raise ConsoleError(f"没有这项指标 / no figure {key[:40]!r}")
        label = str(form.get(f"label.{key}") or "").strip() or figures.figure(key).zh
        order = str(form.get(f"order.{key}") or "").strip()
        rank = int(order) if order.isascii() and order.isdigit() and len(order) < 6 else 10**6
        rows.append((rank, known[key], rt.Row(key, label)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rt.Template(name=str(form.get("name") or ""), title=str(form.get("title") or ""),
                       unit=str(form.get("unit") or ""), contact=str(form.get("contact") or ""),
                       grouping=str(form.get("grouping") or "all"), rows=[r[2] for r in rows],
                       layout=str(form.get("layout") or "columns"), id=template_id)


@router.post(BASE + "/save")
async def template_save(request: Request, ctx: ConsoleCtx, staff: StaffForm, record: Audit) -> Response:
    """Save a new or changed template (a form post of the template form)."""
    form = await request.form()
    raw_id = str(form.get("id") or "")
    template_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 18 else None
    try:
        template = _posted(form, template_id)
    except ConsoleError as exc:
        blank = rt.Template(name=str(form.get("name") or ""), id=template_id)
        return _edit(request, ctx, staff, blank, status_code=400, error=str(exc))
    try:
        saved = rt.save(ctx.db, template, staff.username)
    except ConsoleError as exc:
        return _edit(request, ctx, staff, template, status_code=400, error=str(exc))
    record("save_report_template", id=saved, name=template.name, figures=[r.figure for r in template.rows])
    return RedirectResponse(f"{BASE}?saved={saved}", 303)


@router.get(BASE + "/{template_id}/generate")
def template_generate(request: Request, ctx: ConsoleCtx, staff: Viewer, record: Audit, template_id: TemplateId,
                      day: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The template generated for ``day`` (YYYY-MM-DD, today when empty) as an XLSX file; kept in the history."""
    try:
        template = rt.get(ctx.db, template_id)
    except ConsoleError as exc:
        raise HTTPException(404, str(exc)) from None
    try:
        when = parse_day(day, ctx.tz)
        result = rt.generate(ctx.db, template, when, ctx.tz, staff.lang)
    except (ConsoleError, figures.FigureError) as exc:
        return error_page(ctx, request, staff, str(exc), back=BASE)
    data = exports.to_xlsx([result.table], staff.lang, ctx.tz)
    rt.record_run(ctx.db, template, when, staff.username, result.totals)
    record("generate_report", template=template.name, day=when.isoformat())
    return Response(data, media_type=exports.XLSX_TYPE,
                    headers=exports.download_headers(f"report-{template.id}-{when.isoformat()}.xlsx"))
