"""Enrolment at central (issue 19): the pure rules on plain data, and the exchange over a real server on loopback
(SQLite and PostgreSQL) as a gate runs it: request, approval, the one-time token, expiry, reuse, rival claims and
the new-SD-card case."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from central import enrolment, ingest
from central.api_enrol import MAX_BODY_BYTES, UNKNOWN_LIMIT
from gatepass.clock import ManualClock
from sync import enrolment as wire
from sync.protocol import encode_upload
from tests.central.console.data import entry
from tests.sync.helpers import Central

# -- pure rules --------------------------------------------------------------------------------------------


def test_poll_status_and_approval_problems():
    row = {"status": "pending", "expires_at": 100.0}
    assert enrolment.poll_status(None, 0) == "unknown"
    assert enrolment.poll_status(row, 99.9) == "pending" and enrolment.approval_problem(row, 99.9) is None
    assert enrolment.poll_status(row, 100.0) == "expired" and enrolment.approval_problem(row, 100) == "expired"
    assert enrolment.approval_problem(None, 0) == "no_code"
    for status in ("approved", "used", "refused", "expired"):
        assert enrolment.approval_problem({"status": status, "expires_at": 1e12}, 0) == status
    # an approved request may be fetched a little after the code's time ran out
    assert enrolment.poll_status({"status": "approved", "expires_at": 100.0}, 500) == "approved"


def test_next_device_id():
    assert enrolment.next_device_id("east", set()) == "east"
    assert enrolment.next_device_id("east", {"east"}) == "east-2"
    assert enrolment.next_device_id("east", {"east", "east-2", "east-3"}) == "east-4"


def test_suggested_replacement():
    devices = [{"device_id": "east", "gate_id": "east", "revoked_at": None},
               {"device_id": "west-old", "gate_id": "west", "revoked_at": 5.0},
               {"device_id": "n1", "gate_id": "north", "revoked_at": None},
               {"device_id": "n2", "gate_id": "north", "revoked_at": None}]
    assert enrolment.suggested_replacement("east", "", devices) == "east"
    assert enrolment.suggested_replacement("nobody", "east", devices) == "east"
    assert enrolment.suggested_replacement(None, "west", devices) == ""  # only a revoked one
    assert enrolment.suggested_replacement(None, "north", devices) == ""  # two: staff choose
    assert enrolment.suggested_replacement(None, "", devices) == ""


def test_assignment_checks_the_fields():
    got = enrolment.assignment(" 幸福里社区 ", "east", "东门", "both", "guarded")
    assert got.community == "幸福里社区"
    with pytest.raises(enrolment.EnrolmentRefused) as err:
        enrolment.assignment("c", "", "n", "sideways", "guarded")
    assert err.value.code == "bad_gate" and "gate_id" in str(err.value) and "direction" in str(err.value)


# -- the exchange over HTTP --------------------------------------------------------------------------------

class Server:
    """A central on loopback with a manual clock, and a gate's side of the exchange."""

    def __init__(self, central: Central, clock: ManualClock) -> None:
        self.central, self.clock, self.db = central, clock, central.db

    def post(self, path: str, body, **kw) -> httpx.Response:
        return httpx.post(self.central.url + path, json=body, timeout=30, **kw)

    def request(self, secret: str | None = None, **over) -> tuple[str, httpx.Response]:
        secret = secret or wire.new_secret()
        body = {"claim": wire.claim_of(secret), "hostname": "gate-pi", "software_version": "0.4.0",
                "previous_device_id": None, **over}
        return secret, self.post(wire.CREATE_PATH, body)

    def poll(self, secret: str) -> httpx.Response:
        return self.post(wire.POLL_PATH, {"secret": secret})

    def approve(self, code: str, gate_id: str = "east", **kw) -> str:
        gate = enrolment.assignment("幸福里社区", gate_id, "东门", "both", "guarded")
        return enrolment.approve(self.db, wire.parse_code(code), gate, replaces=kw.get("replaces", ""),
                                 alongside=kw.get("alongside", False), by="admin", now=self.clock.time())


@pytest.fixture
def server(tmp_path, central_database):
    clock = ManualClock(wall=time.time())
    central = Central(tmp_path / "central")
    central.settings = central.settings.model_copy(update={"public_url": "https://jk.example.cn"})

    def with_clock(app):
        app.state.clock = clock
        return app

    central.start_thread(wrap=with_clock)
    yield Server(central, clock)
    central.stop()


def _upload_heartbeat(server: Server, token: str, device_id: str, gate_id: str, seq: int = 1) -> httpx.Response:
    rows = [entry(seq, device_id, gate_id, time.time())]
    report = {"boot_id": "b", "mono_now": 10.0, "wall_now": time.time(), "list_version": 0, "backlog": 0,
              "last_seq": seq, "pending_min_seq": seq + 1, "software_version": "0.4.0"}
    return httpx.post(server.central.url + "/api/v1/upload", content=encode_upload(uuid.uuid4().hex, rows, report),
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}, timeout=30)


def test_request_approve_poll_token_works_then_410(server):
    secret, r = server.request()
    assert r.status_code == 201, r.text
    created = wire.read_created(r.json())
    assert created.approve_url == f"https://jk.example.cn/devices/enrol?code={created.code}"
    assert created.poll_after_s == 5 and created.expires_at == pytest.approx(server.clock.time() + 1800)
    pending = wire.read_poll_reply(server.poll(secret).json())
    assert isinstance(pending, wire.PollPending)
    device_id = server.approve(created.code)
    assert device_id == "east"
    r = server.poll(secret)
    assert r.status_code == 200
    got = wire.read_poll_reply(r.json())
    assert isinstance(got, wire.PollApproved)
    assert got.device_id == "east" and got.gate.gate_name == "东门" and got.gate.direction == "both"
    assert got.central_public_key.strip() == server.central.public_pem().strip()
    assert got.central_key_fingerprint == wire.key_fingerprint(server.central.public_pem())
    # central keeps only the token's hash, and the token works on the device API
    stored = server.db.execute("SELECT token_hash FROM devices WHERE device_id = 'east'").fetchone()[0]
    assert stored == ingest.hash_token(got.token)
    kept = list(server.db.query("SELECT * FROM enrolments WHERE claim = ?", [wire.claim_of(secret)]))
    assert len(kept) == 1 and got.token not in repr(kept) and secret not in repr(kept)
    assert _upload_heartbeat(server, got.token, "east", "east").status_code == 200
    again = server.poll(secret)
    assert again.status_code == 410 and again.json() == {"status": "used"}


def test_a_code_expires(server):
    secret, r = server.request()
    code = r.json()["code"]
    server.clock.advance(30 * 60 + 1)
    r = server.poll(secret)
    assert r.status_code == 410 and r.json() == {"status": "expired"}
    with pytest.raises(enrolment.EnrolmentRefused) as err:
        server.approve(code)
    assert err.value.code == "expired" and "过期" in str(err.value)


def test_a_code_is_approved_once(server):
    secret, r = server.request()
    code = r.json()["code"]
    server.approve(code)
    with pytest.raises(enrolment.EnrolmentRefused) as err:
        server.approve(code, gate_id="west")
    assert err.value.code == "approved"
    assert server.poll(secret).status_code == 200
    with pytest.raises(enrolment.EnrolmentRefused) as err:
        server.approve(code, gate_id="west")
    assert err.value.code == "used"
    with pytest.raises(enrolment.EnrolmentRefused):
        enrolment.refuse(server.db, wire.parse_code(code), by="admin", now=server.clock.time())


def test_a_refused_request_gets_410_refused(server):
    secret, r = server.request()
    enrolment.refuse(server.db, wire.parse_code(r.json()["code"]), by="admin", now=server.clock.time())
    r = server.poll(secret)
    assert r.status_code == 410 and r.json() == {"status": "refused"}


def test_a_rival_who_read_the_code_cannot_get_the_token(server):
    secret, r = server.request()
    code = r.json()["code"]
    # the rival sends its own request: it gets another code, never the pending one
    rival_secret, rival = server.request()
    assert rival.status_code == 201 and rival.json()["code"] != code
    server.approve(code)
    # a wrong secret: 404, nothing given away
    wrong = server.poll(wire.new_secret())
    assert wrong.status_code == 404 and wrong.json()["detail"]["code"] == "unknown" and "zh" in wrong.json()["detail"]
    assert server.poll(rival_secret).json() == {"status": "pending", "expires_at": pytest.approx(
        server.clock.time() + 1800)}
    assert server.poll(secret).status_code == 200


def test_codes_are_unique_among_pending_requests(server):
    codes, secrets = set(), []
    for _ in range(enrolment.MAX_PENDING_PER_ADDRESS):
        secret, r = server.request()
        codes.add(r.json()["code"])
        secrets.append(secret)
    assert len(codes) == enrolment.MAX_PENDING_PER_ADDRESS
    r = server.request()[1]  # one more pending from one address
    assert r.status_code == 429 and r.json()["detail"]["code"] == "too_many_from_address"
    assert server.request(secrets[0])[1].status_code == 201  # a gate asking again is not counted twice


def test_the_same_claim_asking_again_gets_a_new_code_and_the_old_one_ends(server):
    secret, first = server.request()
    _, second = server.request(secret)
    assert second.status_code == 201 and second.json()["code"] != first.json()["code"]
    with pytest.raises(enrolment.EnrolmentRefused):
        server.approve(first.json()["code"])
    server.approve(second.json()["code"])
    assert server.poll(secret).status_code == 200
    assert server.request(secret)[1].status_code == 409  # a claim that got a device is never reused


def test_bad_bodies_are_refused_with_a_reason(server):
    url = server.central.url + wire.CREATE_PATH
    for body in (b"", b"{", b"[]", b'{"claim": 1}', b"\xff\xfe", b"[" * 5000 + b"]" * 5000):
        r = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code in (413, 422), body[:20]
        assert r.json()["detail"]["code"] in ("bad_body", "too_large") and r.json()["detail"]["zh"]
    r = httpx.post(url, content=b" " * (MAX_BODY_BYTES + 1), timeout=30)
    assert r.status_code == 413
    r = server.post(wire.POLL_PATH, {"secret": "x"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "bad_body"


def test_guessing_secrets_is_limited_per_address(server):
    for _ in range(UNKNOWN_LIMIT):
        assert server.poll(wire.new_secret()).status_code == 404
    r = server.poll(wire.new_secret())
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_a_new_sd_card_gets_a_new_identity_and_the_gate_keeps_its_history(server):
    old_token = ingest.add_device(server.db, "east", community="幸福里社区", gate_id="east")
    assert _upload_heartbeat(server, old_token, "east", "east").status_code == 200
    secret, r = server.request(previous_device_id="east")
    code = r.json()["code"]
    with pytest.raises(enrolment.EnrolmentRefused) as err:  # the gate has a device: staff must say which
        server.approve(code)
    assert err.value.code == "gate_has_device"
    assert server.approve(code, replaces="east") == "east-2"
    got = wire.read_poll_reply(server.poll(secret).json())
    assert isinstance(got, wire.PollApproved) and got.device_id == "east-2" and got.gate.gate_id == "east"
    assert _upload_heartbeat(server, old_token, "east", "east", seq=2).status_code == 401  # the old one is revoked
    assert _upload_heartbeat(server, got.token, "east-2", "east").status_code == 200
    rows = list(server.db.query("SELECT device_id FROM entries WHERE gate_id = 'east' ORDER BY wall_ts"))
    assert [r["device_id"] for r in rows] == ["east", "east-2"]
    links = enrolment.links(server.db)
    assert links["east-2"]["replaces"] == "east" and links["east"]["replaced_by"] == "east-2"
    assert links["east-2"]["code"] == code


def test_revoking_the_new_device_before_the_gate_polls_refuses_the_poll(server):
    secret, r = server.request()
    device_id = server.approve(r.json()["code"])
    ingest.revoke_device(server.db, device_id)
    r = server.poll(secret)
    assert r.status_code == 410 and r.json() == {"status": "refused"}


def test_ended_requests_are_forgotten_after_a_week_but_approved_ones_stay(server):
    _, expired = server.request()
    _, approved = server.request()
    server.approve(approved.json()["code"])
    server.clock.advance(enrolment.KEEP_ENDED_S + 1800)
    server.request()  # a new request tidies up
    codes = {wire.format_code(r["code"]) for r in server.db.query("SELECT code FROM enrolments")}
    assert expired.json()["code"] not in codes and approved.json()["code"] in codes


def test_the_console_refuses_an_expired_code_with_the_reason(server):
    from argon2 import PasswordHasher

    from central.console import auth
    from tests.central.console.conftest import csrf_of, login

    auth.set_hasher(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))  # as the console tests do
    try:
        auth.add_user(server.db, "chief", "enrol-chief-pass-7", "admin")
    finally:
        auth.set_hasher(PasswordHasher())
    _, r = server.request()
    code = r.json()["code"]
    with httpx.Client(base_url=server.central.url, timeout=30) as c:
        login(c, "chief", "enrol-chief-pass-7")
        page = c.get(f"/devices/enrol?code={code}")
        assert 'id="enrol-approve"' in page.text and "30 分钟" in page.text
        server.clock.advance(30 * 60)
        page = c.get(f"/devices/enrol?code={code}")
        assert "接入码已过期" in page.text and 'id="enrol-approve"' not in page.text
        r = c.post("/devices/enrol/approve", data={"csrf": csrf_of(page.text), "code": code, "community": "c",
                                                   "gate_id": "g", "gate_name": "n"})
        assert r.status_code == 409 and "接入码已过期" in r.text
