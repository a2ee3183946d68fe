"""Every console page and export stays up whatever a (compromised) gate managed to store.

The rows are written straight into the database (no device API in between: its validation is another layer),
with times out of range or not finite, huge integers, control characters, and heartbeats whose numbers are
Infinity, NaN or text. Each page must answer 200 and show such a value as "时间异常" / "invalid time"; each export
must open (openpyxl for XLSX).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
import uuid as uuidlib

import openpyxl
import pytest

from central.console import exports
from central.console.timeutil import fmt, fmt_input, zone
from tests.central.console.conftest import start_central, stop_central
from tests.central.console.data import entry, ingest_entries
from tests.pgserver import new_central_target

BAD_TIMES = [2.6e11, 1e300, -1e300, math.inf, -math.inf]
CONTROL = "a\x01b\x07c\x1b[31m\x7f\x0b\x0cd"  # no NUL: PostgreSQL text cannot hold it (SQLite gets one below)
INT64_MAX = 2**63 - 1


def _insert(db, row: dict) -> None:
    cols = list(row)
    db.execute(f"INSERT INTO entries ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
               [row[c] for c in cols])


def _template(db) -> dict:
    cur = db.execute("SELECT * FROM entries WHERE device_id = 'dev-h' ORDER BY seq LIMIT 1")
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def _hostile_entries(db, backend: str) -> None:
    now = time.time()
    ingest_entries(db, "dev-h", "Hostile", [entry(1, "dev-h", "gate-h", now - 7200, pass_id="900",
                                                  household="H-1", person=1)])
    base = _template(db)
    seq = 100
    nul = "" if backend == "postgresql" else "\x00"

    def add(**fields) -> None:
        nonlocal seq
        seq += 1
        _insert(db, {**base, "seq": seq, "uuid": str(uuidlib.uuid4()), **fields})

    for ts in BAD_TIMES + ([math.nan] if backend == "postgresql" else []):
        add(wall_ts=ts, pass_id="900", household="H-1")
    recent = now - 3600
    add(wall_ts=recent, household=CONTROL + nul, pass_id="=HYPERLINK(\"http://x\")", person=INT64_MAX,
        guard_id="\x1f-g", visitor_ref="\x02v", community="Hostile\x03", reason="temp_ok\x01")
    add(wall_ts=recent + 1, temp_c=math.inf, fever=1, decision="refuse", reason="fever", pass_id="900",
        household="H-1")
    add(wall_ts=recent + 2, temp_c=1e300, pass_id="901", household="H-2", person=-INT64_MAX)
    add(wall_ts=recent + 3, temp_c=-math.inf, decision="refuse", reason="quarantined", pass_id="902",
        household="H-3", direction="out")
    add(wall_ts=recent + 4, event="override", guard_id="g\x01", override_reason="medical\x02", pass_id="902",
        household="H-3", reason="override", extra="[" * 50_000)
    add(wall_ts=recent + 5, event="shift_end", decision="info", reason="shift_end", extra=json.dumps(
        {"started_at": 1e300, "ended_at": -1e300, "entries": 2**70, "refusals": {"fever\x01": 1},
         "overrides": [{"reason": "medical", "note": "n\x01", "at": math.inf}],
         "faults": [{"code": "camera\x02", "since": -math.inf, "until": math.nan}]}))
    add(wall_ts=recent + 6, event="shift_end", decision="info", reason="shift_end", extra="[" * 50_000)
    add(wall_ts=recent + 7, reason="temp_high", decision="refuse", temp_c=math.nan if backend == "postgresql"
        else 1e308, pass_id="903", household="H-4")
    if backend == "sqlite":  # SQLite keeps what it is given whatever the column's type
        add(wall_ts=recent + 8, temp_c="hot", person="someone", pass_id="904", fever="yes")


def _hostile_devices(db) -> None:
    now = time.time()
    ingest_entries(db, "dev-x", "Hostile", [entry(1, "dev-x", "gate-x", now - 60)])
    ingest_entries(db, "dev-y", "Hostile", [entry(1, "dev-y", "gate-y", now - 60)])
    ingest_entries(db, "dev-z", "Hostile", [entry(1, "dev-z", "gate-z", now - 60)])
    reports = {
        "dev-x": {"wall_now": math.inf, "receive_time": now, "lists_issued_at": -math.inf, "backlog": "lots",
                  "software_version": "1\x01", "faults": [{"code": "camera", "since": 1.0},
                                                         {"code": "disk\x01", "since": -1e308}]},
        "dev-y": {"wall_now": -1e308, "receive_time": 1e308, "lists_issued_at": math.nan, "backlog": 1e400,
                  "faults": [{"code": "thermometer", "since": 1e308}]},
        "dev-z": {"wall_now": "soon", "receive_time": None, "lists_issued_at": "yesterday", "backlog": -(2**80),
                  "faults": [{"code": "relay", "since": 2.6e11}]},
    }
    for dev, rep in reports.items():
        db.execute("UPDATE devices SET last_report = ?, clock_skew_s = ?, last_seen_at = ?, list_version = ? "
                   "WHERE device_id = ?", [json.dumps(rep), math.inf if dev == "dev-x" else -1e300,
                                           1e300 if dev == "dev-y" else -math.inf, INT64_MAX, dev])
    db.execute("INSERT INTO seq_gaps (device_id, from_seq, to_seq, detected_at) VALUES (?, ?, ?, ?)",
               ["dev-x", INT64_MAX - 1, INT64_MAX, math.inf])
    for dev, started, until in (("dev-x", -math.inf, None), ("dev-y", now - 3600, math.inf),
                                ("dev-z", 1e300, None), ("dev-z", now - 7200, -1e300)):
        db.execute("INSERT INTO device_faults (device_id, code, since, started_at, until, seen_at) "
                   "VALUES (?, 'thermometer', ?, ?, ?, ?)", [dev, started, started, until, now])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, central_backend):
    """A central server whose database holds hostile rows next to the normal seed data."""
    tmp = tmp_path_factory.mktemp("hostile")
    url = None if central_backend == "sqlite" else new_central_target(central_backend, tmp)
    c = start_central(tmp, database_url=url)
    _hostile_entries(c.db, central_backend)
    _hostile_devices(c.db)
    yield c
    stop_central(c)


PAGES = ["/", "/entries", "/entries?household=H-1", "/entries?pass_id=900", "/alerts", "/alerts?hours=720",
         "/alerts/table", "/devices", "/shifts", "/shifts?days=90", "/report", "/audit",
         "/trace?kind=pass_id&value=900", "/trace?kind=pass_id&value=902", "/trace?kind=household&value=H-1",
         "/households", "/console/api/entries", "/console/api/alerts?hours=720", "/entries?lang=en",
         "/devices?lang=en"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_despite_hostile_rows(hostile, path):
    with hostile.client("admin") as c:
        r = c.get(path)
        assert r.status_code == 200, r.text[-2000:]
        if path.startswith("/console/api/"):
            json.loads(r.text)  # strict JSON: no NaN / Infinity tokens
            assert "Infinity" not in r.text and "NaN" not in r.text


def test_pages_say_invalid_time_instead_of_crashing(hostile):
    with hostile.client("admin") as c:
        page = c.get("/entries", params={"pass_id": "900"}).text
        assert page.count("时间异常") >= len(BAD_TIMES)
        assert "invalid time" in c.get("/entries", params={"pass_id": "900", "lang": "en"}).text
        devices = c.get("/devices", params={"lang": "zh"}).text
        assert "时间异常" in devices


def test_every_entry_page_can_be_reached_through_the_cursor(hostile):
    with hostile.client("viewer") as c:
        url, seen = "/console/api/entries?limit=1", 0
        for _ in range(200):
            r = c.get(url)
            assert r.status_code == 200, r.text
            seen += len(r.json()["rows"])
            if not r.json()["next_cursor"]:
                break
            url = f"/console/api/entries?limit=1&cursor={r.json()['next_cursor']}"
    total = hostile.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    assert seen == total


EXPORTS = ["/entries/export.xlsx", "/entries/export.csv", "/entries/export.xlsx?household=H-1",
           "/trace/export.xlsx?kind=pass_id&value=900", "/trace/export.csv?kind=pass_id&value=900",
           "/trace/export.xlsx?kind=household&value=H-3", "/report/export.xlsx", "/report/export.csv"]


@pytest.mark.parametrize("path", EXPORTS)
def test_every_export_opens_despite_hostile_rows(hostile, path):
    with hostile.client("staff") as c:
        r = c.get(path)
    assert r.status_code == 200, r.text[-2000:]
    if path.split("?")[0].endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
        cells = [v for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row]
        texts = [v for v in cells if isinstance(v, str)]
        assert not any(v.startswith(("=", "+", "-", "@")) for v in texts)
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in cells)
    else:
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows and not any(v.startswith(("=", "+", "-", "@")) for row in rows for v in row)
        assert not any(ch in v for row in rows for v in row for ch in "\x00\x01\x1b")


def test_full_entries_export_names_the_bad_times_and_keeps_the_text(hostile):
    with hostile.client("staff") as c:
        r = c.get("/entries/export.xlsx", params={"pass_id": "900"})
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    times = [row[0] for row in rows]
    assert sum(1 for v in times if str(v).startswith("时间异常")) >= len(BAD_TIMES)


@pytest.mark.parametrize("value", [None, 0.0, 2.6e11, 1e300, -1e300, math.inf, -math.inf, math.nan, "x", 2**70,
                                   True, b"\x00", [1], 253402300800.0, -62135596801.0])
def test_time_formatting_is_total(value):
    tz = zone()
    text = fmt(value, tz)
    assert isinstance(text, str) and isinstance(fmt_input(value, tz), str)
    if value is None:
        assert text == ""
    elif value == 0.0 and not isinstance(value, bool):
        assert text == "1970-01-01 08:00:00"
    else:
        assert text == "时间异常"
        assert fmt(value, tz, invalid="invalid time") == "invalid time"


@pytest.mark.parametrize("value", ["a\x00b", "\x01=1+1", "=cmd", "ok", 1e300, math.inf, math.nan, 2**70, -(2**70),
                                   7, None, "\ud800"])
def test_export_cells_are_always_writable(value):
    cols = [exports.Column("值", "v")]
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx([exports.Table("s", "t", cols, [[value]])], "zh",
                                                             zone())), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    cell = rows[2][0] if len(rows) > 2 and rows[2] else None  # an empty row may not be written at all
    assert not (isinstance(cell, str) and cell.startswith(("=", "+", "-", "@")))
    data = exports.to_csv(exports.Table("s", "t", cols, [[value]]), "zh", zone()).decode("utf-8-sig")
    assert "\x00" not in data and "\x01" not in data


BAD = "数值异常"


@pytest.mark.parametrize(("value", "dec", "whole"), [
    (36.25, "36.2", "36"), (None, "", ""), (-12, "-12.0", "-12"), (1e300, BAD, BAD), (-1e300, BAD, BAD),
    (math.nan, BAD, BAD), ("hot", BAD, BAD), (2**70, BAD, BAD), (True, BAD, BAD)])
def test_number_formatting_is_total_and_short(value, dec, whole):
    from central.console import values

    assert values.decimal(value) == dec
    assert values.whole(value) == whole


def test_the_devices_page_shows_absurd_skews_as_invalid_not_as_300_digits(hostile):
    with hostile.client("viewer") as c:
        page = c.get("/devices").text
    assert "0000000000000000" not in page and "数值异常" in page
