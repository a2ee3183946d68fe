"""Test data for the console: entries reach central through the sync engineer's real ingest.

This is the one place tests create central entries: :func:`ingest_entries` registers the device if
needed and stores rows with :func:`central.ingest.ingest`, exactly as an upload from a gate would.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from typing import Any

from central import ingest
from sync.protocol import UploadBody, content_hash

_DEFAULTS: dict[str, Any] = {
    "mono_ts": 1.0, "boot_id": "boot-1", "clock_trusted": 1, "event": "scan", "pass_id": None, "household": None,
    "person": None, "pass_kind": None, "visitor_ref": None, "direction": "in", "temp_c": 36.5, "temps": "[36.5]",
    "decision": "pass", "reason": "temp_ok", "guard_id": None, "override_reason": None, "ref_uuid": None, "fever": 0,
    "priority": 0, "extra": None, "extra_hash": None, "prev_hash": "0" * 64, "hash": "1" * 64,
}


def entry(seq: int, device_id: str, gate_id: str, wall_ts: float, **fields: Any) -> dict[str, Any]:
    """One local-log row as a device would upload it."""
    row = {**_DEFAULTS, "seq": seq, "uuid": str(uuidlib.uuid4()), "device_id": device_id, "gate_id": gate_id,
           "wall_ts": wall_ts, **fields}
    if row["fever"] and row["priority"] == 0:
        row["priority"] = 1
    return row


def ensure_device(db, device_id: str, community: str, gate_id: str) -> dict[str, Any]:
    """The registered device (registering it on first use)."""
    row = db.execute("SELECT device_id FROM devices WHERE device_id = ?", [device_id]).fetchone()
    if row is None:
        ingest.add_device(db, device_id, name=f"{community} {gate_id}", community=community, gate_id=gate_id)
    cur = db.execute("SELECT * FROM devices WHERE device_id = ?", [device_id])
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def ingest_entries(db, device_id: str, community: str, rows: list[dict[str, Any]], *, backlog: int = 0,
                   list_version: int = 0, wall_now: float | None = None,
                   lists_issued_at: float | None = None,
                   faults: list[dict[str, Any]] | None = None) -> ingest.IngestResult:
    """Store ``rows`` at central as one upload from ``device_id``."""
    device = ensure_device(db, device_id, community, rows[0]["gate_id"] if rows else "gate")
    last = max((r["seq"] for r in rows), default=0)
    body = UploadBody.model_validate({
        "format": "gatepass-upload/1", "batch_id": "b" + uuidlib.uuid4().hex[:20],
        "content_hash": content_hash(rows),
        "report": {"boot_id": "boot-1", "mono_now": 100.0, "wall_now": wall_now or time.time(),
                   "list_version": list_version, "backlog": backlog, "last_seq": last, "pending_min_seq": last + 1,
                   "software_version": "0.1.0", "lists_issued_at": lists_issued_at,
                   **({} if faults is None else {"faults": faults})},
        "entries": rows})
    return ingest.ingest(db, device, body)
