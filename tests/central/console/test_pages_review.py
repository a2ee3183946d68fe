"""Error pages for browsers, household ids with '/', the configured time zone and list age on the devices page."""

from __future__ import annotations

import time

from central import ingest
from central.console.web import Console
from central.settings import CentralSettings
from tests.central.console.conftest import csrf_of
from tests.central.console.data import entry, ingest_entries


def _is_html_error(resp, status: int) -> bool:
    return (resp.status_code == status and resp.headers["content-type"].startswith("text/html")
            and 'id="error-message"' in resp.text and resp.text.lstrip().startswith("<!doctype html>"))


def test_wrong_role_gets_an_html_page_not_json(central):
    with central.client("viewer") as c:
        r = c.get("/users")
        assert _is_html_error(r, 403) and "您没有权限执行此操作" in r.text
        r = c.get("/users", params={"lang": "en"})
        assert _is_html_error(r, 403) and "You are not allowed to do this" in r.text
        assert "Content-Security-Policy" in r.headers


def test_bad_csrf_token_gets_an_html_page(central):
    with central.client("staff") as c:
        r = c.post("/alerts/ack", data={"key": "fever:x", "note": "n", "csrf": "wrong"})
        assert _is_html_error(r, 403) and "表单已失效" in r.text
        r = c.post("/alerts/ack", data={"note": "n", "csrf": csrf_of(c.get("/alerts").text)})  # no key field
        assert _is_html_error(r, 422)
        assert _is_html_error(c.get("/no/such/page"), 404)


def test_apis_keep_json_errors(central):
    with central.client() as c:
        r = c.get("/console/api/entries")
        assert r.status_code == 401 and r.json()["detail"]
        r = c.post("/api/v1/upload", content=b"x", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["detail"] == "unknown or revoked device token"
    with central.client("viewer") as c:
        r = c.get("/console/api/entries", params={"cursor": "garbage!"})
        assert r.status_code == 400 and "cursor" in r.json()["detail"]
        r = c.get("/console/api/entries", params={"limit": "0"})
        assert r.status_code == 422 and isinstance(r.json()["detail"], list)


def test_household_ids_with_a_slash_open_and_change(central):
    hh = "3/2/401"
    with central.client("staff") as c:
        page = c.get(f"/households/{hh}")
        assert page.status_code == 200 and f"{hh}</h1>" in page.text
        token = csrf_of(page.text)
        r = c.post(f"/households/{hh}/issue", data={"person": "1", "kind": "resident", "days": "30",
                                                    "csrf": token})
        assert r.status_code == 303 and r.headers["location"].startswith("/households/3%2F2%2F401")
        page = c.get(r.headers["location"])
        assert page.status_code == 200 and 'data-pass="' in page.text
        r = c.post(f"/households/{hh}/quarantine", data={"start": "2026-11-20", "end": "2026-12-04",
                                                         "csrf": token})
        assert r.status_code == 303
        assert central.db.execute("SELECT household FROM quarantine WHERE household = ?", [hh]).fetchone()
        cards = c.get(f"/households/{hh}/cards")
        assert cards.status_code == 200 and "<h1>" not in cards.text.split("</head>")[0]
        assert c.post(f"/households/{hh}/release", data={"csrf": token}).status_code == 303
        assert central.db.execute("SELECT 1 FROM quarantine WHERE household = ?", [hh]).fetchone() is None
        listed = c.get("/households", params={"q": "3/2"})
        assert 'href="/households/3/2/401"' in listed.text
    assert central.db.execute("SELECT count(*) FROM passes WHERE household = ?", [hh]).fetchone()[0] == 1


def test_console_uses_the_configured_time_zone(tmp_path):
    base = dict(data_dir=tmp_path, session_secret="s" * 32)
    assert CentralSettings(**base).timezone == "Asia/Shanghai"
    shanghai = Console.from_settings(CentralSettings(**base))
    utc = Console.from_settings(CentralSettings(**base, timezone="UTC"))
    assert shanghai.env.filters["t"](0) == "1970-01-01 08:00:00"
    assert utc.env.filters["t"](0) == "1970-01-01 00:00:00" and utc.tz_name == "UTC"


def test_devices_page_flags_lists_older_than_the_configured_age(central):
    now = time.time()
    ingest_entries(central.db, "dev-old", "Garden", [entry(1, "dev-old", "west", now)],
                   lists_issued_at=now - 3 * 86400)
    ingest_entries(central.db, "dev-new", "Garden", [entry(1, "dev-new", "west2", now)], lists_issued_at=now - 60)
    rows = {r["device_id"]: r for r in ingest.list_devices(central.db, None, now, 24 * 3600)}
    assert rows["dev-old"]["lists_too_old"] and rows["dev-old"]["lists_stale"]
    assert not rows["dev-new"]["lists_too_old"] and not rows["dev-new"]["lists_stale"]
    with central.client("viewer") as c:
        html = c.get("/devices").text
    old_row = html.split("<code>dev-old</code>", 1)[1].split("</tr>", 1)[0]
    new_row = html.split("<code>dev-new</code>", 1)[1].split("</tr>", 1)[0]
    assert 'lists-age warn' in old_row and "3 天" in old_row and "名单过旧" in old_row
    assert 'lists-age warn' not in new_row and "1 分钟" in new_row


def _routes(routes, prefix=""):
    """(prefix, route) of every route, inside included routers too (kept nested by newer FastAPI)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from _routes(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        else:
            yield prefix, route


PUBLIC = {"/login", "/lang/{code}", "/static/console.css", "/static/alerts.js", "/healthz"}


def test_every_route_needs_a_session_or_a_device_token(central):
    """Walks the app's real route table, so a route added later without a role check fails here."""
    app = central.server.config.app
    checked = 0
    with central.client() as c:
        for prefix, route in _routes(app.routes):
            path = prefix + getattr(route, "path", "")
            if path in PUBLIC or not getattr(route, "methods", None):
                continue
            url = path.replace("{household:path}", "3-2-401").replace("{device_id:path}", "dev-n")
            url = url.replace("{username:path}", "admin").replace("{fmt_}", "csv").replace("{pass_id}", "1")
            assert "{" not in url, path
            for method in route.methods - {"HEAD"}:
                r = c.request(method, url, data={"csrf": "x"} if method == "POST" else None)
                expected = (401,) if path.startswith(("/api/", "/console/api/")) else (303,)
                assert r.status_code in expected, (method, path, r.status_code)
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/login?next=")
                checked += 1
    assert checked >= 30


def test_the_live_alert_list_is_audited_once_per_interval(central):
    central.db.execute("UPDATE audit_log SET ts = ts - 3600 WHERE action = 'view_alerts'")  # views of an hour ago
    before = central.db.execute("SELECT count(*) FROM audit_log WHERE username = 'staff' AND action = "
                                "'view_alerts'").fetchone()[0]
    with central.client("staff") as c:
        for _ in range(3):
            assert c.get("/alerts/table").status_code == 200
    after = central.db.execute("SELECT count(*) FROM audit_log WHERE username = 'staff' AND action = "
                               "'view_alerts'").fetchone()[0]
    assert after == before + 1


def test_trace_csv_holds_the_passages_and_the_contacts(central):
    import csv
    import io

    with central.client("staff") as c:
        r = c.get("/trace/export.csv", params={"kind": "pass_id", "value": "101", "since": "2026-11-20T00:00",
                                               "until": "2026-11-21T00:00", "minutes": "10"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    passages = [x for x in rows if x["section"] == "passage"]
    contacts = [x for x in rows if x["section"] == "contact"]
    assert len(passages) == 3 and {x["pass_id"] for x in passages} == {"101"}
    assert all(x["delta_min"] == "0.0" and x["passage_ts"] == x["wall_ts"] for x in passages)
    assert {x["pass_id"] or x["visitor_ref"] for x in contacts} == {"102", "103", "105", "V-0001"}
    assert passages[0]["wall_ts"].startswith("2026-11-20 08:")  # local time (Asia/Shanghai)
