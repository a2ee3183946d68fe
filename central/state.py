"""What the device API works with: its database connections and the signing key (``app.state.central``)."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)


class CentralState:
    """What the device API needs from the server: its database connections and the signing key.

    On SQLite the API uses one connection under a lock (SQLite has one writer at a time anyway). On PostgreSQL,
    given ``connect``, it opens up to ``pool_size`` connections as the load asks, so uploads of different gates
    commit side by side; the advisory locks in :mod:`central.ingest` keep each device's uploads in turn.
    """

    def __init__(self, db: Any, signing_key: Any, connect: Callable[[], Any] | None = None,
                 pool_size: int = 1) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.signing_key = signing_key
        self._connect = connect if db.dialect == "postgresql" else None
        self._pool_size = pool_size if self._connect is not None else 1
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._idle.put(db)
        self._opened = 1

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection for one request's work, to this thread alone until the block ends."""
        if self._connect is None:
            with self.lock:
                yield self.db
            return
        conn = self._take(self._connect)
        try:
            yield conn
        finally:
            self._idle.put(conn)

    def _take(self, connect: Callable[[], Any]) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            grow = self._opened < self._pool_size
            if grow:
                self._opened += 1
        if not grow:
            return self._idle.get()
        try:
            conn = connect()
        except BaseException:
            with self.lock:
                self._opened -= 1
            raise
        log.debug("device API: opened database connection %d of %d", self._opened, self._pool_size)
        return conn
