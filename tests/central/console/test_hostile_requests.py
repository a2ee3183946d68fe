"""Any integer, date, cursor or text a person (or a script) puts into a console request gets a 4xx with a reason,
never a 500: unicode digits that ``int()`` takes ("²"), integers beyond 64 bits, dates beyond what a day can step
over, control characters (NUL breaks any PostgreSQL query)."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.central.console.conftest import csrf_of


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


HUGE = 2**70


def _zip_of(sheet: bytes) -> bytes:
    """A zip holding ``sheet`` where an XLSX keeps its first sheet (so openpyxl gets further than 'not a zip')."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()

PAGE_CASES = [
    ("/trace", {"kind": "pass_id", "value": "101", "minutes": "²"}, 400, "minutes"),
    ("/trace", {"kind": "pass_id", "value": "101", "minutes": "-5"}, 400, "minutes"),
    ("/trace", {"kind": "pass_id", "value": "101", "minutes": "١٢"}, 400, "minutes"),
    ("/trace/export.csv", {"kind": "pass_id", "value": "101", "minutes": "²"}, 400, "minutes"),
    ("/trace", {"kind": "pass_id", "value": "101", "since": "9999-12-31T23:59"}, 400, "date"),
    ("/alerts", {"hours": "²"}, 422, "hours"),
    ("/alerts", {"hours": "-1"}, 422, "hours"),
    ("/alerts", {"hours": "nan"}, 422, "hours"),
    ("/alerts/table", {"hours": "inf"}, 422, "hours"),
    ("/shifts", {"days": "²"}, 422, "days"),
    ("/shifts", {"days": "1e400"}, 422, "days"),
    ("/audit", {"before": str(HUGE)}, 422, "before"),
    ("/audit", {"before": "-1"}, 422, "before"),
    ("/entries", {"cursor": _cursor(1.0, "dev-n", HUGE)}, 400, "cursor"),
    ("/entries", {"cursor": _cursor(10**400, "dev-n", 1)}, 400, "cursor"),
    ("/entries", {"cursor": "A" * 5000}, 422, "cursor"),
    ("/entries", {"since": "9999-99-99"}, 400, "9999-99-99"),
    ("/entries", {"until": "9999-12-31T23:59"}, 400, "date"),
    ("/entries", {"household": "3-2-401\x00"}, 400, "控制字符"),
    ("/entries/export.csv", {"since": "0001-01-01"}, 400, "date"),
    ("/report", {"day": "9999-12-31"}, 400, "date"),
    ("/report", {"day": "9999-99-99"}, 400, "9999-99-99"),
    ("/report/export.xlsx", {"day": "9999-12-31"}, 400, "date"),
    ("/households", {"q": "\x00"}, 400, "控制字符"),
]


@pytest.mark.parametrize(("path", "params", "status", "reason"), PAGE_CASES)
def test_bad_values_in_pages_get_a_4xx_with_a_reason(central, path, params, status, reason):
    with central.client("admin") as c:
        r = c.get(path, params=params)
    assert r.status_code == status, r.text[-1500:]
    assert reason in r.text


API_CASES = [
    ("/console/api/entries", {"cursor": _cursor(1.0, "dev-n", HUGE)}, 400),
    ("/console/api/entries", {"cursor": _cursor(1.0, "dev-n\x00", 1)}, 400),
    ("/console/api/entries", {"limit": str(HUGE)}, 422),
    ("/console/api/alerts", {"hours": "²"}, 422),
    ("/console/api/entries", {"since": "9999-12-31"}, 400),
]


@pytest.mark.parametrize(("path", "params", "status"), API_CASES)
def test_bad_values_in_the_json_api_get_a_json_4xx(central, path, params, status):
    with central.client("viewer") as c:
        r = c.get(path, params=params)
    assert r.status_code == status, r.text[-1500:]
    assert r.json()["detail"]


def test_a_422_page_is_a_chinese_page_naming_the_field(central):
    with central.client("viewer") as c:
        r = c.get("/alerts", params={"hours": "²"})
    assert r.headers["content-type"].startswith("text/html")
    assert "表单填写不完整或格式不对" in r.text and "hours" in r.text


def test_bad_numbers_in_forms_get_a_4xx(central):
    with central.client("staff") as c:
        csrf = csrf_of(c.get("/households/3-2-401").text)
        posts = [(f"/passes/{HUGE}/revoke", {"csrf": csrf}),
                 ("/households/3-2-401/issue", {"csrf": csrf, "person": str(HUGE), "kind": "resident"}),
                 ("/households/3-2-401/issue", {"csrf": csrf, "person": "1", "days": "inf"}),
                 ("/households/3-2-401/quarantine", {"csrf": csrf, "first_day": "2026-11-20", "days": str(HUGE)}),
                 ("/households/3-2-401/quarantine", {"csrf": csrf, "first_day": "9999-12-31"}),
                 ("/alerts/ack", {"csrf": csrf, "key": "fever:x", "note": "a\x00b"})]
        for path, data in posts:
            r = c.post(path, data=data)
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text[-800:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=3000), st.builds(_zip_of, st.binary(max_size=2000))),
       suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_uploaded_file_gets_a_clear_4xx(central, data, suffix):
    with central.client("staff") as c:
        csrf = csrf_of(c.get("/households").text)
        r = c.post("/households/import", data={"csrf": csrf, "days": "30"},
                   files={"file": (f"register{suffix}", data, "application/octet-stream")})
    assert r.status_code == 400, r.text[-800:]
    assert "登记表未导入" in r.text and 'id="error-message"' in r.text


def test_a_csv_field_beyond_the_csv_module_limit_is_refused_not_a_500(central):
    data = b"household,person,kind\r\n" + b'"' + b"a" * 200_000 + b'",1,resident\r\n'
    with central.client("staff") as c:
        csrf = csrf_of(c.get("/households").text)
        r = c.post("/households/import", data={"csrf": csrf}, files={"file": ("register.csv", data, "text/csv")})
    assert r.status_code == 400 and "CSV" in r.text
