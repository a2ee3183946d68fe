"""The device API against a compromised gate (issue 18 items 3, 4, 6): what it sends is refused with a reason
(4xx, never 500) or stored corrected and flagged, never stored so that it breaks a page or feeds another gate.

A real central server on loopback (SQLite and PostgreSQL), real HTTP uploads built as a gate builds them.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid

import httpx
import pytest

from central import ingest
from sync.protocol import MAX_BODY_BYTES, content_hash, encode_upload
from tests.central.console.data import entry
from tests.sync.helpers import Central

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _report(rows: list[dict], **over) -> dict:
    last = max((r["seq"] for r in rows), default=0)
    base = {"boot_id": "boot-1", "mono_now": 100.0, "wall_now": time.time(), "list_version": 0, "backlog": 0,
            "last_seq": last, "pending_min_seq": last + 1, "software_version": "t"}
    return {**base, **over}


def _post(central: Central, token: str, body: bytes, encoding: str = "gzip") -> httpx.Response:
    return httpx.post(central.url + "/api/v1/upload", content=body, timeout=60,
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": encoding})


def _upload(central: Central, token: str, rows: list[dict], **report_over) -> httpx.Response:
    return _post(central, token, encode_upload(uuid.uuid4().hex, rows, _report(rows, **report_over)))


def _row(n: int, device_id: str, gate_id: str, **fields) -> dict:
    """A gate's row with any field set to anything (seq and wall_ts included)."""
    return {**entry(n, device_id, gate_id, time.time()), **fields}


def _stored(central: Central, device_id: str) -> list[dict]:
    cur = central.db.execute("SELECT * FROM entries WHERE device_id = ? ORDER BY seq", [device_id])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


# -- item 3: a compromised gate's values are stored flagged, never so that they break a page ---------------------

@pytest.mark.parametrize("wall_ts", [2.6e11, 1e300, -1e300, 0.0, 86400.0, time.time() + 3 * 86400])
def test_an_implausible_entry_time_is_stored_flagged_with_the_original_kept(central, wall_ts):
    token = central.add_device("gate-a", community="c1", gate_id="north")
    before = time.time()
    good = entry(1, "gate-a", "north", before - 3 * 86400)  # three days old (an offline gate's backlog): fine
    bad = entry(2, "gate-a", "north", wall_ts, boot_id="other-boot")
    assert _upload(central, token, [good, bad]).status_code == 200
    kept, flagged = _stored(central, "gate-a")
    assert kept["time_suspect"] == 0 and kept["wall_ts"] == good["wall_ts"] and kept["corrections"] is None
    assert flagged["time_suspect"] == 1 and before - 5 <= flagged["wall_ts"] <= time.time() + 5  # receive time
    assert json.loads(flagged["corrections"]) == {"wall_ts": wall_ts}


def test_a_flagged_entry_from_the_reports_boot_gets_centrals_time_less_the_elapsed_monotonic_time(central):
    token = central.add_device("gate-a", gate_id="north")
    row = entry(1, "gate-a", "north", 3600.0, boot_id="boot-1", mono_ts=400.0, clock_trusted=0)  # clock never set
    assert _upload(central, token, [row], boot_id="boot-1", mono_now=1000.0).status_code == 200
    stored = _stored(central, "gate-a")[0]
    assert stored["time_suspect"] == 1 and abs(stored["wall_ts"] - (time.time() - 600)) < 30


@pytest.mark.parametrize("field,value", [("wall_ts", float("nan")), ("wall_ts", float("inf")),
                                         ("mono_ts", float("-inf")), ("temp_c", float("nan"))])
def test_nan_or_infinity_in_an_entry_is_refused_with_the_field_named(central, field, value):
    token = central.add_device("gate-a")
    resp = _upload(central, token, [_row(1, "gate-a", "g", **{field: value})])
    assert resp.status_code == 422 and f"entries.0.{field}" in resp.json()["detail"]
    assert _stored(central, "gate-a") == []


@pytest.mark.parametrize("over", [{"wall_now": float("inf")}, {"wall_now": 2.6e11}, {"wall_now": -1.0},
                                  {"lists_issued_at": float("-inf")}, {"lists_issued_at": -1e300},
                                  {"mono_now": float("nan")}, {"faults": [{"code": "x", "since": float("inf")}]}])
def test_a_heartbeat_with_an_impossible_time_is_refused_and_the_devices_page_keeps_working(central, over):
    token = central.add_device("gate-a")
    resp = _upload(central, token, [], **over)
    assert resp.status_code == 422 and "report." in resp.json()["detail"]
    dev = ingest.list_devices(central.db)[0]
    assert dev["last_report"] is None and dev["clock_skew_s"] is None


def test_control_characters_are_replaced_and_the_originals_kept_in_ascii(central):
    token = central.add_device("gate-a", gate_id="north")
    row = entry(1, "gate-a", "north", time.time(), household="3-2-\x00401", reason="ok\x07", visitor_ref="V\x1b[2J",
                override_reason="a\x85b\x7f")
    body = json.dumps({"format": "gatepass-upload/1", "batch_id": "batch-control", "content_hash": content_hash([row]),
                       "report": _report([row], boot_id="b\x01", faults=[{"code": "therm\x0bo", "since": 1.0}]),
                       "entries": [row]})  # ASCII with escapes: what a hostile gate can send
    resp = _post(central, token, gzip.compress(body.encode()))
    assert resp.status_code == 200, resp.text
    stored = _stored(central, "gate-a")[0]
    assert (stored["household"], stored["reason"], stored["visitor_ref"], stored["override_reason"]) == (
        "3-2-\ufffd401", "ok\ufffd", "V\ufffd[2J", "a\ufffdb\ufffd")
    assert stored["corrections"].isascii()
    assert json.loads(stored["corrections"])["text"] == {"household": "3-2-\x00401", "reason": "ok\x07",
                                                         "visitor_ref": "V\x1b[2J", "override_reason": "a\x85b\x7f"}
    dev = ingest.list_devices(central.db)[0]
    assert dev["last_report"]["boot_id"] == "b\ufffd" and [f["code"] for f in dev["faults"]] == ["therm\ufffdo"]


def test_a_lone_surrogate_is_refused_with_the_field_named(central):
    token = central.add_device("gate-a")
    row = _row(1, "gate-a", "g", reason="a\ud800b")  # could not even be stored as UTF-8
    body = json.dumps({"format": "gatepass-upload/1", "batch_id": "batch-surrogate", "content_hash": "0" * 64,
                       "report": _report([row]), "entries": [row]})
    resp = _post(central, token, gzip.compress(body.encode()))
    assert resp.status_code == 422 and "entries.0.reason" in resp.json()["detail"]


def test_rows_claiming_another_gate_are_filed_under_the_devices_own_gate(central):
    token_a = central.add_device("gate-a", community="c1", gate_id="north")
    central.add_device("gate-b", community="c1", gate_id="south")
    rows = [entry(1, "gate-b", "south", time.time()), entry(2, "gate-a", "north", time.time())]
    assert _upload(central, token_a, rows).status_code == 200
    stored = _stored(central, "gate-a")
    assert [r["gate_id"] for r in stored] == ["north", "north"]  # the south gate's traces and reports get nothing
    assert json.loads(stored[0]["corrections"]) == {"gate_id": "south"} and stored[1]["corrections"] is None
    assert central.db.execute("SELECT COUNT(*) FROM entries WHERE gate_id = 'south'").fetchone()[0] == 0


def test_a_device_registered_without_a_gate_is_its_own_gate(central):
    token = central.add_device("gate-x")
    assert _upload(central, token, [entry(1, "gate-x", "south", time.time())]).status_code == 200
    assert _stored(central, "gate-x")[0]["gate_id"] == "gate-x"


def test_an_absurd_temperature_is_stored_as_no_reading(central):
    token = central.add_device("gate-a", gate_id="north")
    assert _upload(central, token, [entry(1, "gate-a", "north", time.time(), temp_c=1e300)]).status_code == 200
    stored = _stored(central, "gate-a")[0]
    assert stored["temp_c"] is None and json.loads(stored["corrections"]) == {"temp_c": 1e300}


# -- item 6: integers beyond 64 bits and other impossible numbers get 422 with a reason, never 500 ------------------

@pytest.mark.parametrize("where,field,value", [
    ("entry", "seq", 2**63), ("entry", "seq", 2**64 + 5), ("entry", "person", 2**63), ("entry", "person", -1),
    ("entry", "pass_id", 2**70), ("report", "list_version", 2**63), ("report", "pending_min_seq", 2**63),
    ("report", "backlog", 10**30), ("report", "last_seq", 2**63), ("report", "pending_min_seq", 50)])
def test_integers_out_of_range_get_422_with_the_field_named(central, where, field, value):
    token = central.add_device("gate-a")
    row = _row(1, "gate-a", "g", **({field: value} if where == "entry" else {}))
    resp = _upload(central, token, [row], **({field: value} if where == "report" else {}))
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["detail"]
    assert _stored(central, "gate-a") == []


@pytest.mark.parametrize("since", [str(2**63), str(2**64), "99999999999999999999999", "-1", "1e3", "²"])
def test_changes_with_a_cursor_out_of_range_gets_422(central, since):
    token = central.add_device("gate-a")
    resp = httpx.get(central.url + "/api/v1/changes", params={"since": since}, timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422 and resp.json()["detail"]


def test_the_largest_cursor_is_served(central):
    token = central.add_device("gate-a")
    resp = httpx.get(central.url + "/api/v1/changes", params={"since": str(2**63 - 1)}, timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


# -- item 4: an inflating upload is refused before it is parsed ------------------------------------------------------

def test_a_32_kib_gzip_of_32_mib_of_empty_objects_is_refused_with_413(central):
    token = central.add_device("gate-a")
    body = b'{"entries":[' + b"{}," * (32 * 1024 * 1024 // 3) + b"{}]}"
    bomb = gzip.compress(body, 9)
    assert len(bomb) < 64 * 1024
    resp = _post(central, token, bomb)
    assert resp.status_code == 413 and "decompressed" in resp.json()["detail"]


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_a_body_under_the_size_cap_with_millions_of_items_is_refused_before_parsing(central, encoding):
    token = central.add_device("gate-a")
    body = b'{"entries":[' + b"{}," * ((MAX_BODY_BYTES - 100) // 3) + b"{}]}"
    assert len(body) <= MAX_BODY_BYTES
    resp = _post(central, token, gzip.compress(body) if encoding == "gzip" else body, encoding)
    assert resp.status_code == 413 and "objects/arrays" in resp.json()["detail"]
