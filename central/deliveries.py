"""Deliveries at central: parcels left at the gates for households (drop-off mode) and their pickups.

A gate records a delivery as an information entry ``delivery`` (household; ``extra``: company, count, the courier's
phone and a note when given, and whether the household was under home quarantine) and its pickup as an entry
``delivery_pickup`` whose ``ref_uuid`` is the delivery's uuid (``extra.by``: ``pass`` with the pass and person,
``name`` with the name typed, or ``staff``: carried up). Both arrive through the normal upload; this module reads
them from ``entries`` (no table of its own):

- :func:`ledger`: the deliveries of a period, searchable by household, company, courier phone, with their pickup;
- :func:`to_carry`: deliveries to quarantined households not yet carried up (staff's list);
- :func:`timeline_events`: the household file's timeline source (:mod:`central.timeline`);
- :func:`erase_courier_phones`: retention (:mod:`central.retention`) drops the courier's phone from deliveries
  older than ``visitor_days``, like visitors' phones.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from central.store import CentralDB
from central.timeline import TimelineEvent
from central.visitors import gate_names, normalise_phone

log = logging.getLogger(__name__)

EVENT = "delivery"
PICKUP_EVENT = "delivery_pickup"
LEDGER_LIMIT = 5000  # deliveries one ledger query returns at most
SCAN_LIMIT = 50_000  # delivery entries one query reads at most before its text filters
CARRY_DAYS = 7.0  # a delivery to a quarantined household is on the to-carry list this long
PICKUP_KINDS = ("pass", "name", "staff")


def _extra(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def parcel(extra: str | None) -> dict[str, Any]:
    """What a delivery entry's ``extra`` says, with plain types (anything missing or malformed: empty/0/False)."""
    data = _extra(extra)
    count = data.get("count")

    def text(key: str) -> str:
        value = data.get(key)
        return value[:100] if isinstance(value, str) else ""

    return {"company": text("company"), "count": count if isinstance(count, int) and not isinstance(count, bool)
            else 0, "courier_phone": text("courier_phone"), "note": text("note"),
            "quarantined": data.get("quarantined") is True}


def pickup_of(extra: str | None, pass_id: object = None, person: object = None) -> dict[str, Any]:
    """Who picked a delivery up, from a ``delivery_pickup`` entry: ``kind`` (pass, name, staff; "" unknown) and
    ``by`` (the name typed, or the pass number and person)."""
    data = _extra(extra)
    kind = data.get("by") if data.get("by") in PICKUP_KINDS else ""
    name = data.get("name")
    if kind == "name":
        return {"kind": kind, "by": name[:40] if isinstance(name, str) else ""}
    if kind == "pass" or pass_id is not None:
        return {"kind": "pass", "by": f"{pass_id}" + (f" / {person}" if person is not None else "")}
    return {"kind": kind, "by": ""}


@dataclass(frozen=True)
class DeliveryQuery:
    """What the ledger shows: deliveries between ``since`` and ``until`` (unix s) matching the optional filters;
    ``status``: "" (all), "waiting" or "picked"."""

    since: float
    until: float
    household: str | None = None
    company: str | None = None
    phone: str | None = None
    status: str = ""
    quarantined_only: bool = False


def _matches(row: dict[str, Any], q: DeliveryQuery) -> bool:
    """The text filters and "quarantined only" (a pure rule over a ledger row without its pickup)."""
    if q.company and q.company.strip() not in row["company"]:
        return False
    if q.phone:
        typed = "".join(ch for ch in q.phone if ch.isdigit())
        have = normalise_phone(row["courier_phone"]) or row["courier_phone"]
        if not typed or typed not in have:
            return False
    return not (q.quarantined_only and not row["quarantined"])


def _status_ok(row: dict[str, Any], status: str) -> bool:
    """Whether a row with its pickup has ``status`` ("" any, "waiting", "picked")."""
    return not status or (status == "waiting") == (row["pickup_ts"] is None)


_NO_PICKUP = {"pickup_ts": None, "pickup_kind": "", "pickup_by": "", "pickup_gate": ""}


def _candidates(db: CentralDB, q: DeliveryQuery, stop_at: int) -> list[dict[str, Any]]:
    """The delivery entries of the period (and household), newest first, as rows, that pass the text filters; at
    most ``stop_at``. A typed phone narrows the read in SQL first (its digits appear in the entry's ``extra``)."""
    where = ["wall_ts >= ?", "wall_ts < ?"]
    args: list[object] = [q.since, q.until]
    if q.household:  # the household's index, not the event's: "event || ''" is no indexed column
        where += ["household = ?", "event || '' = ?"]
        args += [q.household.strip(), EVENT]
    else:
        where.append("event = ?")
        args.append(EVENT)
    digits = "".join(ch for ch in q.phone or "" if ch.isdigit())
    if digits:
        where.append("extra LIKE ?")
        args.append(f"%{digits}%")
    rows = db.query(f"SELECT uuid, wall_ts, gate_id, community, household, guard_id, extra FROM entries "
                    f"WHERE {' AND '.join(where)} ORDER BY wall_ts DESC LIMIT ?", [*args, SCAN_LIMIT])
    out = []
    for r in rows:
        row = {**r, **parcel(r.pop("extra"))}
        if _matches(row, q):
            out.append(row)
            if len(out) >= stop_at:
                break
    return out


def ledger(db: CentralDB, q: DeliveryQuery, limit: int = LEDGER_LIMIT) -> list[dict[str, Any]]:
    """Deliveries matching ``q``, newest first: time, gate (its name), community, household, company, count,
    courier phone, note, quarantined, the guard, and the pickup (time, kind, by whom; None: still waiting).
    Pickups are looked up for the candidates only (all of them when the status filters, else the first ``limit``)."""
    rows = _candidates(db, q, SCAN_LIMIT if q.status else limit)
    pickups = _pickups(db, [r["uuid"] for r in rows])
    names = gate_names(db)
    out = []
    for r in rows:
        row = {**r, "gate_name": names.get(r["gate_id"]) or r["gate_id"], **pickups.get(r["uuid"], _NO_PICKUP)}
        if _status_ok(row, q.status):
            out.append(row)
    return out[:limit]


def _pickups(db: CentralDB, uuids: list[str]) -> dict[str, dict[str, Any]]:
    """The first pickup of each delivery among ``uuids``, by delivery uuid."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.query(f"SELECT ref_uuid, wall_ts, gate_id, guard_id, pass_id, person, extra FROM entries "
                          f"WHERE event = ? AND ref_uuid IN ({marks}) ORDER BY wall_ts", [PICKUP_EVENT, *chunk]):
            if r["ref_uuid"] in found:
                continue
            who = pickup_of(r["extra"], r["pass_id"], r["person"])
            found[r["ref_uuid"]] = {"pickup_ts": r["wall_ts"], "pickup_kind": who["kind"], "pickup_by": who["by"],
                                    "pickup_gate": r["gate_id"]}
    return found


def to_carry(db: CentralDB, now: float, days: float = CARRY_DAYS) -> list[dict[str, Any]]:
    """Deliveries to households under home quarantine (when left, or now: the whole household's quarantine
    records), left within ``days`` and not yet carried up, oldest first: staff's list."""
    rows = ledger(db, DeliveryQuery(now - days * 86400, now + 86400, status="waiting"), limit=SCAN_LIMIT)
    now_quarantined = _quarantined_households(db, now) if any(not r["quarantined"] for r in rows) else set()
    return sorted((r for r in rows if r["quarantined"] or r["household"] in now_quarantined),
                  key=lambda r: r["wall_ts"])


def _quarantined_households(db: CentralDB, now: float) -> set[str]:
    """Households whose whole household is under home quarantine at ``now``."""
    if not db.table_exists("quarantines"):
        return set()
    return {str(r[0]) for r in db.execute("SELECT DISTINCT household FROM quarantines WHERE status = 'active' "
                                          "AND person IS NULL AND start_ts <= ? AND end_ts > ?", [now, now])}


def timeline_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """The household's deliveries and pickups since ``since`` (a :mod:`central.timeline` source); a delivery to a
    quarantined household still waiting is an alert."""
    rows = ledger(db, DeliveryQuery(since, 1e12, household=household))
    events = []
    for r in rows:
        summary = f"{r['company']} × {r['count']} · {r['gate_name']}" + (f" · {r['note']}" if r["note"] else "")
        events.append(TimelineEvent(at=float(r["wall_ts"]), kind="delivery", summary=summary,
                                    link=f"/deliveries?household={quote(household)}",
                                    alert=r["quarantined"] and r["pickup_ts"] is None,
                                    detail={"company": r["company"], "count": str(r["count"]),
                                            "quarantined": "1" if r["quarantined"] else ""}))
        if r["pickup_ts"] is not None:
            events.append(TimelineEvent(at=float(r["pickup_ts"]), kind="delivery_pickup",
                                        summary=f"{r['company']} × {r['count']}" +
                                        (f" · {r['pickup_by']}" if r["pickup_by"] else ""),
                                        detail={"kind": r["pickup_kind"]}))
    return events


def erase_courier_phones(db: CentralDB, cutoff: float | None) -> int:
    """Drop the courier's phone from deliveries before ``cutoff`` (None: from all); how many."""
    where = "event = ? AND extra LIKE ?"
    args: list[object] = [EVENT, "%courier_phone%"]
    if cutoff is not None:
        where, args = where + " AND wall_ts < ?", [*args, cutoff]
    done = 0
    for uuid, extra in db.execute(f"SELECT uuid, extra FROM entries WHERE {where}", args).fetchall():
        data = _extra(extra)
        if "courier_phone" not in data:
            continue
        del data["courier_phone"]
        db.execute("UPDATE entries SET extra = ? WHERE uuid = ?",
                   [json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False), uuid])
        done += 1
    return done
