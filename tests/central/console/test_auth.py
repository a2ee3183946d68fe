"""Sign-in, roles, sessions, CSRF and the audit log, over real HTTP to the real central app."""

from __future__ import annotations

import time

import pytest

from central.console import auth
from tests.central.console.conftest import csrf_of, login

PAGES = ["/", "/entries", "/trace", "/report", "/alerts", "/devices", "/households", "/households/3-2-401",
         "/users", "/audit", "/entries/export.csv", "/trace/export.xlsx?kind=pass_id&value=101",
         "/report/export.xlsx", "/alerts/table", "/households/3-2-401/cards"]
APIS = ["/console/api/entries", "/console/api/alerts", "/console/api/whoami"]
POSTS = ["/logout", "/alerts/ack", "/devices/add", "/devices/dev-n/revoke", "/users/add", "/households/import",
         "/households/3-2-401/issue", "/passes/1/revoke", "/households/3-2-401/quarantine",
         "/households/3-2-401/release", "/users/admin/role"]


@pytest.mark.parametrize("path", PAGES)
def test_unauthenticated_page_redirects_to_login(central, path):
    with central.client() as c:
        r = c.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", APIS)
def test_unauthenticated_api_is_401(central, path):
    with central.client() as c:
        assert c.get(path).status_code == 401


@pytest.mark.parametrize("path", POSTS)
def test_unauthenticated_post_changes_nothing(central, path):
    before = central.db.execute("SELECT COUNT(*) FROM pass_changes").fetchone()[0]
    with central.client() as c:
        r = c.post(path, data={"csrf": "x", "key": "fever:x", "device_id": "d", "username": "u", "password": "p" * 9,
                               "role": "admin", "person": "1", "start": "2026-11-20", "end": "2026-11-30"})
    assert r.status_code in (303, 401, 422)
    assert r.status_code != 200
    assert central.db.execute("SELECT COUNT(*) FROM pass_changes").fetchone()[0] == before


def test_wrong_password_is_refused_and_audited(central):
    with central.client() as c:
        r = login(c, "staff", "not-the-password")
        assert r.status_code == 303 and r.headers["location"] == "/login?error=bad"
        assert c.get("/entries").status_code == 303
    row = central.db.execute("SELECT username, action FROM audit_log WHERE action = 'login_failed' "
                             "ORDER BY id DESC").fetchone()
    assert row == ("staff", "login_failed")


def test_login_without_csrf_token_is_refused(central):
    with central.client() as c:
        r = c.post("/login", data={"username": "staff", "password": "staff-pass-1", "csrf": "", "next": "/"})
        assert r.headers["location"].startswith("/login?error=csrf")
        assert c.get("/entries").status_code == 303


def test_open_redirect_after_login_is_refused(central):
    with central.client() as c:
        page = c.get("/login?next=//evil.example/x")
        assert '"//evil.example' not in page.text
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = c.post("/login", data={"username": "staff", "password": "staff-pass-1", "csrf": token,
                                   "next": "https://evil.example/"})
        assert r.headers["location"] == "/"


def test_passwords_are_stored_as_argon2id(central):
    hashes = [r[0] for r in central.db.execute("SELECT password_hash FROM staff_users")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any("pass-1" in h for h in hashes)


def test_session_cookie_is_httponly_and_token_not_stored(central):
    with central.client() as c:
        r = login(c, "viewer", "viewer-pass-1")
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        token = c.cookies["gp_console"]
    stored = [r[0] for r in central.db.execute("SELECT token_hash FROM staff_sessions")]
    assert token not in stored and len(stored) >= 1


def test_session_expires_when_idle_and_absolutely(central):
    db, secret = central.db, central.settings.session_secret.get_secret_value().encode()
    uid = db.execute("SELECT id FROM staff_users WHERE username = 'viewer'").fetchone()[0]
    token = auth.start_session(db, secret, uid)
    now = time.time()
    assert auth.load_session(db, secret, token, now + 60) is not None
    assert auth.load_session(db, secret, token, now + 60 + auth.IDLE_TIMEOUT_S + 1) is None
    assert auth.load_session(db, secret, token, now + 120) is None  # deleted once expired
    token2 = auth.start_session(db, secret, uid)
    t = time.time()
    for step in range(1, 30):  # kept busy, but past the absolute limit
        auth.load_session(db, secret, token2, t + step * 1500)
    assert auth.load_session(db, secret, token2, t + auth.ABSOLUTE_TIMEOUT_S + 1) is None


def test_expired_session_cookie_redirects_to_login(central):
    with central.client("viewer") as c:
        assert c.get("/entries").status_code == 200
        central.db.execute("UPDATE staff_sessions SET expires_at = 0")
        r = c.get("/entries")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_viewer_can_read_but_not_change_or_export_personal_data(central):
    with central.client("viewer") as c:
        for path in ("/entries", "/report", "/alerts", "/devices", "/households"):  # households: names masked
            assert c.get(path).status_code == 200, path
        for path in ("/trace?kind=pass_id&value=101", "/entries/export.csv", "/users", "/audit"):
            assert c.get(path).status_code == 403, path
        token = csrf_of(c.get("/entries").text)
        before = central.db.execute("SELECT COUNT(*) FROM pass_changes").fetchone()[0]
        for path in POSTS[1:]:
            r = c.post(path, data={"csrf": token, "key": "fever:x", "device_id": "dv", "username": "u2",
                                   "password": "p" * 9, "role": "admin", "person": "1", "start": "2026-11-20",
                                   "end": "2026-11-30"})
            assert r.status_code in (403, 422), (path, r.status_code)
        assert central.db.execute("SELECT COUNT(*) FROM pass_changes").fetchone()[0] == before
        assert central.db.execute("SELECT COUNT(*) FROM alert_acks").fetchone()[0] == 0


def test_staff_cannot_do_admin_things(central):
    with central.client("staff") as c:
        assert c.get("/users").status_code == 403
        assert c.get("/audit").status_code == 403
        token = csrf_of(c.get("/entries").text)
        assert c.post("/devices/add", data={"csrf": token, "device_id": "x"}).status_code == 403
        assert c.post("/users/add", data={"csrf": token, "username": "x", "password": "y" * 9,
                                          "role": "admin"}).status_code == 403


def test_post_without_or_with_wrong_csrf_is_refused(central):
    with central.client("staff") as c:
        for token in ("", "wrong-token"):
            r = c.post("/alerts/ack", data={"csrf": token, "key": "fever:abc", "note": "n"})
            assert r.status_code == 403
    assert central.db.execute("SELECT COUNT(*) FROM alert_acks WHERE alert_key = 'fever:abc'").fetchone()[0] == 0


def test_logout_ends_the_session(central):
    with central.client("staff") as c:
        token = csrf_of(c.get("/entries").text)
        assert c.post("/logout", data={"csrf": token}).status_code == 303
        assert c.get("/entries").status_code == 303


def test_exports_and_views_of_personal_data_are_audited_and_admin_can_read_them(central):
    with central.client("staff") as c:
        assert c.get("/entries/export.csv", params={"household": "3-2-401"}).status_code == 200
        assert c.get("/trace", params={"kind": "pass_id", "value": "101"}).status_code == 200
        assert c.get("/entries", params={"pass_id": "101"}).status_code == 200
    rows = central.db.execute("SELECT username, action, detail FROM audit_log WHERE username = 'staff' "
                              "ORDER BY id").fetchall()
    actions = [r[1] for r in rows]
    assert {"export_entries", "trace", "view_entries"} <= set(actions)
    export = [r for r in rows if r[1] == "export_entries"][-1]
    assert "3-2-401" in export[2] and '"format": "csv"' in export[2]
    with central.client("admin") as c:
        page = c.get("/audit", params={"action": "export_entries"})
        assert page.status_code == 200 and "export_entries" in page.text and "3-2-401" in page.text


def test_security_headers_on_pages(central):
    with central.client("viewer") as c:
        r = c.get("/entries")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_entries_api_pages_through_everything_in_order(central):
    expected = [r[0] for r in central.db.execute(
        "SELECT uuid FROM entries ORDER BY wall_ts DESC, device_id DESC, seq DESC")]
    got, cursor = [], ""
    with central.client("viewer") as c:
        while True:
            body = c.get("/console/api/entries", params={"limit": 5, "cursor": cursor}).json()
            got += [r["uuid"] for r in body["rows"]]
            if not body["next_cursor"]:
                break
            cursor = body["next_cursor"]
        assert c.get("/console/api/entries", params={"cursor": "garbage!"}).status_code == 400
        assert c.get("/entries", params={"since": "not a time"}).status_code == 400
    assert got == expected and len(got) >= 12


def test_household_search_is_literal_and_a_bad_register_is_a_clear_error(central):
    central.db.execute("INSERT INTO households (household, created_at) VALUES ('7_1-101', 0), "
                       "('7x1-101', 0) ON CONFLICT DO NOTHING")
    with central.client("staff") as c:
        page = c.get("/households", params={"q": "7_1"})
        assert page.status_code == 200 and "7_1-101" in page.text and "7x1-101" not in page.text
        token = csrf_of(page.text)
        r = c.post("/households/import", data={"csrf": token, "days": "30"},
                   files={"file": ("register.pdf", b"%PDF-1.4", "application/pdf")})
        assert r.status_code == 400 and "csv" in r.text.lower()
        r = c.post("/households/import", data={"csrf": token, "days": "30"},
                   files={"file": ("register.xlsx", b"not really a workbook", "application/octet-stream")})
        assert r.status_code == 400 and 'id="error-message"' in r.text and "XLSX" in r.text
        r = c.post("/households/7_1-101/quarantine", data={"csrf": token, "first_day": "2026-12-04",
                                                                "last_day": "2026-11-20"},
                   headers={"referer": central.url + "/households/7_1-101"})
        assert r.status_code == 400 and "2026-12-04" in r.text and 'href="/households/7_1-101"' in r.text


def test_admin_changes_roles_but_not_their_own(central):
    auth.add_user(central.db, "qian", "qian-pass-123", "viewer")
    with central.client("admin") as c:
        token = csrf_of(c.get("/users").text)
        assert c.post("/users/qian/role", data={"csrf": token, "role": "staff", "disabled": "0"}).status_code == 303
        assert c.post("/users/admin/role", data={"csrf": token, "role": "viewer", "disabled": "0"}).status_code == 409
        assert c.post("/users/admin/role", data={"csrf": token, "role": "admin", "disabled": "1"}).status_code == 409
    roles = dict(central.db.execute("SELECT username, role || disabled FROM staff_users").fetchall())
    assert roles["qian"] == "staff0" and roles["admin"] == "admin0"


def test_admin_adds_a_user_who_can_sign_in(central):
    with central.client("admin") as c:
        token = csrf_of(c.get("/users").text)
        r = c.post("/users/add", data={"csrf": token, "username": "sun", "display_name": "孙",
                                       "password": "sun-pass-12", "role": "staff"})
        assert r.status_code == 303
        bad = c.post("/users/add", data={"csrf": token, "username": "sun2", "password": "short", "role": "staff"})
        assert bad.status_code == 400 and "too short" in bad.text
    with central.client() as c:
        assert login(c, "sun", "sun-pass-12").headers["location"] == "/"
    assert central.db.execute("SELECT detail FROM audit_log WHERE action = 'add_user'").fetchone()[0].count("sun")


def test_report_csv_exports_have_the_documented_columns(central):
    from central.console.reports import HOURLY_COLUMNS, REASON_COLUMNS

    with central.client("viewer") as c:
        hourly = c.get("/report/export.csv", params={"day": "2026-11-20"})
        reasons = c.get("/report/export.csv", params={"day": "2026-11-20", "part": "reasons"})
        assert c.get("/report/export.csv", params={"day": "20-11-2026"}).status_code == 400
    h_lines = hourly.content.decode("utf-8-sig").splitlines()
    r_lines = reasons.content.decode("utf-8-sig").splitlines()
    assert h_lines[0].split(",") == [c.zh for c in HOURLY_COLUMNS] and len(h_lines) == 1 + 3 * 24 + 1
    assert r_lines[0].split(",") == [c.zh for c in REASON_COLUMNS]
    assert sorted(line.split(",")[5] for line in r_lines[1:-1]) == ["fever", "quarantined"]
    assert "attachment" in hourly.headers["content-disposition"]
