"""Shift hand-overs synced from the gates: one ``shift_end`` entry per shift, its summary in ``extra``.

The gate's summary (JSON in the entry's ``extra``): ``started_at``, ``ended_at`` (unix s), ``entries``,
``refusals`` ({reason: n}), ``high_readings``, ``fever_events``, ``overrides`` ([{reason, note, at}]),
``visitors``, ``faults`` ([{code, since, until}]), ``handover_note`` (what the guard left for the next one,
:mod:`edge.handover`). Anything malformed is read as absent, never as an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from central.console import values
from central.store import CentralDB

MAX_SHIFTS = 200
NOTE_MAX = 300  # the gate's limit (edge.handover.NOTE_MAX)


@dataclass
class HandOver:
    """One shift's summary as a gate sent it."""

    uuid: str
    wall_ts: float
    community: str | None
    gate_id: str
    guard_id: str | None
    started_at: float | None = None
    ended_at: float | None = None
    entries: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    high_readings: int = 0
    fever_events: int = 0
    overrides: list[dict[str, Any]] = field(default_factory=list)
    visitors: int = 0
    faults: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""  # the hand-over note for the next guard


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else 0


def _time(value: object) -> float | None:
    return values.finite(value)


def _text(value: object, limit: int = 200) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _note(value: object) -> str:
    """The hand-over note as shown: printable characters and line breaks only, at most :data:`NOTE_MAX`."""
    if not isinstance(value, str):
        return ""
    text = "".join(c for c in value[:NOTE_MAX] if c == "\n" or c.isprintable())
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def _summary(h: HandOver, extra: str | None) -> HandOver:
    try:
        data = json.loads(extra) if extra else {}
    except (ValueError, TypeError, RecursionError):  # any stored text, however nested
        data = {}
    if not isinstance(data, dict):
        return h
    h.started_at, h.ended_at = _time(data.get("started_at")), _time(data.get("ended_at"))
    h.note = _note(data.get("handover_note"))
    h.entries, h.visitors = _count(data.get("entries")), _count(data.get("visitors"))
    h.high_readings, h.fever_events = _count(data.get("high_readings")), _count(data.get("fever_events"))
    refusals = data.get("refusals")
    if isinstance(refusals, dict):
        h.refusals = {_text(k, 40): _count(v) for k, v in list(refusals.items())[:50] if _count(v)}
    for o in data.get("overrides") or []:
        if isinstance(o, dict) and len(h.overrides) < 100:
            h.overrides.append({"reason": _text(o.get("reason"), 20), "note": _text(o.get("note")),
                                "at": _time(o.get("at"))})
    for f in data.get("faults") or []:
        if isinstance(f, dict) and _text(f.get("code"), 40) and len(h.faults) < 50:
            h.faults.append({"code": _text(f.get("code"), 40), "since": _time(f.get("since")),
                             "until": _time(f.get("until"))})
    return h


def hand_overs(db: CentralDB, since: float, until: float, gate_id: str | None = None) -> list[HandOver]:
    """The shift hand-overs recorded between ``since`` and ``until`` (at one gate, or all), newest first."""
    sql = ("SELECT uuid, wall_ts, community, gate_id, guard_id, extra FROM entries WHERE event = 'shift_end' "
           "AND wall_ts >= ? AND wall_ts < ?")
    args: list[Any] = [since, until]
    if gate_id:
        sql += " AND gate_id = ?"
        args.append(gate_id)
    rows = db.execute(sql + " ORDER BY wall_ts DESC LIMIT ?", [*args, MAX_SHIFTS]).fetchall()
    return [_summary(HandOver(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows]
