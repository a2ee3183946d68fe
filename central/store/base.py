"""What the central code asks of its database, whichever engine holds it.

:class:`CentralDB` is the small surface the central modules use (``execute``, ``query``,
``transaction``, ``insert_ignore_many``, ``lock``, ``table_exists``); :mod:`central.store.sqlite` and
:mod:`central.store.postgres` implement it. Statements are written once in the common dialect with ``?`` or
``:name`` parameters (see :mod:`central.store.sqltext` for what is rewritten for PostgreSQL).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from central.errors import CentralError


class StoreError(CentralError):
    """The central database cannot be opened or used (bad URL, server down, missing driver)."""


class Cursor(Protocol):
    """The part of a DB-API cursor the central code uses."""

    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


Params = Sequence[Any] | dict[str, Any] | None


class CentralDB:
    """One connection to the central database (use one per thread)."""

    #: ``"sqlite"`` or ``"postgresql"``
    dialect: str = ""
    #: what to show people: the file path, or the URL without its password
    label: str = ""

    def execute(self, sql: str, params: Params = None) -> Cursor:
        """Run one statement; rows come back as tuples."""
        raise NotImplementedError

    def query(self, sql: str, params: Params = None) -> Iterator[dict[str, Any]]:
        """Run one statement; yield its rows as dicts keyed by column name."""
        cur = self.execute(sql, params)
        cols = [d[0] for d in cur.description or ()]
        for row in cur.fetchall():
            yield dict(zip(cols, row, strict=True))

    def transaction(self, *, readonly: bool = False) -> contextlib.AbstractContextManager[CentralDB]:
        """A transaction (a savepoint when one is open already): commit on success, roll back on any error.

        Writers are serialised on SQLite (``BEGIN IMMEDIATE``); on PostgreSQL, code that reads and then writes
        what another writer may change takes :meth:`lock` first. ``readonly`` gives one consistent snapshot.
        """
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        """True inside :meth:`transaction`."""
        raise NotImplementedError

    def lock(self, name: str) -> None:
        """Serialise writers on ``name`` until the current transaction ends (a no-op on SQLite)."""

    def insert_ignore_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Insert ``rows``, skipping any that clash with a unique key; returns how many were inserted."""
        raise NotImplementedError

    def table_exists(self, name: str) -> bool:
        """True if the table ``name`` exists."""
        raise NotImplementedError

    def trunc_int(self, expr: str) -> str:
        """SQL turning the number ``expr`` into an integer by truncation (SQLite's CAST truncates, PostgreSQL's
        rounds)."""
        return f"CAST({expr} AS INTEGER)"

    def integrity_check(self) -> str:
        """``"ok"``, or what the engine's own check found."""
        return "ok"

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError
