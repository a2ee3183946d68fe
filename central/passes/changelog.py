"""List pages for devices: changes since a version, or a full snapshot (format in :mod:`sync.lists`)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from central import people
from central.passes import quarantine
from central.passes.store import current_version
from central.store import CentralDB
from sync.lists import GUARD_OPS, HOUSEHOLD_OPS, PAGE_FORMATS

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 500


FORMATS = (1, 2, 3, 4)


def _page(version: int, since: int, snapshot: bool, more: bool, changes: list[dict], fmt: int) -> dict[str, Any]:
    return {"format": PAGE_FORMATS[fmt - 1 if fmt in FORMATS else 0], "version": version, "since": since,
            "snapshot": snapshot, "more": more,
            "issued_at": time.time(), "changes": changes}


def _for_format(v: int, op: str, data: dict[str, Any], fmt: int) -> dict[str, Any] | None:
    """A logged change as a gate reading list format ``fmt`` gets it (format 1: the household form ``v1``); None
    for a change that format does not carry (guards before format 3)."""
    if op in GUARD_OPS and fmt < 3 or op in HOUSEHOLD_OPS and fmt < 4:
        return None
    legacy = data.pop("v1", None)
    if fmt == 1 and isinstance(legacy, dict):
        return {**legacy, "v": v}
    return {**data, "v": v, "op": op}


def changes_since(db: CentralDB, since: int, limit: int = DEFAULT_LIMIT, fmt: int = 1) -> dict[str, Any]:
    """The page of at most ``limit`` changes after version ``since`` (``more`` says whether others wait), in list
    format ``fmt`` (1: households only, for gates not yet updated; 2: households and persons; 3: and guards;
    4: and the households central knows)."""
    limit = max(1, int(limit))
    rows = db.execute("SELECT v, op, data FROM pass_changes WHERE v > ? ORDER BY v LIMIT ?",
                      [int(since), limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [c for c in (_for_format(v, op, json.loads(data), fmt) for v, op, data in rows) if c is not None]
    version = rows[-1][0] if rows else max(int(since), 0)
    if not rows and int(since) > current_version(db):
        # The device holds versions this database never made (restored from an old backup?): its lists will not
        # converge by paging; it needs a snapshot and a version reset, which gatepass-lists/1 cannot express.
        log.error("a device asked for changes since version %d but the change log ends at %d: restored database? "
                  "reset that device's lists", int(since), current_version(db))
    return _page(version, int(since), False, more, changes, fmt)


def snapshot(db: CentralDB, fmt: int = 1) -> dict[str, Any]:
    """The whole current state as one page in list format ``fmt`` (for a new device or one too far behind): only
    what a gate needs, e.g. quarantines that hold now or later, without notes or released records."""
    with db.transaction(readonly=True):  # one read transaction: a consistent view
        version = current_version(db)
        changes: list[dict[str, Any]] = []
        for kid, pub, nbf, naf, status in db.execute(
                "SELECT kid, public_key, not_before, not_after, status FROM pass_keys ORDER BY created_at"):
            changes.append({"op": "key_add", "kid": kid, "public_key": pub, "not_before": nbf, "not_after": naf,
                            "retired": status == "retired"})
        for pass_id, reason in db.execute(
                "SELECT pass_id, COALESCE(revoke_reason, '') FROM passes WHERE revoked_at IS NOT NULL "
                "AND valid_to > ? ORDER BY pass_id", [time.time() - 86400]):
            changes.append({"op": "revoke", "pass_id": pass_id, "reason": reason})
        now = time.time()
        changes += quarantine.gate_ops(db, now) if fmt >= 2 else quarantine.legacy_ops(db, now)
        if fmt >= 3:
            changes += people.gate_ops(db)
        if fmt >= 4:
            changes += [{"op": "household", "household": h}
                        for (h,) in db.execute("SELECT household FROM households ORDER BY household")]
        for key, value in db.execute("SELECT key, value FROM pass_policy ORDER BY key"):
            changes.append({"op": "policy", "key": key, "value": json.loads(value)})
    for change in changes:
        change["v"] = version
    return _page(version, 0, True, False, changes, fmt)
