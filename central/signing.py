"""Central's side of the signed list pages: its root key and the page a device needs next.

The envelope format and its verification are :mod:`sync.signing` (both ends of the wire).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.passes import keys
from central.passes.changelog import changes_since, snapshot
from central.passes.store import current_version
from central.store import CentralDB
from sync.signing import sign_page

__all__ = ["central_list_version", "page_for", "root_key", "root_public_pem", "sign_page"]

SNAPSHOT_BEHIND = 5000  # a device more than this many changes behind gets a snapshot instead


def root_key(data_dir: Path) -> Ed25519PrivateKey:
    """Central's list-signing key (kept by :mod:`central.passes.keys`)."""
    return keys.root_key(data_dir)


def root_public_pem(data_dir: Path) -> str:
    """Central's list-signing public key as PEM, for ``central_public_key`` in the device's sync.toml."""
    return keys.root_public_pem(data_dir)


def central_list_version(db: CentralDB) -> int | None:
    """The newest list version at central."""
    return current_version(db)


def page_for(db: CentralDB, since: int, limit: int, fmt: int = 1) -> dict[str, Any]:
    """The list page a device at version ``since`` needs next (in list format ``fmt``): changes, or a snapshot
    when too far behind."""
    current = current_version(db)
    oldest = db.execute("SELECT MIN(v) FROM pass_changes").fetchone()[0]
    pruned = oldest is not None and since + 1 < oldest
    if since <= 0 and current > 0 or current - since > SNAPSHOT_BEHIND or pruned:
        return snapshot(db, fmt)
    return changes_since(db, since, limit, fmt)
