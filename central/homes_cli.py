"""``gatepass central households ...``: the household files from the command line (roster import).

Registered on :data:`central.cli.central_group` by :func:`register`; heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from gatepass.clickutil import config_option


@click.group("households")
def households_group() -> None:
    """住户档案（一户一档） / household files."""


def _mapping(table, mapping_text: str | None) -> dict[int, str]:
    from central import roster_import, tabular

    mapping = tabular.guess_mapping(table.headers, roster_import.FIELDS)
    for col, name in (tabular.parse_mapping(mapping_text, table.headers, roster_import.FIELDS)
                      if mapping_text else {}).items():
        mapping = {c: f for c, f in mapping.items() if f != name}  # the field moves to the column named
        mapping[col] = name
    return mapping


def _show_mapping(table, mapping: dict[int, str]) -> None:
    from central import roster_import

    labels = {f.name: f.zh for f in roster_import.FIELDS}
    for col, header in enumerate(table.headers):
        click.echo(f"  {header or f'第 {col + 1} 列'} → {labels.get(mapping.get(col, ''), '（不导入）')}")


@households_group.command("import")
@config_option
@click.argument("roster", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", "mapping_text", default=None,
              help="纠正列的对应关系，如 '称谓=与户主关系,电话=phone'（列名或从 0 起的列号 = 字段名或中文名）；"
                   "其余列按标题自动识别 / correct the guessed mapping: 'header=field,...'.")
@click.option("--dry-run", is_flag=True, help="只检查并预览，不写入 / check and preview only.")
@click.option("--skip-bad", is_flag=True, help="跳过有问题的行，导入其余行（默认：有问题就全部不导入）"
              " / import the good rows even if some rows are bad.")
@click.option("--as", "by", default="", help="记录为谁导入（默认：当前系统用户） / who imports (default: the OS user).")
def import_command(config_path, roster, mapping_text, dry_run, skip_bad, by) -> None:
    """导入住户花名册（CSV/XLSX，中文列名顺序不限） / import a household roster.

    Re-importing the same roster updates, never duplicates. Exit status 1 when rows were refused (nothing is
    written then unless --skip-bad), 2 when the file or the mapping is refused.
    """
    from central import roster_import, tabular
    from central.passes.cli import _audit, _open

    _, db = _open(config_path)
    try:
        table = tabular.read_table(Path(roster))
        mapping = _mapping(table, mapping_text)
    except tabular.TabularError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{Path(roster).name}：{len(table.rows)} 行 / rows；列的对应关系 / mapping:")
    _show_mapping(table, mapping)
    problems = roster_import.mapping_problems(mapping)
    if problems:
        raise click.ClickException("；".join(problems))
    plan = roster_import.check(db, table.rows, mapping)
    for _, reason in plan.bad:
        click.echo(f"  {reason}")
    click.echo(f"可导入 {len(plan.rows)} 行（新增 {plan.new_members} 人，更新 {len(plan.rows) - plan.new_members} 人，"
               f"{plan.households} 户），有问题 {len(plan.bad)} 行 / {len(plan.rows)} good rows, {len(plan.bad)} bad")
    if dry_run or (plan.bad and not skip_bad):
        if plan.bad and not dry_run:
            click.echo("有问题的行未修正，未写入任何数据（可加 --skip-bad 只导入其余行） / nothing written")
        raise click.exceptions.Exit(1 if plan.bad else 0)
    _run(db, plan, table.filename, by or _os_user())
    _audit(db, "import_roster", file=str(Path(roster).resolve()), rows=len(plan.rows), skipped=len(plan.bad))
    if plan.bad:
        raise click.exceptions.Exit(1)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _run(db, plan, filename: str, by: str) -> None:
    """Run the import with a progress bar on stderr."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from central import roster_import

    job = roster_import.start_job(db, by, filename, len(plan.rows), time.time())
    with Progress(TextColumn("导入 / importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True)) as progress:
        task = progress.add_task("import", total=len(plan.rows))
        done = roster_import.run_import(db, job, plan, by, on_progress=lambda n: progress.update(task, completed=n))
    if done.state != "done":
        raise click.ClickException(done.error)
    r = done.result
    click.echo(f"导入完成：新增 {r['new']} 人，更新 {r['updated']} 人，涉及 {r['households']} 户 / imported")


def register(group: click.Group) -> None:
    """Add ``households`` to ``gatepass central``."""
    group.add_command(households_group)
