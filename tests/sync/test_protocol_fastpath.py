"""The upload decoder's fast path (validated from the bytes, hashed over the entries as sent): it accepts and
refuses exactly what the full path does, gives the same models, and a gate's body always takes it."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import protocol
from sync.protocol import (
    ProtocolError,
    canonical,
    content_hash,
    decode_upload,
    encode_upload,
    parse_json,
)
from tests.sync.test_protocol import REPORT, _row, entries_st, upload_values

HOLE = "@@hostile@@"  # a value the body builder replaces by a raw JSON token


def _reference_decode(raw: bytes) -> protocol.UploadBody:
    """decode_upload as it was before the fast path (the full path, no gzip)."""
    protocol.check_item_counts(raw)
    try:
        data = parse_json(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"upload is not valid JSON: {exc}") from None
    body = protocol._validated(data)
    if content_hash(data["entries"]) != body.content_hash:
        raise ProtocolError("upload content hash does not match its entries (corrupted in transit?)")
    seqs = [e.seq for e in body.entries]
    if len(set(seqs)) != len(seqs):
        raise ProtocolError("upload holds the same seq twice")
    return body


def _outcome(decode: Any, raw: bytes) -> tuple[str, str]:
    """("ok", the model with every value's type) or ("refused", the reason)."""
    try:
        body = decode(raw)
    except ProtocolError as exc:
        return "refused", str(exc)
    return "ok", repr(upload_values(body))  # repr tells 1 from 1.0 and 0.0 from -0.0


TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E2", "1.0", "0.0", "-0", "-0.0", "1.5",
          str(2**63 - 1), str(2**63), str(2**64), str(-2**63 - 1), "1" * 30, "true", "false", "null", '"1"', "[]", "{}",
          '"\\ud800"', '"a\\udc00"', '"\\u0000"', '"\\u00e9"', '"é"', '"\\/"', "[" * 200 + "]" * 200,
          "[" * 5000 + "]" * 5000, '"' + "x" * 300 + '"', " 1 ", "01", "1.", ".5", "+1", "'a'",
          # the fast path's twins (msgspec): a final newline against a pattern's $, bounds counted in characters
          '"u-1\\n"', '"u-1\n"', '"gatepass-upload/1\\n"', '"' + "é" * 200 + '"', '"' + "é" * 201 + '"',
          '"' + "\U0001F600" * 64 + '"', '"' + "\U0001F600" * 65 + '"', '"' + "x" * 64 + '"', '"' + "x" * 65 + '"',
          "1e308", "-1.7976931348623157e308", "2e308", "4.9e-324", "1e-400"]
ENTRY_KEYS = sorted(_row(1))
REPORT_KEYS = [*sorted(REPORT), "faults", "trusted_now", "retained_from_seq", "lists_issued_at"]


def _build(entries: list[dict], report: dict, *, hash_mode: str, layout: str, bom: bool, dup: str | None,
           token: str) -> bytes:
    """An upload body (not gzipped) with ``HOLE`` replaced by ``token`` wherever it was put."""
    ent = canonical(entries).replace(canonical(HOLE), token.encode("utf-8", "surrogatepass"))
    if dup == "seq-after":  # a second "seq" in the first row, after the first one (the parsers keep the last)
        ent = ent.replace(b',"uuid":', b',"seq":7,"uuid":', 1)
    elif dup == "seq-before":
        ent = ent.replace(b'{"boot_id":', b'{"seq":7,"boot_id":', 1)
    rep = canonical(report).replace(canonical(HOLE), token.encode("utf-8", "surrogatepass"))
    if hash_mode == "slice":
        digest = hashlib.sha256(ent).hexdigest()
    elif hash_mode == "parsed":
        try:
            digest = content_hash(json.loads(ent))
        except (ValueError, RecursionError, TypeError):
            digest = "0" * 64
    else:
        digest = "0" * 64
    if layout == "gate":
        body = (b'{"batch_id":"batch-123456","content_hash":"' + digest.encode() + b'","entries":' + ent +
                b',"format":"gatepass-upload/1","report":' + rep + b"}")
    else:
        body = (b'{"format": "gatepass-upload/1", "entries": ' + ent + b', "report": ' + rep +
                b', "content_hash": "' + digest.encode() + b'", "batch_id": "batch-123456"}')
    return (b"\xef\xbb\xbf" if bom else b"") + body


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    entries = [dict(e) for e in draw(entries_st.filter(bool))]
    report = {**REPORT, "last_seq": 10**9}
    where = draw(st.sampled_from(["entry", "report", "drop-entry", "drop-report", "none"]))
    if where == "entry":
        entries[draw(st.integers(0, len(entries) - 1))][draw(st.sampled_from(ENTRY_KEYS))] = HOLE
    elif where == "report":
        report[draw(st.sampled_from(REPORT_KEYS))] = HOLE
    elif where == "drop-entry":
        entries[0].pop(draw(st.sampled_from(ENTRY_KEYS)))
    elif where == "drop-report":
        report.pop(draw(st.sampled_from(sorted(REPORT))))
    return _build(entries, report, hash_mode=draw(st.sampled_from(["slice", "parsed", "wrong"])),
                  layout=draw(st.sampled_from(["gate", "gate", "other"])), bom=draw(st.booleans()),
                  dup=draw(st.sampled_from([None, None, "seq-after", "seq-before"])),
                  token=draw(st.sampled_from(TOKENS)))


@settings(max_examples=600, deadline=None)
@given(raw=bodies())
def test_the_fast_path_accepts_and_refuses_what_the_full_path_does(raw):
    """Same refusal (and reason) and the same model, value types included; the one difference allowed is a
    body whose hash is over its entries' bytes as sent but not over their canonical re-encoding (accepted now)."""
    new, old = _outcome(lambda r: decode_upload(r, None), raw), _outcome(_reference_decode, raw)
    if new != old and old[0] == "refused" and "content hash" in old[1]:
        at, end = raw.index(b'"entries":') + len(b'"entries":'), raw.rindex(b',"format":')
        assert hashlib.sha256(raw[at:end]).hexdigest() == protocol.UploadBody.model_validate_json(raw).content_hash
        if new[0] == "refused":  # past the hash, the one check left refuses it (CI's Hypothesis run found one)
            assert new[1] == "upload holds the same seq twice"
            return
        assert new[1] == repr(upload_values(protocol._validated(parse_json(raw))))
        return
    assert new == old


@settings(max_examples=60, deadline=None)
@given(entries=entries_st)
def test_a_gates_body_takes_the_fast_path_and_round_trips(entries):
    raw = encode_upload("batch-123456", entries, {**REPORT, "last_seq": 10**9})
    before = dict(protocol.decode_paths)
    body = decode_upload(raw, "gzip")
    assert protocol.decode_paths["fast"] == before["fast"] + 1 and protocol.decode_paths["full"] == before["full"]
    assert repr(upload_values(body)) == repr(upload_values(_reference_decode(gzip.decompress(raw))))


def _gate_body(rows: list[dict]) -> bytes:
    return gzip.decompress(encode_upload("batch-123456", rows, {**REPORT, "last_seq": 10**9}))


def test_a_gates_body_is_hashed_as_sent_not_re_encoded():
    """An entry whose canonical re-encoding differs from its bytes (1.0e9 is re-encoded as 1000000000.0): the
    fast path hashes the bytes as sent and accepts; the full path alone would have refused it."""
    raw = _gate_body([_row(1)])
    sent = raw.replace(b'"wall_ts":1790000001.0', b'"wall_ts":1.790000001e9')
    assert sent != raw
    at, end = sent.index(b'"entries":') + 10, sent.rindex(b',"format":')
    old_hash = sent[sent.index(b'"content_hash":"') + 16:][:64]
    sent = sent.replace(old_hash, hashlib.sha256(sent[at:end]).hexdigest().encode())
    with pytest.raises(ProtocolError, match="content hash"):
        _reference_decode(sent)
    body = decode_upload(sent, None)
    assert body.entries[0].wall_ts == 1790000001.0


def test_a_reordered_spaced_body_is_still_accepted_by_the_full_path():
    rows = [_row(1), _row(2)]
    data = {"report": {**REPORT, "last_seq": 10**9}, "entries": rows, "format": "gatepass-upload/1",
            "content_hash": content_hash(rows), "batch_id": "batch-123456"}
    before = dict(protocol.decode_paths)
    body = decode_upload(json.dumps(data, indent=1).encode(), None)
    assert protocol.decode_paths["full"] == before["full"] + 1
    assert [e.seq for e in body.entries] == [1, 2]
    assert repr(upload_values(body)) == repr(upload_values(decode_upload(_gate_body(rows), None)))


def test_a_tampered_slice_is_refused():
    raw = _gate_body([_row(1), _row(2)])
    tampered = raw.replace(b'"reason":"temp_ok"', b'"reason":"temp_no"', 1)
    with pytest.raises(ProtocolError, match="content hash"):
        decode_upload(tampered, None)


def test_a_second_entries_key_in_the_slice_is_hashed_with_the_rows_it_brings():
    """A slice smuggling in a second "entries" key: the parser keeps the last one, which lies in the slice, so the
    hash over the slice covers the rows stored; the hash of the first list alone does not pass."""
    real, decoy = [_row(1)], [_row(2)]
    slice_ = canonical(decoy) + b',"entries":' + canonical(real)
    for digest in (hashlib.sha256(slice_).hexdigest(), content_hash(decoy)):
        raw = (b'{"batch_id":"batch-123456","content_hash":"' + digest.encode() + b'","entries":' + slice_ +
               b',"format":"gatepass-upload/1","report":' + canonical({**REPORT, "last_seq": 10}) + b"}")
        if digest == content_hash(decoy):
            with pytest.raises(ProtocolError, match="content hash"):
                decode_upload(raw, None)
        else:
            assert [e.seq for e in decode_upload(raw, None).entries] == [1]


def test_a_report_that_is_not_canonical_sends_the_body_to_the_full_path():
    rows = [_row(1)]
    raw = _gate_body(rows).replace(b'"report":{"backlog":2', b'"report":{"backlog": 2')
    before = dict(protocol.decode_paths)
    assert decode_upload(raw, None).report.backlog == 2
    assert protocol.decode_paths["full"] == before["full"] + 1


_BOUNDS = ("type", "minLength", "maxLength", "minimum", "maximum", "pattern")


def _bounds(schema: dict) -> object:
    """A property's JSON schema reduced to its types and bounds, as both libraries write them (msgspec's ``\\Z`` read
    as the model's ``$``; the fast path's ±largest-float bounds are the models' ``allow_inf_nan=False``)."""
    if "anyOf" in schema:
        return sorted((_bounds(s) for s in schema["anyOf"]), key=repr)
    out = {k: schema[k] for k in _BOUNDS if k in schema}
    if "pattern" in out:
        out["pattern"] = out["pattern"].replace("\\Z", "$")
    if out.get("type") == "number":
        for k in ("minimum", "maximum"):
            if abs(out.get(k, 0)) == 1.7976931348623157e308:
                del out[k]
    return out


def test_the_fast_paths_rows_have_the_models_fields_and_bounds():
    """EntryStruct is EntryIn written again for msgspec: a field or bound changed in one and not the other would let
    the fast path accept what the full path refuses (or send every gate's body the slow way)."""
    import msgspec

    model = protocol.EntryIn.model_json_schema()
    twin = msgspec.json.schema(protocol.EntryStruct)["$defs"]["EntryStruct"]
    assert set(twin["properties"]) == set(model["properties"])
    assert set(twin.get("required", [])) == set(model.get("required", []))
    for name, schema in model["properties"].items():
        assert _bounds(twin["properties"][name]) == _bounds(schema), name


@settings(max_examples=800, deadline=None)
@given(text=st.text(max_size=30) | st.text(st.characters(codec=None, categories=["Cc", "Cs", "Cn", "Co", "Lo", "So"]),
                                           max_size=8))
def test_bytes_known_clean_hold_no_text_central_cleans(text):
    """What :func:`protocol.clean_json_text` passes holds no character ``central.intake.clean_text`` replaces
    (surrogates encoded raw, as ``canonical`` does for a hostile sender, included)."""
    from central import intake

    raw = protocol.canonical({"reason": text, "household": "幸福里"})
    if protocol.clean_json_text(raw):
        assert not intake.has_unsafe(text)
    if intake.has_unsafe(text):
        assert not protocol.clean_json_text(raw)


@pytest.mark.parametrize("text, clean", [("temp_ok", True), ("幸福里 3-2-401 ✓", True), ("36.5°C", True),
                                         ("a\x07", False), ("\x7f", False), ("\x85", False), ("\ufffe", False),
                                         ("\uffff", False), ("引号\"", False), ("￥5", True)])
def test_a_gates_body_says_whether_its_texts_are_known_clean(text, clean):
    body = decode_upload(encode_upload("batch-123456", [{**_row(1), "reason": text}], REPORT), "gzip")
    assert isinstance(body, protocol.FastUpload) and protocol.texts_known_clean(body) is clean
