"""Alerts for central staff, with acknowledgements.

Kinds (the rules are in :mod:`.alert_rules`): ``let_through`` (a guard let a refused person through: quarantine,
fever, high temperature, health code), ``fever``, ``suspected_fever``, ``quarantine``, ``host_quarantined``,
``health_code``, ``thermometer_down``, ``empty_post`` (a rostered gate post nobody is signed in at), and the
pass-sharing anomalies (:func:`anomalies`):

- ``double_entry``: a pass let in twice with no exit in between (the pass may be lent to someone else);
- ``two_gates``: a pass let through two different gates less than ``two_gate_minutes`` apart.

Each alert has a stable key (``<kind>:<uuid>``, the uuid of the entry that raised it; ``thermometer_down:<device
id>:<episode>``; ``empty_post:<post id>:<empty since>``; the care kinds ``care_missed`` and ``care_fever``, see
:func:`_care`), so an acknowledgement with its note sticks to the alert however often the list is rebuilt. A
refusal's alert carries the override that followed it (:attr:`Alert.override`), so nobody takes a person let through
for one who was stopped; a let-through alert carries the refusal it overrode (:attr:`Alert.refused_key`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from central import care, passage_flags
from central.console import alert_rules as rules
from central.console import entries, values
from central.console.errors import ConsoleError
from central.store import CentralDB

QUARANTINE_REASON = "quarantined"
DEFAULT_TWO_GATE_MINUTES = 3.0
MAX_ALERTS = rules.MAX_ALERTS
KINDS = ("let_through", "fever", "suspected_fever", "quarantine", "host_quarantined", "health_code",
         "thermometer_down", "empty_post", "double_entry", "two_gates", "care_missed", "care_fever")
#: Kinds shown as priority (red) rows.
PRIORITY_KINDS = frozenset({"let_through", "fever", "quarantine", "host_quarantined", "health_code", "care_fever"})
#: Home-quarantine care kinds (:mod:`central.care`): their temperatures are health data, for staff only.
CARE_KINDS = frozenset({"care_missed", "care_fever"})


@dataclass
class Override:
    """A guard's override: who, why (a reason code of :data:`sync.reasons.OVERRIDE_REASONS` and a note), when."""

    key: str              # the let-through alert's key
    wall_ts: float
    guard_id: str | None
    reason: str | None
    note: str


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
    detail: str                 # reason code (events), "prev_gate -> gate" (anomalies), fault code (devices)
    gap_min: float | None = None  # anomalies: minutes since the previous passage of the pass
    acked_by: str | None = None
    acked_at: float | None = None
    note: str = ""
    person: int | None = None
    override: Override | None = None     # let_through: this override; refusals: the override that followed
    refused_key: str | None = None       # let_through: the alert key of the refusal it overrode
    refused_reason: str | None = None    # let_through: the refusal's reason code
    refused_at: float | None = None
    until: float | None = None           # thermometer_down: when it worked again (None: still down)
    priority: bool = False
    link: str | None = None              # care alerts: the care page of the quarantine
    visitor_name: str = ""               # the visitor of visitor_ref (masked for viewers: name_visitors)


def _alert(kind: str, r: rules.Row, detail: str | None = None) -> Alert:
    return Alert(f"{kind}:{r.uuid}", kind, r.wall_ts, r.community, r.gate_id, r.pass_id, r.household, r.visitor_ref,
                 r.temp_c, r.reason if detail is None else detail, person=r.person, priority=kind in PRIORITY_KINDS)


def _override(r: rules.Row) -> Override:
    return Override(f"let_through:{r.uuid}", r.wall_ts, r.guard_id, r.override_reason, r.note)


def _refusal_key(r: rules.Row) -> str:
    if r.fever:
        return f"fever:{r.uuid}"
    if r.reason == "temp_high":
        return f"suspected_fever:{r.uuid}"
    return f"{rules.REFUSAL_KINDS.get(r.reason, 'quarantine')}:{r.uuid}"


def _let_through(db: CentralDB, since: float, until: float) -> list[Alert]:
    found = rules.overrides(db, since, until)
    refused = rules.by_uuid(db, [o.ref_uuid for o in found if o.ref_uuid])
    out = []
    for o in found:
        ref = refused.get(o.ref_uuid or "")
        if not rules.is_let_through(o, ref):
            continue
        a = _alert("let_through", o, ref.reason if ref else "override")
        a.override = _override(o)
        if ref is not None:
            a.refused_key, a.refused_reason, a.refused_at = _refusal_key(ref), ref.reason, ref.wall_ts
            a.temp_c = a.temp_c if a.temp_c is not None else ref.temp_c
            a.household, a.person = a.household or ref.household, a.person if a.person is not None else ref.person
        out.append(a)
    return out


def _events(db: CentralDB, since: float, until: float, now: float) -> list[Alert]:
    fevers = rules.fevers(db, since, until)
    out = [_alert("fever", r) for r in fevers]
    out += [_alert(rules.REFUSAL_KINDS[r.reason], r) for r in rules.refusals(db, since, until, rules.REFUSAL_KINDS)]
    out += [_alert("suspected_fever", r) for r in rules.suspected_fevers(db, since, until, now)]
    refs = {a.key.split(":", 1)[1]: a for a in out}
    fever_refs = {r.ref_uuid: r.uuid for r in fevers if r.ref_uuid}
    followed = rules.overrides_of(db, [*refs, *fever_refs])
    for uuid, o in followed.items():
        target = refs.get(uuid) or refs.get(fever_refs.get(uuid, ""))
        if target is not None:
            target.override = _override(o)
    return out


def _devices(db: CentralDB, since: float, until: float, now: float) -> list[Alert]:
    out = []
    for ep in rules.thermometer_down(db, since, until, now):
        end, start = values.finite(ep["until"] or now), values.finite(ep["started_at"])
        a = Alert(f"thermometer_down:{ep['device_id']}:{ep['id']}", "thermometer_down", ep["started_at"],
                  ep["community"], ep["gate_id"] or ep["device_id"], None, None, None, None, ep["code"],
                  gap_min=None if end is None or start is None else (end - start) / 60.0, until=ep["until"])
        out.append(a)
    return out + _empty_posts(db, since, until, now)


def _empty_posts(db: CentralDB, since: float, until: float, now: float) -> list[Alert]:
    """Rostered gate posts empty now (``detail`` is the post's name; keyed by post and since when)."""
    if not since <= now < until:
        return []
    return [Alert(f"empty_post:{e.post_id}:{int(e.since)}", "empty_post", e.since, None, e.gate_id, None, None,
                  None, None, e.post_name, gap_min=(now - e.since) / 60.0, priority=True)
            for e in rules.rostered_empty_posts(db, now)]


def _care(db: CentralDB, since: float, until: float, now: float) -> list[Alert]:
    """Home-quarantine care: a slot over with no temperature (``care_missed:<quarantine>:<person>:<day>:<slot>``)
    and a reading at or above the fever threshold (``care_fever:<reading id>``); ``detail`` is "<day> <slot>"."""
    return [Alert(c.key, c.kind, c.at, None, "", None, c.household, None, c.temp_c, c.detail, person=c.person,
                  priority=c.kind in PRIORITY_KINDS, link=f"/care/{c.quarantine_id}")
            for c in care.alerts(db, since, until, now)]


def for_viewers(items: list[Alert]) -> list[Alert]:
    """The alerts as a viewer may see them: no temperatures of home-quarantine care (health data)."""
    for a in items:
        if a.kind in CARE_KINDS:
            a.temp_c = None
    return items


def anomalies(db: CentralDB, since: float, until: float,
              two_gate_minutes: float = DEFAULT_TWO_GATE_MINUTES) -> list[Alert]:
    """Pass-sharing anomalies among passes let through between ``since`` and ``until``: each passage compared with
    the previous passage of its pass in the window (ordered by time, then device and seq).

    Read from the flags kept by :mod:`central.passage_flags` (brought up to date first), which answer for
    ``two_gate_minutes`` up to an hour; beyond, :func:`anomalies_from_entries`. Table rows are fetched for the
    flagged entries only.
    """
    if two_gate_minutes * 60.0 > passage_flags.MAX_GAP_S:
        return anomalies_from_entries(db, since, until, two_gate_minutes)
    passage_flags.refresh(db)
    found = db.execute(
        "SELECT f.direction, f.prev_dir, f.prev_gate, f.gap, e.uuid, e.wall_ts, e.community, e.gate_id, e.pass_id, "
        "e.household FROM (SELECT device_id, seq, wall_ts, direction, prev_dir, gate_id, prev_gate, "
        " wall_ts - prev_ts AS gap FROM passage_flags "
        " WHERE wall_ts >= ? AND wall_ts < ? AND prev_ts >= ? AND ((direction = 'in' AND prev_dir = 'in') "
        " OR (gate_id != prev_gate AND wall_ts - prev_ts < ?)) ORDER BY wall_ts DESC, device_id DESC, seq DESC "
        " LIMIT ?) AS f JOIN entries AS e ON e.device_id = f.device_id AND e.seq = f.seq "
        "ORDER BY f.wall_ts DESC, f.device_id DESC, f.seq DESC",
        [since, until, since, two_gate_minutes * 60.0, MAX_ALERTS]).fetchall()
    return [_anomaly(direction, prev_dir, prev_gate, gap, r) for direction, prev_dir, prev_gate, gap, *r in found]


def anomalies_from_entries(db: CentralDB, since: float, until: float,
                           two_gate_minutes: float = DEFAULT_TWO_GATE_MINUTES) -> list[Alert]:
    """:func:`anomalies` computed from the entries of the window (every passage of the window ordered by pass:
    the reference the flags are tested against, and the way for a threshold beyond an hour)."""
    flagged = db.execute(
        "SELECT device_id, seq, direction, prev_dir, gate_id, prev_gate, wall_ts - prev_ts FROM ("
        " SELECT device_id, seq, wall_ts, gate_id, direction, LAG(direction) OVER w AS prev_dir,"
        "  LAG(gate_id) OVER w AS prev_gate, LAG(wall_ts) OVER w AS prev_ts"
        " FROM entries INDEXED BY console_entries_scan"
        " WHERE wall_ts >= ? AND wall_ts < ? AND pass_id IS NOT NULL AND decision NOT IN ('refuse', 'info')"
        " WINDOW w AS (PARTITION BY pass_id ORDER BY wall_ts, device_id, seq)) AS passages "
        "WHERE prev_ts IS NOT NULL AND ((direction = 'in' AND prev_dir = 'in') "
        " OR (gate_id != prev_gate AND wall_ts - prev_ts < ?)) ORDER BY wall_ts DESC, device_id DESC, seq DESC "
        "LIMIT ?", [since, until, two_gate_minutes * 60.0, MAX_ALERTS]).fetchall()
    return _anomaly_alerts(db, flagged)


def _anomaly_alerts(db: CentralDB, flagged: list) -> list[Alert]:
    out = []
    for device_id, seq, direction, prev_dir, _gate, prev_gate, gap in flagged:
        r = db.execute("SELECT uuid, wall_ts, community, gate_id, pass_id, household FROM entries "
                       "WHERE device_id = ? AND seq = ?", [device_id, seq]).fetchone()
        out.append(_anomaly(direction, prev_dir, prev_gate, gap, r))
    return out


def _anomaly(direction: str, prev_dir: str, prev_gate: str, gap: float, r) -> Alert:
    """The alert of a flagged passage ``r`` (uuid, wall_ts, community, gate_id, pass_id, household)."""
    kind = "double_entry" if direction == "in" and prev_dir == "in" else "two_gates"
    return Alert(f"{kind}:{r[0]}", kind, r[1], r[2], r[3], r[4], r[5], None, None, f"{prev_gate} → {r[3]}",
                 round(gap / 60.0, 1))


def _newest_first(a: Alert) -> float:
    """Sort key of an alert: its time (a stored time that is no number first, NaN last)."""
    ts = values.finite(a.wall_ts)
    if ts is not None:
        return ts
    return a.wall_ts if isinstance(a.wall_ts, float) and not math.isnan(a.wall_ts) else math.inf


def alerts(db: CentralDB, since: float, until: float, *, include_acked: bool = True,
           two_gate_minutes: float = DEFAULT_TWO_GATE_MINUTES, now: float | None = None) -> list[Alert]:
    """Every alert in the window, newest first, with its acknowledgement if any."""
    now = time.time() if now is None else now
    items = (_let_through(db, since, until) + _events(db, since, until, now) + _devices(db, since, until, now)
             + anomalies(db, since, until, two_gate_minutes) + _care(db, since, until, now))
    items.sort(key=_newest_first, reverse=True)
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


def name_visitors(db: CentralDB, items: list[Alert], full: bool) -> list[Alert]:
    """The alerts with the name of each one's visitor (:func:`central.console.entries.visitor_names`; masked
    unless ``full``), so that staff see 张伟 rather than a visit reference."""
    names = entries.visitor_names(db, (a.visitor_ref for a in items), full)
    for a in items:
        a.visitor_name = names.get(a.visitor_ref or "", "")
    return items
