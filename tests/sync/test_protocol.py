"""The upload parser and the range helpers: property tests (bad input gives a reason, never a crash)."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.backoff import full_jitter
from sync.protocol import (
    FORMAT,
    EntryIn,
    ProtocolError,
    Upload,
    decode_upload,
    encode_upload,
    entry_fields,
    from_ranges,
    parse_json,
    to_ranges,
)


def upload_values(body: Upload) -> dict:
    """Every value of a decoded upload as plain data, the same whichever path read it (keys in the models' order):
    what the tests compare the decoder's two paths by."""
    order = list(EntryIn.model_fields)
    return {"format": FORMAT, "batch_id": body.batch_id, "content_hash": body.content_hash,
            "report": body.report.model_dump(),
            "entries": [{name: fields[name] for name in order} for fields in map(entry_fields, body.entries)]}


REPORT = {"boot_id": "b", "mono_now": 1.5, "wall_now": 1_790_000_000.0, "list_version": 3, "backlog": 2,
          "last_seq": 9, "pending_min_seq": 1, "software_version": "0.1.0"}

entries_st = st.lists(st.fixed_dictionaries({
    "seq": st.integers(1, 10**9), "uuid": st.uuids().map(str), "device_id": st.text(max_size=10),
    "gate_id": st.text(max_size=10), "wall_ts": st.floats(-1e10, 1e10), "mono_ts": st.floats(0, 1e9),
    "sys_ts": st.one_of(st.none(), st.floats(-1e10, 1e10)),
    "boot_id": st.text(max_size=36), "clock_trusted": st.integers(0, 1), "event": st.sampled_from(["scan", "visitor"]),
    "pass_id": st.one_of(st.none(), st.integers(0, 10**12), st.text(max_size=12)),
    "household": st.one_of(st.none(), st.text(max_size=20)), "person": st.one_of(st.none(), st.integers(0, 99)),
    "pass_kind": st.none(), "visitor_ref": st.none(), "direction": st.sampled_from(["in", "out"]),
    "temp_c": st.one_of(st.none(), st.floats(30, 45)), "temps": st.none(), "decision": st.sampled_from(["pass"]),
    "reason": st.text(max_size=20), "guard_id": st.none(), "override_reason": st.none(), "ref_uuid": st.none(),
    "fever": st.integers(0, 1), "priority": st.integers(0, 1), "extra": st.one_of(st.none(), st.text(max_size=30)),
    "extra_hash": st.none(), "prev_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
    "hash": st.text("0123456789abcdef", min_size=64, max_size=64)}), max_size=5, unique_by=lambda e: e["seq"])


@settings(max_examples=40, deadline=None)
@given(entries=entries_st)
def test_encode_then_decode_round_trips(entries):
    body = decode_upload(encode_upload("batch-123456", entries, REPORT), "gzip")
    assert body.batch_id == "batch-123456" and body.report.list_version == 3
    assert upload_values(body)["entries"] == [
        {**e, "wall_ts": float(e["wall_ts"]), "mono_ts": float(e["mono_ts"]),
         "sys_ts": None if e["sys_ts"] is None else float(e["sys_ts"])} for e in entries]


def test_an_older_gate_without_the_raw_system_time_still_uploads():
    """``sys_ts`` and the report's ``trusted_now`` are optional: a gate from before them is read as it was."""
    row = {"seq": 1, "uuid": "u-1", "device_id": "d", "gate_id": "g", "wall_ts": 1.79e9, "mono_ts": 5.0,
           "boot_id": "b", "clock_trusted": 1, "event": "scan", "direction": "in", "decision": "pass",
           "reason": "ok", "fever": 0, "priority": 0, "prev_hash": "0" * 64, "hash": "1" * 64}
    body = decode_upload(encode_upload("batch-123456", [row], REPORT), "gzip")
    assert body.entries[0].sys_ts is None and body.report.trusted_now is None
    with_new = decode_upload(encode_upload("batch-123456", [{**row, "sys_ts": 3.5}],
                                           {**REPORT, "trusted_now": 1.79e9}), "gzip")
    assert with_new.entries[0].sys_ts == 3.5 and with_new.report.trusted_now == 1.79e9


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300), encoding=st.sampled_from([None, "gzip", "identity", "br"]))
def test_any_bytes_are_parsed_or_refused_with_a_reason(raw, encoding):
    try:
        body = decode_upload(raw, encoding)
    except ProtocolError as exc:
        assert str(exc)
    else:
        assert body.format == "gatepass-upload/1"


@settings(max_examples=60, deadline=None)
@given(entries=entries_st.filter(bool), pos=st.integers(0), bit=st.integers(0, 7))
def test_a_flipped_bit_never_passes_as_other_content(entries, pos, bit):
    raw = bytearray(gzip.decompress(encode_upload("batch-123456", entries, REPORT)))
    raw[pos % len(raw)] ^= 1 << bit
    try:
        body = decode_upload(bytes(raw), None)
    except ProtocolError:
        return
    # only flips outside the entries (e.g. in the report) may pass; the entries are what was sent
    assert json.loads(json.dumps(upload_values(body)["entries"])) == json.loads(
        json.dumps(upload_values(decode_upload(encode_upload("batch-123456", entries, REPORT), "gzip"))["entries"]))


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"[" + b" " * (40 * 1024 * 1024) + b"]")
    with pytest.raises(ProtocolError, match="larger than"):
        decode_upload(bomb, "gzip")


def test_same_seq_twice_is_refused():
    e = json.loads(json.dumps({"seq": 1, "uuid": "u", "device_id": "d", "gate_id": "g", "wall_ts": 1, "mono_ts": 1,
                               "boot_id": "b", "clock_trusted": 1, "event": "scan", "direction": "in",
                               "decision": "pass", "reason": "ok", "fever": 0, "priority": 0,
                               "prev_hash": "0" * 64, "hash": "1" * 64}))
    with pytest.raises(ProtocolError, match="same seq"):
        decode_upload(encode_upload("batch-123456", [e, {**e, "uuid": "v"}], REPORT), "gzip")


@settings(deadline=None)  # no timing limits in tests (CONTRIBUTING)
@given(st.sets(st.integers(1, 500)))
def test_ranges_round_trip(seqs):
    ranges = to_ranges(list(seqs))
    assert from_ranges(ranges) == seqs
    assert all(a <= b for a, b in ranges) and all(r1[1] + 1 < r2[0] for r1, r2 in zip(ranges, ranges[1:], strict=False))


@settings(deadline=None)  # no timing limits in tests (CONTRIBUTING)
@given(st.recursive(st.one_of(st.integers(-5, 5), st.none(), st.text(max_size=2)), st.lists, max_leaves=8))
def test_bad_ranges_are_refused_cleanly(value):
    try:
        seqs = from_ranges(value)
    except ProtocolError as exc:
        assert "range" in str(exc)
        return
    assert isinstance(value, list) and all(type(s) is int for s in seqs)
    assert seqs == {s for a, b in value for s in range(a, b + 1)}


@settings(deadline=None)  # no timing limits in tests (CONTRIBUTING)
@given(failures=st.integers(0, 100))
def test_backoff_is_full_jitter_under_the_cap(failures):
    wait = full_jitter(failures, 1.0, 300.0)
    assert 0 <= wait <= min(300.0, 2 ** max(failures - 1, 0))


def _with_faults(faults):
    return encode_upload("batch-123456", [], {**REPORT, "faults": faults})


def test_a_report_carries_the_gates_device_faults_and_older_reports_without_them_still_parse():
    body = decode_upload(_with_faults([{"code": "thermometer", "since": 1_790_000_000.0}]), "gzip")
    assert [(f.code, f.since) for f in body.report.faults] == [("thermometer", 1_790_000_000.0)]
    assert decode_upload(_with_faults([]), "gzip").report.faults == []
    assert decode_upload(encode_upload("batch-123456", [], REPORT), "gzip").report.faults is None
    many = [{"code": f"f{i}", "since": 1.0} for i in range(500)]
    assert len(decode_upload(_with_faults(many), "gzip").report.faults) == 20


@settings(max_examples=60, deadline=None)
@given(faults=st.one_of(st.text(max_size=5), st.integers(), st.lists(st.one_of(
    st.none(), st.text(max_size=5), st.dictionaries(st.sampled_from(["code", "since", "x"]), st.one_of(
        st.none(), st.text(max_size=60), st.floats(allow_nan=True, allow_infinity=True), st.booleans())),
    st.fixed_dictionaries({"code": st.text(min_size=1, max_size=40), "since": st.floats(-1e12, 1e12)})),
    max_size=30)))
def test_any_faults_value_is_parsed_or_refused_with_a_reason(faults):
    try:
        body = decode_upload(_with_faults(faults), "gzip")
    except ProtocolError as exc:
        assert "faults" in str(exc)
    else:
        assert all(1 <= len(f.code) <= 40 and abs(f.since) < float("inf") for f in body.report.faults or [])


# -- issue 18: bounds before parsing, 64-bit integers, finite numbers, replies never trusted beyond the batch -------

def _row(seq: int) -> dict:
    return {"seq": seq, "uuid": f"00000000-0000-4000-8000-{seq:012d}", "device_id": "gate-a", "gate_id": "north",
            "wall_ts": 1_790_000_000.0 + seq, "mono_ts": 100.0 + seq, "boot_id": "b" * 36, "clock_trusted": 1,
            "event": "scan", "pass_id": str(seq), "household": "3-2-401", "person": 1, "pass_kind": "resident",
            "visitor_ref": None, "direction": "in", "temp_c": 36.5, "temps": "[36.4,36.5]", "decision": "pass",
            "reason": "temp_ok", "guard_id": None, "override_reason": None, "ref_uuid": None, "fever": 0,
            "priority": 0, "extra": None, "extra_hash": None, "prev_hash": "0" * 64, "hash": "1" * 64}


def test_the_largest_batch_a_gate_may_send_is_accepted():
    from sync.protocol import MAX_BATCH_BYTES, canonical

    rows, size = [], 0
    while size < MAX_BATCH_BYTES:  # as LocalLog.pending cuts a batch: by rows' JSON size
        rows.append(_row(len(rows) + 1))
        size += len(canonical(rows[-1]))
    body = decode_upload(encode_upload("batch-123456", rows, {**REPORT, "last_seq": len(rows)}), "gzip")
    assert len(body.entries) == len(rows) > 3000


def test_a_body_of_empty_objects_is_refused_before_parsing_in_little_memory():
    import time
    import tracemalloc

    from sync.protocol import MAX_BODY_BYTES, UploadTooLargeError

    bomb = gzip.compress(b'{"entries":[' + b"{}," * ((MAX_BODY_BYTES - 100) // 3) + b"{}]}")
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(UploadTooLargeError, match="objects/arrays"):
            decode_upload(bomb, "gzip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_BODY_BYTES  # the inflated bytes and a copy without strings; parsed: ~30 times that
    assert time.process_time() - started < 5


@pytest.mark.parametrize("body", [b"[" + b"0," * 400_000 + b"0]", b"[" + b"[]," * 20_000 + b"[]]",
                                  b'{"a":[' + b'"x",' * 400_000 + b'"x"]}'])
def test_many_small_values_are_refused_before_parsing(body):
    from sync.protocol import UploadTooLargeError

    with pytest.raises(UploadTooLargeError):
        decode_upload(body, None)


def test_commas_and_braces_inside_strings_are_not_counted():
    from sync.protocol import check_item_counts

    check_item_counts(b'{"extra":"' + b"{[,\\\"" * 500_000 + b'"}')


INT_FIELDS = [("entries", "seq"), ("entries", "person"), ("entries", "pass_id"), ("report", "list_version"),
              ("report", "backlog"), ("report", "last_seq"), ("report", "pending_min_seq")]


@settings(max_examples=80, deadline=None)
@given(where=st.sampled_from(INT_FIELDS), value=st.one_of(st.integers(min_value=2**63, max_value=2**200),
                                                         st.integers(max_value=-(2**63) - 1, min_value=-(2**200))))
def test_an_integer_beyond_64_bits_anywhere_is_refused_naming_the_field(where, value):
    part, field = where
    row = _row(1)
    report = {**REPORT, "last_seq": 1, "pending_min_seq": 1}
    (row if part == "entries" else report)[field] = value
    with pytest.raises(ProtocolError, match=field):
        decode_upload(encode_upload("batch-123456", [row], report), "gzip")


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["wall_ts", "mono_ts", "temp_c"]),
       value=st.sampled_from([float("nan"), float("inf"), float("-inf")]))
def test_nan_and_infinity_in_an_entry_are_refused_naming_the_field(field, value):
    with pytest.raises(ProtocolError, match=field):
        decode_upload(encode_upload("batch-123456", [{**_row(1), field: value}], REPORT), "gzip")


@settings(max_examples=300, deadline=None)
@given(ranges=st.lists(st.tuples(st.integers(-5, 60), st.integers(0, 40)).map(lambda t: [t[0], t[0] + t[1]]),
                       max_size=8),
       sent=st.sets(st.integers(1, 50), max_size=20))
def test_held_of_covers_exactly_the_sent_seqs_the_ranges_name(ranges, sent):
    from sync.protocol import held_of

    expected = {s for s in sent if any(a <= s <= b for a, b in ranges)}
    assert held_of(ranges, sent) == expected <= sent


def test_held_of_never_expands_a_huge_range():
    from sync.protocol import held_of

    assert held_of([[1, 10**18], [-(10**18), 0]], {5, 7}) == {5, 7}
    assert held_of([[i, i] for i in range(0, 200_000, 2)], {2, 3, 4}) == {2, 4}


@settings(max_examples=40, deadline=None)
@given(entries=entries_st)
def test_the_body_is_the_canonical_json_whether_or_not_the_rows_come_encoded(entries):
    """The body is built around the rows' JSON encoded once (:class:`sync.locallog.OutBatch`); it is exactly the
    canonical JSON of the whole body, as before, so central's hash check and older centrals read it alike."""
    from sync.locallog import take_batch
    from sync.protocol import canonical, content_hash

    batch = take_batch(entries)
    assert batch.rows == entries and batch.json == canonical(entries)
    plain = gzip.decompress(encode_upload("batch-123456", entries, REPORT))
    assert plain == gzip.decompress(encode_upload("batch-123456", entries, REPORT, entries_json=batch.json))
    assert plain == canonical({"format": "gatepass-upload/1", "batch_id": "batch-123456", "report": REPORT,
                               "content_hash": content_hash(entries), "entries": entries})


def test_a_body_over_the_quick_upper_bound_is_still_counted_exactly():
    """The quick count leaves the strings in; a body whose strings hold many commas and brackets is over that
    bound but within the exact one, and is accepted as before."""
    from sync.protocol import MAX_VALUES, check_item_counts

    text = "[,{" * (MAX_VALUES // 3 + 10)
    raw = json.dumps({"entries": [], "note": text}).encode()
    check_item_counts(raw)  # no exception: the strings are not counted


def _loads_or_error(raw: bytes) -> object:
    try:
        return ("ok", json.loads(raw))
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc))


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=500, deadline=None)
@given(value=_JSON_VALUES, ascii_only=st.booleans())
def test_parse_json_gives_what_json_loads_gives(value, ascii_only):
    """Byte for byte the values json.loads gives (NaN, infinities, big integers, surrogates, non-ASCII): the content
    hash is over their canonical re-encoding."""
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    got, want = parse_json(raw), json.loads(raw)
    assert json.dumps(got) == json.dumps(want) and type(got) is type(want)


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=40) | st.text(alphabet='[]{}",:.0123456789eE+-\\u tnrfalsNIiy\x00\x01\ud800',
                                             max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_parse_json_refuses_what_json_loads_refuses(raw):
    want = _loads_or_error(raw)
    try:
        got: object = ("ok", parse_json(raw))
    except (ValueError, RecursionError) as exc:
        got = ("error", type(exc))
    assert json.dumps(got, default=str) == json.dumps(want, default=str)
