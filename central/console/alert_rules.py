"""The alert rules over central's entries and the gates' fault episodes (assembled by :mod:`.alerts`).

- refusals that need staff: ``quarantine`` (a quarantined person tried to go out), ``host_quarantined`` (a
  visitor to a household under quarantine), ``health_code`` (the guard saw a yellow or red city health code);
- ``fever``: the entry flagged as fever (a second high reading within the re-measure window);
- ``suspected_fever``: a first high reading (``temp_high``) not followed within the re-measure window by a
  normal re-measure of the same pass (or visitor) at that gate, nor by a fever entry;
- ``let_through``: a guard's override of a quarantine, fever, high-temperature or health-code refusal (or one the
  gate marked priority): the person was let through, by whom and why;
- ``thermometer_down``: a gate's heartbeat reported its thermometer faulted for more than 5 minutes;
- ``empty_post``: a gate post with nobody signed in for more than N minutes (policy ``empty_post_minutes``,
  default 30) while a roster slot for that post is running (:func:`empty_posts`, pure, over plain data).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from central import duty, faults
from central.store import CentralDB

MAX_ALERTS = 500
REMEASURE_WINDOW_S = 180.0  # the gates' default; central's policy ``remeasure_window_s`` wins when set
THERMOMETER_DOWN_S = 300.0
EMPTY_POST_MINUTES = 30.0

#: Refusal reasons raising an alert of their own, by alert kind.
REFUSAL_KINDS: dict[str, str] = {"quarantined": "quarantine", "host_quarantined": "host_quarantined",
                                 "health_code_yellow": "health_code", "health_code_red": "health_code"}
#: Refusals whose override lets a risk through (a let-through alert).
RISK_REASONS = frozenset({"quarantined", "host_quarantined", "fever", "temp_high", "health_code_yellow",
                          "health_code_red"})
_COLS = ("uuid, wall_ts, community, gate_id, pass_id, household, visitor_ref, temp_c, fever, reason, event, "
         "guard_id, override_reason, ref_uuid, priority, extra, decision, device_id, person")


@dataclass
class Row:
    """The entry columns the alert rules read."""

    uuid: str
    wall_ts: float
    community: str | None
    gate_id: str
    pass_id: str | None
    household: str | None
    visitor_ref: str | None
    temp_c: float | None
    fever: int
    reason: str
    event: str
    guard_id: str | None
    override_reason: str | None
    ref_uuid: str | None
    priority: int
    extra: str | None
    decision: str
    device_id: str
    person: int | None

    @property
    def note(self) -> str:
        """The guard's short note in ``extra`` (``""`` when none)."""
        return extra_field(self.extra, "note")


def extra_field(extra: str | None, key: str) -> str:
    """A short text field of an entry's ``extra`` JSON object (``""`` when absent or malformed)."""
    try:
        data = json.loads(extra) if extra else None
    except (ValueError, TypeError, RecursionError):  # any stored text, however nested
        return ""
    value = data.get(key) if isinstance(data, dict) else None
    return value.strip()[:200] if isinstance(value, str) else ""


def _rows(db: CentralDB, where: str, args: list, hint: str = "") -> list[Row]:
    cur = db.execute(f"SELECT {_COLS} FROM entries {hint} WHERE {where}", args)
    return [Row(*r) for r in cur.fetchall()]


def _keyed(db: CentralDB, keys_sql: str, args: list) -> list[Row]:
    """The rows whose keys ``keys_sql`` (a query of ``device_id, seq``) selects, newest first, in one statement
    (one round trip to PostgreSQL rather than one per row)."""
    return _rows(db, f"(device_id, seq) IN ({keys_sql}) ORDER BY wall_ts DESC", args)


def fevers(db: CentralDB, since: float, until: float) -> list[Row]:
    """Entries flagged as fever, newest first."""
    return _rows(db, "fever = 1 AND wall_ts >= ? AND wall_ts < ? ORDER BY wall_ts DESC LIMIT ?",
                 [since, until, MAX_ALERTS])


def refusals(db: CentralDB, since: float, until: float, reasons: Iterable[str]) -> list[Row]:
    """Refusals (not fever-flagged) with one of ``reasons``, newest first (read through the index of refusals,
    :mod:`central.passage_flags`)."""
    codes = sorted(reasons)
    return _keyed(db, "SELECT device_id, seq FROM entries INDEXED BY entries_refused_wall WHERE wall_ts >= ? "
                  f"AND wall_ts < ? AND reason IN ({', '.join('?' * len(codes))}) AND decision = 'refuse' "
                  "AND fever = 0 ORDER BY wall_ts DESC LIMIT ?", [since, until, *codes, MAX_ALERTS])


def overrides(db: CentralDB, since: float, until: float) -> list[Row]:
    """The guards' overrides in the window, newest first."""
    return _keyed(db, "SELECT device_id, seq FROM entries INDEXED BY entries_override_wall WHERE wall_ts >= ? "
                  "AND wall_ts < ? AND event = 'override' ORDER BY wall_ts DESC LIMIT ?", [since, until, MAX_ALERTS])


def by_uuid(db: CentralDB, uuids: Iterable[str]) -> dict[str, Row]:
    """Entries by uuid."""
    wanted = sorted(set(uuids))
    out: dict[str, Row] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        out.update((r.uuid, r) for r in _rows(db, f"uuid IN ({', '.join('?' * len(chunk))})", chunk))
    return out


def overrides_of(db: CentralDB, uuids: Iterable[str]) -> dict[str, Row]:
    """The override that followed each refusal (by the refusal's uuid), the latest when there are several."""
    wanted = sorted(set(uuids))
    out: dict[str, Row] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        # through the index of references (a planner left alone may walk every override ever made)
        for r in _rows(db, f"event = 'override' AND ref_uuid IS NOT NULL AND ref_uuid IN "
                           f"({', '.join('?' * len(chunk))}) ORDER BY wall_ts", chunk, "INDEXED BY entries_ref"):
            out[r.ref_uuid or ""] = r
    return out


def is_let_through(override: Row, refused: Row | None) -> bool:
    """Whether an override let a risk through: its refusal was a risk, or the gate marked it priority."""
    return bool(override.priority) or (refused is not None and (refused.reason in RISK_REASONS or bool(refused.fever)))


def remeasure_window(db: CentralDB) -> float:
    """The re-measure window (s): central's policy ``remeasure_window_s`` when set, else the gates' default."""
    if not db.table_exists("pass_policy"):
        return REMEASURE_WINDOW_S
    row = db.execute("SELECT value FROM pass_policy WHERE key = 'remeasure_window_s'").fetchone()
    try:
        value = float(json.loads(row[0])) if row else REMEASURE_WINDOW_S
    except (TypeError, ValueError):
        return REMEASURE_WINDOW_S
    return value if 0 < value < 86400 else REMEASURE_WINDOW_S


def _settled(db: CentralDB, high: Row, window: float) -> bool:
    """Whether a normal re-measure of the same person at that gate, or a fever entry, followed ``high``."""
    if db.execute("SELECT 1 FROM entries INDEXED BY entries_ref WHERE ref_uuid IS NOT NULL AND ref_uuid = ? "
                  "AND fever = 1", [high.uuid]).fetchone():
        return True
    who, value = ("pass_id", high.pass_id) if high.pass_id is not None else ("visitor_ref", high.visitor_ref)
    if value is None:
        return False
    return db.execute(
        f"SELECT 1 FROM entries WHERE {who} = ? AND gate_id = ? AND wall_ts > ? AND wall_ts <= ? "
        "AND event != 'override' AND (fever = 1 OR decision = 'pass' OR reason = 'temp_ok') LIMIT 1",
        [value, high.gate_id, high.wall_ts, high.wall_ts + window]).fetchone() is not None


def suspected_fevers(db: CentralDB, since: float, until: float, now: float) -> list[Row]:
    """First high readings whose re-measure window has passed with no normal re-measure and no fever entry."""
    window = remeasure_window(db)
    highs = refusals(db, since, min(until, now - window), ["temp_high"])
    return [h for h in highs if not _settled(db, h, window)]


def thermometer_down(db: CentralDB, since: float, until: float, now: float) -> list[dict]:
    """Episodes of a gate running without its thermometer for more than :data:`THERMOMETER_DOWN_S`."""
    if not db.table_exists("device_faults"):
        return []
    return faults.episodes(db, "thermometer", THERMOMETER_DOWN_S, since, until, now)


@dataclass(frozen=True)
class RosterSlot:
    """A running roster slot of a gate post (plain data for :func:`empty_posts`)."""

    post_id: int
    post_name: str
    gate_id: str
    start_ts: float
    end_ts: float


@dataclass(frozen=True)
class EmptyPost:
    """A gate post nobody has been signed in at since ``since`` while rostered."""

    post_id: int
    post_name: str
    gate_id: str
    since: float


def signed_in_spans(events: Iterable[tuple[str, str, float]]) -> dict[str, list[tuple[float, float | None]]]:
    """Per gate, the spans someone was signed in, from ``(gate_id, event, wall_ts)`` in time order: a
    ``shift_start`` opens a span (closing an open one), a ``shift_end`` closes it (``None``: still open)."""
    spans: dict[str, list[tuple[float, float | None]]] = {}
    for gate_id, event, ts in events:
        gate = spans.setdefault(gate_id, [])
        if gate and gate[-1][1] is None:
            gate[-1] = (gate[-1][0], ts)
        if event == "shift_start":
            gate.append((ts, None))
    return spans


def empty_posts(slots: Iterable[RosterSlot], spans: dict[str, list[tuple[float, float | None]]], now: float,
                minutes: float = EMPTY_POST_MINUTES) -> list[EmptyPost]:
    """Gate posts with a running slot and nobody signed in for more than ``minutes``: empty since the later of
    the running slots' start and the last sign-out there."""
    first: dict[int, RosterSlot] = {}
    for s in slots:
        if s.start_ts <= now < s.end_ts and (s.post_id not in first or s.start_ts < first[s.post_id].start_ts):
            first[s.post_id] = s
    out = []
    for s in first.values():
        gate = spans.get(s.gate_id, [])
        if any(start <= now and (end is None or end > now) for start, end in gate):
            continue
        ended = [end for _, end in gate if end is not None and end <= now]
        since = max([s.start_ts, *ended])
        if now - since > minutes * 60.0:
            out.append(EmptyPost(s.post_id, s.post_name, s.gate_id, since))
    return out


def empty_post_minutes(db: CentralDB) -> float:
    """Minutes a rostered gate post may stay empty: the policy ``empty_post_minutes`` when set, else 30."""
    if not db.table_exists("pass_policy"):
        return EMPTY_POST_MINUTES
    row = db.execute("SELECT value FROM pass_policy WHERE key = 'empty_post_minutes'").fetchone()
    try:
        value = float(json.loads(row[0])) if row else EMPTY_POST_MINUTES
    except (TypeError, ValueError):
        return EMPTY_POST_MINUTES
    return value if 0 < value < 1440 else EMPTY_POST_MINUTES


def rostered_empty_posts(db: CentralDB, now: float) -> list[EmptyPost]:
    """The empty gate posts now, read from the roster and the synced sign-ins and hand-overs."""
    if not db.table_exists("duty_slots"):
        return []
    gates = {p.id: p for p in duty.posts(db) if p.gate_id is not None}
    running = [RosterSlot(s.post_id, gates[s.post_id].name, gates[s.post_id].gate_id or "", s.start_ts, s.end_ts)
               for s in duty.slots(db, now, now + 1e-6) if s.post_id in gates]
    if not running:
        return []
    events = db.execute("SELECT gate_id, event, wall_ts FROM entries WHERE event IN ('shift_start', 'shift_end') "
                        "AND wall_ts >= ? AND wall_ts <= ? ORDER BY wall_ts, seq LIMIT ?",
                        [now - duty.LOOKBACK_S, now, duty.MAX_SHIFT_ROWS]).fetchall()
    return empty_posts(running, signed_in_spans((g, e, float(t)) for g, e, t in events), now,
                       empty_post_minutes(db))
