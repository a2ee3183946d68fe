"""The screening register (central.screening) on both backends: merge by phone, idempotent re-import, household
links, the worklist and calls, one step to a quarantine, the household timeline, retention."""

from __future__ import annotations

from datetime import date

import pytest

from central import homes, screening
from central.db import open_db, transaction
from central.screening import Filters, QuarantineOrder, ScreenRow

NOW = 1_650_000_000.0  # 2022-04-15


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    with transaction(d):
        d.execute("INSERT INTO household_files (household, grid, updated_at) VALUES ('3-2-401', '一网格', 0), "
                  "('5-1-101', '二网格', 0)")
        homes.save_member(d, homes.Member("5-1-101", 1, name="赵六", phone="13900000006"), now=0)
    yield d
    d.close()


def _rows() -> list[ScreenRow]:
    return [ScreenRow("13800000001", name="张三", household="3号楼2单元401室", origin_city="上海",
                      return_date="2022-04-10", travel="G1234", row_no=2),
            ScreenRow("13800000002", name="李四", household="9栋9单元909", row_no=3),
            ScreenRow("13900000006", name="赵六", health="咳嗽", row_no=4),
            ScreenRow("13800000001", name="张三", contact="同车厢", row_no=5)]


def test_rows_with_one_phone_are_one_person_and_households_are_linked(db) -> None:
    result = screening.import_rows(db, "questionnaire", "问卷 4月", _rows(), by="staff", now=NOW)
    assert (result.rows, result.new_people, result.merged_people) == (3, 3, 0)
    people, total = screening.people(db, Filters(), now=NOW)
    assert total == 3
    by_phone = {p["phone"]: p for p in people}
    zhang = by_phone["13800000001"]
    assert (zhang["household"], zhang["grid"], zhang["contact"], zhang["travel"]) == ("3-2-401", "一网格", "同车厢",
                                                                                       "G1234")
    assert by_phone["13800000002"]["household"] is None and by_phone["13800000002"]["address"] == "9栋9单元909"
    assert (by_phone["13900000006"]["household"], by_phone["13900000006"]["person"]) == ("5-1-101", 1)
    assert zhang["category"] == "returnee"


def test_a_second_list_merges_by_phone_and_a_reimport_adds_nothing(db) -> None:
    screening.import_rows(db, "questionnaire", "问卷 4月", _rows(), by="staff", now=NOW)
    street = [ScreenRow("+86 138 0000 0001".replace(" ", "")[3:], name="张三", health="发热")]
    second = screening.import_rows(db, "close_contact_list", "街道密接名单", street, by="staff", now=NOW + 10)
    assert (second.new_people, second.merged_people) == (0, 1)
    again = screening.import_rows(db, "questionnaire", "问卷 4月", _rows(), by="staff", now=NOW + 20)
    assert again.new_people == 0
    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
              ("screening_people", "screening_rows", "screening_sources")]
    assert counts == [3, 4, 2]
    zhang = next(p for p in screening.people(db, Filters(), now=NOW)[0] if p["phone"] == "13800000001")
    assert zhang["category"] == "close_contact" and zhang["health"] == "发热" and zhang["sources"] == 2
    rows = screening.person_rows(db, zhang["id"])
    assert {r["source_label"] for r in rows} == {"问卷 4月", "街道密接名单"}


def test_an_import_that_fails_leaves_nothing(db) -> None:
    rows = [ScreenRow("13800000001", name="张三"), ScreenRow("13800000002", name="李四")]
    with pytest.raises(screening.ScreeningError):
        screening.import_rows(db, "no-such-kind", "名单", rows, by="staff", now=NOW)
    many = [ScreenRow(f"137{i:08d}", name=f"人{i}") for i in range(screening.BATCH + 100)]
    many[-1] = ScreenRow(many[-1].phone, name=None)  # type: ignore[arg-type]  # the database refuses it (NOT NULL)
    with pytest.raises(Exception):  # noqa: B017 - sqlite3 / psycopg IntegrityError
        screening.import_rows(db, "questionnaire", "名单", many, by="staff", now=NOW)
    for table in ("screening_people", "screening_rows", "screening_sources"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table  # not the first batch either


def test_the_worklist_calls_and_filters(db) -> None:
    screening.import_rows(db, "questionnaire", "问卷", _rows(), by="staff", now=NOW)
    todo = lambda f=Filters(), now=NOW: [p["name"] for p in screening.worklist(db, f, now=now)[0]]  # noqa: E731
    assert sorted(todo()) == ["张三", "李四", "赵六"]
    people = {p["name"]: p["id"] for p in screening.people(db, Filters(), now=NOW)[0]}
    screening.record_call(db, people["张三"], "reached", "已告知居家", by="staff", now=NOW + 60)
    screening.record_call(db, people["李四"], "no_answer", "", by="staff", now=NOW + 60)
    assert todo(now=NOW + 120) == ["赵六"]
    assert sorted(todo(now=NOW + 60 + screening.RETRY_S)) == ["李四", "赵六"]  # a failed call is due again
    assert todo(Filters(grid="二网格"), NOW + 120) == ["赵六"]
    returned = Filters(returned_from="2022-04-01", returned_to="2022-04-30")
    assert [p["name"] for p in screening.people(db, returned, now=NOW)[0]] == ["张三"]
    assert todo(returned, NOW + 120) == []  # reached
    with pytest.raises(screening.ScreeningError):
        screening.record_call(db, people["张三"], "maybe", "", by="staff", now=NOW)
    with pytest.raises(screening.ScreeningError):
        screening.record_call(db, 10**9, "reached", "", by="staff", now=NOW)
    log = screening.calls(db, people["张三"])
    assert [(c["outcome"], c["called_by"], c["note"]) for c in log] == [("reached", "staff", "已告知居家")]


def test_preset_period() -> None:
    today = date(2022, 4, 15)
    assert screening.preset_period("2022-04-10", today) == (date(2022, 4, 10), date(2022, 4, 23))
    assert screening.preset_period("", today) == (today, date(2022, 4, 28))
    assert screening.preset_period("2022-03-01", today) == (today, date(2022, 4, 28))  # would be over
    assert screening.preset_period("2022-05-01", today) == (today, date(2022, 4, 28))  # not back yet


def test_one_step_to_a_quarantine_shows_on_the_row_and_the_timeline(db) -> None:
    screening.import_rows(db, "questionnaire", "问卷", _rows(), by="staff", now=NOW)
    people = {p["name"]: p for p in screening.people(db, Filters(), now=NOW)[0]}
    order = QuarantineOrder("3-2-401", "person", date(2022, 4, 10), date(2022, 4, 23))
    qid = screening.to_quarantine(db, people["张三"]["id"], order, by="staff", now=NOW + 5)
    row = db.execute("SELECT household, person, first_day, last_day, status FROM quarantines WHERE id = ?",
                     [qid]).fetchone()
    assert tuple(row) == ("3-2-401", 1, "2022-04-10", "2022-04-23", "active")
    assert homes.member(db, "3-2-401", 1).phone == "13800000001"  # added to the household file
    care_row = db.execute("SELECT source, origin_city FROM care_quarantines WHERE quarantine_id = ?", [qid]).fetchone()
    assert tuple(care_row) == ("returnee", "上海")  # through central.care.start_quarantine
    zhang = screening.person(db, people["张三"]["id"])
    assert (zhang["quarantine_id"], zhang["quarantine_first"], zhang["person"]) == (qid, "2022-04-10", 1)
    assert "张三" not in [p["name"] for p in screening.worklist(db, Filters(), now=NOW)[0]]
    member = screening.to_quarantine(db, people["赵六"]["id"], QuarantineOrder("5-1-101", "person", date(2022, 4, 15),
                                     date(2022, 4, 28)), by="staff", now=NOW)
    assert db.execute("SELECT person FROM quarantines WHERE id = ?", [member]).fetchone()[0] == 1
    for bad in (QuarantineOrder("9-9-909", "person", date(2022, 4, 1), date(2022, 4, 14)),
                QuarantineOrder("3-2-401", "person", date(2022, 4, 14), date(2022, 4, 1))):
        with pytest.raises(screening.ScreeningError):
            screening.to_quarantine(db, people["李四"]["id"], bad, by="staff", now=NOW)
    screening.record_call(db, people["赵六"]["id"], "reached", "在家", by="staff", now=NOW + 9)
    events = screening.timeline_events(db, "5-1-101", 0)
    assert {e.kind for e in events} == {"screening_call_reached", "screening_row"}
    assert all("赵六" not in e.summary and "在家" not in e.summary for e in events)  # no names, no notes
    assert all(e.person == 1 for e in events) and screening.timeline_events(db, "5-1-101", NOW + 100) == []


def test_retention_reduces_old_people_to_counts(db) -> None:
    screening.import_rows(db, "questionnaire", "问卷", _rows(), by="staff", now=NOW)
    pid = screening.people(db, Filters(text="张三"), now=NOW)[0][0]["id"]
    screening.record_call(db, pid, "reached", "", by="staff", now=NOW + 86400)
    assert screening.purge_before(db, NOW + 3600) == 2
    assert [p["name"] for p in screening.people(db, Filters(), now=NOW)[0]] == ["张三"]
    assert sum(t["people"] for t in screening.tally(db)) == 2
    assert screening.purge_before(db, None) == 1
    assert db.execute("SELECT count(*) FROM screening_rows").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM screening_calls").fetchone()[0] == 0
    assert {(t["outcome"], t["people"]) for t in screening.tally(db)} == {("none", 2), ("reached", 1)}


def test_the_retention_job_and_the_outbreak_purge_include_the_register(db) -> None:
    from central import retention
    from central.settings import RetentionSection

    screening.import_rows(db, "questionnaire", "问卷", _rows(), by="staff", now=NOW)
    kept = retention.purge_expired(db, RetentionSection(screening_days=28), NOW + 27 * 86400)
    assert kept.screening_people == 0
    report = retention.purge_expired(db, RetentionSection(screening_days=28), NOW + 29 * 86400)
    assert report.screening_people == 3 and any("排查登记人员已删除" in line for line in report.lines())
    assert db.execute("SELECT count(*) FROM screening_people").fetchone()[0] == 0
    screening.import_rows(db, "questionnaire", "问卷", _rows(), by="staff", now=NOW)
    assert retention.purge_outbreak_end(db, "admin", NOW).screening_people == 3
    assert sum(t["people"] for t in screening.tally(db)) == 6


def test_the_household_timeline_lists_the_register_as_a_source(db) -> None:
    from central.timeline import SOURCES, household_timeline

    assert "central.screening:timeline_events" in SOURCES
    screening.import_rows(db, "close_contact_list", "街道密接名单", _rows(), by="staff", now=NOW)
    events = household_timeline(db, "3-2-401", sources=("central.screening:timeline_events",))
    assert [(e.kind, e.alert) for e in events] == [("screening_row", True)]
    assert events[0].summary == "街道密接名单" and events[0].link.startswith("/screening/people/")
