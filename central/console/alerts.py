"""Alerts for central staff: fever events, quarantine exit attempts and pass-sharing anomalies, with acks.

Each alert has a stable key (``fever:<uuid>``, ``quarantine:<uuid>``, ``double_entry:<uuid>``,
``two_gates:<uuid>``; the uuid is the entry that raised it), so an acknowledgement with its note sticks
to the alert however often the list is rebuilt. Pass-sharing anomalies (:func:`anomalies`):

- ``double_entry``: a pass let in twice with no exit in between (the pass may be lent to someone else);
- ``two_gates``: a pass let through two different gates less than ``two_gate_minutes`` apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from central.console.errors import ConsoleError
from central.store import CentralDB

QUARANTINE_REASON = "quarantined"
DEFAULT_TWO_GATE_MINUTES = 3.0
MAX_ALERTS = 500
KINDS = ("fever", "quarantine", "double_entry", "two_gates")


@dataclass
class Alert:
    """One alert row for the page."""

    key: str
    kind: str
    wall_ts: float
    community: str | None
    gate_id: str
    pass_id: str | None
    household: str | None
    visitor_ref: str | None
    temp_c: float | None
    detail: str                 # reason code (events) or "prev_gate -> gate" (anomalies)
    gap_min: float | None = None  # anomalies: minutes since the previous passage of the pass
    acked_by: str | None = None
    acked_at: float | None = None
    note: str = ""


def _events(db: CentralDB, since: float, until: float) -> list[Alert]:
    cols = "uuid, wall_ts, community, gate_id, pass_id, household, visitor_ref, temp_c, fever, reason"
    fevers = db.execute(f"SELECT {cols} FROM entries WHERE fever = 1 AND wall_ts >= ? AND wall_ts < ? "
                        "ORDER BY wall_ts DESC LIMIT ?", [since, until, MAX_ALERTS]).fetchall()
    keys = db.execute("SELECT device_id, seq FROM entries INDEXED BY console_entries_scan WHERE wall_ts >= ? "
                      "AND wall_ts < ? AND reason = ? AND fever = 0 ORDER BY wall_ts DESC LIMIT ?",
                      [since, until, QUARANTINE_REASON, MAX_ALERTS]).fetchall()
    exits = [db.execute(f"SELECT {cols} FROM entries WHERE device_id = ? AND seq = ?", list(k)).fetchone()
             for k in keys]
    out = []
    for r in fevers + exits:
        kind = "fever" if r[8] else "quarantine"
        out.append(Alert(f"{kind}:{r[0]}", kind, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9]))
    return out


def anomalies(db: CentralDB, since: float, until: float,
              two_gate_minutes: float = DEFAULT_TWO_GATE_MINUTES) -> list[Alert]:
    """Pass-sharing anomalies among passes let through between ``since`` and ``until``.

    The scan reads only the console's covering index; table rows are fetched for the flagged entries only.
    """
    flagged = db.execute(
        "SELECT device_id, seq, direction, prev_dir, gate_id, prev_gate, wall_ts - prev_ts FROM ("
        " SELECT device_id, seq, wall_ts, gate_id, direction, LAG(direction) OVER w AS prev_dir,"
        "  LAG(gate_id) OVER w AS prev_gate, LAG(wall_ts) OVER w AS prev_ts"
        " FROM entries INDEXED BY console_entries_scan"
        " WHERE wall_ts >= ? AND wall_ts < ? AND pass_id IS NOT NULL AND decision != 'refuse'"
        " WINDOW w AS (PARTITION BY pass_id ORDER BY wall_ts)) AS passages "
        "WHERE prev_ts IS NOT NULL AND ((direction = 'in' AND prev_dir = 'in') "
        " OR (gate_id != prev_gate AND wall_ts - prev_ts < ?)) ORDER BY wall_ts DESC LIMIT ?",
        [since, until, two_gate_minutes * 60.0, MAX_ALERTS]).fetchall()
    out = []
    for device_id, seq, direction, prev_dir, gate, prev_gate, gap in flagged:
        r = db.execute("SELECT uuid, wall_ts, community, gate_id, pass_id, household FROM entries "
                       "WHERE device_id = ? AND seq = ?", [device_id, seq]).fetchone()
        kind = "double_entry" if direction == "in" and prev_dir == "in" else "two_gates"
        out.append(Alert(f"{kind}:{r[0]}", kind, r[1], r[2], r[3], r[4], r[5], None, None,
                         f"{prev_gate} → {gate}", round(gap / 60.0, 1)))
    return out


def alerts(db: CentralDB, since: float, until: float, *, include_acked: bool = True,
           two_gate_minutes: float = DEFAULT_TWO_GATE_MINUTES) -> list[Alert]:
    """Every alert in the window, newest first, with its acknowledgement if any."""
    items = _events(db, since, until) + anomalies(db, since, until, two_gate_minutes)
    items.sort(key=lambda a: a.wall_ts, reverse=True)
    items = items[:MAX_ALERTS]
    if items:
        keys = [a.key for a in items]
        acks = {r["alert_key"]: r for r in db.query(
            f"SELECT * FROM alert_acks WHERE alert_key IN ({', '.join('?' * len(keys))})", keys)}
        for a in items:
            ack = acks.get(a.key)
            if ack:
                a.acked_by, a.acked_at, a.note = ack["acked_by"], ack["acked_at"], ack["note"]
    if not include_acked:
        items = [a for a in items if a.acked_by is None]
    return items


def acknowledge(db: CentralDB, key: str, username: str, note: str) -> None:
    """Acknowledge an alert with a note (a second acknowledgement replaces the note)."""
    kind = key.split(":", 1)[0]
    if kind not in KINDS or len(key) > 200:
        raise ConsoleError(f"not an alert: {key[:60]!r}")
    db.execute("INSERT INTO alert_acks (alert_key, acked_by, acked_at, note) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(alert_key) DO UPDATE SET acked_by = excluded.acked_by, acked_at = excluded.acked_at, "
               "note = excluded.note", [key, username, time.time(), note.strip()[:500]])
