"""The device database's start-up check and salvage, and the start-up of a device service.

- :func:`check_database`: ``PRAGMA quick_check`` of the local database at start. For a
  damaged file a new database is built holding every readable entry (with its seq, hash
  and synced flag) and the other readable tables, the damaged file is moved aside under a
  time-stamped name (kept, never deleted), the new one takes its place (crash-safe at
  every step), and an alarm is raised (:func:`gatepass.startup.raise_alarm`).
- :func:`prepare_service`: what ``gatepass edge run`` and ``gatepass sync run`` check before serving.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatepass.startup import ClockGuard, StartupError, check_not_root, fsync_dir, raise_alarm

log = logging.getLogger(__name__)

RECOVERED_SUFFIX = ".recovered"
LIST_TABLE_PREFIX = "list_"
SKIP_TABLES = frozenset({"entries", "sqlite_sequence", "_sqlite_migrations", "sqlite_stat1"})
SEQ_SAFETY_GAP = 1000
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


# -- the database --------------------------------------------------------------------------------


@dataclass
class DatabaseCheck:
    """What :func:`check_database` found and did."""

    path: Path
    ok: bool
    problem: str = ""
    moved_to: Path | None = None
    entries_copied: int = 0
    entries_lost: int = 0
    tables_copied: list[str] = field(default_factory=list)
    tables_lost: list[str] = field(default_factory=list)


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in CORRUPT_CODES:
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def quick_check(path: str | os.PathLike) -> str:
    """``PRAGMA quick_check`` of ``path``: "" when healthy, else the problem in words.

    Errors that are not damage (locked, unreadable, I/O) raise :class:`StartupError`:
    moving a healthy database aside because of them would be wrong.
    """
    conn = sqlite3.connect(os.fspath(path), timeout=10)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(20)").fetchall()]  # at most 20 problems
    except sqlite3.Error as exc:
        if _is_corruption(exc):
            return str(exc)
        raise StartupError(f"cannot check the database {path}: {exc}", "check the data directory") from exc
    finally:
        conn.close()
    if rows == ["ok"]:
        return ""
    text = "; ".join(str(r).replace("\n", "; ") for r in rows)
    return text if len(text) <= 400 else text[:400] + " ..."


def check_database(path: str | os.PathLike, opener: Callable[[Path], Any],
                   alarm_dir: str | os.PathLike | None = None,
                   progress: Callable[[], object] | None = None) -> DatabaseCheck:
    """Quick-check the database at ``path``; recover it when damaged.

    ``opener(path)`` creates a fresh database with the current schema (e.g.
    ``sync.devicedb.open_db``) and returns a ``sqlite_utils.Database``. A missing file is fine
    (the service creates it). ``progress`` is called every few seconds during a recovery
    (the service extends systemd's start timeout with it).
    """
    path = Path(path)
    finish_interrupted_recovery(path)
    if not path.exists():
        return DatabaseCheck(path, ok=True)
    problem = quick_check(path)
    if not problem:
        log.info("database %s passed quick_check", path)
        return DatabaseCheck(path, ok=True)
    log.error("database %s is damaged: %s", path, problem)
    result = recover_database(path, opener, progress)
    result.problem = problem
    raise_alarm(alarm_dir or path.parent, "database_recovered",
                "本地数据库损坏, 已另存并重建 / the local database was damaged; it was moved aside and rebuilt",
                moved_to=str(result.moved_to), entries_copied=result.entries_copied,
                entries_lost=result.entries_lost, tables_lost=result.tables_lost, problem=problem)
    return result


def move_aside(path: Path, label: str = "corrupt") -> Path:
    """Rename ``path`` and its ``-wal``/``-shm`` files to ``<name>.<label>-<UTC time>``; returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
        n += 1
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, f"{aside}{suffix}")
    fsync_dir(path.parent)
    return aside


def _sidecars(path: Path) -> list[Path]:
    """The file and what SQLite and :func:`gatepass.sqlitedb.migration_lock` keep beside it."""
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal", ".migrate-lock")]


def finish_interrupted_recovery(path: Path) -> bool:
    """Complete a recovery stopped between moving the damaged file aside and putting the new one in place."""
    done = path.with_name(path.name + RECOVERED_SUFFIX)
    if done.exists() and not path.exists():
        os.replace(done, path)
        fsync_dir(path.parent)
        log.warning("finished an interrupted recovery: %s is in place", path)
        return True
    return False


def recover_database(path: Path, opener: Callable[[Path], Any],
                     progress: Callable[[], object] | None = None) -> DatabaseCheck:
    """Rebuild the damaged database at ``path``: copy what can be read into a new file, then swap.

    Crash-safe: the copy is built under ``<name>.recovering``, renamed ``<name>.recovered`` when
    complete; only then is the damaged file moved aside (kept) and the new one renamed into
    place. Stopped before that, the next start finds the damaged file again and starts over;
    stopped between the two renames, :func:`finish_interrupted_recovery` completes it.
    """
    building = path.with_name(path.name + ".recovering")
    done = path.with_name(path.name + RECOVERED_SUFFIX)
    for stale in _sidecars(building) + _sidecars(done):
        stale.unlink(missing_ok=True)
    new = opener(building)
    result = DatabaseCheck(path, ok=False)
    old = sqlite3.connect(os.fspath(path), timeout=10, isolation_level=None)
    try:
        _copy_entries(old, new.conn, result, _Ticker(progress))
        _copy_other_tables(old, new.conn, result)
    finally:
        old.close()
    new.conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to rename
    new.conn.close()
    Path(f"{building}.migrate-lock").unlink(missing_ok=True)  # the opener's migration lock: no longer needed
    with open(building, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(building, done)
    fsync_dir(path.parent)
    result.moved_to = move_aside(path)
    os.replace(done, path)
    fsync_dir(path.parent)
    log.error("moved the damaged database to %s; recovered %d entries (%d unreadable); tables copied %s, lost %s",
              result.moved_to, result.entries_copied, result.entries_lost, result.tables_copied, result.tables_lost)
    return result


class _Ticker:
    """Calls ``progress`` at most every ``every_s`` seconds."""

    def __init__(self, progress: Callable[[], object] | None, every_s: float = 5.0) -> None:
        self.progress = progress
        self.every_s = every_s
        self._last = time.monotonic()

    def __call__(self) -> None:
        if self.progress is not None and time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            self.progress()


def _try_scalar(conn: sqlite3.Connection, sql: str) -> int | None:
    try:
        row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row and row[0] is not None else None


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _readable_entries(old: sqlite3.Connection, cols: list[str], lo: int, hi: int,
                      chunk: int = 500) -> Iterator[tuple | int]:
    """Rows of ``entries`` with ``lo <= seq <= hi``; yields each readable row, or the seq of a lost one.

    Seqs are contiguous between the chain anchor and the last seq (purges cut only a
    prefix), so a chunk that errs or comes back short is re-read row by row: a damaged
    b-tree page can end a range scan early without any error.
    """
    select = f"SELECT {', '.join(cols)} FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq"
    seq_at = cols.index("seq")
    for start in range(lo, hi + 1, chunk):
        end = min(hi, start + chunk - 1)
        try:
            rows = old.execute(select, [start, end]).fetchall()
        except sqlite3.Error:
            rows = []
        if len(rows) == end - start + 1:
            yield from rows
            continue
        found = {row[seq_at]: row for row in rows}
        for seq in range(start, end + 1):
            row = found.get(seq)
            if row is None:
                try:
                    row = old.execute(select, [seq, seq]).fetchone()
                except sqlite3.Error:
                    row = None
            yield seq if row is None else row


def _verified(old: sqlite3.Connection, seq: int | None) -> int | None:
    """``seq`` if the row with that seq reads back (a damaged b-tree can report garbage), else None."""
    if not isinstance(seq, int) or seq <= 0:
        return None
    return seq if _try_scalar(old, f"SELECT seq FROM entries WHERE seq = {seq}") == seq else None


def _seq_bounds(old: sqlite3.Connection) -> tuple[int, int, int]:
    """(first seq to read, last seq to read, the seq counter the new database continues from).

    The saved counter (``sqlite_sequence``) is kept when plausible; when it is not, the counter
    jumps :data:`SEQ_SAFETY_GAP` past the last readable row, because reusing the seq of a lost
    row that central may already hold would be worse than a reported gap.
    """
    last = max((v for v in (_verified(old, _try_scalar(old, "SELECT max(seq) FROM entries")),
                            _verified(old, _try_scalar(old, "SELECT seq FROM entries ORDER BY seq DESC LIMIT 1")))
                if v), default=0)
    saved = _try_scalar(old, "SELECT seq FROM sqlite_sequence WHERE name = 'entries'")
    if isinstance(saved, int) and last <= saved <= last + SEQ_SAFETY_GAP:
        end = counter = saved
    else:
        end, counter = last, last + SEQ_SAFETY_GAP
    anchor_seq = _try_scalar(old, "SELECT seq FROM chain_anchor WHERE id = 1")
    if isinstance(anchor_seq, int) and 0 <= anchor_seq <= end:
        first = anchor_seq + 1  # purges cut a prefix: the rows after the anchor are contiguous
    else:
        first = _verified(old, _try_scalar(old, "SELECT min(seq) FROM entries")) or 1
    return first, end, counter


def _copy_entries(old: sqlite3.Connection, new: sqlite3.Connection, result: DatabaseCheck,
                  tick: Callable[[], None] = lambda: None) -> None:
    """Copy every readable entry, keeping seq, hashes and synced flags; never reuse a seq."""
    new_cols = _columns(new, "entries")
    try:
        old_cols = set(_columns(old, "entries"))
    except sqlite3.Error:
        old_cols = set(new_cols)
    cols = [c for c in new_cols if c in old_cols]
    if "seq" not in cols:
        result.tables_lost.append("entries")
        return
    first, end, counter = _seq_bounds(old)
    anchor = None
    try:
        anchor = old.execute("SELECT seq, hash FROM chain_anchor WHERE id = 1").fetchone()
    except sqlite3.Error:
        pass
    if anchor and anchor[0] != first - 1:
        anchor = None  # implausible: the new chain starts from genesis, verify-log will say so
    insert = f"INSERT INTO entries ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    with _immediate(new):
        batch: list[tuple] = []
        for item in _readable_entries(old, cols, first, end):
            if isinstance(item, int):
                result.entries_lost += 1
                if result.entries_lost % 500 == 0:
                    tick()
                continue
            batch.append(item)
            if len(batch) >= 500:
                tick()
                new.executemany(insert, batch)
                result.entries_copied += len(batch)
                batch = []
        if batch:
            new.executemany(insert, batch)
            result.entries_copied += len(batch)
        if anchor:
            new.execute("UPDATE chain_anchor SET seq = ?, hash = ? WHERE id = 1", list(anchor))
        if counter:
            if new.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'entries'").fetchone():
                new.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'entries'", [counter])
            else:
                new.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('entries', ?)", [counter])
    result.tables_copied.append("entries")


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str) -> None:
    cols = [c for c in _columns(new, table) if c in set(_columns(old, table))]
    if not cols:  # the damaged file predates this table
        return
    rows = old.execute(f"SELECT {', '.join(cols)} FROM \"{table}\"").fetchall()
    new.execute(f'DELETE FROM "{table}"')
    new.executemany(f"INSERT INTO \"{table}\" ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)


def _copy_other_tables(old: sqlite3.Connection, new: sqlite3.Connection, result: DatabaseCheck) -> None:
    """Copy the remaining tables whole; the list tables all together or none (then sync re-fetches them)."""
    tables = [r[0] for r in new.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
              if r[0] not in SKIP_TABLES and r[0] != "chain_anchor"]
    lists = [t for t in tables if t.startswith(LIST_TABLE_PREFIX)]
    groups = [lists] if lists else []
    groups += [[t] for t in tables if t not in lists]
    for group in groups:
        try:
            with _immediate(new):
                for table in group:
                    _copy_table(old, new, table)
        except sqlite3.Error as exc:
            log.error("could not copy %s from the damaged database (%s); they start empty", group, exc)
            result.tables_lost.extend(group)
        else:
            result.tables_copied.extend(group)


# -- all together ----------------------------------------------------------------------------------


def prepare_service(data_dir: str | os.PathLike, db_path: str | os.PathLike, opener: Callable[[Path], Any],
                    progress: Callable[[], object] | None = None) -> tuple[ClockGuard, DatabaseCheck]:
    """The start-up checks of a service owning ``db_path``: not root, database sound, clock judged.

    Raises :class:`StartupError` when running as root without the override. Returns the
    clock guard (its :attr:`ClockGuard.floor` is the earliest believable time; call
    :meth:`ClockGuard.remember` periodically) and the database check.
    """
    check_not_root()
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    db_check = check_database(db_path, opener, alarm_dir=data_dir, progress=progress)
    clock = ClockGuard(data_dir)
    state = clock.check()
    if not state.trusted:
        raise_alarm(data_dir, "clock_untrusted", "时钟未校准, 记录标记为时间不可信 / the clock is not set; "
                    "entries are marked clock-untrusted until it is", now=state.now, floor=state.floor)
    clock.remember()
    return clock, db_check
