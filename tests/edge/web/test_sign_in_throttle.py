"""Bursts of sign-ins against a real guard page on loopback and a real checkpoint (argon2 PINs in SQLite).

Issue 18, finding 2 (edge side): the lock-out (5 wrong PINs) used to be checked after the PIN, so 40 concurrent
attempts were all hashed (181 of 1,000). Now each attempt counts as wrong before its check: exactly 5 are checked,
one at a time, however many arrive; the right PIN sent once the lock-out is reached does not get in.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

import edge.shifts
from drivers.gate import FakeGate
from edge.checkpoint import Checkpoint
from edge.indicators import FakeIndicators
from edge.shifts import ShiftBook
from edge.web.pin_guard import KEY
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings
from tests.edge.web.conftest import Server
from tests.waiting import wait_until

GUARD, PIN = "guard7", "246810"


class CountingChecks:
    """Wraps :func:`edge.shifts.check_pin`: counts the argon2 verifications, and how many ran at once."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.real = edge.shifts.check_pin
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.calls = self.running = self.most_at_once = 0

    def __call__(self, pin_hash: str, pin: str, pepper: bytes) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.delay_s)  # keeps the burst in flight while the test looks at it
            return self.real(pin_hash, pin, pepper)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def gate(tmp_path):
    """A real checkpoint (no camera) with guard7's PIN set, and its guard page on loopback."""
    settings = edge_settings(tmp_path, camera={"source": "none"}, gate={"mode": "guarded"}, voice={"enabled": False})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    ShiftBook(db).set_pin(GUARD, PIN)
    db.conn.close()
    cp = Checkpoint(settings, gate=FakeGate(), indicators=FakeIndicators())
    cp.start()
    try:
        with Server(cp, settings) as srv:
            yield cp, srv
    finally:
        cp.stop()


async def _sign_in(port: int, token: str, pin: str, connections: asyncio.Semaphore) -> int:
    """One sign-in on its own connection, in plain HTTP/1.1 (an HTTP client library costs the burst ten times the
    CPU of the server); the status, after checking a 429's body."""
    body = json.dumps({"guard_id": GUARD, "pin": pin}).encode()
    request = (f"POST /api/shift/start HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nX-Gatepass-Token: {token}\r\nConnection: close\r\n\r\n").encode()
    async with connections:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request + body)
        await writer.drain()
        response = await reader.read()
        writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status == 429:
        refusal = json.loads(payload)
        assert refusal["message_zh"] and refusal["error"] in ("pin_locked", "pin_busy")
    return status


async def _gather_sign_ins(srv: Server, token: str, pins: list[str], connections: int) -> list[int]:
    limit = asyncio.Semaphore(connections)
    return list(await asyncio.gather(*(_sign_in(srv.port, token, pin, limit) for pin in pins)))


def _sign_ins(srv: Server, pins: list[str], connections: int, timeout_s: float = 180) -> list[int]:
    """The statuses of concurrent sign-ins with ``pins``, from an event loop of their own thread (playwright's
    sync API may hold this thread's loop)."""
    token, results = srv.token(), []
    coro = _gather_sign_ins(srv, token, pins, connections)
    thread = threading.Thread(target=lambda: results.append(asyncio.run(asyncio.wait_for(coro, timeout_s))))
    thread.start()
    thread.join(timeout_s + 10)
    assert results, "the burst did not finish"
    return results[0]


@pytest.mark.parametrize("burst,connections", [(40, 40), (1000, 100)])
def test_a_burst_of_wrong_pins_checks_exactly_five(gate, monkeypatch, burst, connections):
    cp, srv = gate
    checks = CountingChecks()
    monkeypatch.setattr(edge.shifts, "check_pin", checks)
    statuses = _sign_ins(srv, ["000000"] * burst, connections)
    assert checks.calls == 5, f"{checks.calls} PINs checked of {burst}"
    assert checks.most_at_once == 1  # one argon2 at a time
    assert statuses.count(401) == 5 and statuses.count(429) == burst - 5
    assert cp.status().get("shift") is None


def test_the_right_pin_sent_once_the_lock_out_is_reached_does_not_get_in(gate, monkeypatch):
    cp, srv = gate
    checks = CountingChecks(delay_s=0.3)
    monkeypatch.setattr(edge.shifts, "check_pin", checks)
    failures = srv.app.state.page.pins.failures
    results: list[list[int]] = []
    burst = threading.Thread(target=lambda: results.append(_sign_ins(srv, ["000000"] * 40, 40)))
    burst.start()
    try:
        assert wait_until(lambda: failures.failures(KEY) >= 5 or failures.locked_for(KEY) > 0, timeout=30)
        assert checks.calls < 5  # the wrong PINs are still being checked: the right one comes among them
        r = httpx.post(srv.url + "/api/shift/start", json={"guard_id": GUARD, "pin": PIN},
                       headers={"X-Gatepass-Token": srv.token()})
        assert r.status_code == 429 and r.json()["error"] == "pin_locked" and "PIN" in r.json()["message_zh"]
    finally:
        burst.join(60)
    assert checks.calls == 5 and cp.status().get("shift") is None
    assert sorted(set(results[0])) == [401, 429]
    r = httpx.post(srv.url + "/api/shift/start", json={"guard_id": GUARD, "pin": PIN},
                   headers={"X-Gatepass-Token": srv.token()})
    assert r.status_code == 429  # still locked after the burst


def test_the_right_pin_signs_in_and_forgives_the_wrong_ones(gate):
    cp, srv = gate
    token = {"X-Gatepass-Token": srv.token()}
    for _ in range(4):
        assert httpx.post(srv.url + "/api/shift/start", json={"guard_id": GUARD, "pin": "000000"},
                          headers=token).status_code == 401
    r = httpx.post(srv.url + "/api/shift/start", json={"guard_id": GUARD, "pin": PIN}, headers=token)
    assert r.status_code == 200 and cp.status()["shift"]["guard_id"] == GUARD
    assert srv.app.state.page.pins.failures.failures(KEY) == 0
