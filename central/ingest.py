"""Central tables of the sync (``devices``, ``entries``, ``seq_gaps``, ``upload_batches``) and the ingest.

Exactly once: every uploaded row is inserted with ``ON CONFLICT DO NOTHING`` on
``(device_id, seq)`` (and ``uuid``), the transaction commits, and only then the
reply tells the device which of its rows central holds. A lost reply means the
device sends the same batch again, which adds nothing.

Device credentials are 256-bit random tokens; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import operator
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from central import daily_counts, faults, intake, redating, resync, vehicles, visitors
from central.db import transaction
from central.errors import CentralError
from central.store import CentralDB
from central.store.migrations import Migrations
from sync.protocol import DeviceFault, Upload, entry_fields, texts_known_clean, to_ranges

log = logging.getLogger(__name__)

CLOCK_SKEW_LIMIT_S = 120.0
LISTS_MAX_AGE_S = 24 * 3600.0  # default of CentralSettings.lists_max_age_h
TOKEN_PREFIX = "gp1_"

#: the columns a row takes as the gate sent it (when no rule of :mod:`central.intake` changes it), then the ones
#: central files it under or works out; together the columns of an ``entries`` insert, in its order
SENT_COLUMNS = (
    "seq", "uuid", "wall_ts", "mono_ts", "boot_id", "clock_trusted", "event", "pass_id", "household", "person",
    "pass_kind", "visitor_ref", "direction", "temp_c", "temps", "decision", "reason", "guard_id", "override_reason",
    "ref_uuid", "fever", "priority", "extra", "extra_hash", "hash", "prev_hash", "sys_ts",
)
FILED_COLUMNS = ("device_id", "gate_id", "community", "received_at", "batch_id", "time_suspect", "corrections",
                 "time_source")
ENTRY_COLUMNS = SENT_COLUMNS + FILED_COLUMNS

_ROW = operator.itemgetter(*ENTRY_COLUMNS)  # a row's values in ENTRY_COLUMNS order
_SENT = operator.attrgetter(*SENT_COLUMNS)  # an uploaded row's values in SENT_COLUMNS order
_PASS_ID = SENT_COLUMNS.index("pass_id")

migrations = Migrations("central-sync")


@migrations()
def m001_sync_tables(db: CentralDB) -> None:
    """Devices, entries, gaps and the batch ledger."""
    db.execute("""
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            community TEXT NOT NULL DEFAULT '',
            gate_id TEXT NOT NULL DEFAULT '',
            token_hash TEXT NOT NULL UNIQUE,  -- sha256 hex of the token; the token is never stored
            created_at REAL NOT NULL,
            revoked_at REAL,
            last_seen_at REAL,
            last_report TEXT,                 -- JSON: the device's last report plus receive_time
            clock_skew_s REAL,                -- device wall clock minus central's, at the last upload (s)
            list_version INTEGER,
            highest_contiguous_seq INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE entries (
            device_id TEXT NOT NULL, seq INTEGER NOT NULL, uuid TEXT NOT NULL UNIQUE, gate_id TEXT NOT NULL,
            wall_ts REAL NOT NULL, mono_ts REAL NOT NULL, boot_id TEXT NOT NULL, clock_trusted INTEGER NOT NULL,
            event TEXT NOT NULL, pass_id TEXT, household TEXT, person INTEGER, pass_kind TEXT, visitor_ref TEXT,
            direction TEXT NOT NULL, temp_c REAL, temps TEXT, decision TEXT NOT NULL, reason TEXT NOT NULL,
            guard_id TEXT, override_reason TEXT, ref_uuid TEXT, fever INTEGER NOT NULL DEFAULT 0,
            priority INTEGER NOT NULL DEFAULT 0, extra TEXT, extra_hash TEXT, hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL, community TEXT NOT NULL DEFAULT '', received_at REAL NOT NULL,
            batch_id TEXT NOT NULL,
            PRIMARY KEY (device_id, seq)
        ) WITHOUT ROWID""")
    for name, cols in (("wall", "wall_ts"), ("gate_wall", "gate_id, wall_ts"), ("household_wall", "household, wall_ts"),
                       ("pass_wall", "pass_id, wall_ts"), ("community_wall", "community, wall_ts")):
        db.execute(f"CREATE INDEX entries_{name} ON entries ({cols})")
    db.execute("CREATE INDEX entries_fever_wall ON entries (wall_ts) WHERE fever = 1")
    db.execute("""
        CREATE TABLE seq_gaps (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            from_seq INTEGER NOT NULL,
            to_seq INTEGER NOT NULL,
            detected_at REAL NOT NULL,
            resolved_at REAL
        )""")
    db.execute("CREATE INDEX seq_gaps_open ON seq_gaps (device_id) WHERE resolved_at IS NULL")
    db.execute("""
        CREATE TABLE upload_batches (
            device_id TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            rows INTEGER NOT NULL,
            first_received_at REAL NOT NULL,
            times_received INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (device_id, batch_id)
        )""")


@migrations()
def m002_device_faults(db: CentralDB) -> None:
    """Fault episodes reported in the gates' heartbeats (see :mod:`central.faults`)."""
    db.execute("""
        CREATE TABLE device_faults (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            code TEXT NOT NULL,               -- the gate's fault code, e.g. thermometer
            since REAL NOT NULL,              -- start on the device's clock, as reported (identifies the episode)
            started_at REAL NOT NULL,         -- start on central's clock
            seen_at REAL NOT NULL,            -- last report listing it
            until REAL                        -- first report no longer listing it (central's clock); NULL: open
        )""")
    db.execute("CREATE INDEX device_faults_open ON device_faults (device_id) WHERE until IS NULL")
    db.execute("CREATE INDEX device_faults_code ON device_faults (code, started_at)")


@migrations()
def m003_entries_ref_index(db: CentralDB) -> None:
    """Entries by the entry they refer to (an override's refusal, a fever's first high reading): the alerts'
    links between them."""
    db.execute("CREATE INDEX entries_ref ON entries (ref_uuid) WHERE ref_uuid IS NOT NULL")


@migrations()
def m004_entry_corrections_and_bound_gates(db: CentralDB) -> None:
    """What central corrected in a row on the way in (:mod:`central.intake`); every device bound to one gate.

    A device registered without a gate id keeps the gate its latest row named (what its rows were filed under so
    far), or its own device id when it has sent none."""
    db.execute("ALTER TABLE entries ADD COLUMN time_suspect INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE entries ADD COLUMN corrections TEXT")
    db.execute("CREATE INDEX entries_time_suspect ON entries (received_at) WHERE time_suspect = 1")
    db.execute("UPDATE devices SET gate_id = COALESCE((SELECT e.gate_id FROM entries e WHERE e.device_id = "
               "devices.device_id AND e.gate_id != '' ORDER BY e.seq DESC LIMIT 1), device_id) WHERE gate_id = ''")


@migrations()
def m005_entry_time_source(db: CentralDB) -> None:
    """The gate's raw system time beside its best estimate (``sys_ts``; NULL from older gates), how ``wall_ts`` was
    obtained (``time_source``, :mod:`central.redating`), and the freshest trusted time of each gate boot
    (``boot_anchors``) by which central re-dates the rows stamped on an untrusted clock."""
    db.execute("ALTER TABLE entries ADD COLUMN sys_ts REAL")
    db.execute("ALTER TABLE entries ADD COLUMN time_source TEXT")
    db.execute("UPDATE entries SET time_source = CASE WHEN time_suspect = 1 THEN 'central_receive' "
               "WHEN clock_trusted = 1 THEN 'gate_trusted' ELSE 'untrusted' END")
    db.execute("CREATE INDEX entries_undated ON entries (device_id, boot_id) "
               "WHERE time_source IN ('untrusted', 'central_receive')")
    db.execute("""
        CREATE TABLE boot_anchors (
            device_id TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            wall REAL NOT NULL,               -- a trusted time of that boot (unix s)
            mono REAL NOT NULL,               -- the gate's monotonic time then (s)
            PRIMARY KEY (device_id, boot_id)
        )""")


@migrations()
def m006_device_log_restarts(db: CentralDB) -> None:
    """How a device's seqs are stored after its log restarted its numbering (:mod:`central.resync`): central's
    seq = the gate's + ``seq_offset``; ``log_reset_at``: when central last saw it restart (NULL: never)."""
    db.execute("ALTER TABLE devices ADD COLUMN seq_offset INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE devices ADD COLUMN log_reset_at REAL")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-sync`` migrations, then the visitors' (:mod:`central.visitors`) which extend them."""
    migrations.apply(db)
    visitors.migrate(db)


class DeviceExistsError(CentralError):
    """A device with this id is already registered."""


class UnknownDeviceError(CentralError):
    """No device with this id is registered."""


class BatchConflictError(CentralError):
    """A batch id arrived again with different content."""


# -- the device registry -----------------------------------------------------------------------


def hash_token(token: str) -> str:
    """SHA-256 hex of a device token (what the registry stores)."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_device(db: CentralDB, device_id: str, *, name: str = "", community: str = "",
               gate_id: str = "", now: float | None = None) -> str:
    """Register a device and return its new token (shown once, never stored).

    Its rows are filed under ``gate_id`` whatever they claim (:mod:`central.intake`); without one, under the
    device id."""
    gate_id = gate_id.strip() or device_id
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    with transaction(db):
        db.lock(f"device:{device_id}")  # PostgreSQL: a concurrent add of the same id gets DeviceExistsError
        if db.execute("SELECT 1 FROM devices WHERE device_id = ?", [device_id]).fetchone():
            raise DeviceExistsError(f"device {device_id!r} is already registered",
                                    "revoke it first or choose another id")
        db.execute("INSERT INTO devices (device_id, name, community, gate_id, token_hash, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [device_id, name, community, gate_id, hash_token(token), time.time() if now is None else now])
    log.info("registered device %s", device_id)
    return token


def revoke_device(db: CentralDB, device_id: str, now: float | None = None) -> None:
    """Revoke a device's credential (its uploads get 401 from now on; its entries stay)."""
    with transaction(db):
        cur = db.execute("UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                         [time.time() if now is None else now, device_id])
        if cur.rowcount == 0 and not db.execute("SELECT 1 FROM devices WHERE device_id = ?",
                                                [device_id]).fetchone():
            raise UnknownDeviceError(f"no device {device_id!r} is registered", "see 'gatepass central devices'")
    log.info("revoked device %s", device_id)


def rotate_token(db: CentralDB, device_id: str) -> str:
    """Give a device a new token (un-revoking it); the old token stops working at once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(db):
        cur = db.execute("UPDATE devices SET token_hash = ?, revoked_at = NULL WHERE device_id = ?",
                         [hash_token(token), device_id])
        if cur.rowcount == 0:
            raise UnknownDeviceError(f"no device {device_id!r} is registered", "see 'gatepass central devices'")
    return token


def authenticate(db: CentralDB, token: str) -> dict[str, Any] | None:
    """The registered, unrevoked device holding ``token``, or None."""
    cur = db.execute("SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL", [hash_token(token)])
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def _behind_since(db: CentralDB, version: int | None) -> float | None:
    """When central first changed its lists after ``version`` (unix s), or None (not behind / no change log)."""
    if not db.table_exists("pass_changes"):  # the passes part (its change log) is not installed
        return None
    return db.execute("SELECT MIN(at) FROM pass_changes WHERE v > ?", [version or 0]).fetchone()[0]


def lists_age(db: CentralDB, row: dict[str, Any], behind: bool, now: float) -> float | None:
    """How old a device's lists are (s): since central issued the last list page the device applied (its
    report's ``lists_issued_at``, central's own clock), or, for a device that does not report it, since
    central's first change the device lacks. None when unknown and not behind."""
    issued = (row.get("last_report") or {}).get("lists_issued_at")
    if isinstance(issued, int | float) and not isinstance(issued, bool):
        return max(0.0, now - float(issued))
    since = _behind_since(db, row.get("list_version")) if behind else None
    return None if since is None else max(0.0, now - since)


def list_devices(db: CentralDB, central_list_version: int | None = None,
                 now: float | None = None, lists_max_age_s: float = LISTS_MAX_AGE_S) -> list[dict[str, Any]]:
    """Every device with its alarms: ``clock_skewed``, ``lists_stale`` (``lists_behind`` central's version or
    ``lists_too_old``: older than ``lists_max_age_s``), ``lists_age_s``, ``behind_since``, ``open_gaps``, and
    ``faults``: its devices' open faults from the last report (None when the gate does not report them)."""
    now = time.time() if now is None else now
    cur = db.execute("SELECT device_id, name, community, gate_id, created_at, revoked_at, last_seen_at, "
                     "last_report, clock_skew_s, list_version, highest_contiguous_seq, seq_offset, log_reset_at "
                     "FROM devices ORDER BY device_id")
    cols = [d[0] for d in cur.description]
    gaps: dict[str, list[list[int]]] = {}
    for dev, a, b in db.execute("SELECT device_id, from_seq, to_seq FROM seq_gaps WHERE resolved_at IS NULL "
                                "ORDER BY device_id, from_seq"):
        gaps.setdefault(dev, []).append([a, b])
    out = []
    for values in cur.fetchall():
        row = dict(zip(cols, values, strict=True))
        row["last_report"] = json.loads(row["last_report"]) if row["last_report"] else None
        row["clock_skewed"] = row["clock_skew_s"] is not None and abs(row["clock_skew_s"]) > CLOCK_SKEW_LIMIT_S
        row["lists_behind"] = (central_list_version is not None and row["list_version"] is not None
                               and row["list_version"] < central_list_version)
        row["behind_since"] = _behind_since(db, row["list_version"]) if row["lists_behind"] else None
        row["lists_age_s"] = lists_age(db, row, row["lists_behind"], now)
        row["lists_too_old"] = row["lists_age_s"] is not None and row["lists_age_s"] > lists_max_age_s
        row["lists_stale"] = row["lists_behind"] or row["lists_too_old"]
        row["open_gaps"] = gaps.get(row["device_id"], [])
        row["backlog"] = (row["last_report"] or {}).get("backlog")
        row["faults"] = _faults_of(row["last_report"])
        out.append(row)
    return out


def _faults_of(report: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The open device faults of a stored report (``code``, ``started_at`` on central's clock); None: not reported."""
    found = faults.open_faults(report)
    return None if found is None else [{"code": f.code, "started_at": f.started_at} for f in found]


def open_gaps(db: CentralDB, device_id: str | None = None) -> list[dict[str, Any]]:
    """Unresolved gaps (entries lost on the device), oldest first."""
    sql = "SELECT device_id, from_seq, to_seq, detected_at FROM seq_gaps WHERE resolved_at IS NULL"
    args: list[Any] = []
    if device_id is not None:
        sql += " AND device_id = ?"
        args.append(device_id)
    cur = db.execute(sql + " ORDER BY detected_at, device_id, from_seq", args)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


# -- the ingest -------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    """What the upload reply tells the device."""

    device_id: str
    highest_contiguous_seq: int
    held: list[list[int]] = field(default_factory=list)        # ranges of this batch's seqs central holds
    conflicts: list[int] = field(default_factory=list)         # seqs central holds with a different uuid
    inserted: int = 0
    duplicates: int = 0
    received_at: float = 0.0
    clock_skew_s: float = 0.0
    open_gaps: list[list[int]] = field(default_factory=list)
    #: central's newest list version, read in the upload's transaction (when asked: ``ingest(lists=True)``)
    central_list_version: int | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        del out["central_list_version"]  # the API puts it in the reply as ``list_version``
        return out


def _advance_contiguous(db: CentralDB, device_id: str, start: int) -> int:
    """The highest seq h >= start such that every seq in 1..h is held (given 1..start is)."""
    h = start
    for (seq,) in db.execute("SELECT seq FROM entries WHERE device_id = ? AND seq > ? ORDER BY seq",
                             [device_id, start]):
        if seq != h + 1:
            break
        h = seq
    return h


def _missing_ranges(db: CentralDB, device_id: str, after: int, before: int) -> list[list[int]]:
    """Ranges of seqs in (after, before) that central does not hold."""
    missing: list[list[int]] = []
    expect = after + 1
    for (seq,) in db.execute("SELECT seq FROM entries WHERE device_id = ? AND seq > ? AND seq < ? ORDER BY seq",
                             [device_id, after, before]):
        if seq > expect:
            missing.append([expect, seq - 1])
        expect = seq + 1
    if expect < before:
        missing.append([expect, before - 1])
    return missing


def _update_gaps(db: CentralDB, device_id: str, missing: list[list[int]], now: float, above: int = 0) -> None:
    """Open a gap alarm for each new missing range; resolve the ones no longer missing. Only the alarms above
    ``above`` (the device's current log, :mod:`central.resync`) are looked at: an earlier log's stay as they are."""
    held_open = {(a, b): gid for gid, a, b in db.execute(
        "SELECT id, from_seq, to_seq FROM seq_gaps WHERE device_id = ? AND resolved_at IS NULL AND from_seq > ?",
        [device_id, above])}
    wanted = {(a, b) for a, b in missing}
    for key, gid in held_open.items():
        if key not in wanted:
            db.execute("UPDATE seq_gaps SET resolved_at = ? WHERE id = ?", [now, gid])
    for a, b in sorted(wanted - held_open.keys()):
        db.execute("INSERT INTO seq_gaps (device_id, from_seq, to_seq, detected_at) VALUES (?, ?, ?, ?)",
                   [device_id, a, b, now])
        log.warning("device %s: entries %d..%d are missing at central and no longer pending on the device "
                    "(lost on the device)", device_id, a, b)


def _held_and_conflicting(db: CentralDB, device_id: str, want: dict[int, str]) -> tuple[list[int], list[int]]:
    """Of the uploaded seqs (``want``: the gate's seq -> uuid), those whose entry central now holds for this device
    (by uuid, under whatever seq: intake is idempotent by uuid), and the others, which clash with an entry of
    another device under that uuid."""
    known = resync.held_at(db, device_id, list(want.values()))
    held = [s for s, u in want.items() if u in known]
    return held, [s for s, u in want.items() if u not in known]


def _rows(device: dict[str, Any], body: Upload, now: float) -> list[list[Any]]:
    """The uploaded rows as central stores them (:data:`ENTRY_COLUMNS`), screened by :mod:`central.intake`:
    filed under the device's registered id, community and gate, implausible values flagged and kept aside.

    A row no rule changes (nearly every one: the registered gate, a plausible time and temperature, and no text to
    clean in the batch) is taken as sent, its values read in one call (:data:`_SENT`); only the others go through
    :func:`central.intake.screen`."""
    device_id = device["device_id"]
    gate_id = device.get("gate_id") or device_id
    ctx = intake.Context(gate_id=gate_id, now=now, report_boot_id=body.report.boot_id,
                         report_mono_now=body.report.mono_now)
    # one search for the whole batch (none at all when the decoder saw no text to clean in the bytes)
    texts = not texts_known_clean(body) and intake.any_unsafe_text([entry_fields(e) for e in body.entries])
    community = device.get("community") or ""
    filed = {"device_id": device_id, "community": community, "received_at": now, "batch_id": body.batch_id}
    earliest, latest = intake.EARLIEST_WALL_TS, now + intake.FUTURE_SLACK_S
    low, high = intake.TEMP_RANGE_C
    trusted_row = [device_id, gate_id, community, now, body.batch_id, 0, None, redating.GATE_TRUSTED]
    untrusted_row = [*trusted_row[:-1], redating.UNTRUSTED]
    rows, corrected, suspect = [], 0, 0
    for e in body.entries:
        temp = e.temp_c
        if (not texts and e.gate_id == gate_id and earliest <= e.wall_ts <= latest
                and (temp is None or low <= temp <= high)):
            row = list(_SENT(e))
            if type(row[_PASS_ID]) is int:
                row[_PASS_ID] = str(row[_PASS_ID])
            row += trusted_row if e.clock_trusted else untrusted_row
            rows.append(row)
            continue
        values = {**entry_fields(e), **filed}
        if values["pass_id"] is not None:
            values["pass_id"] = str(values["pass_id"])
        values = intake.screen(values, ctx, texts=texts, in_place=True)  # values: a dict of its own
        values["time_source"] = redating.time_source(values["clock_trusted"], values["time_suspect"])
        corrected += values["corrections"] is not None
        suspect += values["time_suspect"]
        rows.append(list(_ROW(values)))
    if corrected:
        log.warning("device %s: %d uploaded entries corrected on the way in (%d with an implausible time; "
                    "originals kept in entries.corrections)", device_id, corrected, suspect)
    return rows


def trusted_points(body: Upload, now: float) -> list[redating.TrustedPoint]:
    """The trusted times this upload tells of, with their boot and monotonic time: of its rows the gate stamped on a
    trusted clock (plausible by central's clock ``now``) the freshest of each boot (only those are kept:
    :func:`central.redating.note_points`), and the report's ``trusted_now``."""
    freshest: dict[str, Any] = {}  # per boot, its trusted row with the greatest monotonic time (all others lose)
    for e in body.entries:
        best = freshest.get(e.boot_id)
        if e.clock_trusted and (best is None or e.mono_ts > best.mono_ts) and intake.plausible_time(e.wall_ts, now):
            freshest[e.boot_id] = e
    points = [redating.TrustedPoint(e.boot_id, e.wall_ts, e.mono_ts) for e in freshest.values()]
    r = body.report
    if r.trusted_now is not None and intake.plausible_time(r.trusted_now, now):
        points.append(redating.TrustedPoint(r.boot_id, r.trusted_now, r.mono_now))
    return points


def _faults(report: dict[str, Any]) -> list[DeviceFault] | None:
    """The report's faults (texts cleaned) for :func:`central.faults.record`."""
    found = report.get("faults")
    return None if found is None else [DeviceFault.model_construct(**f) for f in found]


def _note_batch(db: CentralDB, device_id: str, body: Upload, rows: int, now: float,
                prior: str | None) -> None:
    """Record the batch in the ledger (``prior``: the content hash an earlier batch of this id left there, read by
    :func:`_device_state`); :class:`BatchConflictError` if its id came before with other content."""
    if prior is not None and prior != body.content_hash:
        raise BatchConflictError(f"batch {body.batch_id} was received before with different content")
    # a heartbeat (a report, no rows) has nothing to protect: no ledger row (one a minute per gate)
    if rows and prior is None:
        db.execute("INSERT INTO upload_batches (device_id, batch_id, content_hash, rows, first_received_at) "
                   "VALUES (?, ?, ?, ?, ?)", [device_id, body.batch_id, body.content_hash, rows, now])
    elif rows:
        db.execute("UPDATE upload_batches SET times_received = times_received + 1 "
                   "WHERE device_id = ? AND batch_id = ?", [device_id, body.batch_id])


_SEQ_COLUMN = ENTRY_COLUMNS.index("seq")


def _store_rows(db: CentralDB, device_id: str, body: Upload, rows: list[list[Any]],
                now: float, known: resync.Known | None = None) -> tuple[resync.Numbering, int]:
    """Insert the rows under the device's current numbering (:mod:`central.resync`); the numbering and how many
    were new."""
    want = {e.seq: e.uuid for e in body.entries}
    numbering = resync.numbering(db, device_id, want, now, known)
    if numbering.offset:
        for row in rows:
            row[_SEQ_COLUMN] = numbering.stored(row[_SEQ_COLUMN])
        resync.refile(db, device_id, numbering, want)
    return numbering, db.insert_ignore_many("entries", ENTRY_COLUMNS, rows)


def next_contiguous(high: int, top: int, stored: list[int]) -> int | None:
    """The device's new highest contiguous seq when it follows from what the upload's transaction knows: nothing
    held above ``high`` before (``top``, the highest seq held, is not above it) and the newly stored seqs (all
    inserted just now) are the next run ``high + 1 ..``; None when the entries must be read to know."""
    if top > high or sorted(stored) != list(range(high + 1, high + 1 + len(stored))):
        return None
    return high + len(stored)


def _gaps(db: CentralDB, device_id: str, numbering: resync.Numbering, report: Any, now: float,
          state: DeviceState, stored: list[int] | None) -> tuple[int, list[list[int]]]:
    """Advance the device's contiguous seq, update its gap alarms; (central's highest contiguous seq, what to ask
    the gate to send again in its own numbering). ``stored``: the seqs stored just now when every row was new
    (then, in the steady state, nothing need be read: :func:`next_contiguous`)."""
    pending = numbering.stored(report.pending_min_seq)
    high = None
    if stored is not None and not numbering.restarted:
        high = next_contiguous(state.high, state.top, stored)
    if high is None:
        start = state.high
        if numbering.restarted:  # resync.numbering moved it on in this transaction
            start = db.execute("SELECT highest_contiguous_seq FROM devices WHERE device_id = ?",
                               [device_id]).fetchone()[0]
        high = _advance_contiguous(db, device_id, start)
        missing = _missing_ranges(db, device_id, high, pending)
    else:  # nothing is held above high: what is below the gate's first pending seq is missing
        missing = [[high + 1, pending - 1]] if pending - 1 > high else []
    if missing or state.open_gaps or numbering.restarted:
        _update_gaps(db, device_id, missing, now, above=numbering.offset)
    return high, resync.ask_ranges(missing, numbering, report.retained_from_seq)


@dataclass(frozen=True)
class DeviceState:
    """What an upload needs to know of its device before it writes, read in one statement (:func:`_device_state`)."""

    high: int                       # devices.highest_contiguous_seq
    offset: int                     # devices.seq_offset (:mod:`central.resync`)
    top: int                        # the highest seq central holds for the device (0: none)
    prior_hash: str | None          # the content hash of an earlier batch with this batch id
    open_gaps: bool                 # gap alarms open in its current log
    undated: bool                   # rows waiting for a trusted time of their boot (:mod:`central.redating`)
    open_faults: bool               # fault episodes open (:mod:`central.faults`)
    list_version: int | None = None  # central's newest list version (when asked)


# the states written out, not bound: only then may the engine use the partial index entries_undated
_UNDATED = ", ".join(f"'{s}'" for s in redating.UNDATED)
_STATE = ("(SELECT MAX(seq) FROM entries WHERE device_id = :dev), "
          "(SELECT content_hash FROM upload_batches WHERE device_id = :dev AND batch_id = :batch), "
          "EXISTS (SELECT 1 FROM seq_gaps WHERE device_id = :dev AND resolved_at IS NULL AND from_seq > {offset}), "
          f"EXISTS (SELECT 1 FROM {{undated}} WHERE device_id = :dev AND time_source IN ({_UNDATED})), "
          "EXISTS (SELECT 1 FROM device_faults WHERE device_id = :dev AND until IS NULL)")
_LIST_VERSION = ", (SELECT COALESCE(MAX(v), 0) FROM pass_changes)"


def sqlite_state_sql(lists: bool) -> str:
    """:func:`_device_state`'s one statement on SQLite. The undated rows are looked for by their partial index
    (``INDEXED BY``): SQLite's planner took the primary key, which reads every row the device has sent (an upload's
    cost grew with the table: a quadratic ingest)."""
    state = _STATE.format(offset="d.seq_offset", undated="entries INDEXED BY entries_undated")
    return (f"SELECT d.highest_contiguous_seq, d.seq_offset, {state}{_LIST_VERSION if lists else ''} "
            "FROM devices AS d WHERE d.device_id = :dev")


def _device_state(db: CentralDB, device_id: str, batch_id: str, lists: bool) -> DeviceState:
    """Lock the device's row for this upload's transaction and read what the upload needs (:class:`DeviceState`).

    SQLite (one writer, the transaction began with ``BEGIN IMMEDIATE``): one statement. PostgreSQL: the row is
    locked first (``FOR UPDATE``: a concurrent upload of the same device waits here until the other commits), then
    the rest read in a second statement, whose snapshot begins after the lock (under READ COMMITTED a statement
    that waited for a lock would read the other tables as they were before it waited)."""
    args = {"dev": device_id, "batch": batch_id}
    lv = _LIST_VERSION if lists else ""
    if db.dialect == "sqlite":
        row = db.execute(sqlite_state_sql(lists), args).fetchone()
    else:
        found = db.execute("SELECT highest_contiguous_seq, seq_offset FROM devices WHERE device_id = :dev "
                           "FOR UPDATE", args).fetchone()
        row = None if found is None else (*found, *db.execute(
            f"SELECT {_STATE.format(offset=':offset', undated='entries')}{lv}",
            {**args, "offset": found[1]}).fetchone())
    if row is None:
        raise UnknownDeviceError(f"no device {device_id!r} is registered", "see 'gatepass central devices'")
    return DeviceState(high=int(row[0]), offset=int(row[1]), top=int(row[2] or 0), prior_hash=row[3],
                       open_gaps=bool(row[4]), undated=bool(row[5]), open_faults=bool(row[6]),
                       list_version=int(row[7]) if lists else None)


_DECISION = ENTRY_COLUMNS.index("decision")
_TIME_SOURCE = ENTRY_COLUMNS.index("time_source")


def _after_insert(db: CentralDB, device_id: str, body: Upload, rows: list[list[Any]], inserted: int,
                  state: DeviceState, now: float) -> None:
    """The console's counts, re-dating and the visitor and vehicle links of the rows just stored."""
    if inserted:  # the hourly counts and pass-sharing notes, before re-dating moves any (a re-send adds nothing)
        daily_counts.count_uploaded(db, device_id, (r[_SEQ_COLUMN] for r in rows), now,
                                    refusals=any(r[_DECISION] == "refuse" for r in rows))
    redating.note_points(db, device_id, trusted_points(body, now))
    if state.undated or any(r[_TIME_SOURCE] in redating.UNDATED for r in rows):
        redating.redate_device(db, device_id, now)
    visitors.link_uploaded(db, [e.uuid for e in body.entries if e.event == "visitor"])
    vehicles.link_uploaded(db, [e.uuid for e in body.entries if e.event == vehicles.EVENT])


def ingest(db: CentralDB, device: dict[str, Any], body: Upload,
           received_at: float | None = None, *, lists: bool = False) -> IngestResult:
    """Store one upload for the authenticated ``device`` in one transaction; see the module docstring.

    The device id always comes from ``device`` (the credential) and the gate id from its registration; ids
    inside the rows are ignored (a different gate id is kept in ``corrections``). Seqs in the reply are the
    gate's (``open_gaps``: what central asks again, :mod:`central.resync`). ``lists``: also read central's list
    version in the same transaction (``IngestResult.central_list_version``).
    Raises :class:`BatchConflictError` if this batch id was seen before with other content.
    """
    now = time.time() if received_at is None else received_at
    device_id = device["device_id"]
    rows = _rows(device, body, now)
    report = body.report
    with transaction(db):
        state = _device_state(db, device_id, body.batch_id, lists)  # one upload per device at a time
        _note_batch(db, device_id, body, len(rows), now, state.prior_hash)
        if rows:
            numbering, inserted = _store_rows(db, device_id, body, rows, now, resync.Known(state.offset, state.top))
        else:  # a heartbeat
            numbering, inserted = resync.Numbering(state.offset), 0
        _after_insert(db, device_id, body, rows, inserted, state, now)
        if inserted == len(rows):  # every row is new here: this device now holds each of them
            held, conflicts = [e.seq for e in body.entries], list[int]()
        else:
            held, conflicts = _held_and_conflicting(db, device_id, {e.seq: e.uuid for e in body.entries})
        high, ask = _gaps(db, device_id, numbering, report, now, state,
                          [r[_SEQ_COLUMN] for r in rows] if inserted == len(rows) else None)
        stored_report = intake.clean_report(report.model_dump())
        faults.record(db, device_id, _faults(stored_report), report.wall_now, now, any_open=state.open_faults)
        skew = report.wall_now - now
        # the device counted this batch in its backlog; what central now holds of it is no longer owed
        last_report = {**stored_report, "backlog": max(0, report.backlog - len(held)), "receive_time": now}
        db.execute("UPDATE devices SET last_seen_at = ?, last_report = ?, clock_skew_s = ?, list_version = ?, "
                   "highest_contiguous_seq = ? WHERE device_id = ?",
                   [now, json.dumps(last_report), skew, report.list_version, high, device_id])
    if conflicts:
        log.error("device %s: %d uploaded entries have ids another device's entries hold at central (a copied "
                  "log?) - kept on the device", device_id, len(conflicts))
    if abs(skew) > CLOCK_SKEW_LIMIT_S:
        log.warning("device %s: clock is off by %.0f s", device_id, skew)
    return IngestResult(device_id=device_id, highest_contiguous_seq=numbering.gate(high), held=to_ranges(held),
                        conflicts=sorted(conflicts), inserted=inserted, duplicates=len(rows) - inserted,
                        received_at=now, clock_skew_s=skew, open_gaps=ask, central_list_version=state.list_version)
