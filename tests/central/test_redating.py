"""Central dates a gate's entries by the best time it knows (issue 21): rows stamped on an untrusted clock are
re-dated by a later trusted time of the same boot (:mod:`central.redating`).

The rule on plain data, then a real central on loopback (SQLite and PostgreSQL) fed real HTTP uploads, traced by
date through the console's own query.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central import redating
from central.console import tracing
from sync.protocol import encode_upload
from tests.central.console.data import entry
from tests.sync.helpers import Central

NOW = 1_795_000_000.0
POINT = redating.TrustedPoint("boot-a", wall=NOW - 3600, mono=10_000.0)


def _row(**over):
    base = {"seq": 1, "boot_id": "boot-a", "wall_ts": 3_700.0, "mono_ts": 9_000.0, "corrections": None,
            "time_suspect": 0, "time_source": redating.UNTRUSTED}
    return {**base, **over}


# -- the rule ----------------------------------------------------------------------------------------------------


def test_an_untrusted_row_is_dated_by_the_trusted_time_of_its_boot_less_the_monotonic_time_between():
    assert redating.redated(9_000.0, POINT) == NOW - 3600 - 1000
    out = redating.corrected_row(_row(), POINT, NOW)
    assert out is not None
    assert (out["wall_ts"], out["time_source"], out["time_suspect"]) == (NOW - 4600, "corrected_by_anchor", 0)
    assert json.loads(out["corrections"]) == {"wall_ts": 3_700.0}


def test_the_gates_own_stamp_is_kept_when_intake_already_replaced_it():
    before = _row(wall_ts=NOW - 10, time_suspect=1, time_source=redating.CENTRAL_RECEIVE,
                  corrections=json.dumps({"gate_id": "x", "wall_ts": 3_700.0}))
    out = redating.corrected_row(before, POINT, NOW)
    assert out is not None and json.loads(out["corrections"]) == {"gate_id": "x", "wall_ts": 3_700.0}


def test_rows_of_another_boot_already_dated_or_dated_into_nonsense_are_left_alone():
    assert redating.corrected_row(_row(boot_id="boot-b"), POINT, NOW) is None
    assert redating.corrected_row(_row(time_source=redating.GATE_TRUSTED), POINT, NOW) is None
    assert redating.corrected_row(_row(time_source=redating.CORRECTED_BY_ANCHOR), POINT, NOW) is None
    assert redating.corrected_row(_row(mono_ts=-1e12), POINT, NOW) is None  # would land before 2020


def test_the_freshest_point_of_each_boot_wins_and_the_source_follows_the_screening():
    a1, a2 = redating.TrustedPoint("a", 10.0, 1.0), redating.TrustedPoint("a", 20.0, 2.0)
    assert redating.latest_points([a2, a1, redating.TrustedPoint("b", 5.0, 9.0)]) == {
        "a": a2, "b": redating.TrustedPoint("b", 5.0, 9.0)}
    assert [redating.time_source(t, s) for t, s in [(1, 0), (0, 0), (0, 1), (1, 1)]] == [
        "gate_trusted", "untrusted", "central_receive", "central_receive"]


@settings(max_examples=200, deadline=None)
@given(mono=st.floats(0, 1e7), wall=st.floats(1.6e9, 1.8e9), pmono=st.floats(0, 1e7))
def test_re_dating_keeps_the_monotonic_spacing_and_is_idempotent(mono, wall, pmono):
    point = redating.TrustedPoint("boot-a", wall, pmono)
    out = redating.corrected_row(_row(mono_ts=mono), point, NOW)
    if out is None:
        return
    assert abs((point.wall - out["wall_ts"]) - (point.mono - mono)) < 1e-3
    assert redating.corrected_row(out, point, NOW) is None


# -- a real central ----------------------------------------------------------------------------------------------


@pytest.fixture
def central(tmp_path, central_database):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _upload(central: Central, token: str, rows: list[dict], **report) -> None:
    last = max(r["seq"] for r in rows)
    base = {"boot_id": "boot-now", "mono_now": 50.0, "wall_now": time.time(), "list_version": 0, "backlog": 0,
            "last_seq": last, "pending_min_seq": last + 1, "software_version": "t"}
    body = encode_upload(uuid.uuid4().hex, rows, {**base, **report})
    resp = httpx.post(central.url + "/api/v1/upload", content=body, timeout=60,
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})
    assert resp.status_code == 200, resp.text


def _stored(central: Central, device_id: str) -> dict[int, dict]:
    cur = central.db.execute("SELECT * FROM entries WHERE device_id = ? ORDER BY seq", [device_id])
    cols = [d[0] for d in cur.description]
    return {row[cols.index("seq")]: dict(zip(cols, row, strict=True)) for row in cur.fetchall()}


def _traced(central: Central, pass_id: str, since: float, until: float) -> list[float]:
    return [p["wall_ts"] for p in tracing.trace(central.db, "pass_id", pass_id, since, until, 0).passages]


def test_a_gate_at_1970_is_found_by_date_at_its_true_times_once_a_trusted_time_of_its_boot_arrives(central):
    """The gate booted at 1970 (boot A) and stamped two entries untrusted; it rebooted (boot B) before its uplink
    came back, so central could only date them by its receive time. The backlog's next batch holds a row boot A
    stamped once central's signed time had anchored it: central re-dates the 1970 rows by it."""
    token = central.add_device("gate-1970", community="Garden", gate_id="north")
    true_anchor = time.time() - 3 * 3600  # boot A learnt central's time three hours ago, at monotonic 1000
    early = [entry(1, "gate-1970", "north", 3_600.0 + 400, mono_ts=400.0, boot_id="boot-A", clock_trusted=0,
                   sys_ts=3_600.0 + 400, pass_id="P-7"),
             entry(2, "gate-1970", "north", 3_600.0 + 700, mono_ts=700.0, boot_id="boot-A", clock_trusted=0,
                   sys_ts=3_600.0 + 700, pass_id="P-7")]
    _upload(central, token, early, boot_id="boot-B", mono_now=30.0)
    window = (true_anchor - 3600, true_anchor + 60)
    assert _traced(central, "P-7", *window) == []  # dated by central's receive time, hours off
    assert {r["time_source"] for r in _stored(central, "gate-1970").values()} == {"central_receive"}

    anchored = entry(3, "gate-1970", "north", true_anchor, mono_ts=1000.0, boot_id="boot-A", clock_trusted=1,
                     sys_ts=3_600.0 + 1000, pass_id="P-8")
    _upload(central, token, [anchored], boot_id="boot-B", mono_now=40.0)

    assert _traced(central, "P-7", *window) == pytest.approx([true_anchor - 600, true_anchor - 300], abs=1e-3)
    rows = _stored(central, "gate-1970")
    assert [rows[s]["time_source"] for s in (1, 2, 3)] == ["corrected_by_anchor"] * 2 + ["gate_trusted"]
    assert json.loads(rows[1]["corrections"])["wall_ts"] == 4_000.0  # the gate's own stamp is kept
    assert rows[1]["sys_ts"] == 4_000.0 and rows[1]["time_suspect"] == 0
    _upload(central, token, [anchored], boot_id="boot-B", mono_now=41.0)  # a re-send changes nothing
    assert _stored(central, "gate-1970") == rows


def test_a_clock_an_hour_behind_is_re_dated_by_the_reports_trusted_time_of_the_same_boot(central):
    """Plausible but untrusted stamps (an hour behind, before NTP) are kept as the gate sent them until a trusted
    time of their boot arrives: here the report's ``trusted_now`` (central's signed time carried forward)."""
    token = central.add_device("gate-behind", community="Garden", gate_id="south")
    now = time.time()
    rows = [entry(1, "gate-behind", "south", now - 3600 - 120, mono_ts=880.0, boot_id="boot-C", clock_trusted=0,
                  pass_id="P-9")]
    _upload(central, token, rows, boot_id="boot-C", mono_now=1000.0)
    assert _stored(central, "gate-behind")[1]["time_source"] == "untrusted"
    _upload(central, token, rows, boot_id="boot-C", mono_now=1000.0, trusted_now=now)
    stored = _stored(central, "gate-behind")[1]
    assert stored["wall_ts"] == pytest.approx(now - 120, abs=1e-3) and stored["time_source"] == "corrected_by_anchor"
    assert _traced(central, "P-9", now - 600, now) == pytest.approx([now - 120], abs=1e-3)


def test_re_dating_an_upload_reads_only_the_undated_rows_not_every_row_of_the_device(tmp_path):
    """Re-dating runs inside every upload: its look-up of undated rows must use the partial index of those rows.
    With the states bound as parameters the engine could not, and walked every row the device ever sent (the
    drain of a backlog grew quadratic). Counted in SQLite virtual-machine steps, with 4,000 rows held against 40."""
    from central import db as centraldb
    from central import ingest

    def steps(rows: int) -> int:
        db = centraldb.open_db(tmp_path / f"c{rows}.db")
        ingest.add_device(db, "g", gate_id="g")
        now = time.time()
        cols = ["device_id", "seq", "uuid", "gate_id", "wall_ts", "mono_ts", "boot_id", "clock_trusted", "event",
                "direction", "decision", "reason", "fever", "priority", "hash", "prev_hash", "community",
                "received_at", "batch_id", "time_suspect", "time_source"]
        db.insert_ignore_many("entries", cols, [["g", i, str(uuid.uuid4()), "g", now, float(i), "b", 1, "scan",
                                                 "in", "pass", "ok", 0, 0, "h", "p", "", now, "x", 0,
                                                 "gate_trusted"] for i in range(1, rows + 1)])
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0

        db.conn.set_progress_handler(count, 1)
        redating.redate_device(db, "g", now)
        db.conn.set_progress_handler(None, 1)
        db.close()
        return counted[0]

    assert steps(4000) < 3 * steps(40) + 100
