"""Errors as HTML pages for browsers (wrong role, stale CSRF token, bad form, unknown page), JSON on the APIs."""

from __future__ import annotations

from tests.central.console.conftest import csrf_of


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
