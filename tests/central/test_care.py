"""Home-quarantine care: the quarantine with its source, temperatures, needs and notes (both backends)."""

from __future__ import annotations

from datetime import date

import pytest

from central import care, homes
from central.db import open_db, transaction
from central.passes import quarantine


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    yield d
    d.close()


def test_start_quarantine_places_it_for_the_gates_and_keeps_the_source(db) -> None:
    with transaction(db):
        homes.save_member(db, homes.Member("3-2-401", 1, name="张三"))
    qid = care.start_quarantine(db, household="3-2-401", person=1, first_day=date(2026, 11, 27),
                                last_day=quarantine.last_day_of(date(2026, 11, 27)), source="returnee",
                                origin_city="武汉", note="自驾返回", by="staff1")
    rec = care.record(db, qid)
    assert rec is not None and rec.active
    assert (rec.source, rec.origin_city, rec.q.person, rec.q.first_day, rec.q.last_day) == (
        "returnee", "武汉", 1, "2026-11-27", "2026-12-10")
    ops = quarantine.gate_ops(db, rec.q.start_ts)
    assert ops == [{"op": "quarantine", "household": "3-2-401", "person": 1, "start_ts": rec.q.start_ts,
                    "end_ts": rec.q.end_ts}]
    # placing it again changes the same record
    again = care.start_quarantine(db, household="3-2-401", person=1, first_day=date(2026, 11, 27),
                                  last_day=date(2026, 12, 3), source="close_contact", by="staff1")
    assert again == qid and care.record(db, qid).source == "close_contact"


@pytest.mark.parametrize("kwargs, words", [
    ({"source": "tourist"}, "来源"),
    ({"last_day": date(2026, 11, 1)}, "早于"),
    ({"last_day": date(2027, 6, 1)}, "最长"),
    ({"origin_city": "城" * 41}, "来源城市"),
    ({"household": " "}, "户号"),
])
def test_start_quarantine_refuses_bad_values_in_chinese(db, kwargs, words) -> None:
    args = {"household": "3-2-401", "person": None, "first_day": date(2026, 11, 27),
            "last_day": date(2026, 12, 10), "source": "other", "by": "s"} | kwargs
    with pytest.raises(care.CareError, match=words):
        care.start_quarantine(db, **args)
    assert db.execute("SELECT COUNT(*) FROM quarantines").fetchone()[0] == 0


TZ = quarantine.DEFAULT_TZ
DAY1 = date(2026, 11, 27)


def _at(day: date, hh: int, mm: int = 0) -> float:
    return quarantine.local_midnight(day, TZ) + hh * 3600 + mm * 60


def _quarantine(db, person=1, first=DAY1, placed_at=None) -> int:
    with transaction(db):
        homes.save_member(db, homes.Member("3-2-401", 0, name="张三"))
        homes.save_member(db, homes.Member("3-2-401", 1, name="李四"))
    qid = care.start_quarantine(db, household="3-2-401", person=person, first_day=first,
                                last_day=quarantine.last_day_of(first), source="close_contact", by="s1")
    if placed_at is not None:
        with transaction(db):
            db.execute("UPDATE care_quarantines SET created_at = ? WHERE quarantine_id = ?", [placed_at, qid])
    return qid


def test_readings_are_recorded_corrected_and_checked(db) -> None:
    qid = _quarantine(db, placed_at=_at(DAY1, 8))
    r = care.record_reading(db, qid, 1, DAY1, "am", 36.5, via="self", by="", now=_at(DAY1, 9))
    assert (r.temp_c, r.via, r.corrections, r.previous_c) == (36.5, "self", 0, None)
    r = care.record_reading(db, qid, 1, DAY1, "am", 36.7, via="staff", by="s1", now=_at(DAY1, 9, 5))
    assert (r.temp_c, r.via, r.corrections, r.previous_c) == (36.7, "staff", 1, 36.5)
    assert [x.temp_c for x in care.readings(db, qid)] == [36.7]
    with pytest.raises(care.CareError, match="不在这条隔离记录"):
        care.record_reading(db, qid, 0, DAY1, "am", 36.5, via="staff", by="s1", now=_at(DAY1, 9))
    with pytest.raises(care.CareError, match="未来"):
        care.record_reading(db, qid, 1, date(2026, 11, 28), "am", 36.5, via="staff", by="s1", now=_at(DAY1, 9))
    with pytest.raises(care.CareError, match="隔离期"):
        care.record_reading(db, qid, 1, date(2026, 11, 26), "am", 36.5, via="staff", by="s1", now=_at(DAY1, 9))


def test_a_household_quarantine_covers_every_member(db) -> None:
    qid = _quarantine(db, person=None, placed_at=_at(DAY1, 8))
    work = care.worklist(db, _at(DAY1, 13), TZ)
    assert [(d.person, d.slot, d.over) for d in work] == [(0, "am", True), (1, "am", True), (0, "pm", False),
                                                           (1, "pm", False)]
    care.record_reading(db, qid, 0, DAY1, "pm", 36.4, via="staff", by="s1", now=_at(DAY1, 13))
    assert [(d.person, d.slot) for d in care.worklist(db, _at(DAY1, 13), TZ)] == [(0, "am"), (1, "am"), (1, "pm")]


def test_missed_slots_and_fevers_raise_alerts_with_stable_keys(db) -> None:
    qid = _quarantine(db, placed_at=_at(DAY1, 8))
    care.record_reading(db, qid, 1, DAY1, "am", 36.5, via="self", by="", now=_at(DAY1, 9))
    care.record_reading(db, qid, 1, date(2026, 11, 28), "am", 38.2, via="self", by="", now=_at(date(2026, 11, 28), 9))
    now = _at(date(2026, 11, 28), 21)
    found = care.alerts(db, now - 7 * 86400, now + 1, now, TZ)
    assert sorted(a.key for a in found) == sorted([
        f"care_missed:{qid}:1:2026-11-27:pm", f"care_missed:{qid}:1:2026-11-28:pm",
        f"care_fever:{care.readings(db, qid)[1].id}"])
    fever = next(a for a in found if a.kind == "care_fever")
    assert (fever.temp_c, fever.household, fever.person) == (38.2, "3-2-401", 1)
    # the slot ends are a setting
    care.set_slot_ends(db, "10:00", "22:00")
    assert f"care_missed:{qid}:1:2026-11-28:pm" not in {a.key for a in care.alerts(db, 0, now + 1, now, TZ)}
    with pytest.raises(care.CareError):
        care.set_slot_ends(db, "20:00", "12:00")


def test_needs_notes_and_release_keep_the_record(db) -> None:
    qid = _quarantine(db)
    nid = care.add_need(db, qid, "medicine", "降压药 两盒", by="s1", now=100.0)
    assert [n.kind for n in care.needs(db, open_only=True)] == ["medicine"]
    done = care.finish_need(db, nid, handled_by="王网格员", by="s1", now=200.0)
    assert (done.handled_by, done.done_at, done.open) == ("王网格员", 200.0, False)
    assert care.needs(db, open_only=True) == []
    with pytest.raises(care.CareError, match="需求类型"):
        care.add_need(db, qid, "haircut", "", by="s1", now=1.0)
    care.add_note(db, qid, "电话已联系，情况良好", by="s1", now=300.0)
    care.record_reading(db, qid, 1, DAY1, "am", 36.5, via="staff", by="s1", now=_at(DAY1, 9))
    rec = care.release(db, qid, by="admin", note="期满")
    assert (rec.q.status, rec.q.released_by) == ("released", "admin")
    assert len(care.readings(db, qid)) == 1 and len(care.needs(db, qid)) == 1 and len(care.notes(db, qid)) == 1
    kinds = sorted(e.kind for e in care.timeline_events(db, "3-2-401", 0.0))
    assert kinds == ["care_note", "need", "temperature"]
    with pytest.raises(care.CareError):
        care.release(db, qid, by="admin")


def test_retention_reduces_health_data_to_counts_then_forgets(db) -> None:
    from central import retention
    from central.settings import RetentionSection
    qid = _quarantine(db)
    care.record_reading(db, qid, 1, DAY1, "am", 38.0, via="staff", by="s1", now=_at(DAY1, 9))
    care.add_need(db, qid, "groceries", "", by="s1", now=_at(DAY1, 10))
    care.release(db, qid, by="s1")
    later = _at(DAY1, 9) + 40 * 86400
    report = retention.purge_expired(db, RetentionSection(care_days=30, identity_days=180), later)
    assert report.care_reduced == 1
    assert care.readings(db, qid) == [] and care.needs(db, qid) == []
    assert db.execute("SELECT readings_count, fever_count, needs_count FROM care_quarantines WHERE quarantine_id = ?",
                      [qid]).fetchone() == (1, 1, 1)
    report = retention.purge_expired(db, RetentionSection(care_days=30, identity_days=180), later + 200 * 86400)
    assert report.quarantine_records == 1 and care.record(db, qid) is None


@pytest.mark.parametrize("text, value", [("36.5", 36.5), ("３６．５", 36.5), ("36.5℃", 36.5), ("36,5 度", 36.5),
                                         (" 37 ", 37.0), ("36.55", 36.6)])
def test_parse_temp_reads_what_people_type(text, value) -> None:
    assert care.parse_temp(text) == value


@pytest.mark.parametrize("text", ["", "abc", "3.65", "365", "33.9", "43.1", "nan", "inf", "-36.5", "1e2", "36.5.1"])
def test_parse_temp_refuses_in_chinese(text) -> None:
    with pytest.raises(care.CareError, match="体温"):
        care.parse_temp(text)


def test_the_household_timeline_holds_care_events(db) -> None:
    from central import timeline
    qid = _quarantine(db)
    care.record_reading(db, qid, 1, DAY1, "am", 38.1, via="self", by="", now=_at(DAY1, 9))
    care.add_need(db, qid, "rubbish", "", by="s1", now=_at(DAY1, 10))
    assert "central.care:timeline_events" in timeline.SOURCES
    every = [e.kind for e in timeline.household_timeline(db, "3-2-401")]
    assert "need" in every and "temperature" in every
    events = timeline.household_timeline(db, "3-2-401", sources=("central.care:timeline_events",))
    assert [e.kind for e in events] == ["need", "temperature"]
    fever = events[1]
    assert (fever.summary, fever.person, fever.alert, fever.link) == ("38.1", 1, True, f"/care/{qid}")
    assert care.timeline_events(db, "3-2-401", _at(DAY1, 9, 30))[0].kind == "need"


def test_the_outbreak_end_purge_takes_care_rows_with_their_quarantines(db) -> None:
    from central import retention
    qid = _quarantine(db)
    care.record_reading(db, qid, 1, DAY1, "am", 36.5, via="staff", by="s1", now=_at(DAY1, 9))
    care.add_note(db, qid, "ok", by="s1", now=1.0)
    care.release(db, qid, by="s1")
    kept = _quarantine(db, person=0)  # still under quarantine: the purge keeps it
    report = retention.purge_outbreak_end(db, "admin", _at(DAY1, 12))
    assert report.quarantine_records == 1
    assert care.record(db, qid) is None and care.readings(db, qid) == [] and care.notes(db, qid) == []
    assert care.record(db, kept) is not None


def test_missed_slots_are_capped_so_gate_alerts_keep_their_place(db, monkeypatch) -> None:
    monkeypatch.setattr(care, "MAX_MISSED", 3)
    qid = _quarantine(db, person=None, placed_at=_at(DAY1, 0, 1))  # two members, four slots a day
    now = _at(date(2026, 11, 29), 21)
    found = [a for a in care.alerts(db, 0, now + 1, now, TZ) if a.kind == "care_missed"]
    assert len(found) == 3 and all(a.quarantine_id == qid for a in found)
    assert [a.detail for a in found] == ["2026-11-29 pm", "2026-11-29 pm", "2026-11-29 am"]  # the newest


def test_quarantines_placed_after_the_window_take_no_place_among_those_read(db, monkeypatch) -> None:
    """Two quarantines back-dated to DAY1 but placed after the window hold no slot that could be missed in it: they
    are not among the ``MAX_RECORDS`` read, so the third one's missed slots are found."""
    monkeypatch.setattr(care, "MAX_RECORDS", 2)
    day2 = date(2026, 11, 28)
    ids = []
    for n, placed in enumerate([_at(date(2026, 11, 29), 10), _at(date(2026, 11, 29), 11), _at(DAY1, 8)]):
        household = f"3-2-40{n}"
        with transaction(db):
            homes.save_member(db, homes.Member(household, 1, name="张三"))
        qid = care.start_quarantine(db, household=household, person=1, first_day=DAY1,
                                    last_day=quarantine.last_day_of(DAY1), source="close_contact", by="s1")
        with transaction(db):
            db.execute("UPDATE care_quarantines SET created_at = ? WHERE quarantine_id = ?", [placed, qid])
        ids.append(qid)
    found = care.alerts(db, _at(day2, 0), _at(day2, 23), _at(date(2026, 11, 30), 9), TZ)
    assert sorted(a.key for a in found) == [f"care_missed:{ids[2]}:1:2026-11-28:am",
                                            f"care_missed:{ids[2]}:1:2026-11-28:pm"]
