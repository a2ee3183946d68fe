"""The rows an upload is stored as (:func:`central.ingest._rows`): a row no intake rule changes is taken as sent,
by one read of its values; every row, taken that way or screened, is what screening it on its own gives."""

from __future__ import annotations

import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from central import ingest, intake, redating
from sync import protocol
from sync.protocol import decode_upload, encode_upload, entry_fields
from tests.sync.test_protocol import REPORT, _row

NOW = REPORT["wall_now"] + 30
DEVICE = {"device_id": "gate-a", "gate_id": "north", "community": "幸福里"}


def _screened_one_by_one(body: protocol.Upload) -> list[list]:
    """Each row through :func:`central.intake.screen` on its own, texts searched: the rule as written."""
    ctx = intake.Context(gate_id="north", now=NOW, report_boot_id=body.report.boot_id,
                         report_mono_now=body.report.mono_now)
    rows = []
    for e in body.entries:
        values = {**entry_fields(e), "device_id": "gate-a", "community": "幸福里", "received_at": NOW,
                  "batch_id": body.batch_id}
        if values["pass_id"] is not None:
            values["pass_id"] = str(values["pass_id"])
        values = intake.screen(values, ctx)
        values["time_source"] = redating.time_source(values["clock_trusted"], values["time_suspect"])
        rows.append([values[c] for c in ingest.ENTRY_COLUMNS])
    return rows


texts = (st.sampled_from(["temp_ok", "幸福里 3-2-401", "a\x07", "\x85", "引号\"", "\ufffe", "°C", ""])
         | st.text(max_size=8))
rows_st = st.lists(st.fixed_dictionaries({
    "gate_id": st.sampled_from(["north", "north", "south", ""]),
    "wall_ts": st.sampled_from([NOW - 60, NOW + 86400, NOW + 86401, 0.0, intake.EARLIEST_WALL_TS, -1e300]),
    "temp_c": st.sampled_from([None, 36.5, -50.0, 100.0, 100.5, -1e9]),
    "pass_id": st.one_of(st.none(), st.integers(0, 10**12), st.text("0123456789", max_size=6)),
    "clock_trusted": st.integers(0, 1), "reason": texts, "household": st.one_of(st.none(), texts)}),
    min_size=1, max_size=6)


def _body(changes: list[dict], full: bool) -> protocol.Upload:
    entries = [{**_row(i + 1), "wall_ts": NOW - 100, **c} for i, c in enumerate(changes)]
    raw = encode_upload("batch-123456", entries, REPORT)
    if full:  # the full path's model rows (a body the fast path does not take)
        return protocol._full_decode(gzip.decompress(raw))
    return decode_upload(raw, "gzip")


@settings(max_examples=300, deadline=None)
@given(changes=rows_st, full=st.booleans())
def test_each_row_is_stored_as_screening_it_alone_gives(changes, full):
    body = _body(changes, full)
    assert repr(ingest._rows(DEVICE, body, NOW)) == repr(_screened_one_by_one(body))


def test_a_gates_ordinary_batch_is_taken_as_sent_without_a_search_of_its_texts(monkeypatch):
    body = _body([{"household": "幸福里 3-2-401"}, {"pass_id": 7}], full=False)
    assert protocol.texts_known_clean(body)
    monkeypatch.setattr(intake, "any_unsafe_text", lambda rows: (_ for _ in ()).throw(AssertionError("searched")))
    monkeypatch.setattr(intake, "screen", lambda *a, **k: (_ for _ in ()).throw(AssertionError("screened")))
    rows = ingest._rows(DEVICE, body, NOW)
    assert [r[ingest.ENTRY_COLUMNS.index("pass_id")] for r in rows] == ["1", "7"]
    assert {r[ingest.ENTRY_COLUMNS.index("time_source")] for r in rows} == {redating.GATE_TRUSTED}
