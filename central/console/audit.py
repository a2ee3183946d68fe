"""The audit log: who viewed which personal data, who exported what, who changed what."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from central.store import CentralDB

log = logging.getLogger(__name__)


def record(db: CentralDB, username: str, role: str, action: str, client: str = "", /,
           **detail: Any) -> None:
    """Append one audit record (committed at once); ``detail`` keys are free (e.g. ``role=`` of a target)."""
    db.execute("INSERT INTO audit_log (ts, username, role, action, detail, client) VALUES (?, ?, ?, ?, ?, ?)",
               [time.time(), username, role, action,
                json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str), client])
    log.info("audit: %s %s %s", username, action, detail)


def recent(db: CentralDB, limit: int = 200, before_id: int | None = None,
           username: str | None = None, action: str | None = None) -> list[dict]:
    """Audit records, newest first, keyset-paginated by id."""
    where: list[str] = []
    args: list[int | str] = []
    if before_id:
        where.append("id < ?")
        args.append(before_id)
    if username:
        where.append("username = ?")
        args.append(username)
    if action:
        where.append("action = ?")
        args.append(action)
    sql = "SELECT * FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "")
    return list(db.query(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]))


def seen_recently(db: CentralDB, username: str, action: str, window_s: float) -> bool:
    """True if ``username`` has an ``action`` record in the last ``window_s`` seconds."""
    return db.execute("SELECT 1 FROM audit_log WHERE ts > ? AND action = ? AND username = ? LIMIT 1",
                      [time.time() - window_s, action, username]).fetchone() is not None
