"""The central store in one SQLite file (WAL, ``synchronous=FULL``): the default, one per street office."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import sqlite_utils

from central.store.base import CentralDB, Cursor, Params
from gatepass.sqlitedb import connect

#: WAL pages after which a commit checkpoints the WAL into the database (SQLite's default: 1,000, 4 MB). Central
#: commits an upload every few milliseconds at a peak and many of its pages (the index edges, the counts, the device
#: rows) change in upload after upload: with a WAL four times as long each is copied back once per checkpoint instead
#: of four times, and an upload pays for a checkpoint a quarter as often. `bench sync`'s one-gate SQLite ingest went
#: 0.45-0.49 -> 0.51-0.52 of the direct insert (issue 20). The WAL file stays at about 16 MB; the gates keep the
#: default (their SD card, 512 MB of memory).
WAL_AUTOCHECKPOINT_PAGES = 4000


class SQLiteDB(CentralDB):
    """:class:`~central.store.base.CentralDB` over :func:`gatepass.sqlitedb.connect`."""

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.label = self.path
        self.sqlite: sqlite_utils.Database = connect(self.path)  # for SQLite-only work (backup, benches)
        self.conn = self.sqlite.conn
        self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        self._depth = 0

    def execute(self, sql: str, params: Params = None) -> Cursor:
        return self.conn.execute(sql, params if params is not None else ())

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[CentralDB]:
        outer = not self.conn.in_transaction
        name = f"sp{self._depth}"
        self.conn.execute(("BEGIN" if readonly else "BEGIN IMMEDIATE") if outer else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:  # SQLite itself rolls back after some errors (e.g. SQLITE_FULL)
                self.conn.execute("ROLLBACK" if outer else f"ROLLBACK TO {name}")
                if not outer:
                    self.conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1
        self.conn.execute("COMMIT" if outer else f"RELEASE {name}")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def insert_ignore_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        before = self.conn.total_changes
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                              rows)
        return self.conn.total_changes - before

    def table_exists(self, name: str) -> bool:
        return self.sqlite[name].exists()

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        self.conn.close()
