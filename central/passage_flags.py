"""The passages that may be pass-sharing anomalies, kept ready for the alerts (:func:`central.console.alerts.
anomalies`), so that the alerts list never orders a whole day of passages by pass; and the partial indexes by which
the other alert rules read a day's refusals and overrides without the day's other entries.

A passage is an entry of a pass that was not refused (``pass_id`` set, ``decision`` neither ``refuse`` nor
``info``). ``passage_flags`` holds each passage whose previous passage of the same pass (ordered by ``wall_ts``,
then ``device_id``, ``seq``) makes it an anomaly candidate: in after in (``double_entry``), or another gate less than
:data:`MAX_GAP_S` later (``two_gates``, for any threshold up to that), with what that previous passage was.

Exact however rows arrive: each upload notes the pass and time of the passages it inserted
(:func:`note_uploaded`), and triggers those of every passage deleted or changed (a re-dated row, an anonymised one,
a refiled seq), in ``passage_dirty`` (append-only: concurrent uploads never wait on
each other there); :func:`refresh` (run by the alerts before they read, and by the retention purge) takes those
notes and recomputes the flags of each noted pass from its earliest noted time to the first passage after its
latest, in one transaction.
"""

from __future__ import annotations

import logging

from central.store import CentralDB
from central.store.migrations import Migrations, create_row_triggers

log = logging.getLogger(__name__)

#: The largest ``two_gate_minutes`` (in seconds) the flags answer for; a larger one reads the entries.
MAX_GAP_S = 3600.0
PASSAGE = "{r}.pass_id IS NOT NULL AND {r}.decision NOT IN ('refuse', 'info')"
#: Entry columns a passage's flag depends on (or is keyed by).
WATCHED = ("pass_id", "wall_ts", "decision", "direction", "gate_id", "device_id", "seq")
_CHUNK = 400
_FLAG_COLS = "device_id, seq, pass_id, wall_ts, direction, gate_id, prev_dir, prev_gate, prev_ts"
_FLAGGED = (f"prev_ts IS NOT NULL AND ((direction = 'in' AND prev_dir = 'in') "
            f"OR (gate_id != prev_gate AND wall_ts - prev_ts < {MAX_GAP_S})) ")
_UPSERT = (" ON CONFLICT (device_id, seq) DO UPDATE SET pass_id = excluded.pass_id, wall_ts = excluded.wall_ts, "
           "direction = excluded.direction, gate_id = excluded.gate_id, prev_dir = excluded.prev_dir, "
           "prev_gate = excluded.prev_gate, prev_ts = excluded.prev_ts")
_WINDOW = ("LAG(e.direction) OVER w AS prev_dir, LAG(e.gate_id) OVER w AS prev_gate, LAG(e.wall_ts) OVER w AS prev_ts")
_ORDER = "WINDOW w AS (PARTITION BY e.pass_id ORDER BY e.wall_ts, e.device_id, e.seq)"

migrations = Migrations("central-passage-flags")


def _note(r: str) -> str:
    return f"INSERT INTO passage_dirty (pass_id, wall_ts) SELECT {r}.pass_id, {r}.wall_ts WHERE {PASSAGE.format(r=r)}"


def _create_triggers(db: CentralDB) -> None:
    triggers = {"passage_flags_delete": ("DELETE", [_note("OLD")]),
                "passage_flags_update": (f"UPDATE OF {', '.join(WATCHED)}", [_note("OLD"), _note("NEW")])}
    create_row_triggers(db, "entries", triggers)


def _backfill(db: CentralDB) -> None:
    """Flag the passages already stored: one pass over the console's covering index (every column the flags need,
    :mod:`central.console.store`) and one sort, rather than a table lookup per passage in pass order."""
    sqlite = db.dialect == "sqlite"
    if sqlite:
        cache = db.execute("PRAGMA cache_size").fetchone()[0]
        db.execute("PRAGMA cache_size = -262144")  # 256 MB for the sort (SQLite's default spills it at 2 MB)
    try:
        db.execute(f"INSERT INTO passage_flags ({_FLAG_COLS}) SELECT {_FLAG_COLS} FROM ("
                   f"SELECT e.device_id, e.seq, e.pass_id, e.wall_ts, e.direction, e.gate_id, {_WINDOW} "
                   f"FROM entries AS e INDEXED BY console_entries_scan WHERE {PASSAGE.format(r='e')} {_ORDER}) AS x "
                   f"WHERE {_FLAGGED}")
    finally:
        if sqlite:
            db.execute(f"PRAGMA cache_size = {int(cache)}")


@migrations()
def m001_passage_flags(db: CentralDB) -> None:
    """The flags, the notes, their triggers, and the flags of the passages already stored."""
    db.execute("CREATE TABLE passage_flags (device_id TEXT NOT NULL, seq INTEGER NOT NULL, pass_id TEXT NOT NULL, "
               "wall_ts REAL NOT NULL, direction TEXT NOT NULL, gate_id TEXT NOT NULL, prev_dir TEXT NOT NULL, "
               "prev_gate TEXT NOT NULL, prev_ts REAL NOT NULL, PRIMARY KEY (device_id, seq))")
    # the alerts' order, holding what they test (no table lookups while they look for the newest 500)
    db.execute("CREATE INDEX passage_flags_wall ON passage_flags (wall_ts, device_id, seq, prev_ts, direction, "
               "prev_dir, gate_id, prev_gate)")
    db.execute("CREATE INDEX passage_flags_pass ON passage_flags (pass_id, wall_ts)")
    db.execute("CREATE TABLE passage_dirty (pass_id TEXT NOT NULL, wall_ts REAL NOT NULL)")
    _backfill(db)
    _create_triggers(db)


@migrations()
def m002_alert_indexes(db: CentralDB) -> None:
    """A day's refusals and a day's overrides, each read from an index holding only them (a few percent of the
    entries) rather than from one holding the whole day."""
    # the condition's column too: SQLite (3.40) reads the table for a column of the condition it is not given
    db.execute("CREATE INDEX entries_refused_wall ON entries (wall_ts, reason, fever, decision, device_id, seq) "
               "WHERE decision = 'refuse'")
    db.execute("CREATE INDEX entries_override_wall ON entries (wall_ts, event, device_id, seq) "
               "WHERE event = 'override'")


@migrations()
def m003_passages_index(db: CentralDB) -> None:
    """Each pass's passages in time order with what their flags need: a refresh reads a noted pass's previous and
    next passages from this index alone, not from table pages that may be days old and no longer in memory (one
    random read per noted pass made the alerts after a minute of uploads cost 100-200 ms at 10 M entries)."""
    # decision too: SQLite (3.40) reads the table for a column of the condition it is not given
    db.execute("CREATE INDEX entries_passages ON entries (pass_id, wall_ts, device_id, seq, direction, gate_id, "
               f"decision) WHERE {PASSAGE.format(r='entries')}")


def note_uploaded(db: CentralDB, where: str, args: list) -> None:
    """Note the passages among the entries matching ``where`` (the rows an upload just inserted:
    :func:`central.daily_counts.count_uploaded`)."""
    db.execute(f"INSERT INTO passage_dirty (pass_id, wall_ts) SELECT pass_id, wall_ts FROM entries WHERE {where} "
               f"AND {PASSAGE.format(r='entries')}", args)


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-passage-flags`` migrations (after ``central-sync``, which makes ``entries``)."""
    migrations.apply(db)


def _recompute(db: CentralDB, noted: dict[str, tuple[float, float]]) -> None:
    """Recompute the flags of each noted pass's passages from its earliest noted time to the first passage after
    its latest (whose previous passage may have changed); the passages outside keep the same previous one."""
    items = list(noted.items())
    for i in range(0, len(items), _CHUNK):
        chunk = items[i:i + _CHUNK]
        values = ", ".join("(?, CAST(? AS REAL), CAST(? AS REAL))" for _ in chunk)
        args = [v for pass_id, (low, high) in chunk for v in (pass_id, low, high)]
        passage = PASSAGE.format(r="p")
        noted_cte = (f"WITH n (pass_id, m, mx) AS (VALUES {values}), d AS (SELECT pass_id, m, COALESCE((SELECT "
                     f"MIN(p.wall_ts) FROM entries AS p WHERE p.pass_id = n.pass_id AND {passage} AND p.wall_ts > "
                     "n.mx), n.mx) AS upper FROM n) ")
        # each noted pass's flags found by their index (pass_id, wall_ts), then deleted by their key: not a scan of
        # every flag testing each against the notes (SQLite took seconds for a minute of uploads at 10 M)
        db.execute(noted_cte + "DELETE FROM passage_flags WHERE (device_id, seq) IN (SELECT f.device_id, f.seq "
                   "FROM d JOIN passage_flags AS f ON f.pass_id = d.pass_id AND f.wall_ts >= d.m "
                   "AND f.wall_ts <= d.upper)", args)
        lower = (f"COALESCE((SELECT MAX(p.wall_ts) FROM entries AS p WHERE p.pass_id = d.pass_id AND {passage} "
                 "AND p.wall_ts < d.m), d.m)")
        db.execute(noted_cte + f"INSERT INTO passage_flags ({_FLAG_COLS}) SELECT {_FLAG_COLS} FROM ("
                   f"SELECT e.device_id, e.seq, e.pass_id, e.wall_ts, e.direction, e.gate_id, {_WINDOW}, d.m "
                   f"FROM d JOIN entries AS e ON e.pass_id = d.pass_id WHERE {PASSAGE.format(r='e')} "
                   f"AND e.wall_ts >= {lower} AND e.wall_ts <= d.upper {_ORDER}) AS x "
                   f"WHERE x.wall_ts >= x.m AND {_FLAGGED}" + _UPSERT, args)


def refresh(db: CentralDB) -> int:
    """Bring the flags up to date with every passage noted since the last refresh (committed ones: an upload still
    in its transaction is taken by the next refresh); returns how many notes it took. With nothing noted it
    only reads (no write lock)."""
    if db.execute("SELECT 1 FROM passage_dirty LIMIT 1").fetchone() is None:
        return 0
    with db.transaction():
        db.lock("passage-flags")  # one refresh at a time (PostgreSQL; SQLite has one writer)
        taken = db.execute("DELETE FROM passage_dirty RETURNING pass_id, wall_ts").fetchall()
        if not taken:
            return 0
        noted: dict[str, tuple[float, float]] = {}
        for pass_id, ts in taken:
            low, high = noted.get(pass_id, (ts, ts))
            noted[pass_id] = (min(low, ts), max(high, ts))
        _recompute(db, noted)
    log.debug("passage flags: %d notes of %d passes", len(taken), len(noted))
    return len(taken)
