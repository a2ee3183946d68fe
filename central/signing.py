"""Central's side of the signed list pages: its root key and the page a device needs next.

The envelope format and its verification are :mod:`sync.signing` (both ends of the wire).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.passes import keys
from central.passes.changelog import changes_since, snapshot
from central.passes.store import current_version
from central.store import CentralDB
from gatepass.clock import SYSTEM, Clock
from sync.signing import sign_page

__all__ = ["SignedPages", "central_list_version", "list_bounds", "needs_snapshot", "page_for", "root_key",
           "root_public_pem", "sign_page"]

SNAPSHOT_BEHIND = 5000  # a device more than this many changes behind gets a snapshot instead
PAGE_CACHE_S = 1.0  # a signed page is handed out again for at most this long (SignedPages)
PAGE_CACHE_SIZE = 256  # distinct pages kept per server process


def root_key(data_dir: Path) -> Ed25519PrivateKey:
    """Central's list-signing key (kept by :mod:`central.passes.keys`)."""
    return keys.root_key(data_dir)


def root_public_pem(data_dir: Path) -> str:
    """Central's list-signing public key as PEM, for ``central_public_key`` in the device's sync.toml."""
    return keys.root_public_pem(data_dir)


def central_list_version(db: CentralDB) -> int | None:
    """The newest list version at central."""
    return current_version(db)


def list_bounds(db: CentralDB) -> tuple[int, int | None]:
    """The newest list version (0 before the first change) and the oldest change still logged (None: none), in
    one query: what decides which page a device gets."""
    newest, oldest = db.execute("SELECT COALESCE(MAX(v), 0), MIN(v) FROM pass_changes").fetchone()
    return int(newest), None if oldest is None else int(oldest)


def page_for(db: CentralDB, since: int, limit: int, fmt: int = 1,
             bounds: tuple[int, int | None] | None = None) -> dict[str, Any]:
    """The list page a device at version ``since`` needs next (in list format ``fmt``): changes, or a snapshot
    when too far behind. ``bounds``: :func:`list_bounds`, when the caller has read them already."""
    current, oldest = list_bounds(db) if bounds is None else bounds
    if needs_snapshot(since, current, oldest):
        return snapshot(db, fmt)
    return changes_since(db, since, limit, fmt)


def needs_snapshot(since: int, current: int, oldest: int | None) -> bool:
    """Whether a device at ``since`` gets the whole state rather than changes: it holds nothing yet, is more than
    :data:`SNAPSHOT_BEHIND` changes behind, or lacks changes the log no longer holds (pruned)."""
    pruned = oldest is not None and since + 1 < oldest
    return since <= 0 and current > 0 or current - since > SNAPSHOT_BEHIND or pruned


class SignedPages:
    """The signed list pages of one server process, each built and signed once and handed out for up to
    ``max_age_s``: most polls of a fleet ask "anything after my version?" with the same version, and each would
    otherwise read the change log and sign the same page again.

    A page is kept under what decides it: the request (``since``, ``limit``, format) and the change log's
    bounds (newest and oldest version), read for every poll; a new change or a pruned log is a new key, so a
    device never gets a page older than the log it asked about. ``max_age_s`` bounds what a cached page can lag
    in what depends on the time alone (a snapshot's quarantines that started meanwhile; ``issued_at``).
    """

    def __init__(self, key: Ed25519PrivateKey, max_age_s: float = PAGE_CACHE_S, clock: Clock = SYSTEM,
                 most: int = PAGE_CACHE_SIZE) -> None:
        self.key = key
        self.max_age_s = max_age_s
        self.clock = clock
        self.most = most
        self._pages: dict[tuple[int, ...], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def page(self, db: CentralDB, since: int, limit: int, fmt: int) -> dict[str, Any]:
        """The signed envelope of the page a device at ``since`` needs next (see :func:`page_for`)."""
        newest, oldest = list_bounds(db)
        # every device that gets a snapshot gets the same one, whatever it held and asked
        asked = (-1, 0) if needs_snapshot(since, newest, oldest) else (since, limit)
        key = (*asked, fmt, newest, -1 if oldest is None else oldest)
        now = self.clock.monotonic()
        with self._lock:
            kept = self._pages.get(key)
        if kept is not None and now - kept[0] < self.max_age_s:
            return kept[1]
        envelope = sign_page(self.key, page_for(db, since, limit, fmt, (newest, oldest)), now=self.clock.time())
        with self._lock:
            if len(self._pages) >= self.most:
                self._drop_old(now)
            self._pages[key] = (now, envelope)
        return envelope

    def _drop_old(self, now: float) -> None:
        """Forget pages past their age (all of them, if none is: a burst of distinct requests)."""
        fresh = {k: v for k, v in self._pages.items() if now - v[0] < self.max_age_s}
        self._pages = fresh if len(fresh) < self.most else {}
