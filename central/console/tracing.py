"""Contact tracing: where a pass, household or visitor passed, and who passed the same gate nearby in time.

Passages are entries of the subject that were not refused within the window (``decision`` neither ``refuse``
nor ``info``: a record such as a shift hand-over is no passage).
Contacts are other people's non-refused entries at the same gate within plus/minus ``minutes`` of each
passage (index ``(gate_id, wall_ts)``). A contact seen near several passages appears once per passage.
Times are ``wall_ts``: central's best date of each entry (a row stamped on a gate's untrusted clock is re-dated in
place once a trusted time of its boot arrives, :mod:`central.redating`; the gate's own stamp is in ``corrections``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from central.console.errors import ConsoleError
from central.store import CentralDB

SUBJECT_KINDS = ("pass_id", "household", "visitor_ref")
MAX_PASSAGES = 2000
MAX_CONTACTS = 50_000
MAX_MINUTES = 24 * 60

PASSAGE_COLUMNS = ("wall_ts", "community", "gate_id", "direction", "event", "pass_id", "household", "person",
                   "visitor_ref", "temp_c", "fever", "uuid")
CONTACT_COLUMNS = ("passage_ts", "gate_id", "wall_ts", "delta_min", "direction", "pass_id", "household", "person",
                   "pass_kind", "visitor_ref", "temp_c", "fever", "uuid")


# The CSV export is one table: the subject's passages (section "passage", delta 0), then the contacts.
CSV_COLUMNS = ("section", *CONTACT_COLUMNS)
_TIME_COLUMNS = ("wall_ts", "passage_ts")


@dataclass
class Trace:
    """The result of one trace."""

    kind: str
    value: str
    since: float
    until: float
    minutes: int
    passages: list[dict]
    contacts: list[dict]
    truncated: bool


def trace(db: CentralDB, kind: str, value: str, since: float, until: float, minutes: int) -> Trace:
    """Trace ``kind`` (pass_id | household | visitor_ref) = ``value`` between ``since`` and ``until``."""
    if kind not in SUBJECT_KINDS:
        raise ConsoleError(f"cannot trace by {kind!r}", f"use one of {', '.join(SUBJECT_KINDS)}")
    value = (value or "").strip()
    if not value:
        raise ConsoleError("nothing to trace", "enter a pass number, household or visitor reference")
    if until <= since:
        raise ConsoleError("the end of the time window is before its start")
    if not 0 <= minutes <= MAX_MINUTES:
        raise ConsoleError("the time margin must be 0-1440 minutes")
    passages = list(db.query(
        f"SELECT {', '.join(PASSAGE_COLUMNS)} FROM entries WHERE {kind} = ? AND wall_ts >= ? AND wall_ts < ? "
        "AND decision NOT IN ('refuse', 'info') ORDER BY wall_ts LIMIT ?", [value, since, until, MAX_PASSAGES + 1]))
    truncated = len(passages) > MAX_PASSAGES
    passages = passages[:MAX_PASSAGES]
    contacts: list[dict] = []
    margin = minutes * 60.0
    for p in passages:
        rows = db.query(
            "SELECT wall_ts, direction, pass_id, household, person, pass_kind, visitor_ref, temp_c, fever, uuid "
            f"FROM entries WHERE gate_id = ? AND wall_ts >= ? AND wall_ts <= ? AND decision NOT IN ('refuse', 'info') "
            f"AND uuid != ? AND ({kind} IS NULL OR {kind} != ?) ORDER BY wall_ts",
            [p["gate_id"], p["wall_ts"] - margin, p["wall_ts"] + margin, p["uuid"], value])
        for r in rows:
            r["passage_ts"] = p["wall_ts"]
            r["gate_id"] = p["gate_id"]
            r["delta_min"] = round((r["wall_ts"] - p["wall_ts"]) / 60.0, 1)
            contacts.append(r)
            if len(contacts) > MAX_CONTACTS:
                return Trace(kind, value, since, until, minutes, passages, contacts[:MAX_CONTACTS], True)
    return Trace(kind, value, since, until, minutes, passages, contacts, truncated)


def csv_rows(result: Trace, fmt_ts: Callable[[float], str]) -> list[tuple]:
    """Rows of the CSV export (:data:`CSV_COLUMNS`); times formatted with ``fmt_ts``."""
    def row(section: str, rec: dict) -> tuple:
        return (section, *(fmt_ts(rec[k]) if k in _TIME_COLUMNS else rec.get(k) for k in CONTACT_COLUMNS))

    out = [row("passage", {**p, "passage_ts": p["wall_ts"], "delta_min": 0.0}) for p in result.passages]
    out += [row("contact", c) for c in result.contacts]
    return out
