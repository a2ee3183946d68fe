"""The upload wire format shared by the device's sync client and the central server.

An upload is one gzip-compressed JSON object (``Content-Encoding: gzip``)::

    {"format": "gatepass-upload/1",
     "batch_id": "<uuid4 hex>",            # new for every batch the device builds; kept for its re-sends
     "content_hash": "<sha256 hex>",       # over the canonical JSON of "entries"
     "report": {"boot_id": ..., "mono_now": s, "wall_now": unix s, "list_version": V, "backlog": n,
                "last_seq": n, "pending_min_seq": n, "software_version": "0.1.0",
                "lists_issued_at": unix s | null,
                "faults": [{"code": "thermometer", "since": unix s}, ...] | null,
                "trusted_now": unix s | null,
                "retained_from_seq": n},
     "entries": [<rows of the local log, as LocalLog.pending() returns them>]}

The body is written as ``canonical`` writes it (sorted keys, no spaces, :func:`encode_upload`), and the content hash
is the SHA-256 of the entries' canonical JSON, which is then the very bytes between ``"entries":`` and
``,"format":``. Central checks it there, on the bytes as sent, when the body has exactly that layout (no
re-encoding of every row; :func:`decode_upload`), else over the canonical JSON of the entries as parsed; a body
either check passes is accepted. A batch id re-sent with other content is refused (``central.ingest``): a hash over
the bytes as sent identifies the content as well as one over the re-encoding (see :func:`_fast_decode`).

``pending_min_seq`` is the smallest seq the device has not yet seen confirmed (``last_seq + 1``
when nothing is pending): central raises a gap alarm only for seqs below it that it lacks.
``faults`` (optional: older devices leave it out) lists the gate's device faults now open, each with the
device's wall time it began; an empty list means nothing is faulted. ``trusted_now`` (optional) is the gate's
trusted time at ``mono_now`` (central's signed time carried on the monotonic clock of boot ``boot_id``): central
re-dates that boot's untrusted rows by it even before a trusted row arrives.
``retained_from_seq`` (optional: older gates leave it out, and a gate leaves it out for a central that refuses it
with 422) is the first seq the gate still retains (at most ``pending_min_seq``): after a central restore, central
asks the gate to send again only what it lacks from there on (``central.resync``); the reply's ``open_gaps``
(gate seq ranges) are what central asks for.

What central refuses before it stores anything (:func:`decode_upload`, each with a reason):

* a body over :data:`MAX_BODY_BYTES` once inflated (inflated in one bounded step, never further), or with more
  JSON containers or values than a batch of :data:`MAX_ENTRIES` rows can hold (counted on the bytes before
  anything is parsed, so a small body of ``{},{},...`` is never turned into millions of objects):
  :class:`UploadTooLargeError` (HTTP 413);
* a number that is NaN or infinite anywhere, an integer outside signed 64 bits (seq, person, list_version,
  pending_min_seq, ...), a time in the report outside ``[0, MAX_TIME_S]`` (no real clock says that), a
  ``pending_min_seq`` above ``last_seq + 1``, an over-long text: :class:`ProtocolError` (HTTP 422).

An entry's ``wall_ts`` is the gate's best estimate of its time, ``clock_trusted`` whether it was trusted,
``sys_ts`` (optional: older gates leave it out) the raw system wall time, and ``boot_id`` with ``mono_ts`` where it
sits on the gate's monotonic clock (central re-dates untrusted rows by them, ``central.redating``).
An entry's ``wall_ts`` and ``sys_ts`` are only required to be finite: a gate whose clock is wrong is still a gate
whose entries must reach central. Central flags an implausible one on the way in (``central.intake``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import msgspec
import pydantic_core
from msgspec import Meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sync.errors import SyncError

FORMAT = "gatepass-upload/1"
#: Largest upload body, compressed or inflated (bytes). A batch is far smaller: the client's ``batch_bytes`` is at
#: most :data:`MAX_BATCH_BYTES`, and one row is at most a few tens of KiB (the text limits below).
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 10000
MAX_FAULTS = 20  # a longer list is cut to its first MAX_FAULTS (a heartbeat detail never stops an upload)
#: JSON objects and arrays one body may hold: the body, its report, the entries list, the rows, the faults.
MAX_CONTAINERS = MAX_ENTRIES + 4 * MAX_FAULTS + 10
#: JSON values (counted by their separators) one body may hold: about 30 fields per row plus the report.
MAX_VALUES = 32 * MAX_ENTRIES + 1000
#: Largest integer anywhere in an upload (the central columns are signed 64-bit).
MAX_INT = 2**63 - 1
#: Latest time a device clock may report (unix s, about the year 5138); no real clock gets there.
MAX_TIME_S = 1e11
#: Largest uploaded ``extra`` (canonical JSON of an entry's details; a shift summary is the longest).
MAX_EXTRA_CHARS = 64 * 1024


class ProtocolError(SyncError):
    """An upload body cannot be read: bad gzip, bad JSON, wrong shape or a wrong content hash."""


class UploadTooLargeError(ProtocolError):
    """An upload body inflates past :data:`MAX_BODY_BYTES` or holds more JSON items than a batch can."""


def canonical(value: Any) -> bytes:
    """The one JSON encoding both sides hash: sorted keys, no spaces, UTF-8 (a lone surrogate, which only a
    hostile sender has, is encoded as is rather than failing: central refuses or cleans it, never crashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8",
                                                                                                "surrogatepass")


def content_hash(entries: list[dict[str, Any]]) -> str:
    """SHA-256 hex over the canonical JSON of a batch's entries."""
    return hashlib.sha256(canonical(entries)).hexdigest()


#: an entry's uuid (a UUIDv7 from a gate: sync.entryid): the key both ends match on
UUID_PATTERN = "^[0-9A-Za-z_.:-]{1,64}$"
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
Seq = Annotated[int, Field(ge=1, le=MAX_INT - 1)]  # pending_min_seq may be last_seq + 1
DeviceTime = Annotated[float, Field(ge=0, le=MAX_TIME_S)]
Text = Annotated[str, Field(max_length=200)]


class DeviceFault(BaseModel):
    """One open fault of the gate's devices (its fault board's code) and since when (device wall time, unix s)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    code: str = Field(min_length=1, max_length=40)
    since: DeviceTime


class Report(BaseModel):
    """What the device says about itself with every upload (times finite and within ``[0, MAX_TIME_S]``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    boot_id: str = Field(max_length=100)
    mono_now: DeviceTime
    wall_now: DeviceTime
    list_version: Count
    backlog: Count
    last_seq: Annotated[int, Field(ge=0, le=MAX_INT - 1)]
    pending_min_seq: Annotated[int, Field(ge=1, le=MAX_INT)]
    software_version: str = Field(max_length=50)
    lists_issued_at: DeviceTime | None = None  # central's time of the last list page the device applied (unix s)
    faults: list[DeviceFault] | None = None  # None: not reported (older devices); []: nothing faulted
    trusted_now: DeviceTime | None = None  # central's signed time carried to mono_now (None: not anchored this boot)
    # issue 19, after a central restore: the first seq the gate still retains (None: not reported, older gates)
    retained_from_seq: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None

    @field_validator("faults", mode="before")
    @classmethod
    def _first_faults(cls, value: object) -> object:
        """At most :data:`MAX_FAULTS` faults are kept; the rest are dropped before they are parsed."""
        return value[:MAX_FAULTS] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _pending_after_last(self) -> Report:
        """The first seq still pending is at most one past the last seq written (else a false gap alarm)."""
        if self.pending_min_seq > self.last_seq + 1:
            raise ValueError(f"pending_min_seq {self.pending_min_seq} is above last_seq + 1 ({self.last_seq + 1})")
        if self.retained_from_seq is not None and self.retained_from_seq > self.pending_min_seq:
            raise ValueError(f"retained_from_seq {self.retained_from_seq} is above pending_min_seq "
                             f"({self.pending_min_seq}): a gate never drops an entry central does not hold")
        return self


class EntryIn(BaseModel):
    """One uploaded local-log row (columns of ``sync.locallog``'s ``entries`` minus ``synced*``).

    Numbers are finite and integers fit 64 bits; texts are bounded. Control characters and an implausible
    ``wall_ts`` are not refused here: central stores the row with them flagged (``central.intake``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    seq: Seq
    uuid: str = Field(pattern=UUID_PATTERN)
    device_id: Text
    gate_id: Text
    wall_ts: float  # the gate's best estimate of the time (see clock_trusted)
    sys_ts: float | None = None  # the raw system wall time (optional: older gates do not send it)
    mono_ts: float
    boot_id: Text
    clock_trusted: int = Field(ge=0, le=1)
    event: str = Field(max_length=20)
    pass_id: Annotated[int, Field(ge=0, le=MAX_INT)] | Annotated[str, Field(max_length=64)] | None = None
    household: Text | None = None
    person: Count | None = None
    pass_kind: Text | None = None
    visitor_ref: Text | None = None
    direction: str = Field(max_length=10)
    temp_c: float | None = None
    temps: Annotated[str, Field(max_length=2000)] | None = None
    decision: str = Field(max_length=10)
    reason: str = Field(max_length=100)
    guard_id: Text | None = None
    override_reason: Text | None = None
    ref_uuid: str | None = Field(None, pattern=UUID_PATTERN)
    fever: int = Field(ge=0, le=1)
    priority: int = Field(ge=0, le=1)
    extra: Annotated[str, Field(max_length=MAX_EXTRA_CHARS)] | None = None
    extra_hash: str | None = Field(None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class UploadBody(BaseModel):
    """A decoded, validated upload."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(pattern="^gatepass-upload/1$")
    batch_id: str = Field(min_length=8, max_length=64, pattern="^[0-9A-Za-z_-]+$")
    content_hash: str = Field(pattern="^[0-9a-f]{64}$")
    report: Report
    entries: list[EntryIn] = Field(max_length=MAX_ENTRIES)


# -- the fast path's twins (msgspec): what it accepts is a subset of what the models accept, with the same values ------

_MAX_FLOAT = 1.7976931348623157e308  # finite: an infinity (1e999) or NaN is refused, as allow_inf_nan=False does
_Finite = Annotated[float, Meta(ge=-_MAX_FLOAT, le=_MAX_FLOAT)]
_Int64 = Annotated[int, Meta(ge=0, le=MAX_INT)]


# \Z, not $: msgspec matches with re, where $ also matches before a final newline (pydantic-core's does not)
_Uuid = Annotated[str, Meta(pattern=UUID_PATTERN.removesuffix("$") + r"\Z")]
_T10 = Annotated[str, Meta(max_length=10)]
_T20 = Annotated[str, Meta(max_length=20)]
_T64 = Annotated[str, Meta(max_length=64)]
_T100 = Annotated[str, Meta(max_length=100)]
_T200 = Annotated[str, Meta(max_length=200)]
_T2000 = Annotated[str, Meta(max_length=2000)]
_TExtra = Annotated[str, Meta(max_length=MAX_EXTRA_CHARS)]
_Flag = Annotated[int, Meta(ge=0, le=1)]


class EntryStruct(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`EntryIn` for the fast path (the same fields and bounds; stricter where msgspec is: no ``1.0`` for an
    integer, no ``true`` for a number, no text for a number; whatever it refuses goes the full way)."""

    seq: Annotated[int, Meta(ge=1, le=MAX_INT - 1)]
    uuid: _Uuid
    device_id: _T200
    gate_id: _T200
    wall_ts: _Finite
    mono_ts: _Finite
    boot_id: _T200
    clock_trusted: _Flag
    event: _T20
    direction: _T10
    decision: _T10
    reason: _T100
    fever: _Flag
    priority: _Flag
    prev_hash: _T64
    hash: _T64
    sys_ts: _Finite | None = None
    pass_id: _Int64 | _T64 | None = None
    household: _T200 | None = None
    person: _Int64 | None = None
    pass_kind: _T200 | None = None
    visitor_ref: _T200 | None = None
    temp_c: _Finite | None = None
    temps: _T2000 | None = None
    guard_id: _T200 | None = None
    override_reason: _T200 | None = None
    ref_uuid: _Uuid | None = None
    extra: _TExtra | None = None
    extra_hash: _T64 | None = None


class _BodyStruct(msgspec.Struct, forbid_unknown_fields=True):
    format: Annotated[str, Meta(pattern=r"^gatepass-upload/1\Z")]
    batch_id: Annotated[str, Meta(min_length=8, max_length=64, pattern=r"^[0-9A-Za-z_-]+\Z")]
    content_hash: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}\Z")]
    report: msgspec.Raw  # read by the Report model itself: its validators are the one place of its rules
    entries: Annotated[list[EntryStruct], Meta(max_length=MAX_ENTRIES)]


_BODY_DECODER = msgspec.json.Decoder(_BodyStruct)


class Entry(Protocol):
    """What central reads of an uploaded row by name: an :class:`EntryIn` or the fast path's :class:`EntryStruct`
    (all its fields: :func:`entry_fields`)."""

    @property
    def seq(self) -> int: ...
    @property
    def uuid(self) -> str: ...
    @property
    def boot_id(self) -> str: ...
    @property
    def clock_trusted(self) -> int: ...
    @property
    def wall_ts(self) -> float: ...
    @property
    def mono_ts(self) -> float: ...
    @property
    def event(self) -> str: ...
    @property
    def gate_id(self) -> str: ...
    @property
    def temp_c(self) -> float | None: ...


class Upload(Protocol):
    """A decoded, validated upload: an :class:`UploadBody` or the fast path's :class:`FastUpload`."""

    @property
    def batch_id(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def report(self) -> Report: ...
    @property
    def entries(self) -> Sequence[Entry]: ...


@dataclass(frozen=True)
class FastUpload:
    """An upload the fast path read (:func:`_fast_decode`): its rows as :class:`EntryStruct`."""

    batch_id: str
    content_hash: str
    report: Report
    entries: list[EntryStruct]
    texts_clean: bool = False  # no text of its entries holds a character central cleans (:func:`clean_json_text`)


#: In UTF-8 JSON a string can hold a control character (C0 or C1), a lone surrogate or U+FFFE/U+FFFF only as an
#: escape (a backslash) or as the raw bytes of DEL, of U+0080-U+009F, of a surrogate or of U+FFFE/U+FFFF (a raw C0
#: byte is not JSON at all). Each multi-byte pattern starts at its character's lead byte, so no other character
#: matches it.
_UNCLEAN_MULTIBYTE = re.compile(rb"\xc2[\x80-\x9f]|\xed[\xa0-\xbf]|\xef\xbf[\xbe\xbf]")


def clean_json_text(raw: bytes) -> bool:
    """Whether no string of the JSON ``raw`` can hold a character ``central.intake.clean_text`` replaces (see
    :data:`_UNCLEAN_MULTIBYTE`): a few byte searches in C, the pattern only when a lead byte it starts with is there.
    A body with any escape at all is simply not known clean. Lets central skip looking at each text of a batch as a
    gate writes it."""
    if b"\\" in raw or b"\x7f" in raw:
        return False
    if b"\xc2" not in raw and b"\xed" not in raw and b"\xef\xbf" not in raw:
        return True
    return _UNCLEAN_MULTIBYTE.search(raw) is None


def texts_known_clean(body: Upload) -> bool:
    """Whether the decoder found, from the bytes, that no text of ``body``'s entries needs cleaning (only the fast
    path looks: False says nothing)."""
    return isinstance(body, FastUpload) and body.texts_clean


def entry_fields(entry: Entry) -> dict[str, Any]:
    """Every field of an uploaded row by name (a dict of its own for an :class:`EntryStruct`; an :class:`EntryIn`'s
    own ``__dict__``, what ``model_dump()`` gives at a tenth the cost: the caller must not change it)."""
    if isinstance(entry, EntryStruct):
        return msgspec.structs.asdict(entry)
    return entry.__dict__


#: gzip level of an upload: level 1 deflates a batch of log rows ~2.7 times faster than level 6 for ~12 % more bytes
#: (measured on 500 rows: 48 KB against 43 KB), and the encoding is the device's largest cost in a drain.
GZIP_LEVEL = 1


def encode_upload(batch_id: str, entries: list[dict[str, Any]], report: dict[str, Any], *,
                  entries_json: bytes | None = None) -> bytes:
    """The gzip-compressed body of one upload: ``canonical`` of the whole body, built around the canonical JSON of
    ``entries`` encoded once (``entries_json``, when the caller has it already: it must be ``canonical(entries)``,
    e.g. :attr:`sync.locallog.OutBatch.json`), for the content hash and for the body alike."""
    if entries_json is None:
        entries_json = canonical(entries)
    return gzip.compress(upload_head(batch_id, entries_json) + canonical(report) + b"}", compresslevel=GZIP_LEVEL)


def upload_head(batch_id: str, entries_json: bytes) -> bytes:
    """An upload body up to its report (what :func:`encode_upload` writes before ``canonical(report)`` and the
    closing brace), with the content hash of ``entries_json`` (which must be the entries' canonical JSON). The keys
    in sorted order, as canonical() writes them: batch_id, content_hash, entries, format, report."""
    digest = hashlib.sha256(entries_json).hexdigest()
    return b"".join((b'{"batch_id":', canonical(batch_id), b',"content_hash":"', digest.encode(), b'","entries":',
                     entries_json, b',"format":', canonical(FORMAT), b',"report":'))


def _gunzip(raw: bytes) -> bytes:
    """Inflate in one step bounded to :data:`MAX_BODY_BYTES` + 1 bytes of output: a gzip bomb is refused after
    that much, never expanded further."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = d.decompress(raw, MAX_BODY_BYTES + 1)
    if len(out) > MAX_BODY_BYTES or d.unconsumed_tail:
        raise UploadTooLargeError(f"upload larger than {MAX_BODY_BYTES} bytes decompressed")
    if not d.eof:
        raise ProtocolError("upload gzip stream is truncated")
    return out


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def check_item_counts(raw: bytes) -> None:
    """Refuse (:class:`UploadTooLargeError`) a JSON text holding more objects and arrays than
    :data:`MAX_CONTAINERS` or more values than :data:`MAX_VALUES`, counted on the bytes with the strings taken out
    (C-speed passes, memory at most the size of ``raw``): parsing ``{},{},...`` would cost ~30 times its size.

    The counts with the strings left in are upper bounds of the exact ones: when they are within the limits (any
    real batch), the exact count (a regular-expression pass, the costlier one) is not needed."""
    if (raw.count(b"{") + raw.count(b"[") <= MAX_CONTAINERS and raw.count(b",") <= MAX_VALUES):
        return
    bare = _JSON_STRING.sub(b"", raw)
    containers = bare.count(b"{") + bare.count(b"[")
    if containers > MAX_CONTAINERS:
        raise UploadTooLargeError(f"upload holds {containers} JSON objects/arrays, more than a batch of "
                                  f"{MAX_ENTRIES} entries can ({MAX_CONTAINERS})")
    values = bare.count(b",")  # one per value after the first of each object or array
    if values > MAX_VALUES:
        raise UploadTooLargeError(f"upload holds about {values} JSON values, more than a batch of {MAX_ENTRIES} "
                                  f"entries can ({MAX_VALUES})")


def _inflate(raw: bytes, content_encoding: str | None) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    try:
        if encoding == "gzip":
            return _gunzip(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ProtocolError(f"upload is not valid gzip: {exc}") from None
    if encoding != "identity":
        raise ProtocolError(f"unsupported Content-Encoding {content_encoding!r} (use gzip)")
    if len(raw) > MAX_BODY_BYTES:
        raise UploadTooLargeError(f"upload larger than {MAX_BODY_BYTES} bytes")
    return raw


def _validated(data: Any) -> UploadBody:
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ProtocolError("upload is not an object with an 'entries' list")
    try:
        return UploadBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"upload field {where}: {first['msg']} ({exc.error_count()} problem(s))") from None


def parse_json(raw: bytes) -> Any:
    """``json.loads(raw)``, the same values, parsed by pydantic-core's JSON parser (a third less time on a batch)
    when it can; whatever it does not take (a lone surrogate, a byte-order mark, a nesting past its limit, bad
    JSON) goes to ``json.loads``, which accepts or refuses it as before."""
    try:
        return pydantic_core.from_json(raw)
    except ValueError:
        return json.loads(raw)


#: How many bodies :func:`decode_upload` took by its fast path (validated from the bytes, hashed over the entries as
#: sent) and by the full one; for tests and benchmarks (counts only: no lock, a lost increment is harmless).
decode_paths = {"fast": 0, "full": 0}

_SUFFIX = b',"format":' + canonical(FORMAT) + b',"report":'


def _entries_as_sent(raw: bytes, body: Upload) -> bytes | None:
    """The bytes of ``raw`` between ``"entries":`` and the format, when ``raw`` has exactly the layout
    :func:`encode_upload` writes (``{"batch_id":<id>,"content_hash":"<hex>","entries":`` + those bytes +
    ``,"format":"gatepass-upload/1","report":`` + the canonical JSON of one report + ``}``), else None."""
    prefix = b'{"batch_id":' + canonical(body.batch_id) + b',"content_hash":"' + body.content_hash.encode() + \
        b'","entries":'
    at = raw.rfind(_SUFFIX)
    if not raw.startswith(prefix) or at < len(prefix) or not raw.endswith(b"}"):
        return None
    report = raw[at + len(_SUFFIX):-1]
    try:
        if canonical(json.loads(report)) != report:
            return None
    except (ValueError, RecursionError):
        return None
    return raw[len(prefix):at]


def _fast_decode(raw: bytes) -> FastUpload | None:
    """The upload validated straight from the bytes (msgspec, into :class:`EntryStruct` rows: about a third of
    pydantic's time; the report by its pydantic model) with its content hash taken over the entries as sent (no
    re-encoding); None when either does not hold, whatever the reason (then :func:`_full_decode` reads the body as
    it always did, refusal texts included). Every body it accepts the full path accepts too, with the same values
    (``tests/sync/test_protocol_fastpath.py`` checks that on generated bodies).

    Why the hash over the slice still identifies a batch's content (what ``central.ingest`` relies on to refuse a
    batch id re-sent with other content): the layout check fixes every byte outside the slice to the prefix
    (batch id and hash, both already bound by the check) and to a suffix holding exactly one JSON value, the
    report. The prefix ends right after ``"entries":``, a point where any JSON value may begin, so the parser
    reads the slice the same whatever comes before it, and every value the parser can take for ``entries`` (the
    last of them should the slice smuggle in a second ``"entries"`` key) lies inside the slice: the parsed
    entries are a function of the slice's bytes alone. Equal hashes therefore mean equal slices (SHA-256) and so
    equal entries. For a gate's body the slice *is* the canonical JSON of the entries, so the hash is the one the
    full path computes; a body whose slice is not canonical (spaces, escapes, a duplicate key) but whose hash is
    over that slice is accepted too, and it can only clash with itself."""
    try:
        decoded = _BODY_DECODER.decode(raw)
        body = FastUpload(decoded.batch_id, decoded.content_hash, Report.model_validate_json(bytes(decoded.report)),
                          decoded.entries)
    except Exception:  # noqa: BLE001 - any failure here only means "take the full path"
        return None
    sent = _entries_as_sent(raw, body)
    if sent is None or hashlib.sha256(sent).hexdigest() != body.content_hash:
        return None
    return FastUpload(body.batch_id, body.content_hash, body.report, body.entries, clean_json_text(sent))


def _full_decode(raw: bytes) -> UploadBody:
    """The upload parsed to Python values, validated, and its content hash checked over the canonical JSON of its
    parsed entries."""
    try:
        data = parse_json(raw)  # NaN, Infinity: refused by the models, with the field's name
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"upload is not valid JSON: {exc}") from None
    body = _validated(data)
    if content_hash(data["entries"]) != body.content_hash:
        raise ProtocolError("upload content hash does not match its entries (corrupted in transit?)")
    return body


def decode_upload(raw: bytes, content_encoding: str | None) -> Upload:
    """Parse an upload body; raises :class:`ProtocolError` with the reason for anything wrong
    (:class:`UploadTooLargeError` when it is too big to be a batch; see the module docstring).

    A body as a gate writes it takes the fast path (:func:`_fast_decode`); anything else, and anything the fast path
    does not take for whatever reason, the full one, which accepts and refuses exactly as before."""
    raw = _inflate(raw, content_encoding)
    check_item_counts(raw)
    body: Upload | None = _fast_decode(raw)
    if body is None:
        decode_paths["full"] += 1
        body = _full_decode(raw)
    else:
        decode_paths["fast"] += 1
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


def held_of(ranges: Any, sent: set[int]) -> set[int]:
    """Of the seqs ``sent`` in a batch, those an upload reply's ``held`` ranges cover. Nothing outside the batch
    is ever returned, whatever the reply claims, and a reply's ranges are never expanded (a range of 10^18 seqs
    costs no more than one of 1). Raises :class:`ProtocolError` for a malformed list."""
    if not isinstance(ranges, list):
        raise ProtocolError("ranges must be a list")
    bounds: list[tuple[int, int]] = []
    for item in ranges:
        if not isinstance(item, list) or len(item) != 2 or not all(type(x) is int for x in item) or item[0] > item[1]:
            raise ProtocolError(f"bad range {str(item)[:80]}")
        bounds.append((item[0], item[1]))
    bounds.sort()
    out: set[int] = set()
    i = 0
    for s in sorted(sent):
        while i < len(bounds) and bounds[i][1] < s:
            i += 1
        if i == len(bounds):
            break
        if bounds[i][0] <= s:
            out.add(s)
    return out
