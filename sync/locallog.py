"""The local log: append-only, hash-chained entries, committed before the gate opens.

Every entry is one row of ``entries``. ``seq`` is an AUTOINCREMENT key, so a
number is never reused, even after purges. Each row stores the hash of the
previous row (``prev_hash``) and its own (``hash``) over the fields in
:data:`CHAIN_FIELDS`, so an edited or deleted row breaks the chain and
``gatepass edge verify-log`` finds it.

Personal details of visitors (name, phone) live in ``extra`` (JSON); the chain
covers only their hash (``extra_hash``), so the details can be erased once
synced without breaking the chain (minimal personal data on the device).

The table is also the sync outbox: ``synced`` is the only column that changes
after insert, and it is outside the chain.

Time: ``wall_ts`` is the gate's best estimate of when the entry happened (:mod:`sync.timekeeping`),
``clock_trusted`` whether that estimate was trusted, and ``sys_ts`` what the system wall clock said (raw, 1970
after a power cut). ``sys_ts`` came later (migration ``m002``): rows written before have NULL. It is inside the
chain, because the raw clock reading is the evidence of why a time was corrected and must not be editable, but
only when not NULL (:data:`OPTIONAL_CHAIN_FIELDS`): an old row hashes exactly as it did when written, and setting
a stored ``sys_ts`` to NULL changes the hash, so the chain still catches it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlite_utils
from sqlite_utils.migrations import Migrations

from gatepass.sqlitedb import is_disk_full, transaction
from sync.entryid import ENTRY_IDS, EntryIds
from sync.errors import SyncError

log = logging.getLogger(__name__)

GENESIS = "0" * 64

# Fields covered by the hash chain, in a fixed order.
CHAIN_FIELDS = (
    "seq", "uuid", "device_id", "gate_id", "wall_ts", "mono_ts", "boot_id", "clock_trusted", "event",
    "pass_id", "household", "person", "pass_kind", "visitor_ref", "direction", "temp_c", "temps",
    "decision", "reason", "guard_id", "override_reason", "ref_uuid", "fever", "priority", "extra_hash",
)

#: The first entry retention must keep (everything before it may go): unsynced, or not older than the cutoff by
#: its (corrected) time, or of unknown age (stamped untrusted in a boot that never had a trusted entry).
PURGE_STOP_SQL = """
    SELECT seq FROM entries AS e WHERE synced = 0 OR coalesce(
        CASE WHEN clock_trusted = 1 THEN wall_ts
             ELSE (SELECT t.wall_ts - t.mono_ts FROM entries AS t
                   WHERE t.boot_id = e.boot_id AND t.clock_trusted = 1 ORDER BY t.seq LIMIT 1) + mono_ts END,
        ?1 + 1) >= ?1
    ORDER BY seq LIMIT 1"""

#: Fields covered by the hash chain only when not NULL (added after the first release; see the module docstring).
OPTIONAL_CHAIN_FIELDS = ("sys_ts",)

# Fields a caller supplies to :meth:`LocalLog.append` (the rest are filled in).
ENTRY_FIELDS = frozenset(CHAIN_FIELDS) - {"seq", "uuid", "extra_hash"} | {"extra"} | set(OPTIONAL_CHAIN_FIELDS)

migrations = Migrations("edge-log")


@migrations()
def m001_entries(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE entries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            uuid TEXT NOT NULL UNIQUE,
            device_id TEXT NOT NULL,
            gate_id TEXT NOT NULL,
            wall_ts REAL NOT NULL,          -- unix seconds, the best estimate (see clock_trusted; sys_ts m002)
            mono_ts REAL NOT NULL,          -- time.monotonic() of this boot
            boot_id TEXT NOT NULL,
            clock_trusted INTEGER NOT NULL, -- 0 when the wall clock was known to be unset
            event TEXT NOT NULL,            -- scan | visitor | override | manual
            pass_id TEXT,
            household TEXT,
            person INTEGER,
            pass_kind TEXT,
            visitor_ref TEXT,
            direction TEXT NOT NULL,        -- in | out
            temp_c REAL,                    -- the body temperature the decision used (deg C)
            temps TEXT,                     -- JSON list of every reading taken for this person (deg C)
            decision TEXT NOT NULL,         -- pass | refuse | guard
            reason TEXT NOT NULL,           -- machine-readable reason code
            guard_id TEXT,
            override_reason TEXT,
            ref_uuid TEXT,                  -- the entry an override or re-measure refers to
            fever INTEGER NOT NULL DEFAULT 0,
            priority INTEGER NOT NULL DEFAULT 0,
            extra TEXT,                     -- personal details (JSON), erasable once synced
            extra_hash TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            synced INTEGER NOT NULL DEFAULT 0,
            synced_at REAL
        )""")
    db.execute("CREATE INDEX entries_unsynced ON entries (priority DESC, seq) WHERE synced = 0")
    db.execute("CREATE INDEX entries_wall ON entries (wall_ts)")
    db.execute("""
        CREATE TABLE chain_anchor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,           -- last purged seq (0: nothing purged)
            hash TEXT NOT NULL              -- its hash: the chain restarts from here
        )""")
    db.execute("INSERT INTO chain_anchor (id, seq, hash) VALUES (1, 0, ?)", [GENESIS])


@migrations()
def m002_system_time(db: sqlite_utils.Database) -> None:
    """The raw system wall time beside the best estimate ``wall_ts`` (NULL in rows written before)."""
    db.execute("ALTER TABLE entries ADD COLUMN sys_ts REAL")


def migrate(db: sqlite_utils.Database) -> None:
    """Apply pending ``edge-log`` migrations."""
    migrations.apply(db)


class LogWriteError(SyncError):
    """An entry could not be committed; the gate must stay shut."""


#: ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, made once: ``json.dumps`` builds
#: a new encoder on every call with these arguments (a sixth of a row's encoding time); the text is the same.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(value: Any) -> str:
    return _ENCODER.encode(value)


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the chained fields of ``row`` (an optional one only when not NULL)."""
    fields: list[Any] = [row.get(name) for name in CHAIN_FIELDS]
    fields += [[name, row[name]] for name in OPTIONAL_CHAIN_FIELDS if row.get(name) is not None]
    body = _canonical([prev_hash, fields])
    return hashlib.sha256(body.encode()).hexdigest()


def _runs(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted inclusive ``(first, last)`` runs of consecutive seqs covering ``seqs``."""
    runs: list[tuple[int, int]] = []
    for s in sorted(set(seqs)):
        if runs and s == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs


_OUTBOX_ONLY = frozenset({"synced", "synced_at"})  # columns of the outbox, not of the entry: never uploaded


class Cursor(NamedTuple):
    """Where a batch ends in the outbox's order (priority first, then seq), for the batch after it
    (:meth:`LocalLog.next_batch`)."""

    priority: int  # of the batch's last row
    seq: int  # of the batch's last row
    newest: int  # the highest seq in the batch


@dataclass
class OutBatch:
    """One upload batch: its rows, and their canonical JSON (what :func:`sync.protocol.canonical` makes of the
    list), encoded once while the batch was measured."""

    rows: list[dict[str, Any]]
    json: bytes

    @property
    def cursor(self) -> Cursor | None:
        """Where this batch ends (None for no rows)."""
        if not self.rows:
            return None
        return Cursor(self.rows[-1]["priority"], self.rows[-1]["seq"], max(r["seq"] for r in self.rows))


def take_batch(rows: Iterable[dict[str, Any]], limit_bytes: int | None = None) -> OutBatch:
    """The sync client's batching rule: the rows of one upload batch, in the order given (the caller caps their
    number), as long as their canonical JSON stays within ``limit_bytes``, but always at least one row."""
    batch: list[dict[str, Any]] = []
    texts: list[str] = []
    size = 0
    limit = limit_bytes if limit_bytes is not None else float("inf")
    encode = _ENCODER.encode
    for row in rows:
        text = encode(row)
        size += len(text)
        if size > limit and batch:
            break
        batch.append(row)
        texts.append(text)
    return OutBatch(batch, ("[" + ",".join(texts) + "]").encode("utf-8", "surrogatepass"))


@dataclass
class ChainReport:
    """Result of :meth:`LocalLog.verify_chain`."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _id_time(wall_ts: Any) -> float:
    """The time an entry's uuid is ordered by: its ``wall_ts`` (0 when that is not a number: the insert then refuses
    the row as before)."""
    return wall_ts if isinstance(wall_ts, int | float) else 0.0


class LocalLog:
    """Appends to and reads the ``entries`` table of an open edge database."""

    def __init__(self, db: sqlite_utils.Database, ids: EntryIds = ENTRY_IDS) -> None:
        self.db = db
        self.ids = ids  # makes the entries' uuids (time-ordered, :mod:`sync.entryid`); the process's by default
        self._columns: list[str] | None = None  # the upload's columns (:meth:`_upload_columns`), read once

    # -- writing ---------------------------------------------------------------------------

    def append(self, **fields: Any) -> dict[str, Any]:
        """Commit one entry (durably: WAL + synchronous=FULL) and return the stored row.

        Its ``uuid`` is a new time-ordered id (UUIDv7 by ``wall_ts``, :mod:`sync.entryid`).

        Raises :class:`LogWriteError` (disk full, database locked for too long, ...):
        the caller must then not open the gate.
        """
        unknown = set(fields) - ENTRY_FIELDS
        if unknown:
            raise ValueError(f"unknown entry fields: {sorted(unknown)}")
        row = {name: fields.get(name) for name in ENTRY_FIELDS}
        row["uuid"] = self.ids.new(_id_time(row["wall_ts"]))
        extra = row.pop("extra")
        row["extra"] = _canonical(extra) if extra is not None else None
        row["extra_hash"] = hashlib.sha256(row["extra"].encode()).hexdigest() if row["extra"] else None
        temps = row.get("temps")
        if isinstance(temps, list | tuple):
            row["temps"] = _canonical([round(float(t), 2) for t in temps])
        row["fever"] = int(bool(row.get("fever")))
        row["priority"] = int(bool(row.get("priority")))
        row["clock_trusted"] = int(bool(row.get("clock_trusted")))
        sys_ts = row.get("sys_ts")
        if sys_ts is not None:
            row["sys_ts"] = float(sys_ts)
        try:
            with transaction(self.db):
                prev_hash, next_seq = self._head()
                row["seq"] = next_seq
                row["prev_hash"] = prev_hash
                row["hash"] = entry_hash(prev_hash, row)
                cols = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                self.db.execute(f"INSERT INTO entries ({cols}) VALUES ({marks})", list(row.values()))
        except sqlite3.Error as exc:
            if is_disk_full(exc):
                raise LogWriteError("the disk is full: the entry was not saved", "free space on the SD card") from exc
            raise LogWriteError(f"the entry could not be saved: {exc}", "check the data directory") from exc
        return row

    def _head(self) -> tuple[str, int]:
        """Hash of the newest row (or the anchor) and the seq the next row will get."""
        last = self.db.execute("SELECT hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        if last is None:
            last = self.db.execute("SELECT hash FROM chain_anchor WHERE id = 1").fetchone()
        seq_row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
        return last[0], (seq_row[0] if seq_row else 0) + 1

    # -- the outbox --------------------------------------------------------------------------

    def pending(self, limit_rows: int, limit_bytes: int | None = None) -> list[dict[str, Any]]:
        """Unsynced entries, priority ones first, then in seq order; at most ``limit_rows``
        rows and (roughly, by JSON size) ``limit_bytes`` bytes, but always at least one row."""
        return self.next_batch(limit_rows, limit_bytes).rows

    def next_batch(self, limit_rows: int, limit_bytes: int | None = None, *,
                   after: Cursor | None = None) -> OutBatch:
        """:meth:`pending` with the rows' canonical JSON, for the upload (:func:`take_batch`).

        ``after``: the :attr:`OutBatch.cursor` of a batch this method returned, with nothing sent again by
        :meth:`resend` since: the batch that follows that one, i.e. what this call without ``after`` returns once
        that batch's rows are marked synced, so the next batch can be read while that one is still on its way to
        central. Its rows are the pending ones past that batch's last row in the outbox's order, and any appended
        since that batch was read (a new priority entry still comes first); none of that batch's rows.

        Why exactly those: that batch was the first rows of the order then. A pending row not in it either was past
        its last row, or was not pending then: appended since (a higher seq than any row of that batch), or sent
        again (:meth:`resend`, excluded above); priorities never change."""
        where, args = "synced = 0", []
        if after is not None:
            where += " AND (priority < ? OR (priority = ? AND seq > ?) OR seq > ?)"
            args = [after.priority, after.priority, after.seq, after.newest]
        names = self._upload_columns()
        cur = self.db.execute(f"SELECT {', '.join(names)} FROM entries WHERE {where} "
                              "ORDER BY priority DESC, seq LIMIT ?", [*args, limit_rows])
        return take_batch((dict(zip(names, values, strict=True)) for values in cur), limit_bytes)

    def _upload_columns(self) -> list[str]:
        """The columns an uploaded row carries (every column but the outbox's own), in sorted order: the row's
        dict then already has its keys in the order the canonical JSON writes them."""
        if self._columns is None:
            cols = [r[1] for r in self.db.execute("PRAGMA table_info(entries)").fetchall()]
            self._columns = sorted(c for c in cols if c not in _OUTBOX_ONLY)
        return self._columns

    def resend(self, ranges: Iterable[tuple[int, int]]) -> int:
        """Mark the retained entries in these seq ranges (inclusive) as not yet at central, so they go again (central
        lost them: restored from an older backup); returns how many. Purged entries cannot go again (they are
        below :meth:`retained_from`, which the gate reports, so central stops asking and shows them as lost); an
        entry whose visitor details were erased after its first upload goes again without them (its
        ``extra_hash`` still chained): central keeps the details it still holds (intake is by uuid, never an
        update) and otherwise gets the entry without them."""
        changed = 0
        with transaction(self.db):
            for first, last in ranges:
                changed += self.db.execute("UPDATE entries SET synced = 0, synced_at = NULL "
                                           "WHERE synced = 1 AND seq BETWEEN ? AND ?", [first, last]).rowcount
        return changed

    def mark_synced(self, seqs: Iterable[int], now: float | None = None) -> int:
        """Mark these entries as held by central (one UPDATE per run of consecutive seqs, in one transaction);
        returns how many changed."""
        now = time.time() if now is None else now
        with transaction(self.db):
            return self.db.conn.executemany("UPDATE entries SET synced = 1, synced_at = ? "
                                            "WHERE synced = 0 AND seq BETWEEN ? AND ?",
                                            [(now, first, last) for first, last in _runs(seqs)]).rowcount

    def pending_min(self) -> int | None:
        """The lowest seq central does not hold yet (None when none waits), read from the outbox's index
        (``entries_unsynced``: priority, then seq), one look-up per priority present: ``min(seq) WHERE synced = 0``
        reads the table from its first row past every synced one (tens of ms per report with 100,000 kept)."""
        lowest: int | None = None
        below = ""
        args: list[Any] = []
        while (row := self.db.execute(f"SELECT priority, seq FROM entries WHERE synced = 0{below} "
                                      "ORDER BY priority DESC, seq LIMIT 1", args).fetchone()) is not None:
            lowest = row[1] if lowest is None else min(lowest, row[1])
            below, args = " AND priority < ?", [row[0]]
        return lowest

    def backlog(self) -> int:
        """How many entries central does not hold yet."""
        return self.db.execute("SELECT count(*) FROM entries WHERE synced = 0").fetchone()[0]

    def retained_from(self) -> int:
        """The first seq this log still retains: everything below it was purged (one past the chain anchor)."""
        return int(self.db.execute("SELECT seq FROM chain_anchor WHERE id = 1").fetchone()[0]) + 1

    def last_seq(self) -> int:
        """The highest seq ever given (0 if none)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
        return row[0] if row else 0

    # -- maintenance ---------------------------------------------------------------------------

    def purge(self, retention_days: float, now: float | None = None) -> int:
        """Delete synced entries older than ``retention_days`` by a trusted ``now``; unsynced ones are never purged.

        An entry stamped while the clock was untrusted is judged by its corrected time: the offset
        (wall - monotonic) of the first trusted entry of the same boot, applied to its own monotonic time; one
        whose boot never had a trusted entry has no known age and is kept. Only a prefix of the chain is
        removed (up to the first unsynced, recent or ageless row), and the chain anchor moves to the last
        removed row, so the remaining chain still verifies. The caller must only purge on a trusted clock
        (:class:`edge.health.Housekeeper` does).
        """
        now = time.time() if now is None else now
        cutoff = now - retention_days * 86400
        with transaction(self.db):
            first_kept = self.db.execute(PURGE_STOP_SQL, [cutoff]).fetchone()
            stop = first_kept[0] if first_kept else None
            bound = "seq < ?" if stop is not None else "1"
            args = [stop] if stop is not None else []
            last = self.db.execute(f"SELECT seq, hash FROM entries WHERE {bound} ORDER BY seq DESC LIMIT 1",
                                   args).fetchone()
            if last is None:
                return 0
            count = self.db.execute(f"DELETE FROM entries WHERE {bound}", args).rowcount
            self.db.execute("UPDATE chain_anchor SET seq = ?, hash = ? WHERE id = 1", list(last))
        log.info("purged %d synced entries older than %.0f days", count, retention_days)
        return count

    def erase_synced_personal_data(self) -> int:
        """Drop visitors' personal details from entries central already holds."""
        with transaction(self.db):
            return self.db.execute(
                "UPDATE entries SET extra = NULL WHERE synced = 1 AND extra IS NOT NULL").rowcount

    def verify_chain(self) -> ChainReport:
        """Walk the chain from the anchor; report edited, inserted or deleted rows."""
        report = ChainReport()
        anchor_seq, prev = self.db.execute("SELECT seq, hash FROM chain_anchor WHERE id = 1").fetchone()
        expected_seq = anchor_seq + 1
        cur = self.db.execute("SELECT * FROM entries ORDER BY seq")
        cols = [d[0] for d in cur.description]
        for values in cur:
            row = dict(zip(cols, values, strict=True))
            report.checked += 1
            if row["seq"] != expected_seq:
                report.problems.append(f"entries {expected_seq}..{row['seq'] - 1} are missing (deleted)")
            if row["prev_hash"] != prev:
                report.problems.append(f"entry {row['seq']}: does not follow the entry before it")
            if entry_hash(row["prev_hash"], row) != row["hash"]:
                report.problems.append(f"entry {row['seq']}: content was changed after it was written")
            if row["extra"] is not None and hashlib.sha256(row["extra"].encode()).hexdigest() != row["extra_hash"]:
                report.problems.append(f"entry {row['seq']}: visitor details were changed")
            prev, expected_seq = row["hash"], row["seq"] + 1
        if expected_seq - 1 < self.last_seq():
            report.problems.append(f"entries {expected_seq}..{self.last_seq()} at the end are missing (deleted)")
        return report
