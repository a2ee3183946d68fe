"""The upload wire format shared by the device's sync client and the central server.

An upload is one gzip-compressed JSON object (``Content-Encoding: gzip``)::

    {"format": "gatepass-upload/1",
     "batch_id": "<uuid4 hex>",            # new for every batch the device builds; kept for its re-sends
     "content_hash": "<sha256 hex>",       # over the canonical JSON of "entries"
     "report": {"boot_id": ..., "mono_now": s, "wall_now": unix s, "list_version": V, "backlog": n,
                "last_seq": n, "pending_min_seq": n, "software_version": "0.1.0",
                "lists_issued_at": unix s | null,
                "faults": [{"code": "thermometer", "since": unix s}, ...] | null},
     "entries": [<rows of the local log, as LocalLog.pending() returns them>]}

``pending_min_seq`` is the smallest seq the device has not yet seen confirmed (``last_seq + 1``
when nothing is pending): central raises a gap alarm only for seqs below it that it lacks.
``faults`` (optional: older devices leave it out) lists the gate's device faults now open, each with the
device's wall time it began; an empty list means nothing is faulted.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sync.errors import SyncError

FORMAT = "gatepass-upload/1"
MAX_BODY_BYTES = 32 * 1024 * 1024  # decompressed; a batch is far smaller (batch_bytes)


class ProtocolError(SyncError):
    """An upload body cannot be read: bad gzip, bad JSON, wrong shape or a wrong content hash."""


def canonical(value: Any) -> bytes:
    """The one JSON encoding both sides hash: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(entries: list[dict[str, Any]]) -> str:
    """SHA-256 hex over the canonical JSON of a batch's entries."""
    return hashlib.sha256(canonical(entries)).hexdigest()


MAX_FAULTS = 20  # a longer list is cut to its first MAX_FAULTS (a heartbeat detail never stops an upload)


class DeviceFault(BaseModel):
    """One open fault of the gate's devices (its fault board's code) and since when (device wall time, unix s)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    code: str = Field(min_length=1, max_length=40)
    since: float


class Report(BaseModel):
    """What the device says about itself with every upload."""

    model_config = ConfigDict(extra="forbid")

    boot_id: str = Field(max_length=100)
    mono_now: float
    wall_now: float
    list_version: int = Field(ge=0)
    backlog: int = Field(ge=0)
    last_seq: int = Field(ge=0)
    pending_min_seq: int = Field(ge=1)
    software_version: str = Field(max_length=50)
    lists_issued_at: float | None = None  # central's time of the last list page the device applied (unix s)
    faults: list[DeviceFault] | None = None  # None: not reported (older devices); []: nothing faulted

    @field_validator("faults", mode="before")
    @classmethod
    def _first_faults(cls, value: object) -> object:
        """At most :data:`MAX_FAULTS` faults are kept; the rest are dropped before they are parsed."""
        return value[:MAX_FAULTS] if isinstance(value, list) else value


class EntryIn(BaseModel):
    """One uploaded local-log row (columns of ``sync.locallog``'s ``entries`` minus ``synced*``)."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    uuid: str = Field(min_length=1, max_length=64)
    device_id: str
    gate_id: str
    wall_ts: float
    mono_ts: float
    boot_id: str
    clock_trusted: int = Field(ge=0, le=1)
    event: str = Field(max_length=20)
    pass_id: int | str | None = None
    household: str | None = None
    person: int | None = None
    pass_kind: str | None = None
    visitor_ref: str | None = None
    direction: str = Field(max_length=10)
    temp_c: float | None = None
    temps: str | None = None
    decision: str = Field(max_length=10)
    reason: str = Field(max_length=100)
    guard_id: str | None = None
    override_reason: str | None = None
    ref_uuid: str | None = None
    fever: int = Field(ge=0, le=1)
    priority: int = Field(ge=0, le=1)
    extra: str | None = None
    extra_hash: str | None = None
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class UploadBody(BaseModel):
    """A decoded, validated upload."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(pattern="^gatepass-upload/1$")
    batch_id: str = Field(min_length=8, max_length=64, pattern="^[0-9A-Za-z_-]+$")
    content_hash: str = Field(pattern="^[0-9a-f]{64}$")
    report: Report
    entries: list[EntryIn] = Field(max_length=10000)


def encode_upload(batch_id: str, entries: list[dict[str, Any]], report: dict[str, Any]) -> bytes:
    """The gzip-compressed body of one upload."""
    body = {"format": FORMAT, "batch_id": batch_id, "content_hash": content_hash(entries),
            "report": report, "entries": entries}
    return gzip.compress(canonical(body), compresslevel=6)


def _gunzip(raw: bytes) -> bytes:
    """Decompress with a hard limit on the output size (a gzip bomb is refused, not expanded)."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = d.decompress(raw, MAX_BODY_BYTES + 1)
    if len(out) > MAX_BODY_BYTES or d.unconsumed_tail:
        raise ProtocolError(f"upload larger than {MAX_BODY_BYTES} bytes decompressed")
    if not d.eof:
        raise ProtocolError("upload gzip stream is truncated")
    return out


def decode_upload(raw: bytes, content_encoding: str | None) -> UploadBody:
    """Parse an upload body; raises :class:`ProtocolError` with the reason for anything wrong."""
    encoding = (content_encoding or "identity").strip().lower()
    try:
        if encoding == "gzip":
            raw = _gunzip(raw)
        elif encoding != "identity":
            raise ProtocolError(f"unsupported Content-Encoding {content_encoding!r} (use gzip)")
        elif len(raw) > MAX_BODY_BYTES:
            raise ProtocolError(f"upload larger than {MAX_BODY_BYTES} bytes")
    except (OSError, EOFError, zlib.error) as exc:
        raise ProtocolError(f"upload is not valid gzip: {exc}") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"upload is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ProtocolError("upload is not an object with an 'entries' list")
    try:
        body = UploadBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"upload field {where}: {first['msg']} ({exc.error_count()} problem(s))") from None
    if content_hash(data["entries"]) != body.content_hash:
        raise ProtocolError("upload content hash does not match its entries (corrupted in transit?)")
    seqs = [e.seq for e in body.entries]
    if len(set(seqs)) != len(seqs):
        raise ProtocolError("upload holds the same seq twice")
    return body


def to_ranges(seqs: list[int]) -> list[list[int]]:
    """Sorted inclusive ``[first, last]`` ranges covering ``seqs``."""
    ranges: list[list[int]] = []
    for s in sorted(set(seqs)):
        if ranges and s == ranges[-1][1] + 1:
            ranges[-1][1] = s
        else:
            ranges.append([s, s])
    return ranges


def from_ranges(ranges: Any) -> set[int]:
    """The seqs covered by ``[[first, last], ...]``; raises :class:`ProtocolError` if malformed."""
    out: set[int] = set()
    if not isinstance(ranges, list):
        raise ProtocolError("ranges must be a list")
    for item in ranges:
        if (not isinstance(item, list) or len(item) != 2 or not all(type(x) is int for x in item)
                or item[0] > item[1] or item[1] - item[0] > 1_000_000):
            raise ProtocolError(f"bad range {item!r}")
        out.update(range(item[0], item[1] + 1))
    return out
