"""Home-quarantine care in the console (issue 15): start a quarantine, the phone round, needs, notes, release;
the resident's self-report link; care alerts; viewers see no names, phones or temperatures; every view audited."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central import care, homes, selfreport
from central.console import audit
from central.db import transaction
from tests.central.console.conftest import csrf_of

TZ = ZoneInfo("Asia/Shanghai")


def _today() -> date:
    return datetime.now(TZ).date()


def _member(central, household: str, person: int, name: str, phone: str = "13800138000") -> None:
    with transaction(central.db):
        homes.save_member(central.db, homes.Member(household, person, name=name, phone=phone))


def _start(c, token: str, household: str, person: str = "", **extra) -> object:
    data = {"csrf": token, "household": household, "person": person, "source": "returnee", "origin_city": "武汉",
            "first_day": _today().isoformat(), "days": "14"} | extra
    return c.post("/care/start", data=data)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_staff_start_record_need_note_release_and_the_record_stays(central):
    _member(central, "11-1-101", 0, "赵一")
    _member(central, "11-1-101", 1, "赵二", "13912345678")
    with central.client("staff") as c:
        token = csrf_of(c.get("/care").text)
        bad = _start(c, token, "11-1-101", "1", first_day="2026-13-01")
        assert bad.status_code == 422 or (bad.status_code == 400 and "日期" in bad.text)
        late = _start(c, token, "11-1-101", "1", last_day=(_today() - timedelta(days=3)).isoformat())
        assert late.status_code == 400 and "早于首日" in late.text
        made = _start(c, token, "11-1-101", "1")
        assert made.status_code == 303, made.text
        qid = int(made.headers["location"].rsplit("/", 1)[1])
        rec = care.record(central.db, qid)
        assert rec and rec.q.person == 1 and rec.source == "returnee" and rec.origin_city == "武汉"
        assert rec.q.last_day == (_today() + timedelta(days=13)).isoformat()
        page = c.get(f"/care/{qid}")
        assert page.status_code == 200 and "赵二" in page.text and "13912345678" in page.text and "/r/" in page.text
        bad_temp = c.post(f"/care/{qid}/reading", data={"csrf": token, "person": 1, "day": _today().isoformat(),
                                                        "slot": "am", "temp": "45"})
        assert bad_temp.status_code == 400 and "34.0–43.0" in bad_temp.text
        ok = c.post(f"/care/{qid}/reading", data={"csrf": token, "person": 1, "day": _today().isoformat(),
                                                  "slot": "am", "temp": "36.6", "next": "/care/round"})
        assert ok.status_code == 303 and ok.headers["location"] == "/care/round"
        assert [r.temp_c for r in care.readings(central.db, qid)] == [36.6]
        need = c.post(f"/care/{qid}/needs", data={"csrf": token, "kind": "medicine", "detail": "降压药"})
        assert need.status_code == 303
        [n] = care.needs(central.db, qid)
        assert c.post(f"/care/needs/{n.id}/done", data={"csrf": token, "handled_by": "王网格员"}).status_code == 303
        assert c.post(f"/care/{qid}/notes", data={"csrf": token, "note": "电话回访，情况良好"}).status_code == 303
        assert c.post(f"/care/{qid}/release", data={"csrf": token, "note": "期满"}).status_code == 303
        after = _text(c.get(f"/care/{qid}").text)
        for kept in ("已解除", "36.6", "降压药", "王网格员", "电话回访"):
            assert kept in after
        again = c.post(f"/care/{qid}/release", data={"csrf": token})
        assert again.status_code == 400 and "不在隔离中" in again.text
    actions = {r["action"] for r in audit.recent(central.db, 50, username="staff")}
    assert {"view_care", "view_care_record", "care_start", "care_reading", "care_need", "care_need_done",
            "care_note", "care_release"} <= actions


def test_viewers_see_masked_names_and_no_health_data_and_cannot_change(central):
    _member(central, "12-1-101", 0, "钱大明", "13712345678")
    qid = care.start_quarantine(central.db, household="12-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="close_contact", by="staff")
    care.record_reading(central.db, qid, 0, _today(), "am", 37.9, via="staff", by="staff",
                        now=datetime.now(TZ).timestamp())
    with central.client("viewer") as v:
        listing = v.get("/care")
        assert listing.status_code == 200 and "钱大明" not in listing.text and "钱**" in listing.text
        page = v.get(f"/care/{qid}")
        assert page.status_code == 200 and "钱大明" not in page.text and "13712345678" not in page.text
        assert "37.9" not in page.text and "/r/" not in page.text and 'id="health-hidden"' in page.text
        token = csrf_of(listing.text)
        assert v.post(f"/care/{qid}/release", data={"csrf": token}).status_code == 403
        assert v.get(f"/care/{qid}/notice/0/quarantine").status_code == 403
        assert v.get("/care/round").status_code == 403
        api = v.get("/console/api/alerts").json()["alerts"]
        fever = [a for a in api if a["kind"] == "care_fever" and a["household"] == "12-1-101"]
        assert fever and fever[0]["temp_c"] is None
    with central.client("staff") as c:
        api = c.get("/console/api/alerts").json()["alerts"]
        assert [a["temp_c"] for a in api if a["kind"] == "care_fever" and a["household"] == "12-1-101"] == [37.9]


def test_the_self_report_link_records_and_refuses(central):
    _member(central, "13-1-101", 0, "孙三")
    qid = care.start_quarantine(central.db, household="13-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="other", by="staff")
    token = selfreport.token_for(central.db, qid, 0)
    with central.client() as anon:
        page = anon.get(f"/r/{token}")
        assert page.status_code == 200 and "体温上报" in page.text and "孙三" not in page.text
        sent = anon.post(f"/r/{token}", data={"temp": "３６．７"})
        assert sent.status_code == 303
        assert "已上报" in anon.get(sent.headers["location"]).text
        assert [r.temp_c for r in care.readings(central.db, qid)] == [36.7]
        for hostile in ("abc", "99", "36.5; DROP TABLE", "1e3", "", "\u202e36"):
            r = anon.post(f"/r/{token}", data={"temp": hostile})
            assert r.status_code in (400, 422), hostile
            if r.status_code == 400:
                assert "体温" in r.text
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert anon.get(f"/r/{tampered}").status_code == 403
        other = token.replace(f"{qid}-0-", f"{qid}-1-", 1)
        assert anon.get(f"/r/{other}").status_code == 403
        assert anon.get("/r/" + "x" * 40).status_code == 403
        care.release(central.db, qid, by="staff")
        gone = anon.get(f"/r/{token}")
        assert gone.status_code == 410 and "已解除" in gone.text


def test_self_report_requests_are_limited_per_token(central):
    _member(central, "14-1-101", 0, "李四")
    qid = care.start_quarantine(central.db, household="14-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="other", by="staff")
    token = selfreport.token_for(central.db, qid, 0)
    with central.client() as anon:
        codes = [anon.get(f"/r/{token}").status_code for _ in range(selfreport.TOKEN_LIMIT + 2)]
    assert codes[0] == 200 and codes[-1] == 429 and codes.count(200) <= selfreport.TOKEN_LIMIT


def test_notices_print_name_dates_qr_and_signature_lines(central):
    _member(central, "15-1-101", 0, "周五")
    qid = care.start_quarantine(central.db, household="15-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="close_contact", by="staff")
    with central.client("staff") as c:
        notice = c.get(f"/care/{qid}/notice/0/quarantine")
        assert notice.status_code == 200 and "A4" in notice.text
        text = _text(notice.text)
        assert "居家隔离告知书" in text and "周五" in text and _today().isoformat() in text and "签字" in text
        assert 'src="data:image/svg+xml' in notice.text and "/r/" in notice.text
        release = c.get(f"/care/{qid}/notice/0/release")
        assert release.status_code == 200 and "解除隔离通知书" in release.text and "手印" in release.text
        assert c.get(f"/care/{qid}/notice/5/release").status_code == 404
        c.get("/lang/en", params={"next": "/care"})
        english = _text(c.get(f"/care/{qid}/notice/0/quarantine").text)
        assert "Home Quarantine Notice" in english and "周五" in english and "close contact" in english
        assert "Thumbprint" in _text(c.get(f"/care/{qid}/notice/0/release").text)
        c.get("/lang/zh", params={"next": "/care"})
        assert c.get(f"/care/{qid}/notice/0/other").status_code == 404
    printed = [r for r in audit.recent(central.db, 20, username="staff", action="print_care_notice")]
    assert len(printed) >= 2


@pytest.mark.parametrize("qid", ["0", "abc", str(2**63)])
def test_bad_ids_are_refused_without_a_crash(central, qid):
    with central.client("staff") as c:
        assert c.get(f"/care/{qid}").status_code in (404, 422)


def test_care_pages_in_english_have_no_bare_keys(central):
    _member(central, "16-1-101", 0, "吴六")
    qid = care.start_quarantine(central.db, household="16-1-101", person=None, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="returnee", origin_city="上海",
                                by="staff")
    care.add_need(central.db, qid, "groceries", "米", by="staff", now=datetime.now(TZ).timestamp())
    token = selfreport.token_for(central.db, qid, 0)
    with central.client("staff") as c:
        c.get("/lang/en", params={"next": "/care"})
        pages = [c.get(p).text for p in ("/care", f"/care/{qid}", "/care/round", "/alerts")]
        pages.append(c.get(f"/r/{token}", params={"lang": "en"}).text)
        c.get("/lang/zh", params={"next": "/care"})
    for html in pages:
        assert not re.findall(r"\b((?:care|alerts|nav)\.[a-z_.0-9]+)\b(?![^<]*>)", _text(html)), _text(html)[:300]
    assert "Home-quarantine care" in pages[0] and "Returnee" in pages[0] and "Groceries" in pages[1]
    assert "Temperature report" in pages[-1]


def test_care_alerts_are_acknowledged_with_their_stable_key(central):
    _member(central, "17-1-101", 0, "郑七")
    day = _today() - timedelta(days=1)
    qid = care.start_quarantine(central.db, household="17-1-101", person=0, first_day=day,
                                last_day=day + timedelta(days=13), source="other", by="staff")
    with transaction(central.db):
        central.db.execute("UPDATE care_quarantines SET created_at = 0 WHERE quarantine_id = ?", [qid])
    key = f"care_missed:{qid}:0:{day.isoformat()}:pm"
    with central.client("staff") as c:
        listing = c.get("/console/api/alerts", params={"hours": 72}).json()["alerts"]
        assert key in {a["key"] for a in listing}
        token = csrf_of(c.get("/alerts").text)
        assert c.post("/alerts/ack", data={"csrf": token, "key": key, "note": "已联系"}).status_code == 303
        [acked] = [a for a in c.get("/console/api/alerts", params={"hours": 72}).json()["alerts"] if a["key"] == key]
        assert acked["acked_by"] == "staff" and acked["note"] == "已联系" and acked["link"] == f"/care/{qid}"


def test_the_resident_reports_a_missed_morning_late_but_no_slot_ahead(central):
    _member(central, "18-1-101", 0, "冯八")
    qid = care.start_quarantine(central.db, household="18-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="other", by="staff")
    token = selfreport.token_for(central.db, qid, 0)
    try:
        care.set_slot_ends(central.db, "23:58", "23:59")  # morning now
        with central.client() as anon:
            ahead = anon.post(f"/r/{token}", data={"temp": "36.5", "slot": "pm"})
            assert ahead.status_code == 400 and "只能上报今天已到的时段" in ahead.text
            assert 'name="slot" value="am"' in anon.get(f"/r/{token}").text
        care.set_slot_ends(central.db, "00:01", "23:59")  # afternoon now: the morning may be reported late
        with central.client() as anon:
            page = anon.get(f"/r/{token}").text
            assert "补报" in page and 'type="radio" name="slot" value="am"' in page
            assert anon.post(f"/r/{token}", data={"temp": "36.4", "slot": "am"}).status_code == 303
            assert anon.post(f"/r/{token}", data={"temp": "36.7"}).status_code == 303  # the slot now
            assert "补报" not in anon.get(f"/r/{token}").text
    finally:
        care.set_slot_ends(central.db, "12:00", "20:00")
    got = {r.slot: r.temp_c for r in care.readings(central.db, qid)}
    assert got == {"am": 36.4, "pm": 36.7}


def test_a_changed_period_voids_the_old_link_and_far_future_starts_are_refused(central):
    _member(central, "19-1-101", 0, "陈九")
    first = _today()
    qid = care.start_quarantine(central.db, household="19-1-101", person=0, first_day=first,
                                last_day=first + timedelta(days=13), source="other", by="staff")
    old = selfreport.token_for(central.db, qid, 0)
    again = care.start_quarantine(central.db, household="19-1-101", person=0, first_day=first,
                                  last_day=first + timedelta(days=20), source="other", by="staff")
    assert again == qid
    new = selfreport.token_for(central.db, qid, 0)
    with central.client() as anon:
        assert anon.get(f"/r/{old}").status_code == 403
        assert anon.get(f"/r/{new}").status_code == 200
    with central.client("staff") as c:
        token = csrf_of(c.get("/care").text)
        far = _start(c, token, "19-1-101", "0", first_day=(first + timedelta(days=100)).isoformat())
        assert far.status_code == 400 and "首日最多" in far.text
        odd = _start(c, token, "19-1-101", "甲")
        assert odd.status_code == 400 and "人员编号" in odd.text


def test_concurrent_reports_of_one_slot_never_fail_with_a_server_error(central):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    _member(central, "20-1-101", 0, "褚十")
    qid = care.start_quarantine(central.db, household="20-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="other", by="staff")
    token = selfreport.token_for(central.db, qid, 0)

    def send(i: int) -> int:
        with httpx.Client(base_url=central.url, timeout=20) as c:
            return c.post(f"/r/{token}", data={"temp": f"36.{i}"}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(send, range(6)))
    assert set(codes) <= {303, 400} and 303 in codes, codes
    [reading] = care.readings(central.db, qid)
    assert reading.corrections == codes.count(303) - 1


def test_printed_self_report_links_use_the_public_url_when_set(central):
    from pydantic import ValidationError

    from central.settings import CentralSettings

    _member(central, "12-1-101", 0, "钱一")
    qid = care.start_quarantine(central.db, household="12-1-101", person=0, first_day=_today(),
                                last_day=_today() + timedelta(days=13), source="other", by="staff")
    console = central.server.config.app.state.console
    with central.client("staff") as c:
        assert f"{central.url}/r/" in c.get(f"/care/{qid}").text  # no public address: the request's
        console.public_url = "https://jk.example.cn"
        try:
            notice = c.get(f"/care/{qid}/notice/0/quarantine").text
            page = c.get(f"/care/{qid}").text
        finally:
            console.public_url = ""
    assert "https://jk.example.cn/r/" in page and "https://jk.example.cn/r/" in notice
    for bad in ("jk.example.cn", "ftp://x", "https://a b", "https://x/?q=1"):
        with pytest.raises(ValidationError):
            CentralSettings(session_secret="x" * 32, public_url=bad)
    assert CentralSettings(session_secret="x" * 32, public_url="https://jk.example.cn/gp").public_url
