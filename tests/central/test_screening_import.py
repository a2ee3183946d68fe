"""Reading a questionnaire export or a street-office list for the screening register (central.screening_import):
the mapping guessed from real Chinese headers, per-row Chinese reasons, repeated phones merged, any cells safe."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from central import screening_import, tabular

TODAY = date(2022, 4, 20)
WJX = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的姓名", "2、联系电话",
       "3、现居住地址（楼号单元房号）", "4、从哪个城市返回", "5、返京日期", "6、车次/航班号", "7、目前健康状况",
       "8、是否有密接史"]
STREET = ["序号", "姓名", "身份证号", "手机号码", "现住址", "返回前所在地", "抵达日期", "交通方式及车次", "人员类别",
          "健康情况"]


def _fields() -> tuple[tabular.Field, ...]:
    return screening_import.fields(TODAY)


def test_a_questionnaire_export_is_mapped_from_its_question_headers() -> None:
    mapping = tabular.guess_mapping(WJX, _fields())
    assert {WJX[col]: name for col, name in mapping.items()} == {
        "1、您的姓名": "name", "2、联系电话": "phone", "3、现居住地址（楼号单元房号）": "household",
        "4、从哪个城市返回": "origin_city", "5、返京日期": "return_date", "6、车次/航班号": "travel",
        "7、目前健康状况": "health", "8、是否有密接史": "contact"}


def test_a_street_office_list_in_another_order() -> None:
    mapping = tabular.guess_mapping(STREET, _fields())
    assert {STREET[col]: name for col, name in mapping.items()} == {
        "姓名": "name", "手机号码": "phone", "现住址": "household", "返回前所在地": "origin_city",
        "抵达日期": "return_date", "交通方式及车次": "travel", "人员类别": "category", "健康情况": "health"}


def test_rows_are_checked_with_chinese_reasons_and_repeated_phones_counted() -> None:
    table = tabular.Table(STREET, [
        (2, ["1", "张三", "", "138 0000 0001", "3号楼2单元401", "上海", "2022/4/3", "G1234", "密接", "正常"]),
        (3, ["2", "李四", "", "1380000", "", "", "4月3日", "", "", ""]),
        (4, ["3", "王五", "", "13800000003", "", "", "2022/2/30", "火车", "游客", ""]),
        (5, ["4", "张三", "", "+86 13800000001", "", "", "", "", "", "发热"]),
        (6, ["5", "赵六", "", "", "", "", "", "", "", ""])])
    checked = screening_import.check(table, tabular.guess_mapping(STREET, _fields()), TODAY)
    assert [r.row_no for r in checked.good] == [2, 5] and checked.repeated == 1 and checked.people == 1
    first = checked.good[0]
    assert (first.phone, first.return_date, first.travel, first.category) == ("13800000001", "2022-04-03", "G1234",
                                                                              "close_contact")
    reasons = {row.line: "；".join(row.reasons) for row in checked.bad}
    assert "手机号应为11位" in reasons[3] or "电话号码无效" in reasons[3]
    assert "没有这一天" in reasons[4] and "车次" in reasons[4] and "人员类别" in reasons[4]
    assert "联系电话" in reasons[6] and "为空" in reasons[6]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in reasons.values())


def test_a_mapping_without_the_phone_is_refused_in_chinese() -> None:
    mapping, problems = screening_import.mapping_of({"col1": "name"}, STREET, TODAY)
    assert mapping == {1: "name"} and any("联系电话" in p for p in problems)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=12), max_size=8))
def test_any_cells_give_good_rows_or_reasons_never_an_error(rows: list[list[str]]) -> None:
    table = tabular.Table(STREET, [(i + 2, cells) for i, cells in enumerate(rows)])
    checked = screening_import.check(table, tabular.guess_mapping(STREET, _fields()), TODAY)
    assert len(checked.good) + len(checked.bad) == len(rows)
    assert all(row.reasons for row in checked.bad)
    assert all(r.phone and r.phone.isdigit() for r in checked.good)


def _cli(capsys, *argv):
    from types import SimpleNamespace

    from gatepass.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_the_import_command(capsys, tmp_path, central_url) -> None:
    from central.db import open_db

    cfg = tmp_path / "central.toml"
    line = f'database_url = "{central_url}"\n' if central_url.startswith("postgresql") else ""
    cfg.write_text(f'data_dir = "{tmp_path / "central"}"\nsession_secret = "{"s" * 40}"\n{line}', encoding="utf-8")
    path = tmp_path / "密接名单.csv"
    path.write_text("姓名,联系电话,返回地,抵达日期,车次\n周九,13500000031,上海,2022/4/3,D12\n吴十,13500000032,武汉,,\n"
                    "坏,123,,2022/2/30,\n", encoding="utf-8")
    cmd = ("central", "screening", "import", "--config", str(cfg), str(path), "--kind", "close_contact_list")
    refused = _cli(capsys, *cmd, "--mapping", "返回地=来自城市")
    assert refused.returncode == 1 and "返回地 → 来自城市" in refused.stdout and "第 4 行" in refused.stdout
    assert "电话号码无效" in refused.stdout and "未写入" in refused.stdout
    done = _cli(capsys, *cmd, "--mapping", "返回地=origin_city", "--skip-bad")
    assert done.returncode == 1 and "新增 2 人" in done.stdout
    again = _cli(capsys, *cmd, "--mapping", "2=origin_city", "--skip-bad", "--label", "密接名单.csv")
    assert "新增 0 人，与已有人员合并 2 人" in again.stdout
    db = open_db(central_url if central_url.startswith("postgresql") else tmp_path / "central" / "central.db")
    from central import screening

    people = screening.people(db, screening.Filters(), now=0)[0]
    assert sorted((p["name"], p["origin_city"], p["category"]) for p in people) == [
        ("吴十", "武汉", "close_contact"), ("周九", "上海", "close_contact")]
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"junk")
    assert _cli(capsys, "central", "screening", "import", "--config", str(cfg), str(junk)).returncode == 1
