"""接入新设备 over HTTP (issue 19): administrators only, every decision audited, refusals in plain words; the
devices page shows the enrolment that made a device and the chain of replacements. A real central on loopback
(SQLite and PostgreSQL), the gate's side through the real device API."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import enrolment
from sync import enrolment as wire
from tests.central.console.conftest import csrf_of


def _gate_request(central, **over) -> tuple[str, str]:
    """A gate's enrolment request; (secret, code shown)."""
    secret = wire.new_secret()
    body = {"claim": wire.claim_of(secret), "hostname": "pi-gate", "software_version": "0.4.0",
            "previous_device_id": None, **over}
    r = httpx.post(central.url + wire.CREATE_PATH, json=body, timeout=30)
    assert r.status_code == 201, r.text
    return secret, r.json()["code"]


def _form(c: httpx.Client, code: str) -> tuple[str, str]:
    page = c.get(f"/devices/enrol?code={code}")
    assert page.status_code == 200, page.text
    return page.text, csrf_of(page.text)


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_only_administrators_see_or_decide(central, role):
    _, code = _gate_request(central)
    with central.client(role) as c:
        assert c.get(f"/devices/enrol?code={code}").status_code == 403
        token = csrf_of(c.get("/devices").text) if role == "staff" else "x"
        r = c.post("/devices/enrol/approve", data={"csrf": token, "code": code, "community": "c", "gate_id": "g",
                                                   "gate_name": "n"})
        assert r.status_code == 403
        assert "enrol-link" not in c.get("/devices").text


def test_approve_in_the_console_then_the_gate_gets_its_token_once(central):
    secret, code = _gate_request(central)
    with central.client("admin") as c:
        html, token = _form(c, code)
        assert code in html and "pi-gate" in html and "0.4.0" in html and "127.0.0.1" in html
        assert "enrol-pending" in html and c.get("/devices").text.count("enrol-link") == 1
        r = c.post("/devices/enrol/approve", data={"csrf": token, "code": code.lower().replace("-", " "),
                                                   "community": "Garden", "gate_id": "west", "gate_name": "西门",
                                                   "direction": "in", "mode": "unattended"})
        assert r.status_code == 303 and r.headers["location"] == "/devices/enrol?approved=west"  # reload: no post
        r = c.get(r.headers["location"])
        assert r.status_code == 200 and "enrol-approved" in r.text and "west" in r.text
        assert "enrol-approved" not in c.get("/devices/enrol?approved=dev-n").text  # only a device an enrolment made
        audit = list(central.db.query("SELECT username, detail FROM audit_log WHERE action = 'approve_enrolment'"))
        assert audit and audit[-1]["username"] == "admin" and code in audit[-1]["detail"]
        polled = httpx.post(central.url + wire.POLL_PATH, json={"secret": secret}, timeout=30)
        got = wire.read_poll_reply(polled.json())
        assert isinstance(got, wire.PollApproved) and got.gate.mode == "unattended" and got.gate.direction == "in"
        assert got.central_key_fingerprint in r.text
        r = httpx.get(central.url + "/api/v1/whoami", headers={"Authorization": f"Bearer {got.token}"}, timeout=30)
        assert r.json()["gate_id"] == "west"
        assert httpx.post(central.url + wire.POLL_PATH, json={"secret": secret}, timeout=30).status_code == 410
        devices = c.get("/devices").text
        assert f"{wire.parse_code(code)[:4]}-" in devices and "接入码" in devices
        # the code is over: the console says so in plain words
        again = c.get(f"/devices/enrol?code={code}")
        assert "接入码已经用过" in again.text and 'id="enrol-approve"' not in again.text


def test_refuse_is_audited_and_the_gate_is_told(central):
    secret, code = _gate_request(central)
    with central.client("admin") as c:
        _, token = _form(c, code)
        r = c.post("/devices/enrol/refuse", data={"csrf": token, "code": code})
        assert r.status_code == 303
        assert list(central.db.query("SELECT 1 FROM audit_log WHERE action = 'refuse_enrolment'"))
        r = c.post("/devices/enrol/approve", data={"csrf": token, "code": code, "community": "c", "gate_id": "g",
                                                   "gate_name": "n"})
        assert r.status_code == 409 and "接入码已被拒绝" in r.text
    polled = httpx.post(central.url + wire.POLL_PATH, json={"secret": secret}, timeout=30)
    assert polled.status_code == 410 and polled.json()["status"] == "refused"


@pytest.mark.parametrize("typed, says", [("ABCD-0000", "不用 0、O、1、I、L"), ("AB", "接入码应为 8 位"),
                                         ("ZZZZ-ZZZZ", "没有这个接入码")])
def test_a_wrong_code_is_explained(central, typed, says):
    with central.client("admin") as c:
        r = c.get(f"/devices/enrol?code={typed}")
        assert r.status_code == 200 and says in r.text and 'id="enrol-approve"' not in r.text


def test_a_gate_with_a_device_asks_which_one_it_replaces(central):
    _, code = _gate_request(central)
    with central.client("admin") as c:
        _, token = _form(c, code)
        data = {"csrf": token, "code": code, "community": "Riverside", "gate_id": "east", "gate_name": "东门"}
        r = c.post("/devices/enrol/approve", data=data)
        assert r.status_code == 409 and "这个门岗已有设备" in r.text
        assert '<option value="dev-e" selected>' in r.text  # pre-filled with the gate's device
        r = c.post("/devices/enrol/approve", data={**data, "alongside": "1"})
        assert r.status_code == 303 and r.headers["location"].endswith("=east")
    row = central.db.execute("SELECT revoked_at FROM devices WHERE device_id = 'dev-e'").fetchone()
    assert row[0] is None  # alongside: the other device stays


def test_bad_gate_details_are_refused_with_the_fields(central):
    _, code = _gate_request(central)
    with central.client("admin") as c:
        _, token = _form(c, code)
        r = c.post("/devices/enrol/approve", data={"csrf": token, "code": code, "community": "c", "gate_id": "",
                                                   "gate_name": "n", "direction": "sideways"})
        assert r.status_code == 409 and "门岗信息不完整" in r.text
    assert enrolment.approval_problem(enrolment.by_code(central.db, wire.parse_code(code)), 0) is None


_ANY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(fields=st.fixed_dictionaries({}, optional={
    **{k: _ANY for k in ("community", "gate_id", "gate_name", "replaces", "alongside")},
    "code": _ANY | st.just("PENDING"), "direction": _ANY | st.sampled_from(["in", "out", "both"]),
    "mode": _ANY | st.sampled_from(["guarded", "unattended"])}))
def test_any_form_gets_an_answer_never_a_5xx(admin_session, fields):
    c, token, pending = admin_session
    if fields.get("code") == "PENDING":
        fields["code"] = pending
    for path in ("/devices/enrol/approve", "/devices/enrol/refuse"):
        r = c.post(path, data={"csrf": token, **fields})
        assert r.status_code in (200, 303, 400, 409, 422), (path, fields, r.status_code)
    r = c.get("/devices/enrol", params={"code": fields.get("code", "")})
    assert r.status_code in (200, 400, 422)


@pytest.fixture(scope="module")
def admin_session(central):
    _, code = _gate_request(central)  # a real pending code, so that some forms reach the approval itself
    with central.client("admin") as c:
        yield c, csrf_of(c.get("/devices").text), code
