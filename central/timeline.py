"""One timeline per household: everything that happened to it, newest first, from every casework source.

Each source is a function ``(db, household, since) -> list[TimelineEvent]`` (``since``: unix seconds, the oldest
event wanted). Modules with something to say about a household (passes, passages at the gates, quarantine,
temperatures, needs, deliveries, calls, alerts …) provide one and are listed in :data:`SOURCES` by dotted name (so
this module imports none of them at import time).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from central.store import CentralDB

log = logging.getLogger(__name__)

MAX_EVENTS = 500


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened to a household.

    ``kind`` names what it is (a console i18n key ``timeline_<kind>`` gives its label, e.g. ``temperature`` →
    "体温"); ``summary`` holds values only (a temperature, a name, a gate's name, a note typed by staff), never words
    that need translating; ``person`` is the member it concerns (None: the household); ``link`` a console path to
    the record, if it has a page.
    """

    at: float
    kind: str
    summary: str = ""
    person: int | None = None
    link: str | None = None
    alert: bool = False
    detail: dict[str, str] = field(default_factory=dict)


Source = Callable[[CentralDB, str, float], list[TimelineEvent]]

#: "module:function" of each source, in no particular order (events are merged by time).
SOURCES: tuple[str, ...] = ("central.timeline:pass_events", "central.timeline:passage_events",
                            "central.timeline:quarantine_events", "central.timeline:alert_events",
                            "central.care:timeline_events", "central.screening:timeline_events",
                            "central.deliveries:timeline_events")

#: Refusal reasons that make an entry an alert for the household (as the console's alert rules see them).
ALERT_REASONS = ("quarantined", "host_quarantined", "health_code_yellow", "health_code_red", "fever", "temp_high")
_ALERT_SQL = ("(fever = 1 OR event = 'override' OR (decision = 'refuse' AND reason IN "
              f"({', '.join(repr(r) for r in ALERT_REASONS)})))")


def _load(spec: str) -> Source:
    module, _, name = spec.partition(":")
    source: Source = getattr(importlib.import_module(module), name)
    return source


def household_timeline(db: CentralDB, household: str, since: float = 0.0, *,
                       sources: tuple[str, ...] | None = None, limit: int = MAX_EVENTS) -> list[TimelineEvent]:
    """The household's events from every source since ``since``, newest first, at most ``limit``. A source that
    fails is logged and shown as one ``source_failed`` event (its module as summary) on top."""
    events: list[TimelineEvent] = []
    for spec in SOURCES if sources is None else sources:
        try:
            events.extend(_load(spec)(db, household, since))
        except Exception:  # noqa: BLE001 - one broken source must not hide the household's other records
            log.exception("timeline source %s failed for %s", spec, household)
            events.append(TimelineEvent(time.time(), "source_failed", spec.partition(":")[0], alert=True))
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]


# -- the sources this module provides: passes, passages at the gates, quarantine, alerts ---------------------------

def _gate_names(db: CentralDB) -> dict[str, str]:
    """Each gate's name as staff gave it to its device (the gate id when it has none)."""
    names: dict[str, str] = {}
    for gate_id, name in db.execute("SELECT gate_id, name FROM devices WHERE name != '' "
                                    "ORDER BY revoked_at IS NOT NULL, created_at, device_id").fetchall():
        names.setdefault(gate_id, name)
    return names


def pass_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """Passes issued (``pass_issued``) and revoked (``pass_revoked``, the reason as summary)."""
    events: list[TimelineEvent] = []
    rows = db.execute("SELECT pass_id, person, kind, name, issued_at, revoked_at, revoke_reason FROM passes "
                      "WHERE household = ? AND (issued_at >= ? OR revoked_at >= ?) ORDER BY pass_id DESC LIMIT ?",
                      [household, since, since, MAX_EVENTS]).fetchall()
    for pass_id, person, kind, name, issued_at, revoked_at, reason in rows:
        detail = {"pass_id": str(pass_id), "pass_kind": kind, "name": name or ""}
        if issued_at >= since:
            events.append(TimelineEvent(float(issued_at), "pass_issued", f"#{pass_id}", int(person), detail=detail))
        if revoked_at is not None and revoked_at >= since:
            events.append(TimelineEvent(float(revoked_at), "pass_revoked", reason or "", int(person),
                                        detail=detail))
    return events


def _entry_events(db: CentralDB, household: str, since: float, alerts: bool) -> list[TimelineEvent]:
    gates = _gate_names(db)
    rows = db.execute("SELECT wall_ts, gate_id, direction, decision, reason, temp_c, person, event, fever "
                      f"FROM entries WHERE household = ? AND wall_ts >= ? AND {'' if alerts else 'NOT '}{_ALERT_SQL} "
                      "ORDER BY wall_ts DESC LIMIT ?", [household, since, MAX_EVENTS]).fetchall()
    events = []
    for wall_ts, gate_id, direction, decision, reason, temp_c, person, event, fever in rows:
        gate = gates.get(gate_id, gate_id)
        detail = {"gate": gate, "direction": direction or "", "decision": decision or "", "reason": reason or "",
                  "event": event or "", "temp_c": "" if temp_c is None else f"{float(temp_c):.1f}",
                  "fever": "1" if fever else ""}
        events.append(TimelineEvent(float(wall_ts), "alert" if alerts else "passage", gate,
                                    None if person is None else int(person), alert=alerts, detail=detail))
    return events


def passage_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """Passages of the household's passes at the gates (``passage``; the gate's name as summary; direction,
    decision, reason and temperature in ``detail``), alerts left to :func:`alert_events`."""
    return _entry_events(db, household, since, alerts=False)


def alert_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """Entries that raised an alert for the household (``alert``, ``alert=True``): a fever, a refusal for
    quarantine or health code, a guard's override."""
    return _entry_events(db, household, since, alerts=True)


def quarantine_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """Quarantines placed (``quarantine_set``: first → last day) and released (``quarantine_released``)."""
    events: list[TimelineEvent] = []
    rows = db.execute("SELECT first_day, last_day, person, set_at, set_by, note, released_at, released_by, "
                      "release_note FROM quarantines WHERE household = ? AND (set_at >= ? OR released_at >= ?) "
                      "ORDER BY id DESC LIMIT ?", [household, since, since, MAX_EVENTS]).fetchall()
    for first, last, person, set_at, set_by, note, released_at, released_by, release_note in rows:
        who = None if person is None else int(person)
        if set_at >= since:
            events.append(TimelineEvent(float(set_at), "quarantine_set", f"{first} → {last}", who,
                                        detail={"by": set_by or "", "note": note or ""}))
        if released_at is not None and released_at >= since:
            events.append(TimelineEvent(float(released_at), "quarantine_released", f"{first} → {last}", who,
                                        detail={"by": released_by or "", "note": release_note or ""}))
    return events
