"""``gatepass central screening ...``: the screening and returnee register from the command line.

``gatepass central screening import FILE --kind questionnaire --label "问卷星 4月3日"`` reads a questionnaire export
or a street-office list (CSV/XLSX, Chinese headers in any order), shows the guessed column mapping and every bad
row's reason, then imports the good rows in one transaction (people merged by phone; the same list again updates
it). Registered on :data:`central.cli.central_group` by :func:`register`; heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from gatepass.clickutil import config_option

KINDS = ("questionnaire", "returnee_list", "close_contact_list", "secondary_list", "other")


@click.group("screening")
def screening_group() -> None:
    """排查登记（问卷、返乡人员和密接名单） / the screening and returnee register."""


def _mapping(table, mapping_text: str | None, fields) -> dict[int, str]:
    from central import tabular

    mapping = tabular.guess_mapping(table.headers, fields)
    for col, name in (tabular.parse_mapping(mapping_text, table.headers, fields) if mapping_text else {}).items():
        mapping = {c: f for c, f in mapping.items() if f != name}  # the field moves to the column named
        mapping[col] = name
    return mapping


def _report(table, mapping: dict[int, str], fields, checked) -> None:
    labels = {f.name: f.zh for f in fields}
    for col, header in enumerate(table.headers):
        click.echo(f"  {header or f'第 {col + 1} 列'} → {labels.get(mapping.get(col, ''), '（不导入）')}")
    for row in checked.bad[:200]:
        click.echo(f"  {row.reason_text()}")
    if len(checked.bad) > 200:
        click.echo(f"  …… 另有 {len(checked.bad) - 200} 行有问题 / {len(checked.bad) - 200} more bad rows")
    click.echo(f"可导入 {len(checked.good)} 行（{checked.people} 人），有问题 {len(checked.bad)} 行 / "
               f"{len(checked.good)} good rows ({checked.people} people), {len(checked.bad)} bad")


@screening_group.command("import")
@config_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(KINDS), default="questionnaire", show_default=True,
              help="名单类型 / kind of list.")
@click.option("--label", default="", help="名单名称（默认：文件名；同名再次导入即更新） / the list's name "
              "(default: the file name; importing it again updates it).")
@click.option("--mapping", "mapping_text", default=None,
              help="纠正列的对应关系，如 '返回地=origin_city'（列名或从 0 起的列号 = 字段名或中文名） / correct the "
                   "guessed mapping: 'header=field,...'.")
@click.option("--dry-run", is_flag=True, help="只检查并预览，不写入 / check and preview only.")
@click.option("--skip-bad", is_flag=True, help="跳过有问题的行，导入其余行（默认：有问题就全部不导入） / import the "
              "good rows even if some rows are bad.")
@click.option("--as", "by", default="cli", show_default=True, help="记录为谁导入 / who imports.")
def import_command(config_path, path, kind, label, mapping_text, dry_run, skip_bad, by) -> None:
    """导入问卷导出或街道名单（CSV/XLSX） / import a questionnaire export or a street-office list.

    Exit status 1 when rows were refused (nothing is written then unless --skip-bad), 2 when the file or the
    mapping is refused.
    """
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from central import screening, screening_import, tabular
    from central.passes.cli import _audit, _open

    settings, db = _open(config_path)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    fields = screening_import.fields(today)
    try:
        table = tabular.read_table(Path(path))
        mapping = _mapping(table, mapping_text, fields)
    except tabular.TabularError as exc:
        raise click.ClickException(str(exc)) from None
    problems = tabular.mapping_problems(mapping, fields)
    click.echo(f"{Path(path).name}：{len(table.rows)} 行 / rows；列的对应关系 / mapping:")
    checked = screening_import.check(table, mapping, today)
    _report(table, mapping, fields, checked)
    if problems:
        raise click.ClickException("；".join(problems))
    if dry_run or (checked.bad and not skip_bad):
        if checked.bad and not dry_run:
            click.echo("有问题的行未修正，未写入任何数据（可加 --skip-bad 只导入其余行） / nothing written")
        raise click.exceptions.Exit(1 if checked.bad else 0)
    result = screening.import_rows(db, kind, label or Path(path).name, checked.good, by=by, now=time.time())
    _audit(db, "import_screening", file=str(Path(path).resolve()), kind=kind, rows=result.rows,
           new_people=result.new_people, merged=result.merged_people, refused=len(checked.bad))
    click.echo(f"导入完成：新增 {result.new_people} 人，与已有人员合并 {result.merged_people} 人 / imported: "
               f"{result.new_people} new, {result.merged_people} merged")
    if checked.bad:
        raise click.exceptions.Exit(1)


def register(group: click.Group) -> None:
    """Add ``screening`` to ``gatepass central``."""
    group.add_command(screening_group)
