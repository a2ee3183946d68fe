"""central.roster_import: roster fields, the household id, idempotent planning, the all-or-nothing import and the
``gatepass central households import`` command, on SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central import homes, roster_import, tabular
from central.db import open_db
from central.tabular import CheckedRow, Invalid
from gatepass.cli import main
from tests.central.console.roster_fixture import HEADERS, SHUFFLED_HEADERS, roster_rows, write_roster

MAPPING = {i: f for i, f in enumerate(("building", "unit", "room", "name", "phone", "relation", "tenure", "landlord",
                                       "grid", "grid_worker", "flags", "note"))}


def _rows(people: list[dict[str, str]]) -> list[tuple[int, list[str]]]:
    return [(n + 2, [p[h] for h in HEADERS]) for n, p in enumerate(people)]


# -- fields --------------------------------------------------------------------------------------------------------

def test_field_parsers_take_what_people_write():
    assert roster_import.parse_phone("+86 138-0013-8000") == "13800138000"
    assert roster_import.parse_phone("010-6512 3456") == "01065123456"
    for bad in ("1380", "138001380001", "abc"):
        with pytest.raises(Invalid):
            roster_import.parse_phone(bad)
    assert roster_import.parse_tenure("租户") == "tenant" and roster_import.parse_tenure("业主") == "owner"
    assert roster_import.parse_flags("慢病、独居老人 孕妇") == ("elderly_alone", "pregnant", "chronic")
    with pytest.raises(Invalid, match="不是已知的特殊人群"):
        roster_import.parse_flags("外星人")
    by_name = {f.name: f for f in roster_import.FIELDS}
    assert by_name["building"].parse("3号楼") == "3" and by_name["unit"].parse("2单元") == "2"
    assert by_name["room"].parse("401室") == "401"


def test_the_household_is_the_id_column_or_building_unit_room():
    assert roster_import.household_of({"household": "A-12", "room": "401"}) == "A-12"
    assert roster_import.household_of({"building": "3", "unit": "2", "room": "401"}) == "3-2-401"
    assert roster_import.household_of({"building": "3", "unit": "", "room": "401"}) == "3-401"
    with pytest.raises(Invalid, match="无法确定户号"):
        roster_import.household_of({"building": "3", "unit": "2", "room": ""})


def test_typical_headers_in_any_order_are_guessed():
    mapping = tabular.guess_mapping(list(SHUFFLED_HEADERS), roster_import.FIELDS)
    named = {SHUFFLED_HEADERS[c]: f for c, f in mapping.items()}
    assert named == {"手机号码": "phone", "姓名": "name", "门牌号": "room", "楼栋": "building", "单元": "unit",
                     "居住类型": "tenure", "网格员": "grid_worker", "所属网格": "grid", "房东": "landlord",
                     "重点人群": "flags", "备注": "note"}
    assert roster_import.mapping_problems(mapping) == []
    assert "请为「户号」或「房号」" in roster_import.mapping_problems({0: "name"})[0]


# -- planning (pure) -----------------------------------------------------------------------------------------------

def _checked(rows):
    return tabular.check_rows(rows, MAPPING, roster_import.FIELDS)


def _existing(plan: roster_import.Plan) -> roster_import.Existing:
    held: roster_import.Existing = {}
    for r in plan.rows:
        held.setdefault(r.household, []).append((r.person, str(r.values["name"]), str(r.values["phone"])))
    return held


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.randoms(use_true_random=False))
def test_planning_the_same_roster_again_only_updates(households, rnd):
    people = roster_rows(households)
    rnd.shuffle(people)
    first = roster_import.plan(_checked(_rows(people)), {})
    assert first.bad == [] and first.new_members == len(people)
    numbers = [(r.household, r.person) for r in first.rows]
    assert len(set(numbers)) == len(numbers)
    rnd.shuffle(people)
    again = roster_import.plan(_checked(_rows(people)), _existing(first))
    assert again.new_members == 0 and again.bad == []
    by_name = {(r.household, r.values["name"]): r.person for r in first.rows}
    assert all(by_name[(r.household, r.values["name"])] == r.person for r in again.rows)


def test_a_renamed_member_is_found_by_phone_and_a_shared_phone_does_not_merge_people():
    held = {"3-2-401": [(0, "张三", "13800000000"), (1, "李四", "13800000000")]}
    rows = [CheckedRow(2, {"name": "张叁", "phone": "13800000000", "household": "3-2-401"}),   # 张三 renamed
            CheckedRow(3, {"name": "李四", "phone": "13800000000", "household": "3-2-401"}),
            CheckedRow(4, {"name": "王五", "phone": "13800000000", "household": "3-2-401"})]   # shares the phone
    result = roster_import.plan(rows, held)
    assert [(r.person, r.new) for r in result.rows] == [(0, False), (1, False), (2, True)]


def test_the_same_person_twice_in_a_file_is_a_reason():
    people = roster_rows(1)
    result = roster_import.plan(_checked(_rows(people + people)), {})
    assert result.new_members == 1 and result.bad == [(3, "第 3 行：与第 2 行是同一户的同一人（同名），请合并后再导入")]


# -- the import ----------------------------------------------------------------------------------------------------

def test_import_is_idempotent_and_keeps_what_staff_typed(central_url):
    db = open_db(central_url)
    rows = _rows(roster_rows(20))
    plan, job = roster_import.import_rows(db, rows, MAPPING, by="ann", filename="r.xlsx")
    assert job is not None and job.state == "done" and job.result["new"] == len(rows)
    homes.save_member(db, homes.Member("1-1-101", 0, "王伟", "13900000000", "户主", "owner", "", ("elderly_alone",),
                                       "staff typed this"))
    blanked = [(line, cells[:5] + [""] * 7) for line, cells in rows]  # a roster with fewer columns filled
    _, again = roster_import.import_rows(db, blanked, MAPPING, by="ann")
    assert again is not None and again.result == {"rows": len(rows), "new": 0, "updated": len(rows),
                                                  "households": 20, "skipped": 0}
    kept = homes.member(db, "1-1-101", 0)
    assert kept is not None and kept.note == "staff typed this" and kept.flags == ("elderly_alone",)
    assert db.execute("SELECT COUNT(*) FROM household_members").fetchone()[0] == len(rows)
    assert db.execute("SELECT COUNT(*) FROM roster_staging").fetchone()[0] == 0
    grid = db.execute("SELECT grid, grid_worker, updated_by FROM household_files WHERE household = '1-1-101'")
    assert grid.fetchone() == ("第1网格", "网格员1", "ann")


def test_nothing_is_half_imported(central_url):
    db = open_db(central_url)
    rows = _rows(roster_rows(30))
    plan = roster_import.check(db, rows, MAPPING)
    job = roster_import.start_job(db, "ann", "r.csv", len(plan.rows), 0.0)
    homes.save_member(db, homes.Member("9-9-999", 0, "插队"))  # someone edits while the import runs
    done = roster_import.run_import(db, job, plan, "ann", on_progress=lambda n: None)
    assert done.state == "failed" and "未写入任何数据" in done.error
    assert db.execute("SELECT COUNT(*) FROM household_members").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM roster_staging").fetchone()[0] == 0
    broken = roster_import.plan(_checked(rows), {})
    broken.fingerprint = roster_import.members_fingerprint(db)
    bad_row = broken.rows[-1]
    broken.rows[-1] = roster_import.PlannedRow(bad_row.line, bad_row.household, bad_row.person, True,
                                               {**bad_row.values, "tenure": "squatter"})  # the CHECK refuses it
    job = roster_import.start_job(db, "ann", "r.csv", len(broken.rows), 0.0)
    seen: list[int] = []
    failed = roster_import.run_import(db, job, broken, "ann", on_progress=seen.append)
    assert failed.state == "failed" and seen  # staged with progress, then the final transaction failed
    assert db.execute("SELECT COUNT(*) FROM household_members").fetchone()[0] == 1


def test_progress_is_readable_while_the_import_runs(central_url):
    db = open_db(central_url)
    rows = _rows(roster_rows(2000))
    plan = roster_import.check(db, rows, MAPPING)
    job = roster_import.start_job(db, "ann", "r.csv", len(plan.rows), 0.0)
    other = open_db(central_url)  # another worker polling the job
    seen = []
    roster_import.run_import(db, job, plan, "ann", on_progress=lambda n: seen.append(
        roster_import.job_status(other, job, "ann").percent))
    assert len(seen) >= 2 and seen == sorted(seen) and 0 < seen[0] < 100
    assert roster_import.job_status(other, job, "bob") is None
    assert roster_import.job_status(other, job, "ann").percent == 100


# -- the command ---------------------------------------------------------------------------------------------------

def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_the_import_command(capsys, tmp_path, central_url):
    cfg = tmp_path / "central.toml"
    line = f'database_url = "{central_url}"\n' if central_url.startswith("postgresql") else ""
    cfg.write_text(f'data_dir = "{tmp_path / "central"}"\nsession_secret = "{"s" * 40}"\n{line}', encoding="utf-8")
    path = write_roster(tmp_path / "r.xlsx", households=25, headers=SHUFFLED_HEADERS)
    preview = _cli(capsys, "central", "households", "import", "--config", str(cfg), str(path), "--dry-run")
    assert preview.returncode == 0, preview.stderr
    people = len(roster_rows(25))
    assert "称谓 → （不导入）" in preview.stdout and f"新增 {people} 人" in preview.stdout
    done = _cli(capsys, "central", "households", "import", "--config", str(cfg), str(path),
                "--mapping", "称谓=与户主关系")
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"导入完成：新增 {people} 人" in done.stdout
    db = open_db(central_url if central_url.startswith("postgresql") else tmp_path / "central" / "central.db")
    head = homes.member(db, "1-1-102", 0)
    assert head is not None and head.relation == "户主"  # the corrected column was imported
    again = _cli(capsys, "central", "households", "import", "--config", str(cfg), str(path))
    assert f"新增 0 人，更新 {people} 人" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("楼号,单元,房号,姓名,联系电话\n1,1,101,王伟,12\n", encoding="utf-8")
    refused = _cli(capsys, "central", "households", "import", "--config", str(cfg), str(bad))
    assert refused.returncode == 1 and "联系电话「12」不是有效的电话号码" in refused.stdout
    assert "未写入" in refused.stdout
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"junk")
    assert _cli(capsys, "central", "households", "import", "--config", str(cfg), str(junk)).returncode == 1


def test_a_background_import_checks_then_imports_the_good_rows(central_url):
    db = open_db(central_url)
    rows = _rows(roster_rows(3)) + [(99, ["1", "1", "", "无房号", "", "", "", "", "", "", "", ""])]
    job = roster_import.start_job(db, "ann", "r.csv", len(rows), 0.0, phase="check")
    assert roster_import.job_status(db, job, "ann", now=1.0).phase == "check"
    done = roster_import.check_and_run(db, job, rows, MAPPING, "ann")
    assert done.state == "done" and done.total == len(rows) - 1 and done.result["skipped"] == 1
    assert db.execute("SELECT COUNT(*) FROM household_members").fetchone()[0] == len(rows) - 1
